#pragma once
// The schedule plan: which slots are due at a given instant, and when the next one is. Pure:
// no I/O and no clock; callers pass `now`.
//
// Every schedule keeps a cursor, the last slot it fired or skipped. The next slot is always
// computed strictly after the cursor, never after `now`, so:
// - a slot never fires twice, even when the wall clock steps back;
// - a slot passed over by a clock step forward or by downtime is not lost: under
//   `missed_policy::run_once` the latest passed slot fires once, however many were passed;
//   under `skip` they are dropped (and reported), except a slot that is only a little late
//   (`late_tolerance`), which fires.
// On construction, a schedule with a stamp starts from it (run-once catches up at once); a
// schedule without one, or under `skip`, starts from `now` and does not fire for the past.
//
// A fire is due at its slot plus the schedule's fixed jitter offset (jitter.hpp).
//
// Thread safety: none; one owner.

#include "tfsnap/core/clock.hpp"
#include "tfsnap/scheduler/schedule_spec.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tfsnap::scheduler {

using sys_seconds = std::chrono::sys_seconds;

// schedule_spec::key() -> the last slot fired or skipped.
using stamp_map = std::map<std::string, sys_seconds>;

struct fire {
    std::size_t schedule = 0;  // index into plan::specs()
    std::string environment;
    std::string name;
    sys_seconds slot{};     // the cron instant
    core::time_point due;   // slot + jitter offset
    bool catch_up = false;  // late beyond the tolerance, or earlier passed slots were folded in
    job_kind kind = job_kind::backup;
    std::string lane{};     // schedule_spec::lane(): fires of one lane never run at once
    std::string request{};  // on-demand jobs: what was asked for (opaque to the runner)
    // false: a `concurrency: replace` schedule never cancels or drops this job (an operator's
    // restore or undelete); the schedule's fire waits for it instead.
    bool replaceable = true;
    std::uint64_t job_id = 0;  // set by the runner when the job starts (for runner::progress)
};

// Slots passed over under missed_policy::skip; `latest` is the last of them.
struct skipped_slots {
    std::size_t schedule = 0;
    sys_seconds latest{};
};

struct due_batch {
    std::vector<fire> fires;  // in due order (ties in schedule order)
    std::vector<skipped_slots> skipped;
    bool empty() const noexcept { return fires.empty() && skipped.empty(); }
};

struct plan_options {
    // A slot later than this when it is taken counts as missed (see above).
    std::chrono::seconds late_tolerance{60};
};

class plan {
public:
    plan(std::vector<schedule_spec> specs, const stamp_map& stamps, core::time_point now);
    plan(std::vector<schedule_spec> specs, const stamp_map& stamps, core::time_point now, plan_options opts);

    // Consumes everything due at `now` (due <= now): at most one fire per schedule.
    due_batch take_due(core::time_point now);

    // When the earliest pending fire is due; nullopt when no schedule has a next slot.
    std::optional<core::time_point> next_due() const;

    // The pending slot of one schedule, and its due time.
    std::optional<sys_seconds> next_slot(std::size_t schedule) const;
    core::time_point due_of(std::size_t schedule, sys_seconds slot) const;

    // Cursors to persist: the schedules that had a stamp or have fired or skipped since.
    const stamp_map& stamps() const noexcept { return stamps_; }
    const std::vector<schedule_spec>& specs() const noexcept { return specs_; }

private:
    struct state {
        sys_seconds cursor{};
        std::optional<sys_seconds> next;
        std::chrono::seconds offset{0};
    };

    void advance(std::size_t i, sys_seconds to);

    std::vector<schedule_spec> specs_;
    std::vector<state> states_;
    stamp_map stamps_;
    plan_options opts_;
};

}  // namespace tfsnap::scheduler
