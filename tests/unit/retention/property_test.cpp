// Properties over 1,200 random snapshot sets and policies. Seeded: a failure names its
// iteration, and the same seed reproduces it everywhere (only the raw mt19937_64 stream is
// used, not the implementation-defined std distributions).
#include "tfsnap/retention/policy.hpp"

#include <gtest/gtest.h>

#include <date/tz.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace tfsnap::retention;
using tfsnap::config::duration;
using tfsnap::config::retention_policy;
using namespace std::chrono_literals;

constexpr int iterations = 1200;
constexpr std::uint64_t seed = 20261122;

class generator {
public:
    explicit generator(std::uint64_t s) : rng_(s) {}

    // uniform enough in [lo, hi] for tests
    std::int64_t between(std::int64_t lo, std::int64_t hi) {
        return lo + static_cast<std::int64_t>(rng_() % static_cast<std::uint64_t>(hi - lo + 1));
    }
    bool chance(int percent) { return between(1, 100) <= percent; }

    std::optional<std::int64_t> maybe_count(int percent, std::int64_t max) {
        return chance(percent) ? std::optional<std::int64_t>(between(0, max)) : std::nullopt;
    }

private:
    std::mt19937_64 rng_;
};

struct scenario {
    retention_policy policy;
    std::vector<snapshot> snapshots;
    sys_seconds now;
    const date::time_zone* zone = nullptr;
};

scenario make_scenario(generator& g) {
    static const char* const zones[] = {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"};
    scenario s;
    s.zone = date::locate_zone(zones[g.between(0, 3)]);
    // around the 2026 DST changes and the 2026/2027 ISO year end
    const sys_seconds base = date::sys_days{date::year{2026} / 3 / 1};
    const auto span_days = g.between(1, 800);
    s.now = base + date::days{span_days} + std::chrono::seconds{g.between(0, 86399)};

    auto& p = s.policy;
    p.keep_last = g.maybe_count(30, 6);
    p.keep_hourly = g.maybe_count(25, 8);
    p.keep_daily = g.maybe_count(40, 8);
    p.keep_weekly = g.maybe_count(35, 6);
    p.keep_monthly = g.maybe_count(35, 6);
    p.keep_yearly = g.maybe_count(25, 3);
    if (g.chance(30))
        p.keep_within = duration{g.between(0, 40 * 86400)};
    p.min_keep = g.maybe_count(40, 10);
    if (g.chance(30))
        p.restore_pin = duration{g.between(0, 60 * 86400)};

    const auto count = g.between(0, 60);
    // clustered snapshots fill buckets with several candidates: a few "sessions" with bursts
    std::vector<sys_seconds> centres;
    for (int i = 0; i < 4; ++i)
        centres.push_back(base + std::chrono::seconds{g.between(0, (span_days + 5) * 86400)});
    for (std::int64_t i = 0; i < count; ++i) {
        snapshot x;
        x.id = "s" + std::to_string(i);
        if (g.chance(50)) {
            const auto c = centres[static_cast<std::size_t>(g.between(0, 3))];
            x.created_at = c + std::chrono::seconds{g.between(-3 * 86400, 3 * 86400)};
        } else {
            x.created_at = base + std::chrono::seconds{g.between(0, (span_days + 5) * 86400)};
        }
        if (g.chance(5) && i > 0)
            x.created_at = s.snapshots.back().created_at;  // exact ties
        if (g.chance(10))
            x.pinned_until = x.created_at + std::chrono::seconds{g.between(0, 90 * 86400)};
        x.safety = g.chance(10);
        s.snapshots.push_back(std::move(x));
    }
    return s;
}

bool is_pinned(const snapshot& x, const retention_policy& p, sys_seconds now) {
    if (x.pinned_until && *x.pinned_until > now)
        return true;
    return x.safety && x.created_at + p.restore_pin.value_or(tfsnap::config::default_restore_pin) > now;
}

TEST(RetentionProperties, HoldForRandomSnapshotSets) {
    generator g(seed);
    std::size_t kept_total = 0, deleted_total = 0;
    for (int it = 0; it < iterations; ++it) {
        SCOPED_TRACE("iteration " + std::to_string(it) + " of seed " + std::to_string(seed));
        const auto s = make_scenario(g);
        const auto result = apply(s.policy, s.snapshots, s.now, *s.zone);
        ASSERT_EQ(result.decisions.size(), s.snapshots.size());
        kept_total += result.kept();
        deleted_total += result.deleted();

        // newest first, every snapshot exactly once
        std::set<std::string> ids;
        for (std::size_t i = 0; i < result.decisions.size(); ++i) {
            ids.insert(result.decisions[i].id);
            if (i > 0) {
                ASSERT_GE(result.decisions[i - 1].created_at, result.decisions[i].created_at);
            }
        }
        ASSERT_EQ(ids.size(), s.snapshots.size());

        // kept exactly when there is a reason
        for (const auto& d : result.decisions) {
            ASSERT_EQ(d.keep, !d.reasons.empty()) << d.id;
            for (const auto& r : d.reasons)
                ASSERT_FALSE(r.text.empty()) << d.id;
        }

        // pins hold
        for (const auto& x : s.snapshots) {
            if (is_pinned(x, s.policy, s.now)) {
                ASSERT_TRUE(result.find(x.id)->keep) << x.id << " is pinned";
            }
        }

        // the floor holds
        const auto floor = static_cast<std::size_t>(s.policy.min_keep.value_or(0));
        ASSERT_GE(result.kept(), std::min(floor, s.snapshots.size()));

        // idempotent: the kept set is kept whole
        std::vector<snapshot> kept;
        for (const auto& x : s.snapshots) {
            if (result.find(x.id)->keep)
                kept.push_back(x);
        }
        const auto again = apply(s.policy, kept, s.now, *s.zone);
        ASSERT_EQ(again.deleted(), 0u);

        // the order of the input does not matter
        std::vector<snapshot> reversed(s.snapshots.rbegin(), s.snapshots.rend());
        const auto shuffled = apply(s.policy, reversed, s.now, *s.zone);
        ASSERT_EQ(shuffled.decisions.size(), result.decisions.size());
        for (std::size_t i = 0; i < result.decisions.size(); ++i) {
            ASSERT_EQ(shuffled.decisions[i].id, result.decisions[i].id);
            ASSERT_EQ(shuffled.decisions[i].reasons, result.decisions[i].reasons);
        }
    }
    // the generator exercises both outcomes
    EXPECT_GT(kept_total, 1000u);
    EXPECT_GT(deleted_total, 1000u);
}

}  // namespace
