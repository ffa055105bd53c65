#pragma once
// RFC 3339 timestamps in UTC, to the second: "2026-11-22T02:30:26Z". Pure.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::core {

std::string format_rfc3339(std::chrono::sys_seconds t);

// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" (also 't'/'z', or a space for 'T'), to UTC
// seconds (the fraction is dropped). nullopt for anything else, including invalid dates.
std::optional<std::chrono::sys_seconds> parse_rfc3339(std::string_view s) noexcept;

}  // namespace tfsnap::core
