// One table row per rule: the snapshots, the policy, and every snapshot's fate with its
// reasons, newest first.
#include "tfsnap/retention/policy.hpp"

#include "support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace tfsnap::retention;
using test::at;
using tfsnap::config::duration;
using tfsnap::config::retention_policy;
using namespace std::chrono_literals;

struct snap {
    snap(std::string i, std::string t, std::string pin = {}, bool s = false)
        : id(std::move(i)), time(std::move(t)), pinned_until(std::move(pin)), safety(s) {}

    std::string id;
    std::string time;          // see test::at: local in the row's zone, or UTC with a Z
    std::string pinned_until;  // empty: not pinned
    bool safety = false;
};

struct rule_case {
    const char* name;
    retention_policy policy;
    const char* zone;
    std::string now;
    std::vector<snap> snapshots;
    std::vector<std::string> expected;  // test::render of the plan
};

retention_policy policy(std::initializer_list<std::pair<const char*, std::int64_t>> counts) {
    retention_policy p;
    for (const auto& [k, v] : counts) {
        const std::string key = k;
        if (key == "last")
            p.keep_last = v;
        else if (key == "hourly")
            p.keep_hourly = v;
        else if (key == "daily")
            p.keep_daily = v;
        else if (key == "weekly")
            p.keep_weekly = v;
        else if (key == "monthly")
            p.keep_monthly = v;
        else if (key == "yearly")
            p.keep_yearly = v;
        else if (key == "min_keep")
            p.min_keep = v;
        else if (key == "within_days")
            p.keep_within = duration{std::chrono::days{v}};
        else if (key == "restore_pin_days")
            p.restore_pin = duration{std::chrono::days{v}};
        else
            throw std::invalid_argument("unknown policy key in test: " + key);
    }
    return p;
}

const rule_case cases[] = {
    {"NoPolicyKeepsEverything",
     {},
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:00"}, {"b", "2026-11-19 10:00"}},
     {"a: no retention policy", "b: no retention policy"}},
    {"MinKeepAloneIsNoPolicy",
     policy({{"min_keep", 1}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:00"}, {"b", "2026-11-19 10:00"}},
     {"a: no retention policy", "b: no retention policy"}},
    {"KeepLast",
     policy({{"last", 2}}),
     "UTC",
     "2026-11-22 00:00",
     {{"c", "2026-11-18 10:00"},
      {"a", "2026-11-20 10:00"},
      {"d", "2026-11-17 10:00"},
      {"b", "2026-11-19 10:00"}},
     {"a: last 1", "b: last 2", "c: -", "d: -"}},
    {"KeepLastZeroKeepsNone",
     policy({{"last", 0}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:00"}, {"b", "2026-11-19 10:00"}},
     {"a: -", "b: -"}},
    {"TiesBrokenById",  // same second: the later snapshot id is the newer snapshot
     policy({{"last", 1}}),
     "UTC",
     "2026-11-22 00:00",
     {{"b", "2026-11-20 10:00"}, {"a", "2026-11-20 10:00"}},
     {"b: last 1", "a: -"}},
    {"SameSecondSequenceSuffixes",
     policy({{"last", 2}}),
     "UTC",
     "2026-11-22 00:00",
     {{"2026-11-20T10-00-00Z", "2026-11-20 10:00"},
      {"2026-11-20T10-00-00Z-2", "2026-11-20 10:00"},
      {"2026-11-20T10-00-00Z-10", "2026-11-20 10:00"}},
     {"2026-11-20T10-00-00Z-10: last 1", "2026-11-20T10-00-00Z-2: last 2", "2026-11-20T10-00-00Z: -"}},
    {"KeepHourlyNewestPerHour",
     policy({{"hourly", 2}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:50"},
      {"b", "2026-11-20 10:10"},
      {"c", "2026-11-20 09:59"},
      {"d", "2026-11-20 09:00"},
      {"e", "2026-11-20 08:00"}},
     {"a: hourly 2026-11-20T10", "b: -", "c: hourly 2026-11-20T09", "d: -", "e: -"}},
    {"KeepHourlyOldestWhenBucketsLeft",
     policy({{"hourly", 3}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:50"},
      {"b", "2026-11-20 10:10"},
      {"c", "2026-11-20 09:30"},
      {"d", "2026-11-20 09:00"}},
     {"a: hourly 2026-11-20T10", "b: -", "c: hourly 2026-11-20T09", "d: oldest hourly 2026-11-20T09"}},
    // 2026-10-25 in Berlin: 02:00-02:59 happens twice (CEST, then CET); both are one hour bucket
    {"HourlyBerlinFallBackHourIsOneBucket",
     policy({{"hourly", 3}}),
     "Europe/Berlin",
     "2026-11-22 00:00",
     {{"cet-0245", "2026-10-25 01:45Z"},
      {"cest-0215", "2026-10-25 00:15Z"},
      {"cest-0130", "2026-10-24 23:30Z"},
      {"cest-0030", "2026-10-24 22:30Z"}},
     {"cet-0245: hourly 2026-10-25T02", "cest-0215: -", "cest-0130: hourly 2026-10-25T01",
      "cest-0030: hourly 2026-10-25T00"}},
    // 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; a 23-hour day
    {"DailyBerlinAcrossSpringForward",
     policy({{"daily", 3}}),
     "Europe/Berlin",
     "2026-04-01 00:00",
     {{"g", "2026-03-30 00:30"},
      {"a", "2026-03-29 03:30"},
      {"b", "2026-03-29 01:30"},
      {"c", "2026-03-28 23:59"},
      {"d", "2026-03-28 12:00"},
      {"e", "2026-03-27 12:00"},
      {"f", "2026-03-26 12:00"}},
     {"g: daily 2026-03-30", "a: daily 2026-03-29", "b: -", "c: daily 2026-03-28", "d: -", "e: -", "f: -"}},
    // the same instants bucketed in UTC: g (22:30Z) and a (01:30Z) fall on the same day
    {"DailySameInstantsInUtc",
     policy({{"daily", 3}}),
     "UTC",
     "2026-04-01 00:00",
     {{"g", "2026-03-29 22:30Z"},
      {"a", "2026-03-29 01:30Z"},
      {"b", "2026-03-29 00:30Z"},
      {"c", "2026-03-28 22:59Z"},
      {"d", "2026-03-28 11:00Z"},
      {"e", "2026-03-27 11:00Z"},
      {"f", "2026-03-26 11:00Z"}},
     {"g: daily 2026-03-29", "a: -", "b: -", "c: daily 2026-03-28", "d: -", "e: daily 2026-03-27", "f: -"}},
    // 2026-10-25 in Berlin has 25 hours; 00:00 and 23:59 local are still one day
    {"DailyBerlinAcrossFallBack",
     policy({{"daily", 2}}),
     "Europe/Berlin",
     "2026-11-01 00:00",
     {{"late", "2026-10-25 23:59"}, {"early", "2026-10-25 00:00"}, {"before", "2026-10-24 23:59"}},
     {"late: daily 2026-10-25", "early: -", "before: daily 2026-10-24"}},
    // 2026 has 53 ISO weeks (1 January 2026 is a Thursday): 2026-12-28 .. 2027-01-03 is 2026-W53
    {"WeeklyIsoWeekAcrossYearEnd",
     policy({{"weekly", 3}}),
     "UTC",
     "2027-01-10 00:00",
     {{"mon-2027-01-04", "2027-01-04 10:00"},
      {"sun-2027-01-03", "2027-01-03 10:00"},
      {"fri-2027-01-01", "2027-01-01 10:00"},
      {"thu-2026-12-31", "2026-12-31 10:00"},
      {"mon-2026-12-28", "2026-12-28 10:00"},
      {"sun-2026-12-27", "2026-12-27 10:00"},
      {"sun-2026-12-20", "2026-12-20 10:00"},
      {"mon-2025-12-29", "2025-12-29 10:00"}},
     {"mon-2027-01-04: weekly 2027-W01", "sun-2027-01-03: weekly 2026-W53", "fri-2027-01-01: -",
      "thu-2026-12-31: -", "mon-2026-12-28: -", "sun-2026-12-27: weekly 2026-W52", "sun-2026-12-20: -",
      "mon-2025-12-29: -"}},
    // ISO week-year 2026 starts on Monday 2025-12-29
    {"WeeklyIsoYearStartsInDecember",
     policy({{"weekly", 2}}),
     "UTC",
     "2026-01-10 00:00",
     {{"sun-2026-01-04", "2026-01-04 10:00"},
      {"mon-2025-12-29", "2025-12-29 10:00"},
      {"sun-2025-12-28", "2025-12-28 10:00"},
      {"sat-2025-12-27", "2025-12-27 10:00"}},
     {"sun-2026-01-04: weekly 2026-W01", "mon-2025-12-29: -", "sun-2025-12-28: weekly 2025-W52",
      "sat-2025-12-27: -"}},
    // weeks are Monday to Sunday in the zone: Sunday 23:30 in Berlin is Sunday 22:30Z
    {"WeeklyBerlinSundayNight",
     policy({{"weekly", 2}}),
     "Europe/Berlin",
     "2026-11-30 00:00",
     {{"mon", "2026-11-23 00:30"}, {"sun", "2026-11-22 23:30"}, {"sat", "2026-11-21 12:00"}},
     {"mon: weekly 2026-W48", "sun: weekly 2026-W47", "sat: -"}},
    {"MonthlyBerlinMidnight",
     policy({{"monthly", 2}}),
     "Europe/Berlin",
     "2026-11-22 00:00",
     {{"a", "2026-11-01 00:30"},
      {"b", "2026-10-31 12:00"},
      {"c", "2026-10-01 12:00"},
      {"d", "2026-09-15 12:00"}},
     {"a: monthly 2026-11", "b: monthly 2026-10", "c: -", "d: -"}},
    {"YearlyOldestKeptWhileCountsLeft",
     policy({{"yearly", 5}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-06-01 12:00"},
      {"b", "2026-01-01 12:00"},
      {"c", "2025-12-31 23:00"},
      {"d", "2024-05-01 12:00"},
      {"e", "2024-01-01 12:00"}},
     {"a: yearly 2026", "b: -", "c: yearly 2025", "d: yearly 2024", "e: oldest yearly 2024"}},
    // 2025-12-31 23:00Z is already 2026 in Berlin
    {"YearlyBerlin",
     policy({{"yearly", 5}}),
     "Europe/Berlin",
     "2026-11-22 00:00",
     {{"a", "2026-06-01 12:00Z"},
      {"b", "2026-01-01 12:00Z"},
      {"c", "2025-12-31 23:00Z"},
      {"d", "2024-05-01 12:00Z"},
      {"e", "2024-01-01 12:00Z"}},
     {"a: yearly 2026", "b: -", "c: -", "d: yearly 2024", "e: oldest yearly 2024"}},
    // relative to the newest snapshot before now, strictly after (newest - 7d); future snapshots
    // are kept
    {"KeepWithin",
     policy({{"within_days", 7}}),
     "UTC",
     "2026-11-22 00:00",
     {{"future", "2026-11-23 10:00"},
      {"newest", "2026-11-20 10:00"},
      {"inside", "2026-11-13 10:01"},
      {"edge", "2026-11-13 10:00"},
      {"old", "2026-11-01 10:00"}},
     {"future: within 7d", "newest: within 7d", "inside: within 7d", "edge: -", "old: -"}},
    {"KeepWithinIsRelativeToNewestNotNow",
     policy({{"within_days", 7}}),
     "UTC",
     "2027-06-01 00:00",
     {{"newest", "2026-11-20 10:00"}, {"inside", "2026-11-15 10:00"}, {"old", "2026-11-01 10:00"}},
     {"newest: within 7d", "inside: within 7d", "old: -"}},
    {"RulesAreOred",
     policy({{"last", 1}, {"daily", 2}, {"within_days", 1}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:00"},
      {"b", "2026-11-20 09:00"},
      {"c", "2026-11-19 08:00"},
      {"d", "2026-11-18 08:00"}},
     {"a: last 1; daily 2026-11-20; within 1d", "b: within 1d", "c: daily 2026-11-19", "d: -"}},
    {"PinsAreNeverDeleted",
     policy({{"last", 1}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:00"},
      {"pinned", "2026-11-19 10:00", "2026-12-20 00:00"},
      {"expired-pin", "2026-11-18 10:00", "2026-11-21 00:00"},
      {"safety", "2026-11-01 10:00", "", true},
      {"old-safety", "2026-10-01 10:00", "", true}},
     {"a: last 1", "pinned: pinned until 2026-12-20", "expired-pin: -", "safety: pinned until 2026-12-01",
      "old-safety: -"}},
    {"SafetyPinFollowsRestorePin",
     policy({{"last", 1}, {"restore_pin_days", 90}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:00"}, {"old-safety", "2026-10-01 10:00", "", true}},
     {"a: last 1", "old-safety: pinned until 2026-12-30"}},
    {"RestorePinZeroPinsNothing",
     policy({{"last", 1}, {"restore_pin_days", 0}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:00"}, {"safety", "2026-11-19 10:00", "", true}},
     {"a: last 1", "safety: -"}},
    {"SafetyKeepsTheLaterOfBothPins",
     policy({{"last", 1}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:00"}, {"safety", "2026-11-19 10:00", "2027-02-01 00:00", true}},
     {"a: last 1", "safety: pinned until 2027-02-01"}},
    {"MinKeepAddsTheNewest",
     policy({{"last", 1}, {"min_keep", 3}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:00"},
      {"b", "2026-11-19 10:00"},
      {"c", "2026-11-18 10:00"},
      {"d", "2026-11-17 10:00"},
      {"e", "2026-11-16 10:00"}},
     {"a: last 1", "b: min_keep", "c: min_keep", "d: -", "e: -"}},
    {"MinKeepCountsPins",
     policy({{"last", 1}, {"min_keep", 3}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:00"},
      {"b", "2026-11-19 10:00"},
      {"c", "2026-11-18 10:00"},
      {"d", "2026-11-17 10:00", "2026-12-01 00:00"}},
     {"a: last 1", "b: min_keep", "c: -", "d: pinned until 2026-12-01"}},
    {"MinKeepAboveCountKeepsAll",
     policy({{"last", 0}, {"min_keep", 5}}),
     "UTC",
     "2026-11-22 00:00",
     {{"a", "2026-11-20 10:00"}, {"b", "2026-11-19 10:00"}},
     {"a: min_keep", "b: min_keep"}},
    {"NoSnapshots", policy({{"last", 3}}), "UTC", "2026-11-22 00:00", {}, {}},
};

class RetentionRule : public ::testing::TestWithParam<rule_case> {};

TEST_P(RetentionRule, KeepsExactlyTheseWithTheseReasons) {
    const auto& c = GetParam();
    const auto& zone = *date::locate_zone(c.zone);
    std::vector<snapshot> input;
    for (const auto& s : c.snapshots) {
        snapshot x{s.id, at(s.time, zone), std::nullopt, s.safety};
        if (!s.pinned_until.empty())
            x.pinned_until = at(s.pinned_until, zone);
        input.push_back(std::move(x));
    }
    const auto p = apply(c.policy, input, at(c.now, zone), zone);
    EXPECT_EQ(test::render(p), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Table, RetentionRule, ::testing::ValuesIn(cases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RetentionPlan, CountsAndFind) {
    const auto& utc = *date::locate_zone("UTC");
    const std::vector<snapshot> input{{"a", at("2026-11-20 10:00"), std::nullopt, false},
                                      {"b", at("2026-11-19 10:00"), std::nullopt, false}};
    retention_policy p;
    p.keep_last = 1;
    const auto result = apply(p, input, at("2026-11-22 00:00"), utc);
    EXPECT_EQ(result.kept(), 1u);
    EXPECT_EQ(result.deleted(), 1u);
    ASSERT_NE(result.find("a"), nullptr);
    EXPECT_EQ(result.find("a")->reasons, (std::vector<reason>{{rule::last, "last 1"}}));
    EXPECT_FALSE(result.find("b")->keep);
    EXPECT_EQ(result.find("zzz"), nullptr);
}

}  // namespace
