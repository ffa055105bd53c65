#include "tfsnap/retention/policy.hpp"

#include <date/date.h>
#include <date/iso_week.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>

namespace tfsnap::retention {

std::size_t plan::kept() const noexcept {
    return static_cast<std::size_t>(
        std::count_if(decisions.begin(), decisions.end(), [](const decision& d) { return d.keep; }));
}

std::size_t plan::deleted() const noexcept {
    return decisions.size() - kept();
}

const decision* plan::find(std::string_view id) const noexcept {
    const auto it =
        std::find_if(decisions.begin(), decisions.end(), [&](const decision& d) { return d.id == id; });
    return it == decisions.end() ? nullptr : &*it;
}

namespace {

std::string padded(long v, int width) {
    std::string s = std::to_string(v < 0 ? -v : v);
    if (static_cast<int>(s.size()) < width)
        s.insert(0, static_cast<std::size_t>(width) - s.size(), '0');
    return v < 0 ? "-" + s : s;
}

std::string format_day(date::local_days d) {
    const date::year_month_day ymd{d};
    return padded(static_cast<int>(ymd.year()), 4) + "-" + padded(static_cast<unsigned>(ymd.month()), 2) +
           "-" + padded(static_cast<unsigned>(ymd.day()), 2);
}

// One calendar bucket of a snapshot: a key that is equal exactly for snapshots in the same
// bucket, and how the bucket is shown.
struct bucket {
    std::int64_t key = 0;
    std::string label;
};

// The calendar fields of one instant in the zone, computed once per snapshot.
struct calendar {
    date::local_seconds local;
    date::local_days day;
    date::year_month_day ymd;

    calendar(sys_seconds t, const date::time_zone& zone)
        : local(zone.to_local(t)), day(date::floor<date::days>(local)), ymd(day) {}

    std::int64_t year() const { return static_cast<int>(ymd.year()); }
    std::int64_t month() const { return static_cast<unsigned>(ymd.month()); }

    bucket hour() const {
        const auto h = date::floor<std::chrono::hours>(local);
        return {h.time_since_epoch().count(),
                format_day(day) + "T" + padded(static_cast<long>((h - day).count()), 2)};
    }
    bucket daily() const { return {day.time_since_epoch().count(), format_day(day)}; }
    bucket weekly() const {
        // ISO 8601 weeks: Monday to Sunday, and week 1 holds the year's first Thursday, so the
        // days around New Year may belong to the neighbouring week-year
        const iso_week::year_weeknum_weekday w{day};
        const std::int64_t y = static_cast<int>(w.year());
        const std::int64_t n = static_cast<unsigned>(w.weeknum());
        return {y * 100 + n, padded(static_cast<long>(y), 4) + "-W" + padded(static_cast<long>(n), 2)};
    }
    bucket monthly() const {
        return {year() * 100 + month(),
                padded(static_cast<long>(year()), 4) + "-" + padded(static_cast<long>(month()), 2)};
    }
    bucket yearly() const { return {year(), padded(static_cast<long>(year()), 4)}; }
};

struct counter {
    rule kind;
    const char* name;
    std::int64_t left = 0;
    std::optional<std::int64_t> last_key;
};

}  // namespace

plan apply(const config::retention_policy& policy, std::span<const snapshot> snapshots, sys_seconds now,
           const date::time_zone& zone) {
    std::vector<std::size_t> order(snapshots.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto& x = snapshots[a];
        const auto& y = snapshots[b];
        if (x.created_at != y.created_at)
            return x.created_at > y.created_at;
        // same second: the later id is the newer one, as snapshot ids go "...Z", "...Z-2",
        // "...Z-10" (longer, then greater)
        if (x.id.size() != y.id.size())
            return x.id.size() > y.id.size();
        return x.id > y.id;
    });

    plan out;
    out.decisions.reserve(order.size());
    for (const auto i : order)
        out.decisions.push_back({snapshots[i].id, snapshots[i].created_at, false, {}});

    const std::size_t n = out.decisions.size();
    if (policy.empty()) {
        for (auto& d : out.decisions)
            d.reasons.push_back({rule::no_policy, "no retention policy"});
    } else {
        // restic measures keep_within from the newest snapshot that is not in the future
        std::optional<sys_seconds> newest;
        for (const auto& d : out.decisions) {
            if (d.created_at < now) {
                newest = d.created_at;
                break;
            }
        }
        std::array<counter, 6> counters{{{rule::last, "last", policy.keep_last.value_or(0), {}},
                                         {rule::hourly, "hourly", policy.keep_hourly.value_or(0), {}},
                                         {rule::daily, "daily", policy.keep_daily.value_or(0), {}},
                                         {rule::weekly, "weekly", policy.keep_weekly.value_or(0), {}},
                                         {rule::monthly, "monthly", policy.keep_monthly.value_or(0), {}},
                                         {rule::yearly, "yearly", policy.keep_yearly.value_or(0), {}}}};
        for (std::size_t nr = 0; nr < n; ++nr) {
            auto& d = out.decisions[nr];
            const calendar cal(d.created_at, zone);
            for (auto& c : counters) {
                if (c.left <= 0)
                    continue;
                bucket b;
                switch (c.kind) {
                    case rule::last:
                        b = {static_cast<std::int64_t>(nr), std::to_string(nr + 1)};
                        break;
                    case rule::hourly:
                        b = cal.hour();
                        break;
                    case rule::daily:
                        b = cal.daily();
                        break;
                    case rule::weekly:
                        b = cal.weekly();
                        break;
                    case rule::monthly:
                        b = cal.monthly();
                        break;
                    default:
                        b = cal.yearly();
                        break;
                }
                const bool same_bucket = c.last_key == b.key;
                // like restic, the oldest snapshot is kept while a rule still has buckets to
                // fill: the longest history the counts allow
                if (same_bucket && nr + 1 != n)
                    continue;
                d.reasons.push_back(
                    {c.kind, std::string(same_bucket ? "oldest " : "") + c.name + " " + std::move(b.label)});
                c.last_key = b.key;
                --c.left;
            }
            if (policy.keep_within && (!newest || d.created_at > *newest - *policy.keep_within)) {
                d.reasons.push_back({rule::within, "within " + config::format_duration(*policy.keep_within)});
            }
        }
    }

    const auto pin_length = policy.restore_pin.value_or(config::default_restore_pin);
    for (std::size_t nr = 0; nr < n; ++nr) {
        const auto& s = snapshots[order[nr]];
        std::optional<sys_seconds> until = s.pinned_until;
        if (s.safety) {
            const sys_seconds safety_until = s.created_at + pin_length;
            until = until ? std::max(*until, safety_until) : safety_until;
        }
        if (until && *until > now) {
            out.decisions[nr].reasons.push_back(
                {rule::pinned, "pinned until " + format_day(date::floor<date::days>(zone.to_local(*until)))});
        }
    }

    std::size_t kept = 0;
    for (auto& d : out.decisions)
        kept += d.reasons.empty() ? 0 : 1;
    const auto floor = static_cast<std::size_t>(std::max<std::int64_t>(policy.min_keep.value_or(0), 0));
    for (auto& d : out.decisions) {
        if (kept >= floor)
            break;
        if (d.reasons.empty()) {
            d.reasons.push_back({rule::min_keep, "min_keep"});
            ++kept;
        }
    }

    for (auto& d : out.decisions)
        d.keep = !d.reasons.empty();
    return out;
}

}  // namespace tfsnap::retention
