// daemon/health.*: an environment's health from its last check and its schedules.
#include "health.hpp"

#include "tfsnap/core/rfc3339.hpp"

#include <gtest/gtest.h>

namespace tfsnap::daemon {
namespace {

using namespace std::chrono_literals;

const core::time_point now =
    core::time_point{std::chrono::sys_days{std::chrono::year{2026} / 12 / 8}.time_since_epoch()} + 10h;

config::environment hourly() {
    config::environment env;
    env.name = "prod";
    config::schedule s;
    s.name = "hourly";
    s.cron = "0 * * * *";
    env.schedules.push_back(s);
    return env;
}

std::optional<std::chrono::seconds> every(const config::environment& env) {
    return backup_interval(env, now);
}

backup::backup_check check(std::string result, std::chrono::seconds ago, std::string version = "v2") {
    return backup::backup_check{core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(now - ago)),
                                std::move(result),
                                "hourly",
                                std::move(version),
                                "2026-12-08T09-00-00Z",
                                "access denied"};
}

TEST(Health, NoCheckYetIsNeverBackedUp) {
    EXPECT_EQ(assess(hourly(), std::nullopt, "", every(hourly()), now).health, "never-backed-up");
}

TEST(Health, ARecentSnapshotIsOk) {
    const auto h = assess(hourly(), check("snapshot", 20min), "v2", every(hourly()), now);
    EXPECT_EQ(h.health, "ok");
    EXPECT_EQ(h.detail, "last check snapshot 20min ago (snapshot 2026-12-08T09-00-00Z)");
}

TEST(Health, AFailureOnThePinnedVersionIsFailing) {
    const auto h = assess(hourly(), check("failed", 5min, "v2"), "v2", every(hourly()), now);
    EXPECT_EQ(h.health, "failing");
    EXPECT_NE(h.detail.find("access denied"), std::string::npos);
}

TEST(Health, AFailureOnANewVersionIsUnsnapshotted) {
    const auto h = assess(hourly(), check("failed", 5min, "v3"), "v2", every(hourly()), now);
    EXPECT_EQ(h.health, "unsnapshotted");
    EXPECT_NE(h.detail.find("v3 has no snapshot"), std::string::npos);
}

TEST(Health, ADeleteMarkerIsDeleted) {
    EXPECT_EQ(assess(hourly(), check("state-deleted", 5min), "v2", every(hourly()), now).health, "deleted");
}

TEST(Health, AnOldCheckOfAnHourlyScheduleIsStale) {
    // 1.25 x 1 h + 1 min
    EXPECT_EQ(assess(hourly(), check("unchanged", 75min), "v2", every(hourly()), now).health, "ok");
    const auto h = assess(hourly(), check("unchanged", 77min), "v2", every(hourly()), now);
    EXPECT_EQ(h.health, "stale");
    EXPECT_NE(h.detail.find("run every 60min"), std::string::npos) << h.detail;
}

TEST(Health, WithoutSchedulesNothingIsStale) {
    config::environment env = hourly();
    env.schedules.clear();
    EXPECT_EQ(assess(env, check("unchanged", 24h * 30), "v2", every(env), now).health, "ok");
}

}  // namespace
}  // namespace tfsnap::daemon
