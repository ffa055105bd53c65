// The restore journal's file format: to_json, parse_journal and valid_restore_id (journal.hpp).
// Pure, and apart from journal.cpp's file I/O and recovery, so that it can be tested and fuzzed
// on its own.
#include "tfsnap/restore/journal.hpp"

#include "tfsnap/core/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>

namespace tfsnap::restore {

namespace {

constexpr std::string_view lockfile_suffix = ".tflock";

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

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

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
    if (!e.state_bucket.empty()) {
        w.Key("state");
        w.StartObject();
        field(w, "bucket", e.state_bucket);
        field(w, "key", e.state_key);
        field(w, "digest_table", e.digest_table);
        field(w, "before_version", e.before_version);
        field(w, "expected_md5", e.expected_md5);
        w.EndObject();
    }
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
    if (const auto st = d.FindMember("state"); st != d.MemberEnd()) {
        const std::string where = "state: ";
        if (!st->value.IsObject()) {
            if (why != nullptr)
                *why = where + "not an object";
            return std::nullopt;
        }
        if (!get(st->value, "bucket", e.state_bucket, why, where) ||
            !get(st->value, "key", e.state_key, why, where) ||
            !get(st->value, "digest_table", e.digest_table, why, where) ||
            !get(st->value, "before_version", e.before_version, why, where) ||
            !get(st->value, "expected_md5", e.expected_md5, why, where))
            return std::nullopt;
        if (e.state_bucket.empty() || e.state_key.empty()) {
            if (why != nullptr)
                *why = where + "an empty bucket or key";
            return std::nullopt;
        }
    }
    return e;
}

}  // namespace tfsnap::restore
