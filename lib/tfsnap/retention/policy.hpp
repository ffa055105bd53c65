#pragma once
// Which snapshots a retention policy keeps, and why. Pure: no I/O, no clock (callers pass
// `now`), only the OS tz database through Howard Hinnant's date/tz for calendar buckets.
//
// The rules follow restic's `forget` ("Removing snapshots according to a policy",
// https://restic.readthedocs.io/en/stable/060_forget.html), applied to one schedule's snapshots:
// - keep_last N: the N newest snapshots.
// - keep_hourly/daily/weekly/monthly/yearly N: walking newest first, the newest snapshot of
//   each of the last N calendar buckets (hour, day, ISO week, month, year in `zone`) that have
//   snapshots. When the walk reaches the oldest snapshot with buckets still unfilled, that
//   snapshot is kept too ("oldest daily ..."), as restic >= 0.17 does.
// - keep_within D: every snapshot created after (newest - D), where "newest" is the newest
//   snapshot created before `now`; snapshots from the future are therefore kept.
// - A snapshot is kept when any rule keeps it. With no rule set at all, everything is kept.
// - Pins: a snapshot whose pin (its `pinned_until`, or for a safety snapshot its creation plus
//   `restore_pin`, whichever is later) lies after `now` is never deleted.
// - min_keep: when fewer than min_keep snapshots are kept, the newest of the others are added.
//
// The result does not depend on the order of the input; of snapshots created in the same second
// the one with the later id is newer ("...Z" < "...Z-2" < "...Z-10": longer, then greater).
// Applying a policy to the snapshots it kept keeps all of them (with the same `now`).

#include "tfsnap/config/config.hpp"

#include <date/tz.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tfsnap::retention {

using sys_seconds = std::chrono::sys_seconds;

struct snapshot {
    std::string id;
    sys_seconds created_at;
    std::optional<sys_seconds> pinned_until;
    bool safety = false;  // taken just before a restore; pinned for the policy's restore_pin
};

enum class rule { no_policy, last, hourly, daily, weekly, monthly, yearly, within, pinned, min_keep };

struct reason {
    rule kind = rule::no_policy;
    // "no retention policy", "last 3" (the third newest), "daily 2026-11-20", "oldest daily
    // 2026-11-20", "weekly 2026-W47", "monthly 2026-11", "yearly 2026", "within 7d",
    // "pinned until 2026-12-20", "min_keep"
    std::string text;

    friend bool operator==(const reason&, const reason&) = default;
};

struct decision {
    std::string id;
    sys_seconds created_at;
    bool keep = false;
    std::vector<reason> reasons;  // non-empty exactly when keep
};

struct plan {
    std::vector<decision> decisions;  // newest first

    std::size_t kept() const noexcept;
    std::size_t deleted() const noexcept;
    const decision* find(std::string_view id) const noexcept;
};

// Decides keep or delete for every snapshot. Snapshot ids are expected to be unique.
plan apply(const config::retention_policy& policy, std::span<const snapshot> snapshots, sys_seconds now,
           const date::time_zone& zone);

}  // namespace tfsnap::retention
