#pragma once
// Deterministic per-schedule jitter, like systemd's RandomizedDelaySec= with
// FixedRandomDelay=yes: each (environment, schedule) gets a fixed offset in [0, jitter), so
// many environments on the same cron spread out but each keeps a stable time from run to run
// and from build to build.
//
// The offset is FNV-1a 64 of "<environment>\0<schedule>" modulo the jitter in seconds; FNV-1a
// is specified bit for bit, unlike std::hash.

#include <chrono>
#include <cstdint>
#include <string_view>

namespace tfsnap::scheduler {

std::uint64_t fnv1a_64(std::string_view data, std::uint64_t seed = 0xcbf29ce484222325ULL) noexcept;

// In [0, jitter) with one-second resolution; zero when jitter is zero or negative.
std::chrono::seconds jitter_offset(std::string_view environment, std::string_view schedule,
                                   std::chrono::seconds jitter) noexcept;

}  // namespace tfsnap::scheduler
