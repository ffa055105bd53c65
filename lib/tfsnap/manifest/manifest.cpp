#include "tfsnap/manifest/manifest.hpp"

#include "tfsnap/core/json.hpp"
#include "tfsnap/core/rfc3339.hpp"

#include "tfsnap/config/validate.hpp"
#include "tfsnap/manifest/error.hpp"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <charconv>
#include <cstdio>

namespace tfsnap::manifest {

namespace {

using writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void put(writer& w, std::string_view s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void put_nullable(writer& w, const std::optional<std::string>& s) {
    if (s)
        put(w, *s);
    else
        w.Null();
}

void put_nullable(writer& w, const std::optional<std::uint64_t>& n) {
    if (n)
        w.Uint64(*n);
    else
        w.Null();
}

void key(writer& w, std::string_view k) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

// Reads fields of one JSON object, remembering the first problem with its dotted path.
class reader {
public:
    reader(const rapidjson::Value& obj, std::string prefix, read_result& out)
        : obj_(obj), prefix_(std::move(prefix)), out_(out) {}

    bool ok() const noexcept { return !out_.ec; }

    const rapidjson::Value* find(std::string_view name) const {
        const auto it = obj_.FindMember(rapidjson::StringRef(name.data(), name.size()));
        return it == obj_.MemberEnd() ? nullptr : &it->value;
    }

    void fail(errc e, std::string_view name, std::string_view why) {
        if (out_.ec)
            return;
        out_.ec = make_error_code(e);
        out_.detail = prefix_ + std::string(name) + ": " + std::string(why);
    }

    std::string required_string(std::string_view name) {
        const auto* v = find(name);
        if (v == nullptr || v->IsNull()) {
            fail(errc::missing_field, name, "required");
            return {};
        }
        if (!v->IsString()) {
            fail(errc::wrong_type, name, "expected a string");
            return {};
        }
        return {v->GetString(), v->GetStringLength()};
    }

    std::string optional_string_or_empty(std::string_view name) {
        const auto s = nullable_string(name);
        return s ? *s : std::string();
    }

    std::optional<std::string> nullable_string(std::string_view name) {
        const auto* v = find(name);
        if (v == nullptr || v->IsNull())
            return std::nullopt;
        if (!v->IsString()) {
            fail(errc::wrong_type, name, "expected a string or null");
            return std::nullopt;
        }
        return std::string(v->GetString(), v->GetStringLength());
    }

    std::optional<std::uint64_t> nullable_uint(std::string_view name) {
        const auto* v = find(name);
        if (v == nullptr || v->IsNull())
            return std::nullopt;
        if (!v->IsUint64()) {
            fail(errc::wrong_type, name, "expected a non-negative integer or null");
            return std::nullopt;
        }
        return v->GetUint64();
    }

    std::uint64_t required_uint(std::string_view name) {
        const auto* v = find(name);
        if (v == nullptr || v->IsNull()) {
            fail(errc::missing_field, name, "required");
            return 0;
        }
        if (!v->IsUint64()) {
            fail(errc::wrong_type, name, "expected a non-negative integer");
            return 0;
        }
        return v->GetUint64();
    }

    // nullptr when absent or null; a type error when not an object.
    const rapidjson::Value* nullable_object(std::string_view name) {
        const auto* v = find(name);
        if (v == nullptr || v->IsNull())
            return nullptr;
        if (!v->IsObject()) {
            fail(errc::wrong_type, name, "expected an object or null");
            return nullptr;
        }
        return v;
    }

    const rapidjson::Value* required_object(std::string_view name) {
        const auto* v = find(name);
        if (v == nullptr || v->IsNull()) {
            fail(errc::missing_field, name, "required");
            return nullptr;
        }
        if (!v->IsObject()) {
            fail(errc::wrong_type, name, "expected an object");
            return nullptr;
        }
        return v;
    }

    const std::string& prefix() const noexcept { return prefix_; }

private:
    const rapidjson::Value& obj_;
    std::string prefix_;
    read_result& out_;
};

bool all_digits(std::string_view s) noexcept {
    for (const char c : s)
        if (c < '0' || c > '9')
            return false;
    return !s.empty();
}

// "YYYY-MM-DDTHH?MM?SS" with `sep` between the time fields.
bool is_timestamp_prefix(std::string_view s, char sep) noexcept {
    if (s.size() < 19)
        return false;
    return all_digits(s.substr(0, 4)) && s[4] == '-' && all_digits(s.substr(5, 2)) && s[7] == '-' &&
           all_digits(s.substr(8, 2)) && s[10] == 'T' && all_digits(s.substr(11, 2)) && s[13] == sep &&
           all_digits(s.substr(14, 2)) && s[16] == sep && all_digits(s.substr(17, 2));
}

unsigned two(std::string_view s, std::size_t at) noexcept {
    return static_cast<unsigned>((s[at] - '0') * 10 + (s[at + 1] - '0'));
}

bool plausible_fields(std::string_view s) noexcept {
    const unsigned month = two(s, 5), day = two(s, 8), hour = two(s, 11), minute = two(s, 14),
                   sec = two(s, 17);
    return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && sec <= 60;
}

// The sequence number of a valid id: 1 for no suffix.
unsigned id_sequence(std::string_view id) noexcept {
    if (id.size() == 20)
        return 1;
    unsigned n = 0;
    const auto digits = id.substr(21);
    std::from_chars(digits.data(), digits.data() + digits.size(), n);
    return n;
}

void check_rfc3339(reader& r, std::string_view name, const std::optional<std::string>& value) {
    if (value && !is_rfc3339_utc(*value))
        r.fail(errc::invalid_value, name, "expected an RFC 3339 UTC time");
}

}  // namespace

std::string_view to_string(state_kind k) noexcept {
    switch (k) {
        case state_kind::state:
            return "state";
        case state_kind::encrypted:
            return "encrypted";
        case state_kind::opaque:
            return "opaque";
    }
    return "opaque";
}

std::optional<state_kind> parse_state_kind(std::string_view s) noexcept {
    for (const auto k : {state_kind::state, state_kind::encrypted, state_kind::opaque})
        if (to_string(k) == s)
            return k;
    return std::nullopt;
}

std::string write(const manifest& m) {
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.SetIndent(' ', 2);
    w.StartObject();
    key(w, "version");
    put(w, current_version);
    key(w, "backup_type");
    put(w, backup_type);
    key(w, "snapshot_id");
    put(w, m.snapshot_id);
    key(w, "environment");
    put(w, m.environment);
    key(w, "created_at");
    put(w, m.created_at);
    key(w, "created_by");
    put(w, m.created_by);
    key(w, "schedule");
    put(w, m.schedule);

    const auto& ts = m.terraform_state;
    key(w, "terraform_state");
    w.StartObject();
    key(w, "source");
    put(w, ts.source);
    key(w, "bucket");
    put(w, ts.bucket);
    key(w, "key");
    put(w, ts.key);
    key(w, "region");
    put(w, ts.region);
    key(w, "version_id");
    put(w, ts.version_id);
    key(w, "etag");
    put(w, ts.etag);
    key(w, "last_modified");
    put(w, ts.last_modified);
    key(w, "content_length");
    w.Uint64(ts.content_length);
    w.EndObject();

    if (m.checksums) {
        key(w, "checksums");
        w.StartObject();
        key(w, "md5");
        put(w, m.checksums->md5);
        key(w, "sha256");
        put(w, m.checksums->sha256);
        w.EndObject();
    }
    if (m.state) {
        key(w, "state");
        w.StartObject();
        key(w, "kind");
        put(w, to_string(m.state->kind));
        key(w, "serial");
        put_nullable(w, m.state->serial);
        key(w, "lineage");
        put_nullable(w, m.state->lineage);
        key(w, "terraform_version");
        put_nullable(w, m.state->terraform_version);
        key(w, "resource_count");
        put_nullable(w, m.state->resource_count);
        if (m.state->encryption_version) {
            key(w, "encryption_version");
            put(w, *m.state->encryption_version);
        }
        w.EndObject();
    }
    if (m.copy) {
        key(w, "copy");
        w.StartObject();
        key(w, "mode");
        put(w, m.copy->mode);
        key(w, "bucket");
        put(w, m.copy->bucket);
        key(w, "key");
        put(w, m.copy->key);
        key(w, "version_id");
        put(w, m.copy->version_id);
        key(w, "path");
        put(w, m.copy->path);
        key(w, "sha256");
        put(w, m.copy->sha256);
        w.EndObject();
    }
    key(w, "expires_at");
    put_nullable(w, m.expires_at);
    key(w, "pinned_until");
    put_nullable(w, m.pinned_until);
    if (!m.tfsnap_version.empty()) {
        key(w, "tfsnap_version");
        put(w, m.tfsnap_version);
    }
    w.EndObject();
    std::string out(buf.GetString(), buf.GetSize());
    out += '\n';
    return out;
}

read_result read(std::string_view json) {
    read_result out;
    rapidjson::Document doc;
    if (const auto parsed = core::parse_json<rapidjson::kParseValidateEncodingFlag>(doc, json);
        !parsed.ok()) {
        out.ec = make_error_code(errc::not_json);
        out.detail = parsed.message;
        return out;
    }
    if (!doc.IsObject()) {
        out.ec = make_error_code(errc::not_json);
        out.detail = "the top level is not an object";
        return out;
    }
    reader top(doc, "", out);
    manifest& m = out.value;

    const std::string version = top.required_string("version");
    if (!top.ok())
        return out;
    const auto dot = version.find('.');
    const std::string_view major = std::string_view(version).substr(0, dot);
    if (dot == std::string::npos || !all_digits(major) ||
        !all_digits(std::string_view(version).substr(dot + 1))) {
        top.fail(errc::invalid_value, "version", "expected \"<major>.<minor>\"");
        return out;
    }
    if (major != "2") {
        top.fail(errc::unsupported_version, "version",
                 "major version " + std::string(major) + " is not supported");
        return out;
    }
    if (top.required_string("backup_type") != backup_type && top.ok())
        top.fail(errc::invalid_value, "backup_type", "expected \"state-based\"");

    m.snapshot_id = top.required_string("snapshot_id");
    if (top.ok() && !is_valid_snapshot_id(m.snapshot_id))
        top.fail(errc::invalid_value, "snapshot_id", "expected YYYY-MM-DDTHH-MM-SSZ[-N]");
    m.environment = top.required_string("environment");
    if (top.ok() && !config::is_valid_name(m.environment))
        top.fail(errc::invalid_value, "environment", "not a valid environment name");
    m.created_at = top.required_string("created_at");
    if (top.ok() && !is_rfc3339_utc(m.created_at))
        top.fail(errc::invalid_value, "created_at", "expected an RFC 3339 UTC time");
    m.created_by = top.required_string("created_by");
    m.schedule = top.required_string("schedule");

    if (const auto* ts = top.required_object("terraform_state")) {
        reader r(*ts, "terraform_state.", out);
        auto& s = m.terraform_state;
        s.source = r.required_string("source");
        s.bucket = r.required_string("bucket");
        s.key = r.required_string("key");
        s.region = r.required_string("region");
        s.version_id = r.required_string("version_id");
        s.etag = r.required_string("etag");
        s.last_modified = r.required_string("last_modified");
        s.content_length = r.required_uint("content_length");
    }
    if (const auto* cs = top.nullable_object("checksums")) {
        reader r(*cs, "checksums.", out);
        checksum_set c;
        c.md5 = r.required_string("md5");
        c.sha256 = r.required_string("sha256");
        m.checksums = std::move(c);
    }
    if (const auto* st = top.nullable_object("state")) {
        reader r(*st, "state.", out);
        state_summary s;
        const std::string kind = r.required_string("kind");
        if (r.ok()) {
            if (const auto k = parse_state_kind(kind))
                s.kind = *k;
            else
                r.fail(errc::invalid_value, "kind", "expected \"state\", \"encrypted\" or \"opaque\"");
        }
        s.serial = r.nullable_uint("serial");
        s.lineage = r.nullable_string("lineage");
        s.terraform_version = r.nullable_string("terraform_version");
        s.resource_count = r.nullable_uint("resource_count");
        s.encryption_version = r.nullable_string("encryption_version");
        m.state = std::move(s);
    }
    if (const auto* cp = top.nullable_object("copy")) {
        reader r(*cp, "copy.", out);
        copy_info c;
        c.mode = r.required_string("mode");
        c.bucket = r.optional_string_or_empty("bucket");
        c.key = r.optional_string_or_empty("key");
        c.version_id = r.optional_string_or_empty("version_id");
        c.path = r.optional_string_or_empty("path");
        c.sha256 = r.optional_string_or_empty("sha256");
        m.copy = std::move(c);
    }
    m.expires_at = top.nullable_string("expires_at");
    check_rfc3339(top, "expires_at", m.expires_at);
    m.pinned_until = top.nullable_string("pinned_until");
    check_rfc3339(top, "pinned_until", m.pinned_until);
    m.tfsnap_version = top.optional_string_or_empty("tfsnap_version");
    if (out.ec)
        out.value = {};
    return out;
}

bool is_valid_snapshot_id(std::string_view id) noexcept {
    if (id.size() < 20 || !is_timestamp_prefix(id, '-') || id[19] != 'Z' || !plausible_fields(id))
        return false;
    if (id.size() == 20)
        return true;
    // "-N": N >= 2, no leading zero, at most 6 digits
    const auto digits = id.substr(21);
    if (id[20] != '-' || !all_digits(digits) || digits.size() > 6 || digits[0] == '0')
        return false;
    return !(digits.size() == 1 && digits[0] == '1');
}

std::string format_snapshot_id(std::chrono::sys_seconds t, unsigned sequence) {
    auto s = format_rfc3339(t);
    s[13] = '-';
    s[16] = '-';
    if (sequence > 1)
        s += "-" + std::to_string(sequence);
    return s;
}

bool snapshot_id_less(std::string_view a, std::string_view b) noexcept {
    const auto ta = a.substr(0, 20), tb = b.substr(0, 20);
    if (ta != tb)
        return ta < tb;
    return id_sequence(a) < id_sequence(b);
}

std::string format_rfc3339(std::chrono::sys_seconds t) {
    return core::format_rfc3339(t);
}

bool is_rfc3339_utc(std::string_view s) noexcept {
    if (!is_timestamp_prefix(s, ':') || !plausible_fields(s))
        return false;
    auto rest = s.substr(19);
    if (!rest.empty() && rest[0] == '.') {
        std::size_t n = 1;
        while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9')
            ++n;
        if (n == 1)
            return false;
        rest.remove_prefix(n);
    }
    return rest == "Z" || rest == "+00:00";
}

}  // namespace tfsnap::manifest
