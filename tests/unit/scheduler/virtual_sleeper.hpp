#pragma once
// Virtual time for scheduler tests: a sleeper over a core::fake_clock. Nothing waits for real;
// `run_until` runs every ready handler, then moves the clock to the earliest pending deadline
// and releases the sleepers due by then, until the limit.

#include "tfsnap/core/clock.hpp"
#include "tfsnap/scheduler/sleeper.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <list>

namespace tfsnap::test {

class virtual_sleeper final : public scheduler::sleeper {
public:
    virtual_sleeper(boost::asio::any_io_executor ex, core::fake_clock& clock)
        : ex_(std::move(ex)), clock_(clock) {}

    boost::asio::awaitable<void> sleep_until(core::time_point deadline) override {
        return wait(deadline, true);
    }
    // For jobs: a sleep that wake() does not end.
    boost::asio::awaitable<void> delay(std::chrono::system_clock::duration d) {
        return wait(clock_.now() + d, false);
    }

    void wake() override {
        bool any = false;
        for (auto* w : waiters_) {
            if (w->wakeable) {
                w->done = true;
                w->timer.cancel();
                any = true;
            }
        }
        if (!any)
            woken_ = true;
    }

    // Moves the clock to the earliest deadline up to `limit` and releases what is due; false
    // (with the clock at `limit`) when nothing is due by then.
    bool advance(core::time_point limit) {
        if (waiters_.empty()) {
            clock_.set(std::max(clock_.now(), limit));
            return false;
        }
        const auto earliest =
            (*std::min_element(waiters_.begin(), waiters_.end(), [](const waiter* a, const waiter* b) {
                return a->deadline < b->deadline;
            }))->deadline;
        if (earliest > limit) {
            clock_.set(std::max(clock_.now(), limit));
            return false;
        }
        clock_.set(std::max(clock_.now(), earliest));
        for (auto* w : waiters_) {
            if (w->deadline <= clock_.now()) {
                w->done = true;
                w->timer.cancel();
            }
        }
        return true;
    }

    std::size_t waiting() const noexcept { return waiters_.size(); }

private:
    struct waiter {
        core::time_point deadline;
        bool wakeable;
        bool done;
        boost::asio::steady_timer timer;
    };

    boost::asio::awaitable<void> wait(core::time_point deadline, bool wakeable) {
        if (wakeable && woken_) {
            woken_ = false;
            co_return;
        }
        if (clock_.now() >= deadline)
            co_return;
        waiter w{deadline, wakeable, false,
                 boost::asio::steady_timer(ex_, boost::asio::steady_timer::time_point::max())};
        waiters_.push_back(&w);
        co_await w.timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        waiters_.remove(&w);
        if (!w.done)
            throw boost::system::system_error(boost::asio::error::operation_aborted);
    }

    boost::asio::any_io_executor ex_;
    core::fake_clock& clock_;
    std::list<waiter*> waiters_;
    bool woken_ = false;
};

// Runs `io` in virtual time until the clock reaches `limit`.
inline void run_until(boost::asio::io_context& io, virtual_sleeper& sleeper, core::time_point limit) {
    for (;;) {
        io.restart();
        io.poll();
        if (!sleeper.advance(limit))
            break;
    }
    io.restart();
    io.poll();
}

}  // namespace tfsnap::test
