// Time zones and DST. Transitions used below (tzdata on Debian 12, checked with
// `TZ=... date -d '...UTC'`):
//   Europe/Berlin       2026-03-29 01:00 UTC  +01 -> +02  (local 02:00-03:00 does not exist)
//                       2026-10-25 01:00 UTC  +02 -> +01  (local 02:00-03:00 occurs twice)
//   America/New_York    2026-03-08 07:00 UTC  -05 -> -04  (local 02:00-03:00 does not exist)
//                       2026-11-01 06:00 UTC  -04 -> -05  (local 01:00-02:00 occurs twice)
//   Australia/Lord_Howe 2026-04-04 15:00 UTC  +11 -> +10:30 (local 01:30-02:00 occurs twice)
//                       2026-10-03 15:30 UTC  +10:30 -> +11 (local 02:00-02:30 does not exist)
//   Asia/Kathmandu      +05:45 all year
#include "test_util.hpp"

#include <algorithm>

namespace tfsnap::cron {
namespace {

using test::must_parse;
using test::next_n;
using test::prev_n;
using test::utc;
using strings = std::vector<std::string>;

struct dst_walk {
    const char* zone;
    const char* expr;
    const char* start;  // UTC
    strings expected;   // UTC
};

std::vector<std::string> reversed(std::vector<std::string> v) {
    std::reverse(v.begin(), v.end());
    return v;
}

class Dst : public ::testing::TestWithParam<dst_walk> {};

// next from `start` gives `expected`; prev from just after the last gives the same backwards.
TEST_P(Dst, NextAndPrev) {
    const auto& p = GetParam();
    const auto& zone = test::zone(p.zone);
    const auto e = must_parse(p.expr);
    const auto n = static_cast<int>(p.expected.size());
    EXPECT_EQ(next_n(e, utc(p.start), zone, n), p.expected) << p.zone << " " << p.expr;
    const auto after_last = utc(p.expected.back().c_str()) + std::chrono::seconds{1};
    EXPECT_EQ(prev_n(e, after_last, zone, n), reversed(p.expected)) << p.zone << " " << p.expr;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Dst,
    ::testing::Values(
        // --- Europe/Berlin, spring forward: 02:30 does not exist -> fires at 03:00 CEST (01:00 UTC)
        dst_walk{"Europe/Berlin",
                 "30 2 * * *",
                 "2026-03-27 12:00",
                 {"2026-03-28 01:30:00", "2026-03-29 01:00:00", "2026-03-30 00:30:00"}},
        // four times inside the gap collapse to one fire at the transition
        dst_walk{"Europe/Berlin",
                 "*/15 2 * * *",
                 "2026-03-28 12:00",
                 {"2026-03-29 01:00:00", "2026-03-30 00:00:00", "2026-03-30 00:15:00"}},
        // 03:00 matches as well: still one fire
        dst_walk{"Europe/Berlin",
                 "*/15 2,3 * * *",
                 "2026-03-29 00:00",
                 {"2026-03-29 01:00:00", "2026-03-29 01:15:00", "2026-03-29 01:30:00", "2026-03-29 01:45:00",
                  "2026-03-30 00:00:00"}},
        dst_walk{"Europe/Berlin",
                 "0 * * * *",
                 "2026-03-28 23:30",
                 {"2026-03-29 00:00:00", "2026-03-29 01:00:00", "2026-03-29 02:00:00"}},
        // --- Europe/Berlin, fall back: 02:30 occurs twice -> fires at the first (CEST, 00:30 UTC) only
        dst_walk{"Europe/Berlin",
                 "30 2 * * *",
                 "2026-10-24 12:00",
                 {"2026-10-25 00:30:00", "2026-10-26 01:30:00"}},
        dst_walk{"Europe/Berlin",
                 "0 * * * *",
                 "2026-10-24 23:30",
                 // local 01:00 CEST, 02:00 CEST, (02:00 CET skipped), 03:00 CET
                 {"2026-10-25 00:00:00", "2026-10-25 02:00:00", "2026-10-25 03:00:00"}},
        dst_walk{
            "Europe/Berlin",
            "*/30 * * * *",
            "2026-10-24 23:40",
            {"2026-10-25 00:00:00", "2026-10-25 00:30:00", "2026-10-25 02:00:00", "2026-10-25 02:30:00"}},
        // --- America/New_York
        dst_walk{"America/New_York",
                 "30 2 * * *",
                 "2026-03-06 12:00",
                 {"2026-03-07 07:30:00", "2026-03-08 07:00:00", "2026-03-09 06:30:00"}},
        dst_walk{"America/New_York",
                 "30 1 * * *",
                 "2026-10-31 12:00",
                 // 01:30 EDT only (05:30 UTC); 01:30 EST (06:30 UTC) does not fire
                 {"2026-11-01 05:30:00", "2026-11-02 06:30:00"}},
        dst_walk{"America/New_York",
                 "0 * * * *",
                 "2026-11-01 03:30",
                 // 00:00 EDT, 01:00 EDT, (01:00 EST skipped), 02:00 EST
                 {"2026-11-01 04:00:00", "2026-11-01 05:00:00", "2026-11-01 07:00:00"}},
        dst_walk{"America/New_York",
                 "0 * * * *",
                 "2026-03-08 05:30",
                 // 01:00 EST, (02:00 missing -> 03:00 EDT, once), 04:00 EDT
                 {"2026-03-08 06:00:00", "2026-03-08 07:00:00", "2026-03-08 08:00:00"}},
        // --- Australia/Lord_Howe: 30-minute shifts
        dst_walk{"Australia/Lord_Howe",
                 "15 2 * * *",
                 "2026-10-02 12:00",
                 // 02:15 +10:30 = 15:45 UTC; 2026-10-04 02:15 is in the gap -> 02:30 +11 (15:30 UTC)
                 {"2026-10-02 15:45:00", "2026-10-03 15:30:00", "2026-10-04 15:15:00"}},
        dst_walk{
            "Australia/Lord_Howe",
            "*/10 2 * * *",
            "2026-10-03 15:00",
            // 02:00, 02:10, 02:20 fall in the gap: one fire at 02:30 +11, then 02:30..02:50 +11
            {"2026-10-03 15:30:00", "2026-10-03 15:40:00", "2026-10-03 15:50:00", "2026-10-04 15:00:00"}},
        dst_walk{"Australia/Lord_Howe",
                 "45 1 * * *",
                 "2026-04-03 12:00",
                 // 01:45 occurs at +11 (14:45 UTC) and +10:30 (15:15 UTC): the first only
                 {"2026-04-03 14:45:00", "2026-04-04 14:45:00", "2026-04-05 15:15:00"}},
        dst_walk{"Australia/Lord_Howe",
                 "0,30 * * * *",
                 "2026-04-04 13:50",
                 // local 01:00 +11, 01:30 +11, (01:30 +10:30 skipped), 02:00 +10:30
                 {"2026-04-04 14:00:00", "2026-04-04 14:30:00", "2026-04-04 15:30:00"}},
        // --- Asia/Kathmandu: +05:45, no DST
        dst_walk{"Asia/Kathmandu",
                 "30 2 * * *",
                 "2026-06-01 12:00",
                 {"2026-06-01 20:45:00", "2026-06-02 20:45:00"}},
        dst_walk{"Asia/Kathmandu",
                 "0 * * * *",
                 "2026-06-01 12:00",
                 {"2026-06-01 12:15:00", "2026-06-01 13:15:00"}},
        dst_walk{"Asia/Kathmandu",
                 "0 0 1 * *",
                 "2026-06-01 12:00",
                 {"2026-06-30 18:15:00", "2026-07-31 18:15:00"}}));

// Starting inside the repeated hour's second pass: its local times already fired in the first.
TEST(DstOverlap, StartInSecondPass) {
    const auto& berlin = test::zone("Europe/Berlin");
    // 01:10 UTC is 02:10 CET, the second pass of 02:00-03:00
    EXPECT_EQ(next_n(must_parse("*/15 * * * *"), utc("2026-10-25 01:10"), berlin, 2),
              (strings{"2026-10-25 02:00:00", "2026-10-25 02:15:00"}));
    // backwards from the second pass: the last fire is the end of the first pass
    EXPECT_EQ(prev_n(must_parse("*/15 * * * *"), utc("2026-10-25 01:10"), berlin, 2),
              (strings{"2026-10-25 00:45:00", "2026-10-25 00:30:00"}));
    // backwards from the first pass
    EXPECT_EQ(prev_n(must_parse("*/15 * * * *"), utc("2026-10-25 00:40"), berlin, 2),
              (strings{"2026-10-25 00:30:00", "2026-10-25 00:15:00"}));
}

TEST(DstGap, PrevFromTransition) {
    const auto& berlin = test::zone("Europe/Berlin");
    // at 01:00 UTC exactly (the gap's fire time), the previous fire is the day before
    EXPECT_EQ(prev_n(must_parse("*/15 2 * * *"), utc("2026-03-29 01:00"), berlin, 1),
              (strings{"2026-03-28 01:45:00"}));
    EXPECT_EQ(prev_n(must_parse("*/15 2 * * *"), utc("2026-03-29 01:00:01"), berlin, 1),
              (strings{"2026-03-29 01:00:00"}));
}

// Whether `t` is an instant at which a local time in the gap just before it was due.
bool fires_for_gap(const expression& e, sys_seconds t, const date::time_zone& zone) {
    const auto info = zone.get_info(t);
    if (info.begin != t)
        return false;
    const auto before = zone.get_info(t - std::chrono::seconds{1});
    if (before.offset >= info.offset)
        return false;
    const auto gap_start = date::local_seconds{(t + before.offset).time_since_epoch()};
    const auto gap_end = date::local_seconds{(t + info.offset).time_since_epoch()};
    for (auto l = gap_start; l < gap_end; l += std::chrono::seconds{1})
        if (e.matches(l))
            return true;
    return false;
}

struct iterate_case {
    const char* zone;
    const char* expr;
    const char* start;
};

class Iterate : public ::testing::TestWithParam<iterate_case> {};

// 1,000 fires: strictly increasing, each a local match at its first occurrence or the instant
// after a gap; prev walks the same instants backwards.
TEST_P(Iterate, ThousandFires) {
    const auto& p = GetParam();
    const auto& zone = test::zone(p.zone);
    const auto e = must_parse(p.expr);
    std::vector<sys_seconds> fires;
    sys_seconds t = utc(p.start);
    for (int i = 0; i < 1000; ++i) {
        const auto n = e.next(t, zone);
        ASSERT_TRUE(n.has_value()) << i;
        ASSERT_GT(*n, t) << i;
        const auto local = zone.to_local(*n);
        if (e.matches(local)) {
            const auto li = zone.get_info(local);
            if (li.result == date::local_info::ambiguous) {
                EXPECT_EQ(*n, sys_seconds{local.time_since_epoch()} - li.first.offset)
                    << "second occurrence fired: " << test::show(n);
            }
        } else {
            EXPECT_TRUE(fires_for_gap(e, *n, zone)) << "no match at " << test::show(n);
        }
        fires.push_back(*n);
        t = *n;
    }
    sys_seconds b = fires.back() + std::chrono::seconds{1};
    for (auto it = fires.rbegin(); it != fires.rend(); ++it) {
        const auto pr = e.prev(b, zone);
        ASSERT_TRUE(pr.has_value());
        ASSERT_EQ(*pr, *it);
        b = *pr;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, Iterate,
    ::testing::Values(iterate_case{"Europe/Berlin", "*/15 2 * * *", "2026-01-01 00:00"},
                      iterate_case{"Europe/Berlin", "0 * * * *", "2026-03-20 00:00"},
                      iterate_case{"Europe/Berlin", "*/7 1-3 * * *", "2026-03-25 00:00"},
                      iterate_case{"America/New_York", "*/10 * * * *", "2026-10-31 20:00"},
                      iterate_case{"America/New_York", "30 1,2 * * *", "2025-12-01 00:00"},
                      iterate_case{"Australia/Lord_Howe", "*/5 1-2 * * *", "2026-03-20 00:00"},
                      iterate_case{"Australia/Lord_Howe", "*/5 * * * *", "2026-10-03 12:00"},
                      iterate_case{"Asia/Kathmandu", "0 3 * * sun", "2026-01-01 00:00"},
                      iterate_case{"UTC", "*/20 * * * * *", "2026-01-01 00:00"},
                      iterate_case{"Europe/Berlin", "*/20 * 2 * * *", "2026-10-24 23:00"},
                      iterate_case{"Europe/Berlin", "0 0 13 * fri", "2026-01-01 00:00"}));

}  // namespace
}  // namespace tfsnap::cron
