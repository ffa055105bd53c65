#include "test_util.hpp"

namespace tfsnap::cron {
namespace {

using test::must_parse;
using test::next_n;
using test::prev_n;
using test::show;
using test::utc;
using strings = std::vector<std::string>;

const auto& utc_zone() {
    return test::zone("UTC");
}

struct walk {
    const char* expr;
    const char* start;
    strings expected;  // the fire times from `start`, in order
};

class NextUtc : public ::testing::TestWithParam<walk> {};

TEST_P(NextUtc, Table) {
    const auto& p = GetParam();
    const auto e = must_parse(p.expr);
    EXPECT_EQ(next_n(e, utc(p.start), utc_zone(), static_cast<int>(p.expected.size())), p.expected) << p.expr;
}

INSTANTIATE_TEST_SUITE_P(
    Table, NextUtc,
    ::testing::Values(
        walk{"30 2 * * *", "2026-01-01 00:00", {"2026-01-01 02:30:00", "2026-01-02 02:30:00"}},
        // strictly after: a start on a fire time is skipped
        walk{"30 2 * * *", "2026-01-01 02:30", {"2026-01-02 02:30:00"}},
        walk{"30 2 * * *", "2026-01-01 02:29:59", {"2026-01-01 02:30:00"}},
        walk{"*/15 * * * *",
             "2026-12-31 23:40",
             {"2026-12-31 23:45:00", "2027-01-01 00:00:00", "2027-01-01 00:15:00"}},
        walk{"0 3 * * sun", "2026-11-19 12:00", {"2026-11-22 03:00:00", "2026-11-29 03:00:00"}},
        walk{"0 0 1 * *", "2026-01-31 00:00", {"2026-02-01 00:00:00", "2026-03-01 00:00:00"}},
        walk{"0 0 31 * *",
             "2026-01-31 00:00",
             {"2026-03-31 00:00:00", "2026-05-31 00:00:00", "2026-07-31 00:00:00"}},
        walk{"0 0 29 2 *", "2026-01-01 00:00", {"2028-02-29 00:00:00", "2032-02-29 00:00:00"}},
        walk{"@yearly", "2026-06-01 00:00", {"2027-01-01 00:00:00"}},
        walk{"59 23 31 12 *", "2026-12-31 23:59", {"2027-12-31 23:59:00"}},
        walk{"0 12 * * mon-fri", "2026-11-20 13:00", {"2026-11-23 12:00:00", "2026-11-24 12:00:00"}},
        walk{"*/20 * * * * *", "2026-01-01 00:00:50", {"2026-01-01 00:01:00", "2026-01-01 00:01:20"}},
        walk{"0 0 0 * * *", "2026-01-01 00:00:00", {"2026-01-02 00:00:00"}},
        walk{"0 0 * * */2",
             "2026-11-22 00:00",
             {"2026-11-24 00:00:00", "2026-11-26 00:00:00", "2026-11-28 00:00:00"}}));

class PrevUtc : public ::testing::TestWithParam<walk> {};

TEST_P(PrevUtc, Table) {
    const auto& p = GetParam();
    const auto e = must_parse(p.expr);
    EXPECT_EQ(prev_n(e, utc(p.start), utc_zone(), static_cast<int>(p.expected.size())), p.expected) << p.expr;
}

INSTANTIATE_TEST_SUITE_P(
    Table, PrevUtc,
    ::testing::Values(walk{"30 2 * * *", "2026-01-02 00:00", {"2026-01-01 02:30:00", "2025-12-31 02:30:00"}},
                      // strictly before
                      walk{"30 2 * * *", "2026-01-01 02:30", {"2025-12-31 02:30:00"}},
                      walk{"30 2 * * *", "2026-01-01 02:30:01", {"2026-01-01 02:30:00"}},
                      walk{"*/15 * * * *",
                           "2027-01-01 00:10",
                           {"2027-01-01 00:00:00", "2026-12-31 23:45:00", "2026-12-31 23:30:00"}},
                      walk{"0 0 31 * *", "2026-05-01 00:00", {"2026-03-31 00:00:00", "2026-01-31 00:00:00"}},
                      walk{"0 0 29 2 *", "2029-01-01 00:00", {"2028-02-29 00:00:00"}},
                      walk{"0 3 * * sun", "2026-11-22 03:00", {"2026-11-15 03:00:00"}},
                      walk{"*/20 * * * * *", "2026-01-01 00:00:00", {"2025-12-31 23:59:40"}}));

TEST(NextUtc, NoneWithinFiveYears) {
    EXPECT_EQ(must_parse("0 0 30 2 *").next(utc("2026-01-01 00:00"), utc_zone()), std::nullopt);
    EXPECT_EQ(must_parse("0 0 31 4 *").prev(utc("2026-01-01 00:00"), utc_zone()), std::nullopt);
    // 2096-02-29 is followed by 2104-02-29 (2100 is not a leap year)
    EXPECT_EQ(must_parse("0 0 29 2 *").next(utc("2096-03-01 00:00"), utc_zone()), std::nullopt);
    EXPECT_EQ(show(must_parse("0 0 29 2 *").next(utc("2099-03-01 00:00"), utc_zone())),
              "2104-02-29 00:00:00");
}

// When both day-of-month and day-of-week are restricted, either may match (Vixie cron); a field
// that starts with '*' is unrestricted, so "*/2" combines with the other field by AND.
TEST(VixieOr, BothRestrictedMatchEither) {
    // 2026-11-01 is a Sunday; Mondays in November 2026: 2, 9, 16, 23, 30
    EXPECT_EQ(next_n(must_parse("0 0 13 * mon"), utc("2026-11-01 00:00"), utc_zone(), 6),
              (strings{"2026-11-02 00:00:00", "2026-11-09 00:00:00", "2026-11-13 00:00:00",
                       "2026-11-16 00:00:00", "2026-11-23 00:00:00", "2026-11-30 00:00:00"}));
    EXPECT_EQ(next_n(must_parse("0 0 1,15 * 5"), utc("2026-11-01 00:00"), utc_zone(), 4),
              (strings{"2026-11-06 00:00:00", "2026-11-13 00:00:00", "2026-11-15 00:00:00",
                       "2026-11-20 00:00:00"}));
    // a restricted field that lists every day still ORs: every day
    EXPECT_EQ(next_n(must_parse("0 0 1-31 * mon"), utc("2026-11-01 00:00"), utc_zone(), 2),
              (strings{"2026-11-02 00:00:00", "2026-11-03 00:00:00"}));
}

TEST(VixieOr, StarFieldsAreUnrestricted) {
    // day-of-month "*": only Mondays
    EXPECT_EQ(next_n(must_parse("0 0 * * mon"), utc("2026-11-01 00:00"), utc_zone(), 2),
              (strings{"2026-11-02 00:00:00", "2026-11-09 00:00:00"}));
    // "*/2" starts with '*': odd days that are also Mondays (9, 23 in November 2026)
    EXPECT_EQ(next_n(must_parse("0 0 */2 * mon"), utc("2026-11-01 00:00"), utc_zone(), 2),
              (strings{"2026-11-09 00:00:00", "2026-11-23 00:00:00"}));
    // day-of-week "*/1" is unrestricted: only the 13th
    EXPECT_EQ(next_n(must_parse("0 0 13 * */1"), utc("2026-11-01 00:00"), utc_zone(), 2),
              (strings{"2026-11-13 00:00:00", "2026-12-13 00:00:00"}));
    // prev follows the same rule
    EXPECT_EQ(prev_n(must_parse("0 0 13 * mon"), utc("2026-11-17 00:00"), utc_zone(), 3),
              (strings{"2026-11-16 00:00:00", "2026-11-13 00:00:00", "2026-11-09 00:00:00"}));
}

TEST(Matches, LocalFields) {
    const auto e = must_parse("30 2 13 * mon");
    const auto at = [](const char* text) { return date::local_seconds{utc(text).time_since_epoch()}; };
    EXPECT_TRUE(e.matches(at("2026-11-13 02:30")));   // the 13th, a Friday
    EXPECT_TRUE(e.matches(at("2026-11-16 02:30")));   // a Monday
    EXPECT_FALSE(e.matches(at("2026-11-17 02:30")));  // a Tuesday
    EXPECT_FALSE(e.matches(at("2026-11-16 02:31")));
}

}  // namespace
}  // namespace tfsnap::cron
