#include "tfsnap/core/rfc3339.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono;
using tfsnap::core::format_rfc3339;
using tfsnap::core::parse_rfc3339;

TEST(Rfc3339, FormatsUtc) {
    EXPECT_EQ(format_rfc3339(sys_days{2025y / 1 / 15} + 10h + 30min), "2025-01-15T10:30:00Z");
}

TEST(Rfc3339, ParsesWhatItFormatsAndOffsets) {
    const sys_seconds t = sys_days{2026y / 11 / 22} + 2h + 30min + 5s;
    EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
    EXPECT_EQ(parse_rfc3339("2026-11-22T02:30:05.123456Z"), t);
    EXPECT_EQ(parse_rfc3339("2026-11-22T03:30:05+01:00"), t);
    EXPECT_EQ(parse_rfc3339("2026-11-21T21:30:05-05:00"), t);
    EXPECT_EQ(parse_rfc3339("2026-11-22 02:30:05z"), t);
}

TEST(Rfc3339, RefusesWhatIsNot) {
    for (const char* bad : {"", "2026-11-22", "2026-11-22T02:30:05", "2026-02-30T00:00:00Z",
                            "2026-11-22T24:00:00Z", "2026-11-22T02:30:05.Z", "2026-11-22T02:30:05+0100",
                            "2026-11-22T02:30:05Zjunk", "20261122T023005Z"}) {
        EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
    }
}

}  // namespace
