#include "tfsnap/core/clock.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using tfsnap::core::fake_clock;
using tfsnap::core::time_point;
using tfsnap::core::wall_clock;

TEST(Clock, FakeClockIsPinnedUntilMoved) {
    fake_clock c(time_point{1000s});
    const wall_clock& w = c;
    EXPECT_EQ(w.now(), time_point{1000s});
    EXPECT_EQ(w.now(), time_point{1000s});
    c.advance(90s);
    EXPECT_EQ(w.now(), time_point{1090s});
    c.set(time_point{10s});  // a step back, as NTP may do
    EXPECT_EQ(w.now(), time_point{10s});
}

}  // namespace
