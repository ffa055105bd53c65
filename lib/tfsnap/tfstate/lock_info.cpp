#include "tfsnap/tfstate/lock_info.hpp"

#include "tfsnap/core/json.hpp"
#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/tfstate/detail/go_json.hpp"
#include "tfsnap/tfstate/limits.hpp"

#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <boost/system/system_error.hpp>

#include <array>
#include <cstdio>

namespace tfsnap::tfstate {

namespace {

using detail::go_quote;

// Go's zero time.Time, as MarshalJSON writes it.
constexpr std::string_view go_zero_time = "0001-01-01T00:00:00Z";

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) noexcept {
    if (at + n > s.size())
        return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

// What Go's time.Time UnmarshalJSON accepts (Go 1.20+, parseStrictRFC3339): exactly
// "YYYY-MM-DDTHH:MM:SS", an optional fraction of one or more digits, then "Z" or "±hh:mm"; every
// field in range (no leap second, offset hours below 24). To UTC seconds.
std::optional<std::chrono::sys_seconds> parse_go_time(std::string_view s) noexcept {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    if (s.size() < 20 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
        !digits(s, 8, 2, d) || s[10] != 'T' || !digits(s, 11, 2, h) || s[13] != ':' ||
        !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, se))
        return std::nullopt;
    if (h > 23 || mi > 59 || se > 59)
        return std::nullopt;
    std::size_t i = 19;
    if (s[i] == '.') {
        const std::size_t start = ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9')
            ++i;
        if (i == start)
            return std::nullopt;
    }
    int offset_minutes = 0;
    if (i < s.size() && s[i] == 'Z') {
        ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int oh = 0, om = 0;
        if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om) ||
            oh > 23 || om > 59)
            return std::nullopt;
        offset_minutes = (s[i] == '+' ? 1 : -1) * (oh * 60 + om);
        i += 6;
    } else {
        return std::nullopt;
    }
    if (i != s.size())
        return std::nullopt;
    const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                          std::chrono::day{static_cast<unsigned>(d)}};
    if (!ymd.ok())
        return std::nullopt;
    return std::chrono::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
           std::chrono::seconds{se} - std::chrono::minutes{offset_minutes};
}

bool fail(std::string* why, std::string reason) {
    if (why != nullptr)
        *why = std::move(reason);
    return false;
}

// One field of someone else's lock, made safe for a one-line message: control characters (C0,
// DEL, C1), line and paragraph separators and bidirectional overrides escaped, invalid UTF-8
// shown as \xNN, and at most `max` input bytes (cut on a character boundary).
std::string shown(std::string_view s, std::size_t max = 200) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        const detail::go_rune r = b < 0x80 ? detail::go_rune{b, 1} : detail::go_decode_rune(s.substr(i));
        if (i + r.size > max) {
            out += "\u2026";
            break;
        }
        const bool invalid = r.rune == 0xFFFD && r.size == 1 && b >= 0x80;
        if (invalid) {
            out += "\\x";
            out += hex[b >> 4];
            out += hex[b & 0x0F];
        } else if (r.rune == '\n') {
            out += "\\n";
        } else if (r.rune == '\r') {
            out += "\\r";
        } else if (r.rune == '\t') {
            out += "\\t";
        } else if (r.rune < 0x20 || (r.rune >= 0x7F && r.rune <= 0x9F) || r.rune == 0x2028 ||
                   r.rune == 0x2029 || (r.rune >= 0x202A && r.rune <= 0x202E) ||
                   (r.rune >= 0x2066 && r.rune <= 0x2069)) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "\\u{%04x}", static_cast<unsigned>(r.rune));
            out += buf;
        } else {
            out.append(s.substr(i, r.size));
        }
        i += r.size;
    }
    return out;
}

}  // namespace

std::string to_json(const lock_info& l) {
    std::string out;
    out.reserve(128 + l.id.size() + l.operation.size() + l.info.size() + l.who.size() + l.version.size() +
                l.created.size() + l.path.size());
    out += "{\"ID\":";
    out += go_quote(l.id);
    out += ",\"Operation\":";
    out += go_quote(l.operation);
    out += ",\"Info\":";
    out += go_quote(l.info);
    out += ",\"Who\":";
    out += go_quote(l.who);
    out += ",\"Version\":";
    out += go_quote(l.version);
    out += ",\"Created\":";
    out += go_quote(l.created.empty() ? go_zero_time : std::string_view{l.created});
    out += ",\"Path\":";
    out += go_quote(l.path);
    out += '}';
    return out;
}

std::optional<lock_info> parse_lock_info(std::string_view json, std::string* why) {
    rapidjson::Document doc;
    // a lock is someone else's bytes: deep nesting in an unknown key must not exhaust the stack;
    // as deep as Go's json.Unmarshal reads is accepted (nothing here walks the nested values)
    if (const auto parsed = core::parse_json(doc, json, max_nesting); !parsed.ok()) {
        fail(why, parsed.message);
        return std::nullopt;
    }
    if (!doc.IsObject()) {
        fail(why, "not a JSON object");
        return std::nullopt;
    }
    struct field {
        const char* name;
        std::string lock_info::*member;
    };
    static constexpr std::array<field, 7> fields{{
        {"ID", &lock_info::id},
        {"Operation", &lock_info::operation},
        {"Info", &lock_info::info},
        {"Who", &lock_info::who},
        {"Version", &lock_info::version},
        {"Created", &lock_info::created},
        {"Path", &lock_info::path},
    }};
    lock_info out;
    for (const auto& m : doc.GetObject()) {
        const std::string_view key{m.name.GetString(), m.name.GetStringLength()};
        const field* f = nullptr;
        for (const auto& candidate : fields) {
            if (detail::go_key_matches(key, candidate.name)) {
                f = &candidate;
                break;
            }
        }
        if (f == nullptr || m.value.IsNull())
            continue;
        if (!m.value.IsString()) {
            fail(why, std::string("\"") + f->name + "\" is not a string");
            return std::nullopt;
        }
        std::string value = detail::go_coerce_utf8({m.value.GetString(), m.value.GetStringLength()});
        if (f->member == &lock_info::created && !parse_go_time(value)) {
            fail(why, "\"Created\" is not an RFC 3339 time");
            return std::nullopt;
        }
        out.*(f->member) = std::move(value);
    }
    return out;
}

std::string new_lock_id(const random_source& random) {
    std::array<std::byte, 16> b{};
    random(b);
    // RFC 4122 section 4.4: version 4 (random), variant 10xx
    b[6] = (b[6] & std::byte{0x0F}) | std::byte{0x40};
    b[8] = (b[8] & std::byte{0x3F}) | std::byte{0x80};
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out += '-';
        const auto v = std::to_integer<unsigned>(b[i]);
        out += hex[v >> 4];
        out += hex[v & 0x0F];
    }
    return out;
}

std::string new_lock_id() {
    return new_lock_id([](std::span<std::byte> out) {
        if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) != 1)
            throw boost::system::system_error(crypto::make_error_code(crypto::errc::openssl_failure),
                                              "RAND_bytes for a lock ID");
    });
}

std::string format_lock_created(std::chrono::system_clock::time_point t) {
    const auto secs = std::chrono::floor<std::chrono::seconds>(t);
    const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(t - secs).count();
    std::string out = core::format_rfc3339(secs);
    if (nanos == 0)
        return out;
    char frac[16];
    std::snprintf(frac, sizeof frac, "%09lld", static_cast<long long>(nanos));
    std::string_view f{frac};
    while (f.back() == '0')
        f.remove_suffix(1);
    out.pop_back();  // 'Z'
    out += '.';
    out += f;
    out += 'Z';
    return out;
}

std::string describe_holder(const lock_info& l) {
    std::string out = "held by ";
    out += l.who.empty() ? std::string("an unknown user") : shown(l.who);
    if (!l.operation.empty())
        out += " for " + shown(l.operation);
    if (!l.created.empty()) {
        const auto t = parse_go_time(l.created);
        out += " since " + (t ? core::format_rfc3339(*t) : shown(l.created));
    }
    out += " (lock ID ";
    out += l.id.empty() ? std::string("none") : shown(l.id);
    if (!l.version.empty())
        out += "; Terraform " + shown(l.version);
    if (!l.info.empty())
        out += "; info \"" + shown(l.info) + "\"";
    out += ')';
    return out;
}

}  // namespace tfsnap::tfstate
