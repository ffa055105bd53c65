#include "tfsnap/restore/journal.hpp"

#include "tfsnap/core/atomic_file.hpp"
#include "tfsnap/core/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace tfsnap::restore {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using boost::system::error_code;

namespace {

constexpr std::string_view journal_suffix = ".json";
constexpr std::string_view temp_suffix = ".json.tmp";
constexpr std::string_view lockfile_suffix = ".tflock";
constexpr std::size_t max_journal_bytes = 1024 * 1024;

using writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void field(writer& w, const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

// A required string member; false (with `why`) when absent or not a string.
bool get(const rapidjson::Value& o, const char* k, std::string& out, std::string* why,
         const std::string& where) {
    const auto it = o.FindMember(k);
    if (it == o.MemberEnd() || !it->value.IsString()) {
        if (why != nullptr)
            *why = where + "\"" + k + "\" is missing or not a string";
        return false;
    }
    out.assign(it->value.GetString(), it->value.GetStringLength());
    return true;
}

journal_status io_failure(const core::file_error& e) {
    return {make_error_code(core::errc::io_error), e.message()};
}

journal_status bad_id(std::string_view id) {
    // the id itself may be anything: say how long it is, not what it is
    return {make_error_code(lock_errc::invalid_restore_id),
            "refusing a restore id of " + std::to_string(id.size()) +
                " characters that is not 1-128 of [A-Za-z0-9._-] starting with a letter or digit"};
}

fs::path journal_path(const fs::path& state_dir, std::string_view id) {
    return journal_dir(state_dir) / (std::string(id) + std::string(journal_suffix));
}

fs::path temp_path(const fs::path& state_dir, std::string_view id) {
    return journal_dir(state_dir) / ("." + std::string(id) + std::string(temp_suffix));
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string join(const std::vector<lock_recovery>& v) {
    std::string out;
    for (const auto& l : v)
        out += (out.empty() ? "" : ", ") + describe(l.lock);
    return out;
}

}  // namespace

std::string describe(const journal_lock& l) {
    if (l.kind == "dynamodb")
        return "DynamoDB table \"" + l.table_or_bucket + "\", LockID \"" + l.lock_key + "\"";
    if (l.kind == "s3-lockfile")
        return "s3://" + l.table_or_bucket + "/" + l.lock_key;
    return l.kind + " lock " + l.table_or_bucket + " " + l.lock_key;
}

bool valid_restore_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 128)
        return false;
    auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (!alnum(id.front()))
        return false;
    return std::all_of(id.begin(), id.end(),
                       [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

fs::path journal_dir(const fs::path& state_dir) {
    return state_dir / "restore-journal";
}

std::string to_json(const journal_entry& e) {
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.SetIndent(' ', 2);
    w.StartObject();
    field(w, "restore_id", e.restore_id);
    field(w, "environment", e.environment);
    field(w, "started_at", e.started_at);
    field(w, "requested_by", e.requested_by);
    field(w, "reason", e.reason);
    w.Key("locks");
    w.StartArray();
    for (const auto& l : e.locks) {
        w.StartObject();
        field(w, "kind", l.kind);
        field(w, l.kind == "dynamodb" ? "table" : "bucket", l.table_or_bucket);
        field(w, "lock_key", l.lock_key);
        field(w, "id", l.id);
        w.EndObject();
    }
    w.EndArray();
    field(w, "step", e.step);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::optional<journal_entry> parse_journal(std::string_view json, std::string* why) {
    rapidjson::Document d;
    if (const auto parsed = core::parse_json(d, json); !parsed.ok()) {
        if (why != nullptr)
            *why = parsed.message;
        return std::nullopt;
    }
    if (!d.IsObject()) {
        if (why != nullptr)
            *why = "not a JSON object (" + std::to_string(json.size()) + " bytes)";
        return std::nullopt;
    }
    journal_entry e;
    const std::string top;
    if (!get(d, "restore_id", e.restore_id, why, top) || !get(d, "environment", e.environment, why, top) ||
        !get(d, "started_at", e.started_at, why, top) || !get(d, "requested_by", e.requested_by, why, top) ||
        !get(d, "reason", e.reason, why, top) || !get(d, "step", e.step, why, top))
        return std::nullopt;
    if (!valid_restore_id(e.restore_id)) {
        if (why != nullptr)
            *why = "\"restore_id\" is not a valid restore id";
        return std::nullopt;
    }
    const auto locks = d.FindMember("locks");
    if (locks == d.MemberEnd() || !locks->value.IsArray()) {
        if (why != nullptr)
            *why = "\"locks\" is missing or not an array";
        return std::nullopt;
    }
    for (const auto& l : locks->value.GetArray()) {
        const std::string where = "locks[" + std::to_string(e.locks.size()) + "]: ";
        if (!l.IsObject()) {
            if (why != nullptr)
                *why = where + "not an object";
            return std::nullopt;
        }
        journal_lock jl;
        if (!get(l, "kind", jl.kind, why, where))
            return std::nullopt;
        if (jl.kind != "dynamodb" && jl.kind != "s3-lockfile") {
            if (why != nullptr)
                *why = where + "unknown kind (not \"dynamodb\" or \"s3-lockfile\")";
            return std::nullopt;
        }
        if (!get(l, jl.kind == "dynamodb" ? "table" : "bucket", jl.table_or_bucket, why, where) ||
            !get(l, "lock_key", jl.lock_key, why, where) || !get(l, "id", jl.id, why, where))
            return std::nullopt;
        if (jl.table_or_bucket.empty() || jl.lock_key.empty() || jl.id.empty()) {
            if (why != nullptr)
                *why = where + "an empty table/bucket, lock_key or id";
            return std::nullopt;
        }
        if (jl.kind == "s3-lockfile" &&
            (!ends_with(jl.lock_key, lockfile_suffix) || jl.lock_key.size() == lockfile_suffix.size())) {
            if (why != nullptr)
                *why = where + "an s3-lockfile lock_key that does not end in \".tflock\"";
            return std::nullopt;
        }
        e.locks.push_back(std::move(jl));
    }
    return e;
}

journal_status write_journal(const fs::path& state_dir, const journal_entry& e) {
    if (!valid_restore_id(e.restore_id))
        return bad_id(e.restore_id);
    const fs::path dir = journal_dir(state_dir);
    std::error_code ec;
    if (fs::create_directories(dir, ec); ec)
        return {make_error_code(core::errc::io_error), "cannot create " + dir.string() + ": " + ec.message()};
    // 0700 whatever the umask: journals name who restored what, and why
    if (::chmod(dir.c_str(), 0700) != 0)
        return {make_error_code(core::errc::io_error),
                "cannot chmod " + dir.string() + ": " + std::strerror(errno)};
    if (auto f = core::write_file_atomic(journal_path(state_dir, e.restore_id),
                                         temp_path(state_dir, e.restore_id), to_json(e), 0600))
        return io_failure(f);
    return {};
}

journal_status remove_journal(const fs::path& state_dir, std::string_view restore_id) {
    if (!valid_restore_id(restore_id))
        return bad_id(restore_id);
    const fs::path p = journal_path(state_dir, restore_id);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
        return {make_error_code(core::errc::io_error),
                "cannot remove " + p.string() + ": " + std::strerror(errno)};
    if (auto f = core::fsync_dir(journal_dir(state_dir)); f && f.err != ENOENT)
        return io_failure(f);
    return {};
}

journal_status read_journal(const fs::path& state_dir, std::string_view restore_id, journal_entry& out) {
    if (!valid_restore_id(restore_id))
        return bad_id(restore_id);
    const fs::path p = journal_path(state_dir, restore_id);
    std::string text;
    if (auto f = core::read_file(p, text))
        return io_failure(f);
    std::string why;
    auto e = parse_journal(text, &why);
    if (!e)
        return {make_error_code(lock_errc::journal_malformed), p.string() + ": " + why};
    if (e->restore_id != restore_id)
        return {make_error_code(lock_errc::journal_malformed),
                p.string() + ": its restore_id does not match its file name"};
    out = std::move(*e);
    return {};
}

journal_scan scan(const fs::path& state_dir) {
    journal_scan out;
    const fs::path dir = journal_dir(state_dir);
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
        if (ec != std::errc::no_such_file_or_directory) {
            out.ec = make_error_code(core::errc::io_error);
            out.message = "cannot list " + dir.string() + ": " + ec.message();
        }
        return out;
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        const fs::path p = it->path();
        const std::string name = p.filename().string();
        if (!name.empty() && name.front() == '.' && ends_with(name, temp_suffix)) {
            out.leftovers.push_back(p);
            continue;
        }
        const std::string_view stem =
            ends_with(name, journal_suffix)
                ? std::string_view(name).substr(0, name.size() - journal_suffix.size())
                : std::string_view();
        if (stem.empty() || !valid_restore_id(stem)) {
            out.malformed.push_back({p, "not a journal's file name (<restore id>.json)"});
            continue;
        }
        std::error_code type_ec;
        if (!fs::is_regular_file(fs::symlink_status(p, type_ec))) {
            out.malformed.push_back({p, "not a regular file"});
            continue;
        }
        if (const auto size = fs::file_size(p, type_ec); !type_ec && size > max_journal_bytes) {
            out.malformed.push_back({p, "larger than " + std::to_string(max_journal_bytes) + " bytes"});
            continue;
        }
        journal_entry e;
        if (auto s = read_journal(state_dir, stem, e)) {
            out.malformed.push_back({p, s.message()});
            continue;
        }
        out.journals.push_back(std::move(e));
    }
    if (ec) {
        out.ec = make_error_code(core::errc::io_error);
        out.message = "cannot list " + dir.string() + ": " + ec.message();
    }
    std::sort(out.journals.begin(), out.journals.end(),
              [](const journal_entry& a, const journal_entry& b) { return a.restore_id < b.restore_id; });
    std::sort(out.malformed.begin(), out.malformed.end(),
              [](const malformed_journal& a, const malformed_journal& b) { return a.path < b.path; });
    std::sort(out.leftovers.begin(), out.leftovers.end());
    return out;
}

asio::awaitable<recovery_outcome> recover(fs::path state_dir, journal_entry entry, recovery_clients clients) {
    recovery_outcome out;
    out.restore_id = entry.restore_id;
    out.environment = entry.environment;
    out.step = entry.step;

    for (const auto& l : entry.locks) {
        lock_recovery r;
        r.lock = l;
        lock_result res;
        if (l.kind == "dynamodb" && clients.dynamodb != nullptr) {
            dynamodb_lock lock(*clients.dynamodb, l.table_or_bucket, l.lock_key);
            std::string id = l.id;
            res = co_await lock.release(std::move(id));
        } else if (l.kind == "s3-lockfile" && clients.s3 != nullptr &&
                   ends_with(l.lock_key, lockfile_suffix)) {
            // conditional_writes false: release then checks that our version hides no one's lockfile
            const std::string state_key = l.lock_key.substr(0, l.lock_key.size() - lockfile_suffix.size());
            s3_lockfile lock(*clients.s3, l.table_or_bucket, state_key, false);
            std::string id = l.id;
            res = co_await lock.release(std::move(id));
        } else {
            r.ec = lock_errc::no_client;
            r.message = "no client to reach " + describe(l);
            out.failed.push_back(std::move(r));
            continue;
        }
        r.message = res.message;
        r.warnings = res.warnings;
        if (res.released) {
            r.holder = std::move(res.held_by);  // set when our version had covered someone's lockfile
            out.released.push_back(std::move(r));
        } else if (res.already_released) {
            out.already_gone.push_back(std::move(r));
        } else if (res.ec == lock_errc::not_our_lock || res.ec == lock_errc::lock_corrupt) {
            // not ours (a corrupt lock cannot be: tfsnap writes parseable LockInfo): left alone
            r.holder = std::move(res.held_by);
            out.held_by_other.push_back(std::move(r));
        } else {
            r.ec = res.ec ? res.ec : make_error_code(core::errc::io_error);
            out.failed.push_back(std::move(r));
        }
    }

    std::string msg = "restore " + out.restore_id + " (environment " + out.environment +
                      ", stopped after step \"" + out.step + "\"): ";
    std::vector<std::string> parts;
    if (!out.released.empty())
        parts.push_back("released " + join(out.released));
    if (!out.already_gone.empty())
        parts.push_back("already gone " + join(out.already_gone));
    if (!out.held_by_other.empty())
        parts.push_back("left alone, not tfsnap's " + join(out.held_by_other));
    if (!out.failed.empty())
        parts.push_back("could not release " + join(out.failed));
    if (parts.empty())
        parts.push_back("it had no locks");
    for (std::size_t i = 0; i < parts.size(); ++i)
        msg += (i ? "; " : "") + parts[i];

    if (out.failed.empty()) {
        if (auto s = remove_journal(state_dir, out.restore_id)) {
            out.ec = s.ec;
            msg += "; cannot remove the journal: " + s.message();
        } else {
            out.journal_removed = true;
            msg += "; journal removed";
        }
    } else {
        msg += "; the journal is kept for the next attempt";
    }
    out.message = std::move(msg);
    co_return out;
}

}  // namespace tfsnap::restore
