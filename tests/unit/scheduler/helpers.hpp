#pragma once

#include "tfsnap/scheduler/schedule_spec.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace tfsnap::test {

inline scheduler::schedule_spec make_test_spec(
    std::string env, std::string name, std::string cron_text,
    std::chrono::seconds jitter = std::chrono::seconds{0},
    config::missed_policy missed = config::missed_policy::run_once,
    config::concurrency_policy concurrency = config::concurrency_policy::forbid) {
    auto parsed = cron::expression::parse(cron_text);
    EXPECT_TRUE(parsed.ok()) << cron_text << ": " << parsed.error.message;
    return scheduler::schedule_spec{
        std::move(env), std::move(name), std::move(*parsed.expr), date::locate_zone("UTC"), jitter,
        missed,         concurrency};
}

// 2024-01-01 (a Monday) + days, hours, minutes, seconds, UTC.
inline std::chrono::sys_seconds at(int day, int hour = 0, int minute = 0, int second = 0) {
    return date::sys_days{date::year{2024} / 1 / 1} + date::days{day} + std::chrono::hours{hour} +
           std::chrono::minutes{minute} + std::chrono::seconds{second};
}

}  // namespace tfsnap::test
