// The production sleeper against the system clock: a once-a-second schedule fires on time.

#include "tfsnap/scheduler/runner.hpp"

#include <date/tz.h>
#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <vector>

namespace tfsnap::scheduler {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(SchedulerRealTime, EverySecondFiresOnTime) {
    asio::io_context io;
    core::system_wall_clock clock;
    steady_sleeper sleeper(io.get_executor(), clock, 30s);
    memory_stamp_store store;
    auto parsed = cron::expression::parse("* * * * * *");
    ASSERT_TRUE(parsed.ok());
    std::vector<schedule_spec> specs{{"prod", "every-second", std::move(*parsed.expr),
                                      date::locate_zone("UTC"), 0s, config::missed_policy::run_once,
                                      config::concurrency_policy::forbid}};

    std::vector<std::chrono::system_clock::duration> lateness;
    runner r(
        io.get_executor(), clock, sleeper, std::move(specs), store,
        [&](const fire& f) -> asio::awaitable<job_outcome> {
            lateness.push_back(clock.now() - f.due);
            co_return job_outcome{};
        },
        runner_config{});

    asio::cancellation_signal stop;
    bool finished = false;
    asio::co_spawn(io, r.run(),
                   asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr) { finished = true; }));
    asio::steady_timer deadline(io, 3300ms);
    deadline.async_wait([&](boost::system::error_code) { stop.emit(asio::cancellation_type::terminal); });
    io.run();

    ASSERT_TRUE(finished);
    ASSERT_GE(lateness.size(), 3u);
    ASSERT_LE(lateness.size(), 4u);
    for (const auto late : lateness) {
        EXPECT_GE(late, 0ns) << "fired early";
        EXPECT_LE(late, 50ms) << std::chrono::duration_cast<std::chrono::microseconds>(late).count()
                              << " us late";
    }
    EXPECT_EQ(r.counters().succeeded, lateness.size());
}

}  // namespace
}  // namespace tfsnap::scheduler
