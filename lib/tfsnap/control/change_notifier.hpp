#pragma once
// A broadcast "something changed" signal for long polls: whoever changes state (the job
// registry, say) calls notify_all(); every coroutine waiting wakes up and looks again.
//
// Waiting is by generation, so a change between looking and waiting is never missed:
//   const auto gen = n.generation();   // after reading the state, before any co_await
//   ...
//   co_await n.wait_since(gen);         // returns at once if notify_all() was called since
// (request_context::long_poll does this for handlers).
//
// Cancellation: wait_since() honours every cancellation type and then throws
// system_error(operation_aborted).
// Thread safety: none; use it from its executor only.
// Lifetime: must outlive every wait_since() in progress.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>

namespace tfsnap::control {

class change_notifier {
public:
    explicit change_notifier(boost::asio::any_io_executor ex);

    void notify_all();
    std::uint64_t generation() const noexcept { return generation_; }

    // Returns once generation() != gen.
    boost::asio::awaitable<void> wait_since(std::uint64_t gen);

private:
    boost::asio::steady_timer timer_;  // never expires; notify_all() cancels its waits
    std::uint64_t generation_ = 0;
};

}  // namespace tfsnap::control
