#include "tfsnap/backup/verify_job.hpp"

#include "tfsnap/backup/detail/offload.hpp"
#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/http/body.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

namespace tfsnap::backup {

namespace fs = std::filesystem;

std::string digest_lock_id(const config::environment& env) {
    return env.bucket + "/" + env.key + "-md5";
}

std::optional<std::string> md5_from_etag(const s3::object_info& o) {
    if (o.sse == "aws:kms" || o.sse == "aws:kms:dsse" || !o.kms_key_id.empty())
        return std::nullopt;
    std::string md5 = unquote_etag(o.etag);
    if (md5.size() != 32 || md5.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        return std::nullopt;
    for (char& c : md5)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return md5;
}

bool same_md5(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

namespace {

struct file_digest {
    bool ok = false;
    std::string sha256;
};

file_digest sha256_of_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in)
        return {};
    crypto::hasher h(crypto::algorithm::sha256);
    std::vector<char> buf(64 * 1024);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const auto n = static_cast<std::size_t>(in.gcount());
        if (n > 0)
            h.update({buf.data(), n});
    }
    if (in.bad())
        return {};
    return {true, h.final_hex()};
}

class verifier {
public:
    verifier(job_context& ctx, const config::environment& env, environment_access access)
        : ctx_(ctx), env_(env), access_(access) {}

    boost::asio::awaitable<verify_report> run() {
        rep_.environment = env_.name;
        rep_.checked_at = core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(ctx_.clock.now()));
        std::vector<catalog::index_entry> entries;
        if (auto s = ctx_.catalog.list(env_.name, entries)) {
            rep_.error = "cannot read the catalog: " + s.info.path + ": " + s.info.message;
            co_return finish();
        }
        rep_.snapshots = entries.size();
        for (const auto& e : entries) {
            manifest::manifest m;
            if (auto s = ctx_.catalog.read_manifest(env_.name, e.snapshot_id, m)) {
                add(e.snapshot_id, "manifest", false, "cannot read the manifest: " + s.info.message);
                continue;
            }
            if (m.terraform_state.source == "s3")
                co_await check_version(m);
            if (m.copy)
                co_await check_copy(m);
        }
        if (env_.source == config::source_kind::s3 && env_.lock.dynamodb_table)
            co_await check_digest();
        co_return finish();
    }

private:
    void add(std::string id, std::string check, bool ok, std::string detail) {
        if (!ok)
            ++rep_.problems;
        rep_.findings.push_back({std::move(id), std::move(check), ok, std::move(detail)});
    }

    boost::asio::awaitable<void> check_version(const manifest::manifest& m) {
        const auto& ts = m.terraform_state;
        if (access_.s3 == nullptr) {
            add(m.snapshot_id, "version", false, "no S3 client to check it with");
            co_return;
        }
        const auto h = co_await access_.s3->head_object(ts.bucket, ts.key, ts.version_id);
        if (h.ec == s3::errc::no_such_key || h.ec == s3::errc::no_such_version) {
            const bool copied = m.copy.has_value();
            add(m.snapshot_id, "version", false,
                "version " + ts.version_id + " of s3://" + ts.bucket + "/" + ts.key +
                    " no longer exists (deleted, or expired by a lifecycle rule); " +
                    (copied ? "its " + m.copy->mode + " copy still holds the bytes"
                            : "there is no copy: this snapshot can no longer be restored"));
            co_return;
        }
        if (h.ec) {
            add(m.snapshot_id, "version", false, "cannot check: " + s3::describe(h.ec, h.info));
            co_return;
        }
        std::string why;
        if (!ts.etag.empty() && unquote_etag(h.object.etag) != unquote_etag(ts.etag))
            why = "its ETag is " + h.object.etag + ", the manifest says " + ts.etag;
        if (h.object.size != ts.content_length)
            why += std::string(why.empty() ? "" : "; ") + "its size is " + std::to_string(h.object.size) +
                   ", the manifest says " + std::to_string(ts.content_length);
        add(m.snapshot_id, "version", why.empty(),
            why.empty() ? "version " + ts.version_id + " present, ETag and size match"
                        : "version " + ts.version_id + " changed: " + why);
    }

    boost::asio::awaitable<void> check_copy(const manifest::manifest& m) {
        const auto& c = *m.copy;
        const std::string expected_plain = m.checksums ? m.checksums->sha256 : std::string();
        if (c.mode == "s3") {
            s3::client* archive = access_.archive != nullptr ? access_.archive : access_.s3;
            if (archive == nullptr) {
                add(m.snapshot_id, "copy", false, "no S3 client for the archive bucket " + c.bucket);
                co_return;
            }
            http::discard_sink sink;
            const auto g = co_await archive->get_object(c.bucket, c.key, c.version_id, sink);
            if (g.ec) {
                add(m.snapshot_id, "copy", false,
                    "archive copy s3://" + c.bucket + "/" + c.key +
                        " unreadable: " + s3::describe(g.ec, g.info));
                co_return;
            }
            const std::string& want = c.sha256.empty() ? expected_plain : c.sha256;
            add(m.snapshot_id, "copy", g.sha256_hex == want,
                g.sha256_hex == want ? "archive copy s3://" + c.bucket + "/" + c.key + " matches (SHA-256)"
                                     : "archive copy s3://" + c.bucket + "/" + c.key + " has SHA-256 " +
                                           g.sha256_hex + ", expected " + want);
            co_return;
        }
        if (c.mode != "local" || c.path.empty() || c.path.find('/') != std::string::npos) {
            add(m.snapshot_id, "copy", false, "unknown copy \"" + c.mode + "\" " + c.path);
            co_return;
        }
        const fs::path file = ctx_.catalog.root() / env_.name / m.snapshot_id / c.path;
        std::function<file_digest()> hash = [file] { return sha256_of_file(file); };
        const auto d = co_await detail::offload(ctx_, std::move(hash));
        if (!d.ok) {
            add(m.snapshot_id, "copy", false, "local copy " + file.string() + " is missing or unreadable");
            co_return;
        }
        if (!c.sha256.empty() && d.sha256 != c.sha256) {
            add(m.snapshot_id, "copy", false,
                "local copy " + file.string() + " has SHA-256 " + d.sha256 + ", expected " + c.sha256);
            co_return;
        }
        if (c.path == "state.enc" && access_.copy_key != nullptr) {
            const crypto::sealing_key* key = access_.copy_key;
            std::function<crypto::open_result()> authenticate = [key, file] {
                return crypto::verify_sealed(*key, file);
            };
            const auto v = co_await detail::offload(ctx_, std::move(authenticate));
            if (!v.ok()) {
                add(m.snapshot_id, "copy", false, "sealed copy " + file.string() + ": " + v.error.message);
                co_return;
            }
            if (!expected_plain.empty() && v.plaintext_sha256 != expected_plain) {
                add(m.snapshot_id, "copy", false,
                    "sealed copy " + file.string() + " decrypts to other bytes than the snapshot's");
                co_return;
            }
        }
        add(m.snapshot_id, "copy", true, "local copy " + c.path + " matches (SHA-256)");
    }

    boost::asio::awaitable<void> check_digest() {
        if (access_.dynamodb == nullptr || access_.s3 == nullptr) {
            add(std::string(), "digest", false, "no DynamoDB client to check the digest with");
            co_return;
        }
        const std::string lock_id = digest_lock_id(env_);
        // arguments built first: GCC 12 miscompiles braced temporaries in a co_await expression
        dynamodb::item key;
        key.emplace("LockID", dynamodb::attribute_value::string(lock_id));
        std::vector<std::string> projection;
        projection.emplace_back("Digest");
        const auto item = co_await access_.dynamodb->get_item(*env_.lock.dynamodb_table, std::move(key), true,
                                                              std::move(projection));
        if (item.ec) {
            add(std::string(), "digest", false,
                "cannot read " + lock_id + ": " + dynamodb::describe(item.ec, item.info));
            co_return;
        }
        std::string digest;
        if (item.found) {
            if (const auto it = item.found->find("Digest"); it != item.found->end())
                digest = it->second.value;
        }
        if (digest.empty()) {
            add(std::string(), "digest", true,
                "no digest item " + lock_id +
                    " (Terraform writes it on its next state write; nothing to compare)");
            co_return;
        }
        // the current state's MD5: its ETag when that is a plain MD5, else read it
        std::string md5;
        const auto h = co_await access_.s3->head_object(env_.bucket, env_.key);
        if (h.ec == s3::errc::no_such_key || h.ec == s3::errc::delete_marker) {
            add(std::string(), "digest", false,
                "the state is deleted but " + lock_id + " still holds digest " + digest +
                    "; an undelete (tfsnapd restore ENV --undelete) brings state and digest back together");
            co_return;
        }
        if (h.ec) {
            add(std::string(), "digest", false,
                "cannot read the current state: " + s3::describe(h.ec, h.info));
            co_return;
        }
        if (auto from_etag = md5_from_etag(h.object)) {
            md5 = std::move(*from_etag);
        } else {
            http::discard_sink sink;
            const auto g = co_await access_.s3->get_object(env_.bucket, env_.key, h.object.version_id, sink);
            if (g.ec) {
                add(std::string(), "digest", false,
                    "cannot read the current state: " + s3::describe(g.ec, g.info));
                co_return;
            }
            md5 = g.md5_hex;
        }
        if (same_md5(digest, md5)) {
            add(std::string(), "digest", true, lock_id + " matches the current state (MD5 " + md5 + ")");
        } else {
            add(std::string(), "digest", false,
                lock_id + " holds " + digest + " but the current state's MD5 is " + md5 +
                    ": Terraform will refuse this state (\"state data in S3 does not have the expected "
                    "content\"). Check which is right; if the state is, set the item's Digest to " +
                    md5);
        }
    }

    verify_report finish() {
        if (auto s = ctx_.catalog.write_record(env_.name, catalog::catalog::verify_record, serialize(rep_)))
            ctx_.log.warning("verify: cannot record the result: " + s.info.path + ": " + s.info.message,
                             {{"env", env_.name}});
        for (const auto& f : rep_.findings) {
            if (!f.ok)
                ctx_.log.error("verify: " + f.check + (f.snapshot_id.empty() ? "" : " of " + f.snapshot_id) +
                                   ": " + f.detail,
                               {{"env", env_.name}, {"snapshot", f.snapshot_id}, {"check", f.check}});
        }
        if (!rep_.error.empty())
            ctx_.log.error("verify: " + rep_.error, {{"env", env_.name}});
        else
            ctx_.log.info("verify: " + std::to_string(rep_.snapshots) + " snapshot(s), " +
                              std::to_string(rep_.problems) + " problem(s)",
                          {{"env", env_.name}});
        return std::move(rep_);
    }

    job_context& ctx_;
    const config::environment& env_;
    environment_access access_;
    verify_report rep_;
};

}  // namespace

boost::asio::awaitable<verify_report> run_verify(job_context& ctx, const config::environment& env,
                                                 environment_access access) {
    verifier v(ctx, env, access);
    co_return co_await v.run();
}

std::string serialize(const verify_report& r) {
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    auto str = [&](const std::string& s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
    w.StartObject();
    w.Key("environment");
    str(r.environment);
    w.Key("checked_at");
    str(r.checked_at);
    w.Key("snapshots");
    w.Uint64(r.snapshots);
    w.Key("problems");
    w.Uint64(r.problems);
    w.Key("ok");
    w.Bool(r.ok());
    if (!r.error.empty()) {
        w.Key("error");
        str(r.error);
    }
    w.Key("findings");
    w.StartArray();
    for (const auto& f : r.findings) {
        w.StartObject();
        if (!f.snapshot_id.empty()) {
            w.Key("snapshot_id");
            str(f.snapshot_id);
        }
        w.Key("check");
        str(f.check);
        w.Key("ok");
        w.Bool(f.ok);
        w.Key("detail");
        str(f.detail);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

}  // namespace tfsnap::backup
