#include "tfsnap/restore/restore.hpp"

#include "tfsnap/backup/backup_job.hpp"
#include "tfsnap/core/error.hpp"
#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/http/body.hpp"
#include "tfsnap/restore/audit.hpp"
#include "tfsnap/restore/digest.hpp"
#include "tfsnap/restore/journal.hpp"
#include "tfsnap/restore/locks.hpp"
#include "tfsnap/restore/plan_token.hpp"
#include "tfsnap/restore/target.hpp"
#include "tfsnap/tfstate/lock_info.hpp"
#include "tfsnap/tfstate/rewrite.hpp"
#include "tfsnap/tfstate/summary.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <optional>

namespace tfsnap::restore {

namespace fs = std::filesystem;
using sys_seconds = std::chrono::sys_seconds;

std::string_view to_string(restore_mode m) noexcept {
    return m == restore_mode::full ? "full" : "state-only";
}

std::optional<restore_mode> parse_restore_mode(std::string_view s) noexcept {
    if (s == "state-only")
        return restore_mode::state_only;
    if (s == "full")
        return restore_mode::full;
    return std::nullopt;
}

std::string_view to_string(restore_action a) noexcept {
    return a == restore_action::undelete ? "undelete" : "restore";
}

std::string_view to_string(outcome o) noexcept {
    switch (o) {
        case outcome::ok:
            return "ok";
        case outcome::no_op:
            return "no-op";
        case outcome::refused:
            return "refused";
        case outcome::failed:
            break;
    }
    return "failed";
}

namespace {

constexpr std::size_t max_state_bytes = std::size_t{512} << 20;
// a failed release is tried again, within cleanup_timeout (locks.hpp release_retrying)
constexpr int release_attempts = 5;

sys_seconds now_s(const core::wall_clock& c) {
    return std::chrono::floor<std::chrono::seconds>(c.now());
}

// What plan() and execute() learn about the state in S3.
struct current_state {
    std::string version;  // or the delete marker's id
    std::string etag;
    bool deleted = false;
    bool exists = false;
    std::string sse, kms_key_id;
    std::vector<s3::version_entry> entries;
};

struct fetched_bytes {
    boost::system::error_code ec;
    std::string message;
    std::string bytes, md5, sha256;
};

boost::asio::awaitable<fetched_bytes> fetch(s3::client& s3, const config::environment& env,
                                            std::string version) {
    fetched_bytes out;
    http::string_sink sink(max_state_bytes);
    const auto g = co_await s3.get_object(env.bucket, env.key, version, sink);
    if (g.ec) {
        out.ec = g.ec;
        out.message = "cannot read version " + version + " of " + backup::s3_uri(env) + ": " +
                      s3::describe(g.ec, g.info);
        co_return out;
    }
    out.bytes = sink.take();
    out.md5 = g.md5_hex;
    out.sha256 = g.sha256_hex;
    co_return out;
}

// The current entry: from HEAD, and from ListObjectVersions (which also tells a delete marker
// from "never existed": radosgw answers HEAD on a deleted key with a plain 404).
boost::asio::awaitable<std::string> read_current(s3::client& s3, const config::environment& env,
                                                 current_state& cur) {
    auto listed = co_await s3.list_object_versions(env.bucket, env.key);
    if (listed.ec)
        co_return "cannot list the versions of " + backup::s3_uri(env) + ": " +
            s3::describe(listed.ec, listed.info);
    cur.entries = std::move(listed.entries);
    const auto latest = current_entry(cur.entries, env.key);
    if (!latest)
        co_return backup::s3_uri(env) + " has no versions at all: check bucket and key";
    cur.version = latest->version_id;
    cur.deleted = latest->delete_marker;
    if (cur.deleted)
        co_return std::string();
    const auto h = co_await s3.head_object(env.bucket, env.key);
    if (h.ec)
        co_return "cannot read the current state " + backup::s3_uri(env) + ": " + s3::describe(h.ec, h.info);
    cur.exists = true;
    cur.version = h.object.version_id;
    cur.etag = h.object.etag;
    cur.sse = h.object.sse;
    cur.kms_key_id = h.object.kms_key_id;
    co_return std::string();
}

std::string who(const restore_context& ctx, const restore_request& req) {
    return (req.user.empty() ? std::string("tfsnapd") : req.user) + "@" + ctx.host;
}

struct lock_set {
    std::unique_ptr<dynamodb_lock> dynamo;
    std::unique_ptr<s3_lockfile> file;
};

// A restore that moves the state between plaintext and OpenTofu's client-side encryption (an
// object with a non-empty top-level encryption_version) is allowed, but the readers of the state
// change: say so. Opaque bytes on either side say nothing about encryption.
std::optional<std::string> encryption_crossing(const tfstate::inspection& current,
                                               const tfstate::inspection& target) {
    const auto plaintext = [](const tfstate::inspection& i) {
        return i.kind == tfstate::state_kind::state || i.kind == tfstate::state_kind::legacy;
    };
    const auto encrypted = [](const tfstate::inspection& i) {
        return i.kind == tfstate::state_kind::encrypted;
    };
    if (plaintext(current) && encrypted(target))
        return "the target is OpenTofu-encrypted (encryption_version " + target.encryption_version +
               ") and the current state is plaintext: after the restore only an OpenTofu configured with "
               "the key that encrypted it can read the state; Terraform and configurations without that "
               "key fail on their next read";
    if (encrypted(current) && plaintext(target))
        return "the target is plaintext and the current state is OpenTofu-encrypted (encryption_version " +
               current.encryption_version +
               "): after the restore the state in the bucket is unencrypted, and an OpenTofu that "
               "encrypts its state reads it only with an `unencrypted` fallback method configured";
    return std::nullopt;
}

// How Terraform's backend writes its objects (lockWithFile, put): Content-Type application/json,
// x-amz-checksum-sha256 unless skip_s3_checksum, `encrypt` (aws:kms with kms_key_id, else AES256)
// and `acl`. A bucket policy that requires these refuses writes without them.
s3::put_options backend_writes(const config::environment& env) {
    s3::put_options o;
    o.content_type = "application/json";
    if (env.writes.encrypt) {
        o.sse = env.writes.kms_key_id.empty() ? "AES256" : "aws:kms";
        o.kms_key_id = env.writes.kms_key_id;
    }
    o.acl = env.writes.acl;
    o.checksum_sha256 = !env.writes.skip_s3_checksum;
    return o;
}

lock_set locks_of(const config::environment& env, backup::environment_access access) {
    lock_set l;
    if (env.lock.dynamodb_table && access.dynamodb != nullptr)
        l.dynamo = std::make_unique<dynamodb_lock>(*access.dynamodb, *env.lock.dynamodb_table, env.lock_id());
    if (env.lock.lockfile && access.s3 != nullptr)
        l.file = std::make_unique<s3_lockfile>(*access.s3, env.bucket, env.key, env.conditional_writes,
                                               backend_writes(env));
    return l;
}

std::string dynamo_where(const config::environment& env) {
    return "DynamoDB table " + env.lock.dynamodb_table.value_or("") + ", LockID " + env.lock_id();
}

// What plan() says about one lock as it is now.
lock_view view_of(std::string kind, std::string where, const lock_result& r,
                  std::vector<std::string>& warnings) {
    lock_view v{std::move(kind), std::move(where)};
    if (r.ec)
        warnings.push_back("cannot read the lock " + v.where + ": " + r.message);
    if (r.held_by) {
        v.held = true;
        v.holder = tfstate::describe_holder(*r.held_by);
        warnings.push_back(v.where + " is " + v.holder + ": a restore now would be refused");
    }
    return v;
}

std::string file_where(const config::environment& env) {
    return backup::s3_uri(env) + ".tflock";
}

}  // namespace

plan_claims request_claims(const restore_context& ctx, const config::environment& env,
                           const restore_request& req) {
    plan_claims c;
    c.environment = env.name;
    c.action = std::string(to_string(req.undelete ? restore_action::undelete : restore_action::restore));
    c.mode = std::string(to_string(req.mode));
    c.force_lineage = req.force_lineage;
    c.roll_forward_serial = req.roll_forward_serial;
    c.requested_by = who(ctx, req);
    return c;
}

// ------------------------------------------------------------------------------------ plan

std::string to_json(const restore_plan& p) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto str = [&](const char* k, const std::string& v) {
        w.Key(k);
        w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    };
    auto flag = [&](const char* k, bool v) {
        w.Key(k);
        w.Bool(v);
    };
    auto strings = [&](const char* k, const std::vector<std::string>& v) {
        w.Key(k);
        w.StartArray();
        for (const auto& s : v)
            w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
        w.EndArray();
    };
    w.StartObject();
    str("environment", p.environment);
    str("action", std::string(to_string(p.action)));
    str("mode", std::string(to_string(p.mode)));
    str("target_version", p.target_version);
    str("target_snapshot", p.target_snapshot);
    str("target_last_modified", p.target_last_modified);
    str("target_md5", p.target_md5);
    str("target_sha256", p.target_sha256);
    str("current_version", p.current_version);
    str("current_etag", p.current_etag);
    flag("current_deleted", p.current_deleted);
    flag("already_current", p.already_current);
    flag("force_lineage", p.force_lineage);
    flag("roll_forward_serial", p.roll_forward_serial);
    w.Key("diff");
    if (p.diff) {
        const auto& d = *p.diff;
        w.StartObject();
        w.Key("resources");
        w.StartArray();
        for (const auto& r : d.resources) {
            w.StartObject();
            str("address", r.address);
            str("change", tfstate::to_string(r.kind));
            w.EndObject();
        }
        w.EndArray();
        w.Key("outputs");
        w.StartArray();
        for (const auto& o : d.outputs) {
            w.StartObject();
            str("name", o.name);
            str("change", tfstate::to_string(o.kind));
            flag("sensitive", o.sensitive);
            w.EndObject();
        }
        w.EndArray();
        w.Key("serial");
        w.StartObject();
        w.Key("current");
        w.Uint64(d.serial.before);
        w.Key("target");
        w.Uint64(d.serial.after);
        w.EndObject();
        w.Key("lineage");
        w.StartObject();
        str("current", d.lineage.before);
        str("target", d.lineage.after);
        w.EndObject();
        w.Key("terraform_version");
        w.StartObject();
        str("current", d.terraform_version.before);
        str("target", d.terraform_version.after);
        w.EndObject();
        w.EndObject();
    } else {
        w.Null();
    }
    w.Key("locks");
    w.StartArray();
    for (const auto& l : p.locks) {
        w.StartObject();
        str("kind", l.kind);
        str("where", l.where);
        flag("held", l.held);
        str("holder", l.holder);
        w.EndObject();
    }
    w.EndArray();
    strings("warnings", p.warnings);
    strings("refusals", p.refusals);
    str("token", p.token);
    str("token_expires_at", p.token_expires_at);
    if (p.terraform) {
        w.Key("terraform");
        w.StartObject();
        flag("ok", p.terraform->ok);
        flag("changes", p.terraform->changes);
        str("message", p.terraform->message);
        str("tail", p.terraform->tail);
        str("log", p.terraform->log_path);
        w.EndObject();
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

boost::asio::awaitable<restore_plan> plan(restore_context& ctx, const config::environment& env,
                                          backup::environment_access access, restore_request req) {
    restore_plan p;
    p.environment = env.name;
    p.action = req.undelete ? restore_action::undelete : restore_action::restore;
    p.mode = req.mode;
    p.force_lineage = req.force_lineage;
    p.roll_forward_serial = req.roll_forward_serial;
    auto refuse = [&](std::string why) { p.refusals.push_back(std::move(why)); };

    if (env.source != config::source_kind::s3 || access.s3 == nullptr) {
        refuse("environment " + env.name +
               " is a local state file: restore it by copying a snapshot's state file back");
        co_return p;
    }
    const int targets =
        (req.snapshot_id.empty() ? 0 : 1) + (req.version_id.empty() ? 0 : 1) + (req.at ? 1 : 0);
    if (req.undelete ? targets != 0 : targets != 1) {
        refuse(req.undelete
                   ? "an undelete takes no target: it brings back the version under the delete marker"
                   : "name exactly one target: snapshot_id, version_id or at");
        co_return p;
    }
    if (req.mode == restore_mode::full && !env.terraform_dir)
        refuse("mode full needs terraform_dir in the environment's configuration");
    s3::client& s3 = *access.s3;

    current_state cur;
    if (auto why = co_await read_current(s3, env, cur); !why.empty()) {
        refuse(why);
        co_return p;
    }
    p.current_version = cur.version;
    p.current_etag = cur.etag;
    p.current_deleted = cur.deleted;

    // the target
    if (req.undelete) {
        if (!cur.deleted) {
            refuse("the state is not deleted (its current version is " + cur.version +
                   "): nothing to undelete");
            co_return p;
        }
        const auto prev = previous_version(cur.entries, env.key);
        if (!prev) {
            refuse("no version of " + backup::s3_uri(env) +
                   " lies under the delete marker: restore a snapshot instead");
            co_return p;
        }
        p.target_version = prev->version_id;
        p.target_last_modified =
            core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(prev->last_modified));
    } else if (!req.snapshot_id.empty()) {
        manifest::manifest m;
        if (auto s = ctx.jobs.catalog.read_manifest(env.name, req.snapshot_id, m)) {
            refuse("no snapshot " + req.snapshot_id + " of " + env.name + ": " + s.info.message);
            co_return p;
        }
        if (m.terraform_state.bucket != env.bucket || m.terraform_state.key != env.key) {
            refuse("snapshot " + req.snapshot_id + " pins s3://" + m.terraform_state.bucket + "/" +
                   m.terraform_state.key + ", not " + backup::s3_uri(env));
            co_return p;
        }
        p.target_version = m.terraform_state.version_id;
        p.target_snapshot = m.snapshot_id;
        p.target_last_modified = m.terraform_state.last_modified;
    } else if (!req.version_id.empty()) {
        p.target_version = req.version_id;
    } else {
        const auto r = resolve_at(cur.entries, env.key, *req.at);
        if (!r.entry) {
            refuse(r.message);
            co_return p;
        }
        p.target_version = r.entry->version_id;
        p.target_last_modified =
            core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(r.entry->last_modified));
    }
    if (!req.undelete) {
        const bool is_marker =
            std::any_of(cur.entries.begin(), cur.entries.end(), [&](const s3::version_entry& e) {
                return e.key == env.key && e.version_id == p.target_version && e.delete_marker;
            });
        const bool listed = std::any_of(
            cur.entries.begin(), cur.entries.end(),
            [&](const s3::version_entry& e) { return e.key == env.key && e.version_id == p.target_version; });
        if (is_marker) {
            refuse("version " + p.target_version + " is a delete marker, not a state");
            co_return p;
        }
        if (!listed) {
            refuse("version " + p.target_version + " of " + backup::s3_uri(env) +
                   " does not exist (deleted, or expired by a lifecycle rule)");
            co_return p;
        }
    }
    p.already_current = !cur.deleted && p.target_version == cur.version;

    // the bytes, and what they hold
    auto target = co_await fetch(s3, env, p.target_version);
    if (target.ec) {
        refuse(target.message);
        co_return p;
    }
    p.target_md5 = target.md5;
    p.target_sha256 = target.sha256;
    const auto target_kind = tfstate::inspect(target.bytes);
    if (!target_kind.summarised()) {
        p.warnings.push_back(std::string("the target is not a state tfsnap can read (") +
                             tfstate::to_string(target_kind.kind) +
                             (target_kind.message.empty() ? "" : ": " + target_kind.message) +
                             "); it is restored as bytes, without lineage or serial checks" +
                             (req.roll_forward_serial && !req.undelete ? ", and its serial as it is" : ""));
    }
    if (cur.exists && !p.already_current) {
        auto current = co_await fetch(s3, env, cur.version);
        if (current.ec) {
            refuse(current.message);
            co_return p;
        }
        const auto cur_kind = tfstate::inspect(current.bytes);
        if (auto w = encryption_crossing(cur_kind, target_kind))
            p.warnings.push_back(std::move(*w));
        if (req.roll_forward_serial && !req.undelete && target_kind.summarised() && !cur_kind.summarised())
            p.warnings.push_back("the current state is not one tfsnap can read (" +
                                 std::string(tfstate::to_string(cur_kind.kind)) +
                                 "): the target is written with its own serial, not rolled forward");
        if (target_kind.summarised() && cur_kind.summarised()) {
            auto d = tfstate::diff(current.bytes, target.bytes);
            if (d.ok()) {
                if (d.diff.lineage.changed) {
                    const std::string what = "the target's lineage " + d.diff.lineage.after +
                                             " differs from the current " + d.diff.lineage.before +
                                             ": it is another state, not an older version of this one";
                    if (req.force_lineage)
                        p.warnings.push_back(what + " (allowed by force_lineage)");
                    else
                        refuse(what + "; if that is really what you want, plan again with force_lineage");
                }
                if (d.diff.serial.after <= d.diff.serial.before && !req.roll_forward_serial) {
                    p.warnings.push_back(
                        "the serial goes back from " + std::to_string(d.diff.serial.before) + " to " +
                        std::to_string(d.diff.serial.after) +
                        " (roll_forward_serial is off): `terraform state push` will then accept any stale "
                        "local copy with a serial in between, and later applies will reuse serials that "
                        "already exist in the bucket's history; leave roll_forward_serial on (the default) "
                        "to write serial " +
                        std::to_string(d.diff.serial.before + 1) + " instead");
                }
                if (req.roll_forward_serial) {
                    // what will be written: the current serial + 1, or the target's when higher
                    d.diff.serial.after = std::max(d.diff.serial.before + 1, d.diff.serial.after);
                }
                p.diff = std::move(d.diff);
            } else {
                p.warnings.push_back("no diff: " + d.message);
            }
        }
    }
    if (p.already_current)
        p.warnings.push_back("version " + p.target_version + " is already the current state: nothing to do");

    // the locks, as they are now
    const auto locks = locks_of(env, access);
    if (env.lock.dynamodb_table && !locks.dynamo)
        refuse("no DynamoDB client for " + dynamo_where(env));
    if (locks.dynamo) {
        const auto r = co_await locks.dynamo->inspect();
        p.locks.push_back(view_of("dynamodb", dynamo_where(env), r, p.warnings));
    }
    if (locks.file) {
        const auto r = co_await locks.file->inspect();
        p.locks.push_back(view_of("s3-lockfile", file_where(env), r, p.warnings));
    }
    if (!env.lock.dynamodb_table && !env.lock.lockfile)
        p.warnings.push_back(
            "the environment names no lock: nothing stops a Terraform run from writing the state "
            "during the restore (configure lock: as the backend does)");

    if (req.mode == restore_mode::full && env.terraform_dir && p.refusals.empty()) {
        terraform_options o;
        o.dry_run = true;
        o.log_path = ctx.state_dir / "terraform" / (env.name + "-plan.log");
        std::error_code ec;
        fs::create_directories(o.log_path.parent_path(), ec);
        if (ctx.terraform_credentials)
            o.credentials = co_await ctx.terraform_credentials(env);
        p.terraform = co_await run_terraform(env, std::move(o));
        if (!p.terraform->ok)
            p.warnings.push_back("terraform plan failed: " + p.terraform->message);
    }

    if (p.refusals.empty()) {
        auto c = request_claims(ctx, env, req);
        c.target_version = p.target_version;
        c.current_version = p.current_version;
        c.current_etag = p.current_etag;
        const auto expires = now_s(ctx.jobs.clock) + token_lifetime;
        c.expires_at = expires.time_since_epoch().count();
        p.token = issue_token(c, ctx.token_key);
        p.token_expires_at = core::format_rfc3339(expires);
    }
    co_return p;
}

// ------------------------------------------------------------------------------------ execute

namespace {

class executor {
public:
    executor(restore_context& ctx, const config::environment& env, backup::environment_access access,
             restore_request req)
        : ctx_(ctx),
          env_(env),
          access_(access),
          req_(std::move(req)),
          started_(std::chrono::steady_clock::now()) {}

    // Everything up to the release of the locks. Never throws: a cancellation (SIGTERM past the
    // grace, a cancelled job) or an exception becomes a failed result naming the step it stopped
    // in, and release() then runs as after any other ending.
    // By its own copy of the id: finish() moves out_ (and its restore_id) into the result, and an id
    // left in ctx_.running would keep the journal retry away from this restore's locks for good.
    ~executor() { ctx_.running.erase(running_id_); }

    boost::asio::awaitable<void> run(std::string token) {
        out_.restore_id = tfstate::new_lock_id();
        running_id_ = out_.restore_id;
        ctx_.running.insert(running_id_);
        std::string stopped;
        bool cancelled = false;
        try {
            co_await body(std::move(token));
        } catch (const boost::system::system_error& e) {
            cancelled = e.code() == boost::asio::error::operation_aborted;
            stopped = e.what();
        } catch (const std::exception& e) {
            stopped = e.what();
        } catch (...) {
            stopped = "an unknown exception";
        }
        if (!stopped.empty() || cancelled) {
            out_.result = outcome::failed;
            out_.message = (cancelled ? "cancelled during step \"" + step_ + "\" (tfsnapd is stopping)"
                                      : "stopped by an error during step \"" + step_ + "\": " + stopped);
            if (write_started_)
                out_.message += "; the state may have been written (see the steps)";
        }
    }

    // Settles the digest if the state may have been written without it, releases exactly the
    // locks this restore took (the lockfile first, as Terraform does), and removes the journal when
    // nothing is left. Runs to completion whatever happens to the caller's cancellation, within
    // ctx.cleanup_timeout: the work runs in a coroutine of its own that no cancellation slot reaches.
    // The caller must have turned off throw_if_cancelled (a cancelled coroutine throws at its next
    // co_await otherwise, the one of this call included).
    boost::asio::awaitable<void> release() {
        auto ex = co_await boost::asio::this_coro::executor;
        auto unreachable =
            boost::asio::bind_cancellation_slot(boost::asio::cancellation_slot(), boost::asio::use_awaitable);
        auto shielded = boost::asio::co_spawn(ex, release_within_deadline(), std::move(unreachable));
        co_await std::move(shielded);
    }

    // Mode full, when the job was cancelled before Terraform could run.
    void skip_terraform() {
        if (out_.result != outcome::ok || req_.mode != restore_mode::full)
            return;
        record("terraform", false, "not run: the restore was cancelled (tfsnapd is stopping)",
               std::chrono::steady_clock::now());
        out_.result = outcome::failed;
        out_.message += "; terraform apply was not run (cancelled). The state restore stands" +
                        (out_.undo.empty() ? std::string() : "; to undo it: " + out_.undo);
    }

    // Mode full, after a restore that succeeded: terraform apply. A cancellation stops it (the
    // process group is killed) and is recorded; it never throws.
    boost::asio::awaitable<void> run_terraform_after() {
        if (out_.result != outcome::ok || req_.mode != restore_mode::full)
            co_return;
        progress("terraform");
        terraform_options o;
        o.log_path = ctx_.state_dir / "terraform" / (out_.restore_id + ".log");
        std::error_code ec;
        fs::create_directories(o.log_path.parent_path(), ec);
        if (ctx_.terraform_credentials)
            o.credentials = co_await ctx_.terraform_credentials(env_);
        const auto t0 = std::chrono::steady_clock::now();
        std::string stopped;
        try {
            out_.terraform = co_await run_terraform(env_, std::move(o));
        } catch (const std::exception& e) {
            stopped = e.what();
        }
        if (!stopped.empty()) {
            terraform_result t;
            t.ok = false;
            t.failed_step = "apply";
            t.message = "terraform did not finish: " + stopped;
            t.log_path = (ctx_.state_dir / "terraform" / (out_.restore_id + ".log")).string();
            out_.terraform = std::move(t);
        }
        record("terraform", out_.terraform->ok, out_.terraform->message, t0);
        if (!out_.terraform->ok) {
            out_.result = outcome::failed;
            out_.message += "; then terraform " + out_.terraform->failed_step + " failed (" +
                            out_.terraform->message + "). The state restore stands and is not rolled back" +
                            (out_.undo.empty() ? std::string() : "; to undo it: " + out_.undo) +
                            ". Output: " + out_.terraform->log_path;
        }
    }

    // The audit record and the log line; plain file I/O, nothing to cancel.
    restore_result finish() {
        out_.ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_)
                .count();
        audit_record a;
        a.at = core::format_rfc3339(now_s(ctx_.jobs.clock));
        a.restore_id = out_.restore_id;
        a.environment = env_.name;
        a.action = std::string(to_string(req_.undelete ? restore_action::undelete : restore_action::restore));
        a.uid = req_.uid;
        a.user = req_.user;
        a.requested_by = who(ctx_, req_);
        a.reason = req_.reason;
        a.plan_json = claims_json();
        for (const auto& s : out_.steps)
            a.steps.push_back({s.name, s.ok, s.detail, s.ms});
        a.result = std::string(to_string(out_.result));
        a.new_version_id = out_.new_version_id;
        a.message = out_.message;
        a.ms = out_.ms;
        if (auto e = append_audit(ctx_.state_dir, a))
            ctx_.jobs.log.error("restore: cannot write the audit log: " + e.message(), {{"env", env_.name}});
        const std::initializer_list<core::log_field> fields = {
            {"env", env_.name},
            {"restore", out_.restore_id},
            {"result", std::string(to_string(out_.result))}};
        if (out_.ok())
            ctx_.jobs.log.notice("restore: " + out_.message, fields);
        else
            ctx_.jobs.log.error("restore: " + out_.message, fields);
        return std::move(out_);
    }

private:
    // What the token says this is (execute() checked it against the request).
    bool undelete() const { return claims_.action == to_string(restore_action::undelete); }

    void begin(std::string step) {
        step_ = std::move(step);
        progress(step_);
    }

    // Steps begun, against the steps this restore has: check, lock, check after lock, safety
    // snapshot, write, (digest), verify, unlock, (terraform).
    void progress(const std::string& step) {
        if (!req_.on_progress)
            return;
        const int total = 7 + (env_.lock.dynamodb_table ? 1 : 0) + (req_.mode == restore_mode::full ? 1 : 0);
        req_.on_progress(step, std::min(begun_++, total), total);
    }

    void record(std::string name, bool ok, std::string detail, std::chrono::steady_clock::time_point since) {
        out_.steps.push_back(
            {std::move(name), ok, std::move(detail),
             std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since)
                 .count()});
        if (ctx_.after_step)
            ctx_.after_step(out_.steps.back().name);
    }

    // After an acquire: records the step; false (and refused) unless the lock is ours. An unknown
    // outcome (no holder named) may still have left our lock, so `ours` is set for the release,
    // which compares IDs first.
    bool took(std::string step, const lock_result& r, const std::string& where, bool& ours,
              std::chrono::steady_clock::time_point since) {
        ours = r.acquired || !r.held_by;
        if (r.acquired) {
            record(std::move(step), true, where, since);
            return true;
        }
        record(std::move(step), false, r.message, since);
        refuse(r.held_by ? "the state is locked: " + tfstate::describe_holder(*r.held_by) +
                               ". tfsnap never breaks a lock; wait for that run to finish, then plan again"
                         : "cannot take the lock " + where + ": " + r.message);
        return false;
    }

    void refuse(std::string message) {
        out_.result = outcome::refused;
        out_.message = std::move(message);
    }
    void fail(std::string message) {
        out_.result = outcome::failed;
        out_.message = std::move(message);
    }

    void save_journal(std::string step) {
        if (!journal_)
            return;
        journal_->step = std::move(step);
        if (auto e = write_journal(ctx_.state_dir, *journal_))
            ctx_.jobs.log.warning("restore journal: " + e.message(), {{"env", env_.name}});
    }

    boost::asio::awaitable<void> body(std::string token) {
        begin("check");
        auto t0 = std::chrono::steady_clock::now();
        if (env_.source != config::source_kind::s3 || access_.s3 == nullptr) {
            refuse("environment " + env_.name + " is not an S3 state");
            co_return;
        }
        s3::client& s3 = *access_.s3;
        // 1. the token, and the state it was made for
        const auto verified = check_request_token(token, ctx_.token_key, now_s(ctx_.jobs.clock),
                                                  request_claims(ctx_, env_, req_));
        if (verified.ec == token_errc::mismatch) {
            refuse("the plan token was made for another request (" + verified.message + "): plan again");
            co_return;
        }
        if (verified.ec) {
            refuse("the plan token is not valid (" + verified.message + "): plan again");
            co_return;
        }
        claims_ = verified.claims;
        current_state cur;
        if (auto why = co_await read_current(s3, env_, cur); !why.empty()) {
            fail(why);
            co_return;
        }
        if (cur.version != claims_.current_version || cur.etag != claims_.current_etag) {
            record("check", false, "current version " + cur.version + " " + cur.etag, t0);
            refuse("state changed since the plan: the current version was " + claims_.current_version +
                   " and is now " + cur.version + ". Nothing was changed; plan again and read the new diff");
            co_return;
        }
        record("check", true, "current version " + cur.version + " as planned", t0);
        if (!cur.deleted && cur.version == claims_.target_version) {
            out_.result = outcome::no_op;
            out_.message = "version " + cur.version + " is already the current state: nothing to do";
            co_return;
        }

        // 2. journal, then the locks in Terraform's order: the lockfile, then DynamoDB
        begin("lock");
        t0 = std::chrono::steady_clock::now();
        lock_info_.id = tfstate::new_lock_id();
        lock_info_.operation = "tfsnap-restore";
        lock_info_.info = req_.reason;
        lock_info_.who = who(ctx_, req_);
        lock_info_.version = ctx_.terraform_version_hint;
        lock_info_.created = tfstate::format_lock_created(ctx_.jobs.clock.now());
        lock_info_.path = env_.lock_id();
        journal_entry j;
        j.restore_id = out_.restore_id;
        j.environment = env_.name;
        j.started_at = core::format_rfc3339(now_s(ctx_.jobs.clock));
        j.requested_by = lock_info_.who;
        j.reason = req_.reason;
        j.state_bucket = env_.bucket;
        j.state_key = env_.key;
        j.digest_table = env_.lock.dynamodb_table.value_or("");
        j.before_version = cur.version;
        locks_ = locks_of(env_, access_);
        if (env_.lock.dynamodb_table && !locks_.dynamo) {
            refuse("no DynamoDB client for " + dynamo_where(env_));
            co_return;
        }
        if (locks_.file)
            j.locks.push_back({"s3-lockfile", env_.bucket, env_.key + ".tflock", lock_info_.id});
        if (locks_.dynamo)
            j.locks.push_back({"dynamodb", *env_.lock.dynamodb_table, env_.lock_id(), lock_info_.id});
        j.step = "locking";
        if (auto e = write_journal(ctx_.state_dir, j)) {
            fail("cannot write the restore journal: " + e.message());
            co_return;
        }
        journal_ = j;
        if (locks_.file) {
            // Until the answer says otherwise the lock may be ours: a cancellation while the write
            // is in flight must still release it (release compares IDs first).
            file_locked_ = true;
            const auto r = co_await locks_.file->acquire(lock_info_);
            if (!took("lock s3-lockfile", r, file_where(env_), file_locked_, t0))
                co_return;
        }
        if (locks_.dynamo) {
            t0 = std::chrono::steady_clock::now();
            dynamo_locked_ = true;  // as above
            const auto r = co_await locks_.dynamo->acquire(lock_info_);
            if (!took("lock dynamodb", r, dynamo_where(env_), dynamo_locked_, t0))
                co_return;
        }
        save_journal("locked");

        // Terraform may have written between the check and the lock: look again, now that
        // nobody who honours the lock can.
        begin("check after lock");
        t0 = std::chrono::steady_clock::now();
        current_state locked;
        if (auto why = co_await read_current(s3, env_, locked); !why.empty()) {
            record("check after lock", false, why, t0);
            fail(why + "; nothing was written");
            co_return;
        }
        if (locked.version != claims_.current_version || locked.etag != claims_.current_etag ||
            locked.deleted != cur.deleted) {
            record("check after lock", false, "current version " + locked.version + " " + locked.etag, t0);
            refuse("state changed between the plan's check and the lock: the current version was " +
                   claims_.current_version + " and is now " + locked.version +
                   " (someone wrote it just before tfsnap locked it). Nothing was written; plan again");
            co_return;
        }
        record("check after lock", true, "current version " + locked.version + " as planned", t0);
        cur = std::move(locked);
        cur_ = cur;

        // 3. safety snapshot
        begin("safety snapshot");
        t0 = std::chrono::steady_clock::now();
        if (cur.deleted) {
            record("safety snapshot", true, "the current entry is a delete marker: no bytes to keep", t0);
        } else {
            backup::backup_request b;
            b.schedule = std::string(backup::safety_schedule);
            b.requested_by = lock_info_.who;
            b.force_snapshot = true;
            b.prune = false;
            auto snap = co_await backup::run_backup(ctx_.jobs, env_, access_, std::move(b));
            if (snap.status != backup::backup_status::snapshot || snap.version_id != cur.version) {
                record("safety snapshot", false, snap.message, t0);
                fail("cannot take the safety snapshot (" + snap.message + "); nothing was written");
                co_return;
            }
            const auto pin = env_.retention.restore_pin.value_or(config::default_restore_pin);
            const std::string until = core::format_rfc3339(
                now_s(ctx_.jobs.clock) + std::chrono::duration_cast<std::chrono::seconds>(pin));
            (void)ctx_.jobs.catalog.set_pin(env_.name, snap.snapshot_id, until);
            out_.safety_snapshot = snap.snapshot_id;
            out_.undo = ctx_.undo_command + " " + env_.name + " --snapshot " + snap.snapshot_id;
            record("safety snapshot", true,
                   snap.snapshot_id + " of version " + cur.version + ", pinned until " + until, t0);
        }

        // 4. write
        begin("write");
        t0 = std::chrono::steady_clock::now();
        std::string expected_md5, expected_sha256, written_version;
        // the target's bytes and digests, whichever way it is written
        auto target = co_await fetch(s3, env_, claims_.target_version);
        if (target.ec) {
            record("write", false, target.message, t0);
            fail(target.message);
            co_return;
        }
        const auto writes = backend_writes(env_);
        if (undelete()) {
            expected_md5 = target.md5;
            expected_sha256 = target.sha256;
            start_write(expected_md5);
            const auto d = co_await s3.delete_object(env_.bucket, env_.key, cur.version);
            if (d.ec) {
                record("write", false, s3::describe(d.ec, d.info), t0);
                fail("cannot remove the delete marker " + cur.version + ": " + s3::describe(d.ec, d.info));
                co_return;
            }
            written_version = claims_.target_version;
            record(
                "write", true,
                "removed delete marker " + cur.version + "; version " + written_version + " is current again",
                t0);
        } else {
            std::string bytes = std::move(target.bytes);
            std::string how = "PUT of version " + claims_.target_version + "'s bytes";
            bool rolled = false;
            if (req_.roll_forward_serial) {
                // The current state's serial + 1 (or the target's, when higher): Terraform then treats
                // the restored state as the newest, refuses pushes of stale local copies, and no
                // later apply reuses a serial that already exists in the bucket's history.
                auto current = co_await fetch(s3, env_, cur.version);
                const auto cur_summary = current.ec ? tfstate::inspection{} : tfstate::inspect(current.bytes);
                const auto target_summary = tfstate::inspect(bytes);
                if (cur_summary.summarised() && target_summary.summarised()) {
                    const auto serial =
                        std::max(cur_summary.summary.serial + 1, target_summary.summary.serial);
                    auto rewritten = tfstate::set_serial(bytes, serial);
                    if (rewritten.ec) {
                        record("write", false, rewritten.message, t0);
                        fail("roll_forward_serial: " + rewritten.message + "; nothing was written");
                        co_return;
                    }
                    bytes = std::move(rewritten.bytes);
                    how += " with serial " + std::to_string(serial);
                    rolled = true;
                } else {
                    how += " (serial as it is: " +
                           std::string(cur_summary.summarised() ? "the target" : "the current state") +
                           " is not a state tfsnap can read)";
                }
            }
            if (rolled || env_.conditional_writes || !writes.acl.empty() || env_.writes.encrypt) {
                s3::put_options opts = writes;
                if (!env_.writes.encrypt) {  // keep the current object's encryption
                    opts.sse = cur.sse;
                    opts.kms_key_id = cur.kms_key_id;
                }
                if (env_.conditional_writes)
                    opts.if_match = cur.etag;
                expected_md5 = crypto::md5_hex(bytes);
                expected_sha256 = crypto::sha256_hex(bytes);
                start_write(expected_md5);
                const auto body = http::body_source::memory(bytes);
                const auto put = co_await s3.put_object(env_.bucket, env_.key, body, opts);
                if (put.ec) {
                    record("write", false, s3::describe(put.ec, put.info), t0);
                    if (put.ec == s3::errc::precondition_failed)
                        refuse(
                            "state changed since the plan (S3 refused the conditional write): nothing was "
                            "written");
                    else
                        fail("cannot write the state: " + s3::describe(put.ec, put.info));
                    co_return;
                }
                written_version = put.version_id;
                record("write", true, how + " -> version " + written_version, t0);
            } else {
                s3::copy_options opts;
                opts.sse = cur.sse;
                opts.kms_key_id = cur.kms_key_id;
                expected_md5 = target.md5;
                expected_sha256 = target.sha256;
                start_write(expected_md5);
                const auto c = co_await s3.copy_object(env_.bucket, env_.key, claims_.target_version,
                                                       env_.bucket, env_.key, std::move(opts));
                if (c.ec) {
                    record("write", false, s3::describe(c.ec, c.info), t0);
                    fail("cannot copy version " + claims_.target_version +
                         " over the state: " + s3::describe(c.ec, c.info));
                    co_return;
                }
                written_version = c.version_id;
                record("write", true,
                       "CopyObject of version " + claims_.target_version + " -> version " + written_version,
                       t0);
            }
        }
        out_.new_version_id = written_version;
        save_journal("written");

        // 5. digest
        if (env_.lock.dynamodb_table && access_.dynamodb != nullptr) {
            begin("digest");
            t0 = std::chrono::steady_clock::now();
            const std::string lock_id = env_.lock_id();  // named: no temporaries in co_await
            const auto r =
                co_await set_digest(*access_.dynamodb, *env_.lock.dynamodb_table, lock_id, expected_md5);
            if (!r.written) {
                record("digest", false, r.message, t0);
                fail("the state was restored (version " + written_version + ") but " + r.message +
                     ". Terraform will refuse the state until its Digest is " + expected_md5);
                co_return;
            }
            digest_set_ = true;
            save_journal("digest");
            record("digest", true, r.message, t0);
        }

        // 6. verify
        begin("verify");
        t0 = std::chrono::steady_clock::now();
        const auto h = co_await s3.head_object(env_.bucket, env_.key);
        auto now_current = co_await fetch(s3, env_, h.ec ? written_version : h.object.version_id);
        if (h.ec || now_current.ec || now_current.md5 != expected_md5 ||
            now_current.sha256 != expected_sha256) {
            const std::string why =
                h.ec ? s3::describe(h.ec, h.info)
                : now_current.ec
                    ? now_current.message
                    : "the current bytes are not the ones written (version " + h.object.version_id + ")";
            record("verify", false, why, t0);
            fail("the restore could not be verified: " + why + ". Check the state before running Terraform");
            co_return;
        }
        if (!h.ec && h.object.version_id != written_version && !written_version.empty())
            written_version = h.object.version_id;
        out_.new_version_id = written_version;
        record("verify", true, "version " + written_version + " has MD5 " + expected_md5, t0);
        out_.result = outcome::ok;
        out_.message = (undelete() ? "undeleted " : "restored ") + backup::s3_uri(env_) + ": version " +
                       written_version + (undelete() ? "" : " (from " + claims_.target_version + ")") +
                       " is current";
    }

    // From here on the state may change: the journal says so first, with the bytes' MD5, so that a
    // crash leaves enough to settle the digest at the next start.
    void start_write(const std::string& md5) {
        write_started_ = true;
        if (journal_)
            journal_->expected_md5 = md5;
        save_journal("writing");
    }

    boost::asio::awaitable<void> release_within_deadline() {
        using namespace boost::asio::experimental::awaitable_operators;
        const auto t0 = std::chrono::steady_clock::now();
        progress("unlock");
        try {
            boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, ctx_.cleanup_timeout);
            auto work = release_work();
            auto expiry = timer.async_wait(boost::asio::use_awaitable);
            const auto which = co_await (std::move(work) || std::move(expiry));
            if (which.index() == 1)
                throw std::runtime_error("timed out after " + std::to_string(ctx_.cleanup_timeout.count()) +
                                         " ms");
        } catch (const std::exception& e) {
            record("unlock", false, e.what(), t0);
            out_.result = out_.result == outcome::ok ? outcome::failed : out_.result;
            out_.message += std::string("; releasing the locks stopped (") + e.what() + ")";
        }
        if (file_locked_ || dynamo_locked_)
            out_.message +=
                "; a lock of this restore could not be released (the journal keeps it; tfsnapd tries again "
                "every minute while it runs, and at its next start)";
        else if (journal_)
            (void)remove_journal(ctx_.state_dir, journal_->restore_id);
    }

    boost::asio::awaitable<void> release_work() {
        // The digest first, while our DynamoDB lock still keeps Terraform out.
        if (write_started_ && !digest_set_ && dynamo_locked_ && access_.s3 != nullptr &&
            access_.dynamodb != nullptr) {
            const auto t0 = std::chrono::steady_clock::now();
            const std::string lock_id = env_.lock_id();  // named: no temporaries in co_await
            const auto d = co_await settle_digest(*access_.s3, *access_.dynamodb, *env_.lock.dynamodb_table,
                                                  env_.bucket, env_.key, lock_id);
            record("settle digest", !d.ec, d.message, t0);
            if (!d.ec) {
                digest_set_ = true;
                save_journal("digest");
            } else {
                out_.message += "; " + d.message + ": Terraform will refuse the state until the digest " +
                                env_.lock_id() + "-md5 is the MD5 of its current bytes";
            }
        }
        if (file_locked_) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto rel = co_await release_retrying(*locks_.file, lock_info_.id, release_attempts);
            const bool gone = rel.released || rel.already_released;
            file_locked_ = !gone;
            record("unlock s3-lockfile", gone, rel.message, t0);
        }
        if (dynamo_locked_) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto rel = co_await release_retrying(*locks_.dynamo, lock_info_.id, release_attempts);
            const bool gone = rel.released || rel.already_released;
            dynamo_locked_ = !gone;
            record("unlock dynamodb", gone, rel.message, t0);
        }
    }

    std::string claims_json() const {
        rapidjson::StringBuffer buf;
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        auto str = [&](const char* k, const std::string& v) {
            w.Key(k);
            w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
        };
        w.StartObject();
        str("action", claims_.action);
        str("target_version", claims_.target_version);
        str("current_version", claims_.current_version);
        str("current_etag", claims_.current_etag);
        str("mode", claims_.mode);
        w.Key("force_lineage");
        w.Bool(claims_.force_lineage);
        w.Key("roll_forward_serial");
        w.Bool(claims_.roll_forward_serial);
        w.EndObject();
        return std::string(buf.GetString(), buf.GetSize());
    }

    restore_context& ctx_;
    const config::environment& env_;
    backup::environment_access access_;
    restore_request req_;
    std::chrono::steady_clock::time_point started_;
    restore_result out_;
    plan_claims claims_;
    current_state cur_;
    tfstate::lock_info lock_info_;
    lock_set locks_;
    bool dynamo_locked_ = false, file_locked_ = false;
    bool write_started_ = false, digest_set_ = false;
    std::string step_ = "start";
    int begun_ = 0;  // steps begun, for on_progress
    std::optional<journal_entry> journal_;
    std::string running_id_;  // this restore's entry in ctx_.running
};

}  // namespace

namespace {

boost::asio::awaitable<std::vector<recovery>> recover_each(
    restore_context& ctx, const core::dir_owner& owner, const config::daemon_config& cfg,
    std::function<backup::environment_access(const config::environment&)> access_of, bool at_start) {
    std::vector<recovery> out;
    if (fs::path(owner.dir()).lexically_normal() != fs::path(ctx.state_dir).lexically_normal()) {
        ctx.jobs.log.error("restore journal: not recovered: this process owns " + owner.dir().string() +
                           ", not " + ctx.state_dir.string());
        co_return out;
    }
    const auto found = scan(ctx.state_dir);
    if (!found.ok()) {
        ctx.jobs.log.error("restore journal: " + found.message);
        co_return out;
    }
    // A journal write cut by a kill leaves its temporary file (never the journal itself: the
    // rename is atomic). The owner is the only writer, so at start-up none of them is live.
    if (at_start) {
        for (const auto& leftover : found.leftovers) {
            std::error_code ec;
            fs::remove(leftover, ec);
            if (ec)
                ctx.jobs.log.warning("restore journal: cannot remove " + leftover.string() + ": " +
                                     ec.message());
        }
    }
    for (const auto& m : found.malformed) {
        if (!at_start)
            break;  // reported once, at start-up
        recovery r;
        r.error = "malformed restore journal " + m.path.string() + " (" + m.reason +
                  "): left in place; check by hand which locks it names";
        ctx.jobs.log.error(r.error);
        out.push_back(std::move(r));
    }
    for (const auto& j : found.journals) {
        if (ctx.running.contains(j.restore_id))
            continue;  // live: its own execute() releases what it holds
        recovery r;
        r.restore_id = j.restore_id;
        r.environment = j.environment;
        const config::environment* env = cfg.find(j.environment);
        const auto started = std::chrono::steady_clock::now();
        audit_record a;
        a.at = core::format_rfc3339(now_s(ctx.jobs.clock));
        a.restore_id = j.restore_id;
        a.environment = j.environment;
        a.action = "recover";
        a.requested_by = j.requested_by;
        a.reason = j.reason;
        if (env == nullptr) {
            r.error = "environment " + j.environment + " is no longer configured; its journal is kept";
            for (const auto& l : j.locks)
                r.left.push_back(describe(l));
            a.result = "failed";
            a.message = r.error;
        } else {
            const auto access = access_of(*env);
            const auto o = co_await recover(ctx.state_dir, j, recovery_clients{access.dynamodb, access.s3});
            if (!o.digest.empty())
                a.steps.push_back({"digest", o.digest.find("could not") == std::string::npos, o.digest, 0});
            for (const auto& l : o.released) {
                r.released.push_back(describe(l.lock));
                a.steps.push_back({"release " + l.lock.kind, true, l.message, 0});
            }
            for (const auto& l : o.already_gone)
                a.steps.push_back({"release " + l.lock.kind, true, l.message, 0});
            for (const auto& l : o.held_by_other) {
                r.left.push_back(describe(l.lock) + ": " + l.message);
                a.steps.push_back({"release " + l.lock.kind, true, "left alone: " + l.message, 0});
            }
            for (const auto& l : o.failed) {
                r.left.push_back(describe(l.lock) + ": " + l.message);
                a.steps.push_back({"release " + l.lock.kind, false, l.message, 0});
            }
            if (!o.ok())
                r.error = o.message;
            a.result = o.ok() ? "recovered" : "failed";
            a.message = "restore " + j.restore_id + " stopped after step \"" + j.step + "\": " + o.message;
        }
        a.ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                .count();
        if (auto e = append_audit(ctx.state_dir, a))
            ctx.jobs.log.error("restore journal: cannot write the audit log: " + e.message());
        if (r.error.empty())
            ctx.jobs.log.warning("restore journal: " + a.message,
                                 {{"env", j.environment}, {"restore", j.restore_id}});
        else
            ctx.jobs.log.error("restore journal: " + a.message,
                               {{"env", j.environment}, {"restore", j.restore_id}});
        out.push_back(std::move(r));
    }
    co_return out;
}

}  // namespace

boost::asio::awaitable<std::vector<recovery>> recover_journals(
    restore_context& ctx, const core::dir_owner& owner, const config::daemon_config& cfg,
    std::function<backup::environment_access(const config::environment&)> access_of) {
    return recover_each(ctx, owner, cfg, std::move(access_of), true);
}

boost::asio::awaitable<std::vector<recovery>> retry_journals(
    restore_context& ctx, const core::dir_owner& owner, const config::daemon_config& cfg,
    std::function<backup::environment_access(const config::environment&)> access_of) {
    return recover_each(ctx, owner, cfg, std::move(access_of), false);
}

boost::asio::awaitable<restore_result> execute(restore_context& ctx, const config::environment& env,
                                               backup::environment_access access, restore_request req,
                                               std::string token) {
    executor x(ctx, env, access, std::move(req));
    co_await x.run(std::move(token));
    // However run() ended, the cleanup runs to its end: a cancelled coroutine would throw at its next
    // co_await, so that is turned off until the locks are released.
    const bool throws = co_await boost::asio::this_coro::throw_if_cancelled();
    co_await boost::asio::this_coro::throw_if_cancelled(false);
    co_await x.release();
    co_await boost::asio::this_coro::throw_if_cancelled(throws);
    const auto state = co_await boost::asio::this_coro::cancellation_state;
    if (state.cancelled() == boost::asio::cancellation_type::none)
        co_await x.run_terraform_after();
    else
        x.skip_terraform();
    co_return x.finish();
}

}  // namespace tfsnap::restore
