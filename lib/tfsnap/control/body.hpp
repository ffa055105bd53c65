#pragma once
// The JSON bodies of the control API's POST requests, parsed against strict schemas. Pure.
//
// A body is a JSON object (an empty body counts as {}). Errors are 400 error_responses:
//   invalid_json   not JSON, not an object, or a field given twice
//   unknown_field  a field the schema does not have (`field` names it; the message suggests
//                  the closest known field)
//   invalid_field  a field of the wrong JSON type (null included) or with a bad value
//   missing_field  a required field is absent (or, for a choice, none or several are given)
//
//   POST .../backups        {} | {"schedule": NAME}
//   POST .../restores       {"snapshot_id": ID | "version_id": V | "at": RFC3339,
//                            "mode": "state-only"|"full", "dry_run": true, "reason": TEXT,
//                            "force_lineage": false, "roll_forward_serial": true, "token": T}
//   POST .../undeletes      {"dry_run": true, "reason": TEXT, "token": T}
//   POST .../verifications  {} | {"snapshot_id": ID}
//   POST .../prunes, /v1/reload   {}
// Restores and undeletes are dry runs unless "dry_run": false; a real run needs the token its
// dry run returned, and a dry run must not carry one. "reason" is required (it goes into the
// lock and the audit log).

#include "tfsnap/control/router.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::control {

inline constexpr std::size_t max_reason_size = 1024;
inline constexpr std::size_t max_token_size = 4096;

template <class T>
struct parsed_body {
    T value{};
    std::optional<error_response> error;  // set: `value` means nothing

    bool ok() const noexcept { return !error.has_value(); }
};

struct backup_body {
    std::optional<std::string> schedule;  // a label for the record; unset: "on-demand"
};

struct restore_body {
    // exactly one of these three
    std::optional<std::string> snapshot_id;
    std::optional<std::string> version_id;
    std::optional<std::chrono::sys_seconds> at;
    std::string mode = "state-only";
    bool dry_run = true;
    std::string reason;
    bool force_lineage = false;
    bool roll_forward_serial = true;
    std::string token;  // required when !dry_run, absent otherwise
};

struct undelete_body {
    bool dry_run = true;
    std::string reason;
    std::string token;
};

struct verification_body {
    std::optional<std::string> snapshot_id;  // unset: every retained snapshot
};

struct empty_body {};

parsed_body<backup_body> parse_backup_body(std::string_view body);
parsed_body<restore_body> parse_restore_body(std::string_view body);
parsed_body<undelete_body> parse_undelete_body(std::string_view body);
parsed_body<verification_body> parse_verification_body(std::string_view body);
parsed_body<empty_body> parse_empty_body(std::string_view body);

}  // namespace tfsnap::control
