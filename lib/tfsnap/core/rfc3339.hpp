#pragma once
// RFC 3339 timestamps in UTC, to the second: "2026-11-22T02:30:26Z". Pure.

#include <chrono>
#include <string>

namespace tfsnap::core {

std::string format_rfc3339(std::chrono::sys_seconds t);

}  // namespace tfsnap::core
