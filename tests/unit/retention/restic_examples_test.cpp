// The worked examples of restic's documentation, "Removing snapshots according to a policy":
// https://restic.readthedocs.io/en/stable/060_forget.html#removing-snapshots-according-to-a-policy
// (doc/060_forget.rst in github.com/restic/restic). restic prints local times; these run in UTC.
#include "tfsnap/retention/policy.hpp"

#include "support.hpp"

#include <gtest/gtest.h>

#include <date/date.h>

#include <string>
#include <vector>

namespace {

using namespace tfsnap::retention;
using test::at;
using tfsnap::config::retention_policy;

// "Suppose you have only made one backup every Sunday for 12 weeks ... Then
// `forget --keep-daily 4` will keep the last four snapshots, for the last four Sundays, and
// remove the other snapshots".
TEST(ResticExample, TwelveSundaysKeepDaily4) {
    const std::vector<snapshot> input{
        {"0a1f9759", at("2019-09-01 11:00"), std::nullopt, false},
        {"46cfe4d5", at("2019-09-08 11:00"), std::nullopt, false},
        {"f6b1f037", at("2019-09-15 11:00"), std::nullopt, false},
        {"eb430a5d", at("2019-09-22 11:00"), std::nullopt, false},
        {"8cf1cb9a", at("2019-09-29 11:00"), std::nullopt, false},
        {"5d33b116", at("2019-10-06 11:00"), std::nullopt, false},
        {"b9553125", at("2019-10-13 11:00"), std::nullopt, false},
        {"e1a7b58b", at("2019-10-20 11:00"), std::nullopt, false},
        {"8f8018c0", at("2019-10-27 11:00"), std::nullopt, false},
        {"59403279", at("2019-11-03 11:00"), std::nullopt, false},
        {"dfee9fb4", at("2019-11-10 11:00"), std::nullopt, false},
        {"e1ae2f40", at("2019-11-17 11:00"), std::nullopt, false},
    };
    retention_policy p;
    p.keep_daily = 4;
    const auto result = apply(p, input, at("2019-11-18 00:00"), *date::locate_zone("UTC"));
    EXPECT_EQ(test::render(result), (std::vector<std::string>{
                                        "e1ae2f40: daily 2019-11-17",
                                        "dfee9fb4: daily 2019-11-10",
                                        "59403279: daily 2019-11-03",
                                        "8f8018c0: daily 2019-10-27",
                                        "e1a7b58b: -",
                                        "b9553125: -",
                                        "5d33b116: -",
                                        "8cf1cb9a: -",
                                        "eb430a5d: -",
                                        "f6b1f037: -",
                                        "46cfe4d5: -",
                                        "0a1f9759: -",
                                    }));
    EXPECT_EQ(result.kept(), 4u);
    EXPECT_EQ(result.deleted(), 8u);
}

// "suppose you make one backup every day for 100 years. Then `forget --keep-daily 7
// --keep-weekly 5 --keep-monthly 12 --keep-yearly 75` would keep the most recent 7 daily
// snapshots and 4 last-day-of-the-week ones (since the 7 dailies already include 1 weekly).
// Additionally, 12 or 11 last-day-of-the-month snapshots will be kept (depending on whether one
// of them ends up being the same as a daily or weekly). And finally 75 or 74
// last-day-of-the-year snapshots are kept, depending on whether one of them ends up being the
// same as an already kept snapshot. All other snapshots are removed."
//
// The last backup is on Sunday 2026-11-22, so the 7 dailies are exactly one ISO week.
TEST(ResticExample, HundredYearsOfDailyBackups) {
    using date::days;
    const date::sys_days last = date::year{2026} / 11 / 22;
    const date::sys_days first = date::year{1926} / 11 / 23;
    std::vector<snapshot> input;
    for (auto d = first; d <= last; d += days{1})
        input.push_back({date::format("%F", d), d + std::chrono::hours{12}, std::nullopt, false});
    ASSERT_EQ(input.size(), 36525u);

    retention_policy p;
    p.keep_daily = 7;
    p.keep_weekly = 5;
    p.keep_monthly = 12;
    p.keep_yearly = 75;
    const auto result = apply(p, input, last + days{1}, *date::locate_zone("UTC"));

    const auto has = [](const decision& d, rule r) {
        return std::any_of(d.reasons.begin(), d.reasons.end(), [&](const reason& x) { return x.kind == r; });
    };
    std::size_t daily = 0, weekly = 0, monthly = 0, yearly = 0;
    std::size_t weekly_only = 0, monthly_only = 0, yearly_only = 0;
    for (const auto& d : result.decisions) {
        daily += has(d, rule::daily);
        weekly += has(d, rule::weekly);
        monthly += has(d, rule::monthly);
        yearly += has(d, rule::yearly);
        weekly_only += has(d, rule::weekly) && !has(d, rule::daily);
        monthly_only += has(d, rule::monthly) && !has(d, rule::daily) && !has(d, rule::weekly);
        yearly_only += has(d, rule::yearly) && d.reasons.size() == 1;
    }
    EXPECT_EQ(daily, 7u);
    EXPECT_EQ(weekly, 5u);
    EXPECT_EQ(weekly_only, 4u);  // "4 last-day-of-the-week ones"
    EXPECT_EQ(monthly, 12u);
    EXPECT_EQ(monthly_only, 11u);  // "12 or 11": November's is the newest daily
    EXPECT_EQ(yearly, 75u);
    // 2026's yearly is the newest daily and 2025's (Dec 31) is the oldest monthly
    EXPECT_EQ(yearly_only, 73u);
    EXPECT_EQ(result.kept(), 7u + 4u + 11u + 73u);

    EXPECT_EQ(test::render(result).at(7), "2026-11-15: weekly 2026-W46");
    EXPECT_TRUE(result.find("2025-12-31")->keep);
    EXPECT_EQ(result.find("1952-12-31")->reasons, (std::vector<reason>{{rule::yearly, "yearly 1952"}}));
    EXPECT_FALSE(result.find("1951-12-31")->keep);
    EXPECT_FALSE(result.find("1926-11-23")->keep);  // the oldest: every count is used up
}

}  // namespace
