#include "tfsnap/backup/backup_job.hpp"

#include "tfsnap/backup/detail/offload.hpp"
#include "tfsnap/backup/records.hpp"
#include "tfsnap/core/error.hpp"
#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/http/body.hpp"
#include "tfsnap/tfstate/summary.hpp"

#include <boost/asio/this_coro.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <system_error>

namespace tfsnap::backup {

namespace fs = std::filesystem;

std::string_view to_string(backup_status s) noexcept {
    switch (s) {
        case backup_status::snapshot:
            return "snapshot";
        case backup_status::unchanged:
            return "unchanged";
        case backup_status::state_deleted:
            return "state-deleted";
        case backup_status::failed:
            break;
    }
    return "failed";
}

namespace {

using sys_seconds = std::chrono::sys_seconds;

sys_seconds seconds_of(core::time_point t) {
    return std::chrono::floor<std::chrono::seconds>(t);
}

// Removes a scratch file when the job leaves, whatever the path.
struct scratch_file {
    fs::path path;
    ~scratch_file() {
        if (!path.empty()) {
            std::error_code ignored;
            fs::remove(path, ignored);
        }
    }
    void release() { path.clear(); }
};

// What the job learnt about the state's bytes.
struct fetched {
    std::string md5, sha256;
    std::uint64_t size = 0;
    manifest::state_summary summary;
    std::vector<std::string> warnings;
};

manifest::state_summary summarise(const tfstate::inspection& in, std::vector<std::string>& warnings,
                                  std::string_view what) {
    manifest::state_summary s;
    switch (in.kind) {
        case tfstate::state_kind::state:
            if (in.ok()) {
                s.kind = manifest::state_kind::state;
                s.serial = in.summary.serial;
                s.lineage = in.summary.lineage;
                s.terraform_version = in.summary.terraform_version;
                s.resource_count = in.summary.managed_resources + in.summary.data_resources;
                return s;
            }
            warnings.push_back(std::string(what) + ": " + in.message + "; snapshotted as an opaque blob");
            s.kind = manifest::state_kind::opaque;
            return s;
        case tfstate::state_kind::legacy:
            warnings.push_back(std::string(what) + ": " + in.message +
                               "; snapshotted as an opaque blob (tfsnap summarises and diffs format 4)");
            s.kind = manifest::state_kind::opaque;
            return s;
        case tfstate::state_kind::encrypted:
            s.kind = manifest::state_kind::encrypted;
            s.encryption_version = in.encryption_version;
            return s;
        case tfstate::state_kind::opaque:
            // not JSON, or not a state: nothing to say. Too deep to read (or unreadable): say so,
            // the bytes are protected all the same
            if (!in.ok())
                warnings.push_back(std::string(what) + ": " + in.message + "; snapshotted as an opaque blob");
            break;
    }
    s.kind = manifest::state_kind::opaque;
    return s;
}

// Hashes and summarises a local file (blocking; run through offload).
struct file_facts {
    std::error_code ec;
    std::string md5, sha256;
    std::uint64_t size = 0;
    tfstate::inspection inspection;
};

file_facts facts_of_file(const fs::path& path) {
    file_facts f;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        f.ec = std::error_code(errno ? errno : ENOENT, std::generic_category());
        return f;
    }
    crypto::hasher md5(crypto::algorithm::md5), sha(crypto::algorithm::sha256);
    std::vector<char> buf(64 * 1024);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const auto n = static_cast<std::size_t>(in.gcount());
        if (n == 0)
            break;
        md5.update({buf.data(), n});
        sha.update({buf.data(), n});
        f.size += n;
    }
    if (in.bad()) {
        f.ec = std::error_code(EIO, std::generic_category());
        return f;
    }
    f.md5 = md5.final_hex();
    f.sha256 = sha.final_hex();
    f.inspection = tfstate::inspect_file(path);
    return f;
}

class job {
public:
    job(job_context& ctx, const config::environment& env, environment_access access, backup_request req)
        : ctx_(ctx), env_(env), access_(access), req_(std::move(req)), started_(ctx.clock.now()) {}

    boost::asio::awaitable<backup_outcome> run() {
        step("check", 0);
        if (env_.source == config::source_kind::file)
            co_await run_file();
        else
            co_await run_s3();
        co_return finish();
    }

    static constexpr int steps = 5;  // check, download, catalog, retention, lifecycle guard
    // States up to this size are downloaded into memory when no local copy is kept (no scratch
    // file written, read back and removed); at most max_concurrent_jobs of them at once.
    static constexpr std::uint64_t in_memory_limit = 1024 * 1024;
    void step(std::string_view name, int done) const {
        if (req_.on_progress)
            req_.on_progress(name, done, steps);
    }

private:
    // ------------------------------------------------------------------ S3 source
    boost::asio::awaitable<void> run_s3() {
        if (access_.s3 == nullptr) {
            fail(make_error_code(core::errc::invalid_argument), "no S3 client for this environment");
            co_return;
        }
        s3::client& s3 = *access_.s3;
        const auto now = ctx_.clock.now();

        const auto versioning =
            co_await ctx_.buckets.versioning(s3, bucket_origin(env_), env_.bucket, now, false);
        if (versioning.ec) {
            fail(versioning.ec, "cannot read the versioning of bucket " + env_.bucket + ": " +
                                    s3::describe(versioning.ec, versioning.info));
            co_return;
        }
        if (versioning.status != s3::versioning_status::enabled) {
            fail(make_error_code(s3::errc::not_versioned),
                 not_versioned_message(env_.bucket, versioning.status));
            co_return;
        }

        auto head = co_await s3.head_object(env_.bucket, env_.key);
        if (head.ec == s3::errc::delete_marker) {
            co_await state_deleted(head.object.version_id);
            co_return;
        }
        if (head.ec == s3::errc::no_such_key) {
            co_await missing_or_deleted();
            co_return;
        }
        if (head.ec) {
            fail(head.ec, "cannot read " + s3_uri(env_) + ": " + s3::describe(head.ec, head.info));
            co_return;
        }
        const std::string version = head.object.version_id;
        out_.version_id = version;
        if (version.empty() || version == "null") {
            // written while versioning was off: look again, uncached
            const auto again =
                co_await ctx_.buckets.versioning(s3, bucket_origin(env_), env_.bucket, now, true);
            const auto status = again.ec ? s3::versioning_status::never_enabled : again.status;
            if (status != s3::versioning_status::enabled) {
                fail(make_error_code(s3::errc::not_versioned), not_versioned_message(env_.bucket, status));
                co_return;
            }
            // versioning is on now, but this object predates it: its version id is "null", which
            // the next write replaces. Snapshot it anyway, with a warning.
            out_.warnings.push_back("the current version of " + s3_uri(env_) +
                                    " was written before versioning was enabled (version id \"null\"); "
                                    "it is pinned only until the next write");
        }

        std::vector<catalog::index_entry> entries;
        if (auto s = ctx_.catalog.list(env_.name, entries)) {
            fail(s.ec, "cannot read the catalog: " + s.info.path + ": " + s.info.message);
            co_return;
        }
        const catalog::index_entry* newest = entries.empty() ? nullptr : &entries.back();
        if (newest != nullptr && newest->version_id == version && !env_.always_snapshot &&
            !req_.force_snapshot) {
            out_.status = backup_status::unchanged;
            out_.snapshot_id = newest->snapshot_id;
            out_.message = "version " + version + " is already snapshot " + newest->snapshot_id;
            co_await ensure_copy(newest->snapshot_id);
            co_return;
        }

        // GET that exact version: a state of up to 1 MiB (most of them) into memory, unless a local
        // copy is to be kept; a larger one streamed to a scratch file. The client hashes the body as
        // it streams (MD5 against the ETag, SHA-256).
        const bool in_memory =
            env_.copy.mode != config::copy_mode::local && head.object.size <= in_memory_limit;
        scratch_file download;
        if (!in_memory) {
            if (auto s = ctx_.catalog.scratch_path(env_.name, "get", download.path)) {
                fail(s.ec, "cannot prepare a download: " + s.info.path + ": " + s.info.message);
                co_return;
            }
        }
        http::file_sink file(in_memory ? std::string() : download.path.string(), false);
        http::string_sink memory(in_memory_limit);
        http::body_sink& sink = in_memory ? static_cast<http::body_sink&>(memory) : file;
        step("download", 1);
        auto got = co_await s3.get_object(env_.bucket, env_.key, version, sink);
        if (got.ec) {
            if (got.ec == s3::errc::no_such_version || got.ec == s3::errc::no_such_key) {
                fail(got.ec, "version " + version + " of " + s3_uri(env_) +
                                 " disappeared between HEAD and GET (a concurrent write or delete); the next "
                                 "run snapshots the new current version");
            } else {
                fail(got.ec, "cannot download " + s3_uri(env_) + " version " + version + ": " +
                                 s3::describe(got.ec, got.info));
            }
            co_return;
        }
        const fs::path path = download.path;
        const std::uint64_t length = in_memory ? memory.data().size() : file.bytes_written();
        // on the worker pool, on bytes it owns
        std::function<tfstate::inspection()> inspect;
        if (in_memory)
            inspect = [bytes = memory.take()] { return tfstate::inspect(bytes); };
        else
            inspect = [path] { return tfstate::inspect_file(path); };
        auto inspection = co_await detail::offload(ctx_, std::move(inspect));
        step("catalog", 2);

        manifest::manifest m = base_manifest();
        auto& ts = m.terraform_state;
        ts.source = "s3";
        ts.bucket = env_.bucket;
        ts.key = env_.key;
        ts.region = env_.region;
        ts.version_id = version;
        ts.etag = got.object.etag.empty() ? head.object.etag : got.object.etag;
        const auto modified = got.object.last_modified != s3::time_point{} ? got.object.last_modified
                                                                           : head.object.last_modified;
        ts.last_modified = core::format_rfc3339(seconds_of(modified));
        ts.content_length = length;
        m.checksums = manifest::checksum_set{got.md5_hex, got.sha256_hex};
        m.state = summarise(inspection, out_.warnings, s3_uri(env_) + " version " + version);

        const auto taken = seconds_of(ctx_.clock.now());
        if (env_.copy.mode == config::copy_mode::server_side) {
            const std::string id = ctx_.catalog.next_id(env_.name, taken);
            if (auto copy = co_await archive(version, id, m.checksums->sha256))
                m.copy = std::move(*copy);
            co_await add_snapshot(m, taken, nullptr, std::string_view());
        } else if (env_.copy.mode == config::copy_mode::local) {
            co_await add_sealed(m, taken, path);
        } else {
            co_await add_snapshot(m, taken, nullptr, std::string_view());
        }
    }

    // HEAD said 404. A deleted state has a delete marker on top (AWS says so on HEAD, radosgw
    // does not); a key that never existed has no entries at all.
    boost::asio::awaitable<void> missing_or_deleted() {
        auto list = co_await access_.s3->list_object_versions(env_.bucket, env_.key);
        if (list.ec) {
            fail(list.ec, s3_uri(env_) + " is not there (404), and listing its versions failed: " +
                              s3::describe(list.ec, list.info));
            co_return;
        }
        const s3::version_entry* latest = nullptr;
        bool any = false;
        for (const auto& e : list.entries) {
            if (e.key != env_.key)
                continue;
            any = true;
            if (e.is_latest)
                latest = &e;
        }
        if (latest != nullptr && latest->delete_marker) {
            co_await state_deleted(latest->version_id);
            co_return;
        }
        if (!any) {
            fail(make_error_code(s3::errc::no_such_key),
                 s3_uri(env_) +
                     " does not exist and never did (no version, no delete marker). Check bucket and "
                     "key against the Terraform backend configuration (key is the backend's \"key\", "
                     "with workspace_key_prefix for non-default workspaces)");
            co_return;
        }
        fail(make_error_code(s3::errc::no_such_key),
             s3_uri(env_) +
                 " answers 404 but has versions and no current delete marker; it may be being "
                 "written right now. The next run tries again");
    }

    boost::asio::awaitable<void> state_deleted(std::string marker_version) {
        out_.status = backup_status::state_deleted;
        out_.ec = make_error_code(s3::errc::delete_marker);
        out_.version_id = marker_version;
        out_.message =
            "STATE DELETED: the current version of " + s3_uri(env_) + " is a delete marker" +
            (marker_version.empty() ? std::string() : " (" + marker_version + ")") +
            ". Every snapshot is kept. To bring the state back: tfsnapd restore " + env_.name +
            " --undelete (dry run first), or remove the delete marker with aws s3api delete-object "
            "--bucket " +
            env_.bucket + " --key " + env_.key + " --version-id " +
            (marker_version.empty() ? std::string("MARKER-VERSION-ID") : marker_version);
        ctx_.log.error(out_.message,
                       {{"env", env_.name}, {"event", "state-deleted"}, {"version", marker_version}});
        const state_event e{core::format_rfc3339(seconds_of(ctx_.clock.now())), "state-deleted",
                            marker_version, out_.message};
        // record it once per marker, not on every scheduled run
        std::vector<state_event> events;
        (void)read_events(ctx_.catalog, env_.name, events);
        const bool known =
            !events.empty() && events.back().kind == e.kind && events.back().version_id == e.version_id;
        if (!known) {
            if (auto s = append_event(ctx_.catalog, env_.name, e))
                out_.warnings.push_back("cannot record the event: " + s.info.path + ": " + s.info.message);
        }
        co_return;
    }

    // ------------------------------------------------------------------ file source
    boost::asio::awaitable<void> run_file() {
        scratch_file snap;
        if (auto s = ctx_.catalog.scratch_path(env_.name, "file", snap.path)) {
            fail(s.ec, "cannot prepare a copy: " + s.info.path + ": " + s.info.message);
            co_return;
        }
        // copy first, then hash and inspect the copy: what is recorded is what is kept, even if
        // Terraform rewrites the file meanwhile
        const fs::path src = env_.path, dst = snap.path;
        struct copied {
            std::error_code ec;
            file_facts facts;
            core::time_point mtime;
        };
        std::function<copied()> copy_and_hash = [src, dst] {
            copied r;
            struct stat st {};
            if (::stat(src.c_str(), &st) != 0) {
                r.ec = std::error_code(errno, std::generic_category());
                return r;
            }
            r.mtime = core::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
            fs::copy_file(src, dst, fs::copy_options::overwrite_existing, r.ec);
            if (r.ec)
                return r;
            fs::permissions(dst, fs::perms::owner_read | fs::perms::owner_write, r.ec);
            if (r.ec)
                return r;
            r.facts = facts_of_file(dst);
            r.ec = r.facts.ec;
            if (!r.ec) {
                // durable before it is renamed into the catalog
                const int fd = ::open(dst.c_str(), O_RDONLY | O_CLOEXEC);
                if (fd < 0 || ::fsync(fd) != 0)
                    r.ec = std::error_code(errno, std::generic_category());
                if (fd >= 0)
                    ::close(fd);
            }
            return r;
        };
        auto c = co_await detail::offload(ctx_, std::move(copy_and_hash));
        if (c.ec) {
            fail(boost::system::error_code(c.ec.value(), boost::system::generic_category()),
                 "cannot read the state file " + env_.path + ": " + c.ec.message());
            co_return;
        }

        std::vector<catalog::index_entry> entries;
        if (auto s = ctx_.catalog.list(env_.name, entries)) {
            fail(s.ec, "cannot read the catalog: " + s.info.path + ": " + s.info.message);
            co_return;
        }
        if (!entries.empty() && !env_.always_snapshot && !req_.force_snapshot) {
            manifest::manifest last;
            if (!ctx_.catalog.read_manifest(env_.name, entries.back().snapshot_id, last) && last.checksums &&
                last.checksums->sha256 == c.facts.sha256) {
                out_.status = backup_status::unchanged;
                out_.snapshot_id = last.snapshot_id;
                out_.message = env_.path + " has the same SHA-256 as snapshot " + last.snapshot_id;
                co_return;
            }
        }

        manifest::manifest m = base_manifest();
        auto& ts = m.terraform_state;
        ts.source = "file";
        ts.key = env_.path;
        ts.last_modified = core::format_rfc3339(seconds_of(c.mtime));
        ts.content_length = c.facts.size;
        m.checksums = manifest::checksum_set{c.facts.md5, c.facts.sha256};
        m.state = summarise(c.facts.inspection, out_.warnings, env_.path);
        const auto taken = seconds_of(ctx_.clock.now());
        if (env_.copy.mode == config::copy_mode::local) {
            co_await add_sealed(m, taken, snap.path);
        } else {
            manifest::copy_info copy;
            copy.mode = "local";
            copy.path = "state";
            copy.sha256 = c.facts.sha256;
            m.copy = copy;
            co_await add_snapshot(m, taken, &snap.path, "state");
            snap.release();
        }
    }

    // ------------------------------------------------------------------ shared steps
    manifest::manifest base_manifest() const {
        manifest::manifest m;
        m.environment = env_.name;
        m.created_at = core::format_rfc3339(seconds_of(ctx_.clock.now()));
        m.created_by = req_.requested_by.empty() ? ctx_.created_by : req_.requested_by;
        m.schedule = req_.schedule;
        m.tfsnap_version = ctx_.tfsnap_version;
        return m;
    }

    // Seals `plain` into a scratch file and adds the snapshot with it as state.enc.
    boost::asio::awaitable<void> add_sealed(manifest::manifest& m, sys_seconds taken, const fs::path& plain) {
        if (access_.copy_key == nullptr) {
            fail(make_error_code(core::errc::invalid_argument),
                 "copy mode local needs its key, which is not loaded (see the daemon's start-up log)");
            co_return;
        }
        scratch_file sealed;
        if (auto s = ctx_.catalog.scratch_path(env_.name, "seal", sealed.path)) {
            fail(s.ec, "cannot prepare the sealed copy: " + s.info.path + ": " + s.info.message);
            co_return;
        }
        const crypto::sealing_key* key = access_.copy_key;
        const fs::path dst = sealed.path;
        std::function<crypto::seal_result()> seal = [key, plain, dst] {
            return crypto::seal_file(*key, plain, dst, crypto::seal_options{true});
        };
        auto r = co_await detail::offload(ctx_, std::move(seal));
        if (!r.ok()) {
            fail(r.ec, "cannot seal the local copy: " + r.error.message);
            co_return;
        }
        if (m.checksums && r.plaintext_sha256 != m.checksums->sha256) {
            fail(
                make_error_code(core::errc::io_error),
                "the sealed copy does not hold the bytes downloaded (SHA-256 differs); nothing was recorded");
            co_return;
        }
        manifest::copy_info copy;
        copy.mode = "local";
        copy.path = "state.enc";
        copy.sha256 = r.sealed_sha256;
        m.copy = copy;
        co_await add_snapshot(m, taken, &sealed.path, "state.enc");
        sealed.release();
    }

    boost::asio::awaitable<void> add_snapshot(manifest::manifest& m, sys_seconds taken, const fs::path* file,
                                              std::string_view name) {
        const auto s = file != nullptr ? ctx_.catalog.add(m, taken, *file, name) : ctx_.catalog.add(m, taken);
        if (s) {
            fail(s.ec, "cannot write the snapshot: " + s.info.path + ": " + s.info.message);
            co_return;
        }
        out_.status = backup_status::snapshot;
        out_.snapshot_id = m.snapshot_id;
        out_.message = "snapshot " + m.snapshot_id +
                       (m.terraform_state.version_id.empty() ? std::string()
                                                             : " of version " + m.terraform_state.version_id);
        if (m.state && m.state->serial)
            out_.message += ", serial " + std::to_string(*m.state->serial);
        if (env_.copy.mode == config::copy_mode::server_side && !m.copy)
            out_.message += " (without its server-side copy: see the errors)";
        out_.written = m;
        if (ctx_.record_snapshot) {
            // named, not temporaries in the co_await expression (GCC 12)
            std::string env_name = env_.name, id = m.snapshot_id;
            auto recording = ctx_.record_snapshot(std::move(env_name), std::move(id));
            const std::string problem = co_await std::move(recording);
            if (!problem.empty())
                out_.warnings.push_back("catalog git: " + problem);
        }
    }

    // Server-side copy of `version` for snapshot `id`. nullopt (and the job's copy error set) on error.
    boost::asio::awaitable<std::optional<manifest::copy_info>> archive(std::string version, std::string id,
                                                                       std::string sha256) {
        auto r =
            co_await archive_version(env_, access_, std::move(version), std::move(id), std::move(sha256));
        if (!r.copy)
            copy_failed_ = r.error;
        co_return std::move(r.copy);
    }

    // Unchanged state: make sure the newest snapshot has the copy the configuration asks for
    // (an earlier copy may have failed).
    boost::asio::awaitable<void> ensure_copy(const std::string& id) {
        if (env_.copy.mode != config::copy_mode::server_side)
            co_return;
        manifest::manifest m;
        if (ctx_.catalog.read_manifest(env_.name, id, m) || m.copy)
            co_return;
        std::string sha256 = m.checksums ? m.checksums->sha256 : std::string();  // named (GCC 12)
        auto copy = co_await archive(m.terraform_state.version_id, id, std::move(sha256));
        if (!copy)
            co_return;
        if (auto s = ctx_.catalog.update(env_.name, id, [&](manifest::manifest& x) { x.copy = *copy; }))
            copy_failed_ = "cannot record the copy: " + s.info.path + ": " + s.info.message;
        else
            out_.message += "; its missing server-side copy was made now";
    }

    void fail(boost::system::error_code ec, std::string message) {
        out_.status = backup_status::failed;
        out_.ec = ec;
        out_.message = std::move(message);
    }

    backup_outcome finish() {
        if (!copy_failed_.empty()) {
            if (out_.status == backup_status::snapshot || out_.status == backup_status::unchanged) {
                // the version is pinned, but the copy the configuration asks for is missing:
                // the job fails, so an operator notices
                out_.message += "; " + copy_failed_;
                out_.ec = make_error_code(core::errc::io_error);
            }
        }
        out_.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.clock.now() - started_);
        return std::move(out_);
    }

public:
    // after run(): record the check, prune, log
    boost::asio::awaitable<backup_outcome> complete(backup_outcome out) {
        step("retention", 3);
        if (out.status == backup_status::snapshot && req_.prune) {
            out.pruned = co_await prune(ctx_, env_, access_, false);
            if (!out.pruned->ok())
                out.warnings.push_back("prune: " +
                                       (out.pruned->error.empty()
                                            ? std::to_string(out.pruned->failed) + " deletions failed"
                                            : out.pruned->error));
        }
        step("lifecycle guard", 4);
        if (out.status == backup_status::snapshot || out.status == backup_status::unchanged) {
            out.guard = co_await run_lifecycle_guard(ctx_, env_, access_);
            if (!out.guard->error.empty())
                out.warnings.push_back("lifecycle guard: " + out.guard->error);
            if (!out.guard->live_state_warning.empty())
                out.warnings.push_back("lifecycle guard: " + out.guard->live_state_warning);
            if (out.guard->at_risk > 0)
                out.warnings.push_back(
                    "lifecycle guard: " + std::to_string(out.guard->at_risk) +
                    " snapshot(s) pin versions a lifecycle rule will delete, without a copy");
        }
        backup_check check{core::format_rfc3339(seconds_of(ctx_.clock.now())),
                           std::string(to_string(out.status)),
                           req_.schedule,
                           out.version_id,
                           out.snapshot_id,
                           out.message};
        if (auto s =
                ctx_.catalog.write_record(env_.name, catalog::catalog::last_backup_record, serialize(check)))
            out.warnings.push_back("cannot record the check: " + s.info.path + ": " + s.info.message);
        const std::initializer_list<core::log_field> fields = {{"env", env_.name},
                                                               {"schedule", req_.schedule},
                                                               {"result", std::string(to_string(out.status))},
                                                               {"snapshot", out.snapshot_id},
                                                               {"version", out.version_id}};
        if (out.status == backup_status::failed || (out.ec && out.status != backup_status::state_deleted))
            ctx_.log.error("backup: " + out.message, fields);
        else if (out.status != backup_status::state_deleted)
            ctx_.log.info("backup: " + out.message, fields);
        for (const auto& w : out.warnings)
            ctx_.log.warning("backup: " + w, {{"env", env_.name}});
        step("done", steps);
        co_return out;
    }

private:
    job_context& ctx_;
    const config::environment& env_;
    environment_access access_;
    backup_request req_;
    core::time_point started_;
    backup_outcome out_;
    std::string copy_failed_;
};

}  // namespace

boost::asio::awaitable<backup_outcome> run_backup(job_context& ctx, const config::environment& env,
                                                  environment_access access, backup_request request) {
    job j(ctx, env, access, std::move(request));
    auto out = co_await j.run();
    co_return co_await j.complete(std::move(out));
}

}  // namespace tfsnap::backup
