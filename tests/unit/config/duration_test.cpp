#include "tfsnap/config/duration.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace {

using tfsnap::config::duration;
using tfsnap::config::format_duration;
using tfsnap::config::parse_duration;

struct duration_case {
    const char* text;
    std::optional<long long> seconds;
};

class DurationParse : public ::testing::TestWithParam<duration_case> {};

TEST_P(DurationParse, MatchesExpected) {
    const auto& c = GetParam();
    const auto got = parse_duration(c.text);
    if (c.seconds) {
        ASSERT_TRUE(got.has_value()) << c.text;
        EXPECT_EQ(got->count(), *c.seconds) << c.text;
    } else {
        EXPECT_FALSE(got.has_value()) << c.text << " parsed as " << got->count();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DurationParse,
    ::testing::Values(duration_case{"90s", 90}, duration_case{"5m", 300}, duration_case{"12h", 43200},
                      duration_case{"7d", 604800}, duration_case{"2w", 1209600}, duration_case{"1h30m", 5400},
                      duration_case{"1d2h3m4s", 93784}, duration_case{"0", 0}, duration_case{"0s", 0},
                      duration_case{"", std::nullopt}, duration_case{"5", std::nullopt},
                      duration_case{"m", std::nullopt}, duration_case{"5 m", std::nullopt},
                      duration_case{"-5m", std::nullopt}, duration_case{"5y", std::nullopt},
                      duration_case{"30m1h", std::nullopt}, duration_case{"1m1m", std::nullopt},
                      duration_case{"1.5h", std::nullopt},
                      duration_case{"99999999999999999999s", std::nullopt}));

TEST(DurationFormat, RoundTrips) {
    for (const long long s : {0LL, 1LL, 59LL, 60LL, 90LL, 3600LL, 5400LL, 86400LL, 93784LL, 1209600LL}) {
        const auto text = format_duration(duration{s});
        const auto back = parse_duration(text);
        ASSERT_TRUE(back.has_value()) << text;
        EXPECT_EQ(back->count(), s) << text;
    }
    EXPECT_EQ(format_duration(duration{5400}), "1h30m");
    EXPECT_EQ(format_duration(duration{0}), "0s");
}

}  // namespace
