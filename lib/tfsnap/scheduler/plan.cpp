#include "tfsnap/scheduler/plan.hpp"

#include "tfsnap/scheduler/jitter.hpp"

#include <algorithm>

namespace tfsnap::scheduler {

namespace {

using std::chrono::seconds;

// The latest whole second s with s + offset <= now.
sys_seconds latest_slot_limit(core::time_point now, seconds offset) {
    return std::chrono::floor<seconds>(now - offset);
}

}  // namespace

plan::plan(std::vector<schedule_spec> specs, const stamp_map& stamps, core::time_point now)
    : plan(std::move(specs), stamps, now, plan_options{}) {}

plan::plan(std::vector<schedule_spec> specs, const stamp_map& stamps, core::time_point now, plan_options opts)
    : specs_(std::move(specs)), opts_(opts) {
    states_.resize(specs_.size());
    for (std::size_t i = 0; i < specs_.size(); ++i) {
        const auto& spec = specs_[i];
        auto& st = states_[i];
        st.offset = jitter_offset(spec.environment, spec.name, spec.jitter);
        const sys_seconds from_now = latest_slot_limit(now, st.offset);
        const auto stamp = stamps.find(spec.key());
        if (stamp == stamps.end()) {
            st.cursor = from_now;
        } else {
            stamps_.emplace(stamp->first, stamp->second);
            st.cursor = spec.missed == config::missed_policy::skip ? std::max(stamp->second, from_now)
                                                                   : stamp->second;
        }
        st.next = spec.expr.next(st.cursor, *spec.zone);
    }
}

void plan::advance(std::size_t i, sys_seconds to) {
    auto& st = states_[i];
    st.cursor = to;
    stamps_[specs_[i].key()] = to;
    st.next = specs_[i].expr.next(to, *specs_[i].zone);
}

due_batch plan::take_due(core::time_point now) {
    due_batch out;
    for (std::size_t i = 0; i < specs_.size(); ++i) {
        const auto& spec = specs_[i];
        const auto& st = states_[i];
        if (!st.next || due_of(i, *st.next) > now)
            continue;
        const sys_seconds first = *st.next;
        const sys_seconds limit = latest_slot_limit(now, st.offset);
        sys_seconds latest = first;
        if (const auto before = spec.expr.prev(limit + seconds{1}, *spec.zone); before && *before > first)
            latest = *before;
        const core::time_point due = due_of(i, latest);
        const bool late = now - due > opts_.late_tolerance;
        const bool folded = latest != first;
        if (spec.missed == config::missed_policy::run_once || !late) {
            if (folded && spec.missed == config::missed_policy::skip)
                out.skipped.push_back({i, spec.expr.prev(latest, *spec.zone).value_or(first)});
            out.fires.push_back(
                {i, spec.environment, spec.name, latest, due, late || folded, spec.kind, spec.lane()});
        } else {
            out.skipped.push_back({i, latest});
        }
        advance(i, latest);
    }
    std::stable_sort(out.fires.begin(), out.fires.end(),
                     [](const fire& a, const fire& b) { return a.due < b.due; });
    return out;
}

std::optional<core::time_point> plan::next_due() const {
    std::optional<core::time_point> out;
    for (std::size_t i = 0; i < states_.size(); ++i) {
        if (!states_[i].next)
            continue;
        const auto due = due_of(i, *states_[i].next);
        if (!out || due < *out)
            out = due;
    }
    return out;
}

std::optional<sys_seconds> plan::next_slot(std::size_t schedule) const {
    return states_.at(schedule).next;
}

core::time_point plan::due_of(std::size_t schedule, sys_seconds slot) const {
    return core::time_point{slot.time_since_epoch() + states_.at(schedule).offset};
}

}  // namespace tfsnap::scheduler
