#pragma once
// How the runner waits for the next due time. The deadline is a wall-clock instant, but a
// wall clock can jump (NTP step, manual change), so a sleeper must notice a jump and return
// when the wall clock reaches the deadline, not when some amount of time has passed.
//
// `steady_sleeper` waits on a steady_timer for the wall-clock distance, capped at
// `watch_interval`, and re-reads the wall clock after every wait: a step forward is seen within
// one watch interval, a step back re-arms from the new time. It never returns before the
// deadline (unless woken).
//
// Cancellation: sleep_until honours the awaiting coroutine's cancellation slot and then throws
// system_error(operation_aborted).
// Thread safety: none; use from the executor's thread. One sleep_until at a time.

#include "tfsnap/core/clock.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

namespace tfsnap::scheduler {

class sleeper {
public:
    virtual ~sleeper() = default;
    // Returns when the wall clock reaches `wall_deadline`, or earlier after wake().
    virtual boost::asio::awaitable<void> sleep_until(core::time_point wall_deadline) = 0;
    // Ends the sleep in progress; with none in progress, the next sleep_until returns at once.
    virtual void wake() = 0;
};

class steady_sleeper final : public sleeper {
public:
    steady_sleeper(boost::asio::any_io_executor ex, const core::wall_clock& clock,
                   std::chrono::milliseconds watch_interval);

    boost::asio::awaitable<void> sleep_until(core::time_point wall_deadline) override;
    void wake() override;

private:
    const core::wall_clock& clock_;
    boost::asio::steady_timer timer_;
    std::chrono::milliseconds watch_;
    bool woken_ = false;
    bool sleeping_ = false;
};

}  // namespace tfsnap::scheduler
