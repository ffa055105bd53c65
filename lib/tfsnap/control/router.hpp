#pragma once
// The control API's routes, as a pure function of the request line: which route a method and a
// target name, its path parameters (validated), its query parameters (decoded, typed and
// validated), and the role the caller needs. No I/O; the server (server.hpp) calls match() on
// every request before it reads the body.
//
//   GET  /v1/status                                 reader
//   GET  /v1/environments                           reader
//   GET  /v1/environments/{env}/snapshots           reader
//   GET  /v1/environments/{env}/versions            reader
//   GET  /v1/environments/{env}/retention?dry_run=1 reader   (always a dry run; see prunes)
//   POST /v1/environments/{env}/backups             operator
//   POST /v1/environments/{env}/restores            operator
//   POST /v1/environments/{env}/undeletes           operator
//   POST /v1/environments/{env}/verifications       operator
//   POST /v1/environments/{env}/prunes              operator
//   GET  /v1/jobs                                   reader
//   GET  /v1/jobs/{id}?wait=30s                     reader   (long poll, at most max_job_wait)
//   GET  /v1/audit?env=NAME&limit=N                 reader
//   POST /v1/reload                                 operator
//   GET  /metrics                                   reader
//
// Errors are values (`route_match::error`), rendered as JSON by to_json():
//   404 not_found           no route has this path (a trailing '/' or "//" is not the same path)
//   405 method_not_allowed  a route has this path but not this method; `allow` lists the methods
//   400 bad_request         the target is not origin-form, or has a bad %-escape or a fragment
//   400 invalid_environment {env} fails config::is_valid_name
//   400 invalid_job_id      {id} fails is_valid_job_id
//   400 unknown_parameter   a query parameter the route does not take (or one given twice)
//   400 invalid_parameter   a query parameter with a bad value
// Path segments are %-decoded one by one (so "%2F" never splits a segment); query names and
// values are %-decoded with '+' as a space (application/x-www-form-urlencoded).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::control {

enum class route_id {
    status,
    environments,
    snapshots,
    versions,
    retention,
    backups,
    restores,
    undeletes,
    verifications,
    prunes,
    jobs,
    job,
    audit,
    reload,
    metrics,
};

// "status", "environments", ..., as in metrics labels and logs.
std::string_view to_string(route_id r) noexcept;

// Operators may do everything readers may. `operator` is a keyword, hence the underscore.
enum class role { reader, operator_ };
std::string_view to_string(role r) noexcept;  // "reader" | "operator"

// The longest long poll GET /v1/jobs/{id}?wait= may ask for.
inline constexpr std::chrono::seconds max_job_wait{300};
// The largest ?limit= of GET /v1/audit.
inline constexpr std::int64_t max_audit_limit = 10000;

// Job ids: 1 to 64 characters of [A-Za-z0-9_-].
bool is_valid_job_id(std::string_view id) noexcept;

// Every query parameter any route takes; each route accepts only its own (see the table above).
struct query_params {
    bool dry_run = false;                        // retention: dry_run=1|true (0|false is refused)
    std::optional<std::chrono::seconds> wait{};  // job: "30s", "2m" (config durations) or "30"
    std::optional<std::string> env{};            // audit: an environment name
    std::optional<std::int64_t> limit{};         // audit: 1..max_audit_limit

    friend bool operator==(const query_params&, const query_params&) = default;
};

// A JSON error response before rendering. Every error the control API returns is one of these.
struct error_response {
    unsigned status = 500;
    std::string code;                     // stable, for programs: "not_found", "forbidden", ...
    std::string message;                  // for people
    std::string field;                    // the body field or query parameter at fault, if any
    std::string allow;                    // 405: the Allow header's value ("GET" or "POST")
    std::optional<role> needed;           // 403: the role the request needs
    std::vector<std::string> principals;  // 403: the configured principals that have it
};

// An error_response with only status, code and message.
error_response json_error(unsigned status, std::string code, std::string message);

// The body: {"error":{"code":"...","message":"..."}}, plus "field", "role" and "principals"
// when set. One line, no trailing newline.
std::string to_json(const error_response& e);

struct route_match {
    route_id route = route_id::status;
    role needed = role::reader;  // GET: reader; POST: operator
    std::string env;             // {env}, when the route has one
    std::string job_id;          // {id}, when the route has one
    query_params query;
    std::optional<error_response> error;  // set: no route; the other members mean nothing

    bool ok() const noexcept { return !error.has_value(); }
};

// `method` as sent ("GET", case-sensitive); `target` the request-target as sent.
route_match match(std::string_view method, std::string_view target);

}  // namespace tfsnap::control
