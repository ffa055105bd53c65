#pragma once
// Durations as written in the configuration: a sequence of number+unit pairs, units s, m, h,
// d (and w for weeks): "90s", "5m", "12h", "7d", "1h30m". "0" alone means zero.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::config {

using duration = std::chrono::seconds;

// nullopt when `text` is not a valid duration (or it overflows).
std::optional<duration> parse_duration(std::string_view text) noexcept;

// The shortest form that parses back to the same value: "0s", "90s", "5m", "1h30m", "7d".
std::string format_duration(duration d);

}  // namespace tfsnap::config
