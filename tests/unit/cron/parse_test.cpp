#include "test_util.hpp"

namespace tfsnap::cron {
namespace {

using test::must_parse;
using test::next_n;
using test::utc;

const auto& utc_zone() {
    return test::zone("UTC");
}

// Expressions that must fire at exactly the same instants.
struct equivalence {
    const char* a;
    const char* b;
};

class Equivalent : public ::testing::TestWithParam<equivalence> {};

TEST_P(Equivalent, SameFireTimes) {
    const auto& p = GetParam();
    const auto a = must_parse(p.a);
    const auto b = must_parse(p.b);
    const auto start = utc("2025-12-30 23:59:30");
    const auto ta = next_n(a, start, utc_zone(), 200);
    EXPECT_EQ(ta, next_n(b, start, utc_zone(), 200));
    EXPECT_FALSE(ta.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Syntax, Equivalent,
    ::testing::Values(
        // every macro
        equivalence{"@yearly", "0 0 1 1 *"}, equivalence{"@annually", "0 0 1 1 *"},
        equivalence{"@monthly", "0 0 1 * *"}, equivalence{"@weekly", "0 0 * * 0"},
        equivalence{"@daily", "0 0 * * *"}, equivalence{"@midnight", "0 0 * * *"},
        equivalence{"@hourly", "0 * * * *"}, equivalence{"  @daily  ", "0 0 * * *"},
        // Sunday as 0, 7, and by name in any case
        equivalence{"0 3 * * 7", "0 3 * * 0"}, equivalence{"0 3 * * sun", "0 3 * * 0"},
        equivalence{"0 3 * * SUN", "0 3 * * 0"}, equivalence{"0 3 * * Sun", "0 3 * * 7"},
        equivalence{"0 3 * * 5-7", "0 3 * * 0,5,6"}, equivalence{"0 3 * * mon-FRI", "0 3 * * 1-5"},
        equivalence{"0 3 * * Mon,wed,FRI", "0 3 * * 1,3,5"}, equivalence{"0 3 * * */2", "0 3 * * 0,2,4,6"},
        equivalence{"0 3 * * 1/2", "0 3 * * 1,3,5,0"},
        // month names
        equivalence{"0 0 1 jan-MAR *", "0 0 1 1-3 *"}, equivalence{"0 0 1 Jun,dec *", "0 0 1 6,12 *"},
        equivalence{"0 0 1 */3 *", "0 0 1 1,4,7,10 *"},
        // lists, ranges, steps
        equivalence{"*/15 * * * *", "0,15,30,45 * * * *"},
        equivalence{"10-50/20 * * * *", "10,30,50 * * * *"}, equivalence{"5/20 * * * *", "5,25,45 * * * *"},
        equivalence{"0-59 * * * *", "* * * * *"},
        equivalence{"1-3,7,40-42 * * * *", "1,2,3,7,40,41,42 * * * *"},
        equivalence{"0 */6 * * *", "0 0,6,12,18 * * *"}, equivalence{"0 0 */10 * *", "0 0 1,11,21,31 * *"},
        equivalence{"0 9-17/4 * * *", "0 9,13,17 * * *"}, equivalence{"0 0 5-5 * *", "0 0 5 * *"},
        equivalence{"00 03 * * *", "0 3 * * *"}, equivalence{"0\t3 *  * *", "0 3 * * *"},
        // seconds first in the 6-field form
        equivalence{"0 0 3 * * *", "0 3 * * *"}, equivalence{"*/20 * * * * *", "0,20,40 * * * * *"}));

TEST(Parse, SixFieldsHaveSecondsFirst) {
    const auto e = must_parse("15 30 2 * * *");
    EXPECT_TRUE(e.has_seconds_field());
    EXPECT_EQ(test::next_n(e, utc("2026-01-01 00:00"), utc_zone(), 2),
              (std::vector<std::string>{"2026-01-01 02:30:15", "2026-01-02 02:30:15"}));
    EXPECT_FALSE(must_parse("30 2 * * *").has_seconds_field());
}

TEST(Parse, KeepsText) {
    EXPECT_EQ(must_parse("@daily").text(), "@daily");
    EXPECT_EQ(must_parse("*/5 * * * *").text(), "*/5 * * * *");
}

struct bad {
    const char* text;
    std::size_t column;
    const char* message;
};

class Errors : public ::testing::TestWithParam<bad> {};

TEST_P(Errors, NameFieldAndColumn) {
    const auto& p = GetParam();
    const auto r = expression::parse(p.text);
    ASSERT_FALSE(r.ok()) << p.text;
    EXPECT_EQ(r.error.message, p.message) << p.text;
    EXPECT_EQ(r.error.column, p.column) << p.text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Errors,
    ::testing::Values(
        bad{"0 0 * *", 8, "expected 5 or 6 fields, got 4"}, bad{"", 1, "expected 5 or 6 fields, got 0"},
        bad{"1 2 3 4 5 6 7", 13, "expected 5 or 6 fields, got 7"},
        bad{"0 0 32 * *", 5, "day-of-month 32 out of range 1-31 at column 5"},
        bad{"0 0 0 * *", 5, "day-of-month 0 out of range 1-31 at column 5"},
        bad{"60 * * * *", 1, "minute 60 out of range 0-59 at column 1"},
        bad{"0 24 * * *", 3, "hour 24 out of range 0-23 at column 3"},
        bad{"0 0 1 13 *", 7, "month 13 out of range 1-12 at column 7"},
        bad{"0 0 * * 8", 9, "day-of-week 8 out of range 0-7 at column 9"},
        bad{"60 0 0 * * *", 1, "second 60 out of range 0-59 at column 1"},
        bad{"0 0 1 * 1-99999", 11, "day-of-week 99999 out of range 0-7 at column 11"},
        bad{"0 0 1 jnu *", 7, "unknown month name \"jnu\" at column 7"},
        bad{"0 0 1 Jan-Jnu *", 11, "unknown month name \"Jnu\" at column 11"},
        bad{"0 0 * * mun", 9, "unknown day-of-week name \"mun\" at column 9"},
        bad{"0 0 * * monday", 9, "unknown day-of-week name \"monday\" at column 9"},
        bad{"0 noon * * *", 3, "hour takes numbers, not names like \"noon\" at column 3"},
        bad{"*/0 * * * *", 3, "minute step 0 at column 3"},
        bad{"0 */25 * * *", 5, "hour step 25 out of range 1-24 at column 5"},
        bad{"*/ * * * *", 3, "missing step after '/' in minute at column 3"},
        bad{"0 5-1 * * *", 3, "hour range 5-1 is reversed (ranges do not wrap) at column 3"},
        bad{"0 0 * * fri-sun", 9, "day-of-week range fri-sun is reversed (ranges do not wrap) at column 9"},
        bad{"1,,2 * * * *", 3, "empty item in minute at column 3"},
        bad{"1, * * * *", 3, "empty item in minute at column 3"},
        bad{"0 0 ? * *", 5, "unexpected character '?' in day-of-month at column 5"},
        bad{"5x * * * *", 2, "unexpected character 'x' in minute at column 2"},
        bad{"0 0 L * *", 5, "day-of-month takes numbers, not names like \"L\" at column 5"},
        bad{"0 0 * * 1#2", 10, "unexpected character '#' in day-of-week at column 10"},
        bad{"-1 * * * *", 1, "unexpected character '-' in minute at column 1"},
        bad{"@dialy", 1,
            "unknown macro \"@dialy\" at column 1; use @yearly, @annually, @monthly, @weekly, @daily, "
            "@midnight or @hourly"},
        bad{"@daily 5", 8, "unexpected field after @daily at column 8"}));

}  // namespace
}  // namespace tfsnap::cron
