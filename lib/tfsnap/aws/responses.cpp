#include "tfsnap/aws/responses.hpp"

#include "tfsnap/core/json.hpp"
#include "tfsnap/core/rfc3339.hpp"

#include "tfsnap/aws/detail/text.hpp"

#include <rapidjson/document.h>
#include <pugixml.hpp>

#include <charconv>
#include <cstdio>

namespace tfsnap::aws {

namespace {

std::optional<std::string_view> member_string(const rapidjson::Value& obj, const char* key) {
    const auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || !it->value.IsString())
        return std::nullopt;
    return std::string_view(it->value.GetString(), it->value.GetStringLength());
}

parsed_credentials invalid(std::string provider, std::string message) {
    parsed_credentials r;
    r.ec = errc::invalid_response;
    r.error.provider = std::move(provider);
    r.error.message = std::move(message);
    return r;
}

bool parse_int(std::string_view s, int& out) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

bool all_digits(std::string_view s) {
    if (s.empty())
        return false;
    for (const char c : s) {
        if (c < '0' || c > '9')
            return false;
    }
    return true;
}

}  // namespace

std::optional<time_point> parse_iso8601(std::string_view t) {
    // YYYY-MM-DDTHH:MM:SS
    if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') || t[13] != ':' ||
        t[16] != ':')
        return std::nullopt;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (!all_digits(t.substr(0, 4)) || !all_digits(t.substr(5, 2)) || !all_digits(t.substr(8, 2)) ||
        !all_digits(t.substr(11, 2)) || !all_digits(t.substr(14, 2)) || !all_digits(t.substr(17, 2)))
        return std::nullopt;
    parse_int(t.substr(0, 4), y);
    parse_int(t.substr(5, 2), mo);
    parse_int(t.substr(8, 2), d);
    parse_int(t.substr(11, 2), h);
    parse_int(t.substr(14, 2), mi);
    parse_int(t.substr(17, 2), s);
    std::string_view rest = t.substr(19);
    std::chrono::nanoseconds frac{0};
    if (!rest.empty() && rest.front() == '.') {
        rest.remove_prefix(1);
        std::size_t n = 0;
        long long scale = 100'000'000;
        long long ns = 0;
        while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') {
            ns += (rest[n] - '0') * scale;
            scale /= 10;
            ++n;
        }
        if (n == 0)
            return std::nullopt;
        frac = std::chrono::nanoseconds(ns);
        rest.remove_prefix(n);
    }
    std::chrono::minutes offset{0};
    if (rest == "Z" || rest == "z") {
    } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
               all_digits(rest.substr(1, 2)) && all_digits(rest.substr(4, 2))) {
        int oh = 0, om = 0;
        parse_int(rest.substr(1, 2), oh);
        parse_int(rest.substr(4, 2), om);
        if (oh > 23 || om > 59)
            return std::nullopt;
        offset = std::chrono::minutes(oh * 60 + om);
        if (rest[0] == '-')
            offset = -offset;
    } else {
        return std::nullopt;
    }
    const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                          std::chrono::day{static_cast<unsigned>(d)}};
    // time_point counts nanoseconds in 64 bits: years 1678 to 2262
    if (!ymd.ok() || y < 1678 || y > 2261 || h > 23 || mi > 59 || s > 60)
        return std::nullopt;
    const auto tp = std::chrono::sys_days{ymd} + std::chrono::hours(h) + std::chrono::minutes(mi) +
                    std::chrono::seconds(s) - offset;
    return std::chrono::time_point_cast<std::chrono::system_clock::duration>(tp + frac);
}

std::string format_iso8601(time_point t) {
    return core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(t));
}

parsed_credentials parse_container_credentials(std::string_view json, container_kind kind) {
    const std::string provider = kind == container_kind::imds ? "imds" : "ecs";
    rapidjson::Document doc;
    if (!core::parse_json(doc, json).ok() || !doc.IsObject())
        return invalid(provider, "the credentials document is not a JSON object");

    if (kind == container_kind::imds) {
        if (const auto code = member_string(doc, "Code"); code && *code != "Success") {
            parsed_credentials r;
            r.ec = errc::imds_unavailable;
            r.error.provider = provider;
            r.error.service_code = sanitise_service_text(*code, 64);
            r.error.message = "the instance metadata service did not return credentials";
            if (const auto m = member_string(doc, "Message"))
                r.error.service_message = sanitise_service_text(*m);
            return r;
        }
    }
    const auto akid = member_string(doc, "AccessKeyId");
    const auto secret = member_string(doc, "SecretAccessKey");
    const auto token = member_string(doc, "Token");
    const auto expiration = member_string(doc, "Expiration");
    if (!akid || akid->empty())
        return invalid(provider, "the credentials document has no AccessKeyId");
    if (!secret || secret->empty())
        return invalid(provider, "the credentials document has no SecretAccessKey");
    if (kind == container_kind::imds && (!token || token->empty()))
        return invalid(provider, "the credentials document has no Token");
    if (kind == container_kind::imds && !expiration)
        return invalid(provider, "the credentials document has no Expiration");

    parsed_credentials r;
    if (expiration) {
        r.expiration = parse_iso8601(*expiration);
        if (!r.expiration)
            return invalid(provider, "the credentials document's Expiration is not an ISO 8601 time");
    }
    r.creds.access_key_id = std::string(*akid);
    r.creds.secret_access_key = core::secret(std::string(*secret));
    if (token)
        r.creds.session_token = core::secret(std::string(*token));
    if (const auto arn = member_string(doc, "RoleArn"))
        r.role_arn = sanitise_service_text(*arn);
    return r;
}

std::optional<container_error> parse_container_error(std::string_view json) {
    rapidjson::Document doc;
    if (!core::parse_json(doc, json).ok() || !doc.IsObject())
        return std::nullopt;
    const auto code = member_string(doc, "code");
    if (!code)
        return std::nullopt;
    container_error e;
    e.code = sanitise_service_text(*code, 64);
    if (const auto m = member_string(doc, "message"))
        e.message = sanitise_service_text(*m);
    return e;
}

std::optional<sts_error_document> parse_sts_error(std::string_view xml) {
    pugi::xml_document doc;
    if (!doc.load_buffer(xml.data(), xml.size()))
        return std::nullopt;
    const auto root = doc.child("ErrorResponse");
    if (!root)
        return std::nullopt;
    const auto err = root.child("Error");
    if (!err)
        return std::nullopt;
    sts_error_document e;
    e.type = sanitise_service_text(detail::trim(err.child_value("Type")), 32);
    e.code = sanitise_service_text(detail::trim(err.child_value("Code")), 64);
    e.message = sanitise_service_text(detail::trim(err.child_value("Message")));
    e.request_id = sanitise_service_text(detail::trim(root.child_value("RequestId")), 64);
    if (e.code.empty())
        return std::nullopt;
    return e;
}

parsed_credentials parse_sts_credentials(std::string_view xml, std::string_view action) {
    if (auto e = parse_sts_error(xml)) {
        parsed_credentials r;
        r.ec = from_sts_code(e->code, 0);
        r.error.provider = "sts";
        r.error.service_code = std::move(e->code);
        r.error.service_message = std::move(e->message);
        r.error.message = std::string(action) + " failed";
        return r;
    }
    pugi::xml_document doc;
    if (!doc.load_buffer(xml.data(), xml.size()))
        return invalid("sts", std::string(action) + " response is not XML");
    const std::string root_name = std::string(action) + "Response";
    const std::string result_name = std::string(action) + "Result";
    const auto root = doc.child(root_name.c_str());
    if (!root)
        return invalid("sts", "expected <" + root_name + "> in the STS response");
    const auto result = root.child(result_name.c_str());
    const auto creds = result.child("Credentials");
    if (!creds)
        return invalid("sts", "the STS response has no " + result_name + "/Credentials");
    // Whitespace around values is layout (the API Reference's samples wrap the token), never data.
    const std::string_view akid = detail::trim(creds.child_value("AccessKeyId"));
    const std::string_view secret = detail::trim(creds.child_value("SecretAccessKey"));
    const std::string_view token = detail::trim(creds.child_value("SessionToken"));
    const std::string_view expiration = detail::trim(creds.child_value("Expiration"));
    if (akid.empty())
        return invalid("sts", "the STS response has no Credentials/AccessKeyId");
    if (secret.empty())
        return invalid("sts", "the STS response has no Credentials/SecretAccessKey");
    if (token.empty())
        return invalid("sts", "the STS response has no Credentials/SessionToken");
    parsed_credentials r;
    r.expiration = parse_iso8601(expiration);
    if (!r.expiration)
        return invalid("sts", "the STS response's Credentials/Expiration is missing or not an ISO 8601 time");
    r.creds.access_key_id = std::string(akid);
    r.creds.secret_access_key = core::secret(std::string(secret));
    r.creds.session_token = core::secret(std::string(token));
    r.role_arn = sanitise_service_text(detail::trim(result.child("AssumedRoleUser").child_value("Arn")));
    return r;
}

}  // namespace tfsnap::aws
