#pragma once
// Parser for the shared AWS `credentials` and `config` files, and for systemd credential files
// (which use the credentials file's format). Pure: the caller reads the file.
//
// The format follows the AWS SDKs and Tools reference guide, "Shared config and credentials
// files" (docs.aws.amazon.com/sdkref/latest/guide/file-format.html), and the rules the AWS SDK
// for Java 2.x documents for its parser ("Profile file changes" in its migration guide):
//   - `[name]` starts a profile in the credentials file; the config file writes
//     `[profile name]`, except `[default]`. In the config file `[profile default]` wins over
//     `[default]`; other unprefixed sections are ignored (with a warning). Sections of other
//     kinds (`[sso-session x]`, `[services x]`) are skipped silently.
//   - `#` and `;` start a comment at the start of a line and after a section header; in a
//     value only when preceded by whitespace (`secret#1` keeps its `#`).
//   - `key = value`, whitespace around both trimmed; keys are case-insensitive (stored
//     lower-case). An indented line continues the previous value (sub-properties).
//   - A profile defined twice in one file is merged; a key set twice keeps the last value.
//     Both are reported as warnings, since they are usually mistakes.
//   - Hard errors, with the line: a property before any section, a header without `]`, text
//     after a header, a line with no `=`, a key with no name.
//
// Secret values (aws_secret_access_key, aws_session_token) are kept in `core::secret` and
// never in `settings`; messages name keys and lines, never values.

#include "tfsnap/aws/error.hpp"
#include "tfsnap/core/secret.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::aws {

enum class profile_file_kind {
    credentials,         // [name]
    config,              // [profile name] and [default]
    systemd_credential,  // one profile: an optional [default] header, then the keys
};

// Keys whose values are secrets.
bool is_secret_key(std::string_view key) noexcept;

struct setting_origin {
    std::string file;
    int line = 0;
};

struct profile {
    std::string name;
    std::map<std::string, std::string, std::less<>> settings;    // lower-case key -> value
    std::map<std::string, core::secret, std::less<>> secrets;    // lower-case key -> value
    std::map<std::string, setting_origin, std::less<>> origins;  // every key of both maps

    bool has(std::string_view key) const { return settings.contains(key) || secrets.contains(key); }
    const std::string* setting(std::string_view key) const;
    const core::secret* secret_value(std::string_view key) const;
};

struct file_warning {
    int line = 0;
    std::string message;
};

struct parsed_profile_file {
    boost::system::error_code ec;  // invalid_credentials_file (info.line says where)
    error_info error;
    std::map<std::string, profile, std::less<>> profiles;
    std::vector<file_warning> warnings;

    bool ok() const noexcept { return !ec; }
};

// `path` only labels messages and origins.
parsed_profile_file parse_profile_file(std::string_view text, profile_file_kind kind, std::string_view path);

}  // namespace tfsnap::aws
