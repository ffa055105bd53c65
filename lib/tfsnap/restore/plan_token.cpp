#include "tfsnap/restore/plan_token.hpp"

#include "tfsnap/core/json.hpp"
#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/crypto/hash.hpp"

#include <openssl/crypto.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <boost/system/system_error.hpp>

#include <array>

namespace tfsnap::restore {

const char* describe(token_errc e) noexcept {
    switch (e) {
        case token_errc::malformed:
            return "not a tfsnap plan token";
        case token_errc::tampered:
            return "the plan token's signature does not match";
        case token_errc::expired:
            return "the plan token has expired";
        case token_errc::mismatch:
            return "the plan token was made for another request";
    }
    return "unknown tfsnap.restore.token error";
}

const boost::system::error_category& token_category() noexcept {
    static const core::enum_category<token_errc> category{"tfsnap.restore.token", &describe};
    return category;
}

namespace {

constexpr int format_version = 1;
constexpr std::size_t mac_size = 32;

void check_key(std::span<const std::byte> key) {
    if (key.size() < min_token_key_size)
        throw boost::system::system_error(
            core::make_error_code(core::errc::invalid_argument),
            "plan token key shorter than " + std::to_string(min_token_key_size) + " bytes");
}

std::string mac_of(std::span<const std::byte> key, std::string_view payload) {
    return crypto::hmac_sha256({reinterpret_cast<const char*>(key.data()), key.size()}, payload);
}

// RFC 4648 section 5, without padding.
std::string base64url_encode(std::string_view raw) {
    std::string s = crypto::base64_encode(raw);
    while (!s.empty() && s.back() == '=')
        s.pop_back();
    for (char& c : s) {
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    return s;
}

// Strict: only the URL-safe alphabet, no padding, no length that cannot occur, and zero unused
// bits in the last character (crypto::base64_decode checks those), so every token has exactly
// one spelling and any change to its text changes what it decodes to or is refused.
bool base64url_decode(std::string_view text, std::string& out) {
    if (text.size() % 4 == 1)
        return false;
    std::string s;
    s.reserve(text.size() + 3);
    for (const char c : text) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            s += c;
        else if (c == '-')
            s += '+';
        else if (c == '_')
            s += '/';
        else
            return false;
    }
    while (s.size() % 4 != 0)
        s += '=';
    return crypto::base64_decode(s, out);
}

std::string canonical_payload(const plan_claims& c) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w{buf};
    const auto str = [&](const char* key, const std::string& value) {
        w.Key(key);
        w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    };
    w.StartObject();
    w.Key("v");
    w.Int(format_version);
    str("environment", c.environment);
    str("action", c.action);
    str("target_version", c.target_version);
    str("current_version", c.current_version);
    str("current_etag", c.current_etag);
    str("mode", c.mode);
    w.Key("force_lineage");
    w.Bool(c.force_lineage);
    w.Key("roll_forward_serial");
    w.Bool(c.roll_forward_serial);
    str("requested_by", c.requested_by);
    w.Key("expires_at");
    w.Int64(c.expires_at);
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

// Every key exactly once, with its type; nothing else.
std::optional<plan_claims> parse_payload(std::string_view payload) {
    rapidjson::Document doc;
    if (!core::parse_json(doc, payload).ok() || !doc.IsObject())
        return std::nullopt;
    plan_claims c;
    struct string_field {
        const char* name;
        std::string plan_claims::*member;
    };
    static constexpr std::array<string_field, 7> strings{{
        {"environment", &plan_claims::environment},
        {"action", &plan_claims::action},
        {"target_version", &plan_claims::target_version},
        {"current_version", &plan_claims::current_version},
        {"current_etag", &plan_claims::current_etag},
        {"mode", &plan_claims::mode},
        {"requested_by", &plan_claims::requested_by},
    }};
    std::size_t seen = 0;
    for (const auto& f : strings) {
        const auto it = doc.FindMember(f.name);
        if (it == doc.MemberEnd() || !it->value.IsString())
            return std::nullopt;
        c.*(f.member) = std::string(it->value.GetString(), it->value.GetStringLength());
        ++seen;
    }
    const auto v = doc.FindMember("v");
    const auto force = doc.FindMember("force_lineage");
    const auto roll = doc.FindMember("roll_forward_serial");
    const auto expires = doc.FindMember("expires_at");
    if (v == doc.MemberEnd() || !v->value.IsInt() || v->value.GetInt() != format_version ||
        force == doc.MemberEnd() || !force->value.IsBool() || roll == doc.MemberEnd() ||
        !roll->value.IsBool() || expires == doc.MemberEnd() || !expires->value.IsInt64())
        return std::nullopt;
    seen += 4;
    // duplicates and unknown keys
    if (doc.MemberCount() != seen)
        return std::nullopt;
    c.force_lineage = force->value.GetBool();
    c.roll_forward_serial = roll->value.GetBool();
    c.expires_at = expires->value.GetInt64();
    return c;
}

token_result refused(token_errc e, std::string message) {
    token_result r;
    r.ec = e;
    r.message = std::move(message);
    return r;
}

std::string quoted(const std::string& s) {
    return "\"" + s + "\"";
}

}  // namespace

std::string issue_token(const plan_claims& claims, std::span<const std::byte> key) {
    check_key(key);
    const std::string payload = canonical_payload(claims);
    return base64url_encode(payload) + "." + base64url_encode(mac_of(key, payload));
}

token_result verify_token(std::string_view token, std::span<const std::byte> key,
                          std::chrono::sys_seconds now) {
    check_key(key);
    const auto dot = token.find('.');
    if (dot == std::string_view::npos || token.find('.', dot + 1) != std::string_view::npos)
        return refused(token_errc::malformed, "not a tfsnap plan token (it has no single '.')");
    if (dot == 0)
        return refused(token_errc::malformed, "not a tfsnap plan token (it has no claims)");
    std::string payload;
    std::string mac;
    if (!base64url_decode(token.substr(0, dot), payload) || !base64url_decode(token.substr(dot + 1), mac))
        return refused(token_errc::malformed, "not a tfsnap plan token (not base64url)");
    if (mac.size() != mac_size)
        return refused(token_errc::malformed, "not a tfsnap plan token (its signature is " +
                                                  std::to_string(mac.size()) + " bytes, not 32)");
    const std::string expected = mac_of(key, payload);
    if (CRYPTO_memcmp(expected.data(), mac.data(), mac_size) != 0)
        return refused(token_errc::tampered,
                       "the plan token's signature does not match: it was modified, or issued before tfsnapd "
                       "restarted");
    auto claims = parse_payload(payload);
    if (!claims)
        return refused(token_errc::malformed,
                       "the plan token's claims are not in a format this tfsnapd reads");
    if (now.time_since_epoch().count() >= claims->expires_at)
        return refused(token_errc::expired,
                       "the plan token expired at " + core::format_rfc3339(std::chrono::sys_seconds{
                                                          std::chrono::seconds{claims->expires_at}}));
    token_result r;
    r.claims = std::move(*claims);
    return r;
}

std::optional<std::string> claims_mismatch(const plan_claims& token, const plan_claims& request) {
    std::string out;
    const auto differ = [&](const char* name, const std::string& t, const std::string& r) {
        if (t == r)
            return;
        if (!out.empty())
            out += "; ";
        out += std::string(name) + " is " + t + " in the token but " + r + " in the request";
    };
    const auto str = [&](const char* name, const std::string& t, const std::string& r) {
        differ(name, quoted(t), quoted(r));
    };
    const auto flag = [&](const char* name, bool t, bool r) {
        differ(name, t ? "true" : "false", r ? "true" : "false");
    };
    str("environment", token.environment, request.environment);
    str("action", token.action, request.action);
    str("target_version", token.target_version, request.target_version);
    str("current_version", token.current_version, request.current_version);
    str("current_etag", token.current_etag, request.current_etag);
    str("mode", token.mode, request.mode);
    flag("force_lineage", token.force_lineage, request.force_lineage);
    flag("roll_forward_serial", token.roll_forward_serial, request.roll_forward_serial);
    str("requested_by", token.requested_by, request.requested_by);
    if (out.empty())
        return std::nullopt;
    return out;
}

token_result check_request_token(std::string_view token, std::span<const std::byte> key,
                                 std::chrono::sys_seconds now, plan_claims request) {
    auto r = verify_token(token, key, now);
    if (!r.ok())
        return r;
    request.target_version = r.claims.target_version;
    request.current_version = r.claims.current_version;
    request.current_etag = r.claims.current_etag;
    request.expires_at = r.claims.expires_at;
    if (auto diff = claims_mismatch(r.claims, request)) {
        r.ec = token_errc::mismatch;
        r.message = std::move(*diff);
    }
    return r;
}

}  // namespace tfsnap::restore
