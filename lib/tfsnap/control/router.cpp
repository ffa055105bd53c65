#include "tfsnap/control/router.hpp"

#include "tfsnap/config/duration.hpp"
#include "tfsnap/config/validate.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <span>

namespace tfsnap::control {

namespace {

enum class param { dry_run, wait, env, limit };

struct route_spec {
    route_id id;
    std::string_view method;
    // "{env}" and "{id}" are parameters; anything else matches itself
    std::vector<std::string_view> path;
    std::vector<param> params;
};

// clang-format off
const std::array<route_spec, 15> routes{{
    {route_id::status,        "GET",  {"v1", "status"}, {}},
    {route_id::environments,  "GET",  {"v1", "environments"}, {}},
    {route_id::snapshots,     "GET",  {"v1", "environments", "{env}", "snapshots"}, {}},
    {route_id::versions,      "GET",  {"v1", "environments", "{env}", "versions"}, {}},
    {route_id::retention,     "GET",  {"v1", "environments", "{env}", "retention"}, {param::dry_run}},
    {route_id::backups,       "POST", {"v1", "environments", "{env}", "backups"}, {}},
    {route_id::restores,      "POST", {"v1", "environments", "{env}", "restores"}, {}},
    {route_id::undeletes,     "POST", {"v1", "environments", "{env}", "undeletes"}, {}},
    {route_id::verifications, "POST", {"v1", "environments", "{env}", "verifications"}, {}},
    {route_id::prunes,        "POST", {"v1", "environments", "{env}", "prunes"}, {}},
    {route_id::jobs,          "GET",  {"v1", "jobs"}, {}},
    {route_id::job,           "GET",  {"v1", "jobs", "{id}"}, {param::wait}},
    {route_id::audit,         "GET",  {"v1", "audit"}, {param::env, param::limit}},
    {route_id::reload,        "POST", {"v1", "reload"}, {}},
    {route_id::metrics,       "GET",  {"metrics"}, {}},
}};
// clang-format on

std::string_view name_of(param p) noexcept {
    switch (p) {
        case param::dry_run:
            return "dry_run";
        case param::wait:
            return "wait";
        case param::env:
            return "env";
        case param::limit:
            return "limit";
    }
    return "";
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// RFC 3986 percent-decoding; nullopt for a truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size())
                return std::nullopt;
            const int hi = hex_value(s[i + 1]);
            const int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

error_response bad_request(std::string code, std::string message, std::string field = {}) {
    error_response e = json_error(400, std::move(code), std::move(message));
    e.field = std::move(field);
    return e;
}

route_match failed(error_response e) {
    route_match m;
    m.error = std::move(e);
    return m;
}

// What a path parameter accepts; nullopt when it is fine.
std::optional<error_response> check_path_param(std::string_view pattern, const std::string& value) {
    if (pattern == "{env}" && !config::is_valid_name(value)) {
        return bad_request(
            "invalid_environment",
            "not a valid environment name (1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.')");
    }
    if (pattern == "{id}" && !is_valid_job_id(value))
        return bad_request("invalid_job_id", "not a valid job id (1 to 64 of A-Z a-z 0-9 _ -)");
    return std::nullopt;
}

std::optional<std::int64_t> parse_decimal(std::string_view s) noexcept {
    if (s.empty() || s.size() > 18 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size())
        return std::nullopt;
    return v;
}

// Parses one parameter into `q`; nullopt when it is fine.
std::optional<error_response> apply_param(param p, const std::string& value, query_params& q) {
    switch (p) {
        case param::dry_run:
            if (value == "1" || value == "true") {
                q.dry_run = true;
                return std::nullopt;
            }
            if (value == "0" || value == "false") {
                return bad_request("invalid_parameter",
                                   "GET .../retention is always a dry run; POST .../prunes applies retention",
                                   "dry_run");
            }
            return bad_request("invalid_parameter", "dry_run must be 1 or true", "dry_run");
        case param::wait: {
            std::optional<std::chrono::seconds> d;
            if (const auto n = parse_decimal(value))
                d = std::chrono::seconds{*n};
            else
                d = config::parse_duration(value);
            if (!d) {
                return bad_request("invalid_parameter",
                                   "wait must be a duration such as 30s or 2m, or seconds", "wait");
            }
            if (*d > max_job_wait) {
                return bad_request("invalid_parameter",
                                   "wait must be at most " + config::format_duration(max_job_wait), "wait");
            }
            q.wait = *d;
            return std::nullopt;
        }
        case param::env:
            if (!config::is_valid_name(value))
                return bad_request("invalid_parameter", "env is not a valid environment name", "env");
            q.env = value;
            return std::nullopt;
        case param::limit: {
            const auto n = parse_decimal(value);
            if (!n || *n < 1 || *n > max_audit_limit) {
                return bad_request(
                    "invalid_parameter",
                    "limit must be a whole number from 1 to " + std::to_string(max_audit_limit), "limit");
            }
            q.limit = *n;
            return std::nullopt;
        }
    }
    return std::nullopt;
}

std::optional<error_response> parse_query(std::string_view query, std::span<const param> allowed,
                                          query_params& q) {
    std::vector<std::string> seen;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view piece = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (piece.empty())
            continue;
        const auto eq = piece.find('=');
        const auto name = percent_decode(piece.substr(0, eq), true);
        const auto value =
            percent_decode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1), true);
        if (!name || !value)
            return bad_request("bad_request", "malformed %-escape in the query string");
        const auto it =
            std::find_if(allowed.begin(), allowed.end(), [&](param p) { return name_of(p) == *name; });
        if (it == allowed.end()) {
            std::string known;
            for (const param p : allowed)
                known += (known.empty() ? "" : ", ") + std::string(name_of(p));
            return bad_request(
                "unknown_parameter",
                "unknown query parameter \"" + *name + "\"" +
                    (known.empty() ? std::string(" (this request takes none)") : " (known: " + known + ")"),
                *name);
        }
        if (std::find(seen.begin(), seen.end(), *name) != seen.end())
            return bad_request("unknown_parameter", "query parameter \"" + *name + "\" given twice", *name);
        seen.push_back(*name);
        if (auto e = apply_param(*it, *value, q))
            return e;
    }
    return std::nullopt;
}

}  // namespace

std::string_view to_string(route_id r) noexcept {
    switch (r) {
        case route_id::status:
            return "status";
        case route_id::environments:
            return "environments";
        case route_id::snapshots:
            return "snapshots";
        case route_id::versions:
            return "versions";
        case route_id::retention:
            return "retention";
        case route_id::backups:
            return "backups";
        case route_id::restores:
            return "restores";
        case route_id::undeletes:
            return "undeletes";
        case route_id::verifications:
            return "verifications";
        case route_id::prunes:
            return "prunes";
        case route_id::jobs:
            return "jobs";
        case route_id::job:
            return "job";
        case route_id::audit:
            return "audit";
        case route_id::reload:
            return "reload";
        case route_id::metrics:
            return "metrics";
    }
    return "unknown";
}

std::string_view to_string(role r) noexcept {
    return r == role::operator_ ? "operator" : "reader";
}

bool is_valid_job_id(std::string_view id) noexcept {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
    });
}

error_response json_error(unsigned status, std::string code, std::string message) {
    error_response e;
    e.status = status;
    e.code = std::move(code);
    e.message = std::move(message);
    return e;
}

std::string to_json(const error_response& e) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    const auto str = [&](std::string_view s) {
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    };
    w.StartObject();
    w.Key("error");
    w.StartObject();
    w.Key("code");
    str(e.code);
    w.Key("message");
    str(e.message);
    if (!e.field.empty()) {
        w.Key("field");
        str(e.field);
    }
    if (e.needed) {
        w.Key("role");
        str(to_string(*e.needed));
        w.Key("principals");
        w.StartArray();
        for (const auto& p : e.principals)
            str(p);
        w.EndArray();
    }
    w.EndObject();
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

route_match match(std::string_view method, std::string_view target) {
    if (target.empty() || target.front() != '/')
        return failed(bad_request("bad_request", "the request target must be a path starting with '/'"));
    if (target.find('#') != std::string_view::npos)
        return failed(bad_request("bad_request", "the request target must not contain a fragment"));
    const auto qmark = target.find('?');
    const std::string_view path = target.substr(0, qmark);
    const std::string_view query =
        qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);

    // "/a/b" -> {"a", "b"}; "/" -> {""}; "/a/" -> {"a", ""} (which no route matches)
    std::vector<std::string> segments;
    for (std::string_view rest = path.substr(1);;) {
        const auto slash = rest.find('/');
        auto decoded = percent_decode(rest.substr(0, slash), false);
        if (!decoded)
            return failed(bad_request("bad_request", "malformed %-escape in the request path"));
        segments.push_back(std::move(*decoded));
        if (slash == std::string_view::npos)
            break;
        rest = rest.substr(slash + 1);
    }

    std::string allow;
    const route_spec* found = nullptr;
    for (const auto& spec : routes) {
        if (spec.path.size() != segments.size())
            continue;
        bool same = true;
        std::size_t i = 0;
        for (const auto part : spec.path) {
            const auto& seg = segments[i++];
            const bool is_param = part.starts_with('{');
            if (is_param ? seg.empty() : seg != part) {
                same = false;
                break;
            }
        }
        if (!same)
            continue;
        if (spec.method == method) {
            found = &spec;
            break;
        }
        if (allow.find(spec.method) == std::string::npos)
            allow += (allow.empty() ? "" : ", ") + std::string(spec.method);
    }
    if (found == nullptr) {
        if (allow.empty())
            return failed(json_error(404, "not_found", "no such resource: " + std::string(path)));
        auto e =
            json_error(405, "method_not_allowed",
                       std::string(method) + " is not allowed on " + std::string(path) + "; use " + allow);
        e.allow = allow;
        return failed(std::move(e));
    }

    route_match m;
    m.route = found->id;
    m.needed = found->method == "GET" ? role::reader : role::operator_;
    std::size_t i = 0;
    for (const auto part : found->path) {
        const auto& seg = segments[i++];
        if (!part.starts_with('{'))
            continue;
        if (auto e = check_path_param(part, seg))
            return failed(std::move(*e));
        (part == "{env}" ? m.env : m.job_id) = seg;
    }
    if (auto e = parse_query(query, found->params, m.query))
        return failed(std::move(*e));
    return m;
}

}  // namespace tfsnap::control
