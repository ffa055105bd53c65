#pragma once
// Retries: one classifier and one backoff routine for every AWS call tfsnap makes.
//
// `is_retryable(ec, idempotent)` is the only place that decides. It knows no module's codes:
// modules declare theirs through the cross-module conditions in core/error.hpp
// (`transient`, `not_processed`). A request that is not idempotent is retried only when the
// error says the server did not process it (a connection never made, throttling).
//
// `with_retries` runs an operation until it succeeds, fails for good, or runs out of
// attempts, sleeping with full-jitter exponential backoff in between (AWS Architecture Blog,
// "Exponential Backoff And Jitter", 2015): delay = uniform(0, min(max_delay, base * 2^n)).
//
// Cancellation: the sleep honours the awaiting coroutine's cancellation slot; a cancelled
// operation (operation_aborted) is never retried.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>

namespace tfsnap::http {

struct retry_policy {
    int max_attempts = 4;  // including the first
    std::chrono::milliseconds base_delay{100};
    std::chrono::milliseconds max_delay{5000};
};

bool is_retryable(const boost::system::error_code& ec, bool idempotent) noexcept;

// The delay before retry number `retry` (0 for the first retry); `unit` is uniform in [0, 1).
std::chrono::milliseconds backoff_delay(const retry_policy& p, int retry, double unit) noexcept;

// A uniform [0, 1) source for backoff; tests pass a fixed one.
using random_unit = std::function<double()>;
random_unit default_random_unit();

struct retry_outcome {
    boost::system::error_code ec;  // of the last attempt
    int attempts = 0;
};

// Runs `op` (a callable returning asio::awaitable<error_code>) under `p`. `on_retry(ec,
// attempt, delay)`, when given, is told before each sleep (for logs and metrics).
template <class Op, class OnRetry = std::nullptr_t>
boost::asio::awaitable<retry_outcome> with_retries(const retry_policy& p, bool idempotent,
                                                   const random_unit& rnd, Op op,
                                                   OnRetry on_retry = nullptr) {
    retry_outcome out;
    for (;;) {
        ++out.attempts;
        out.ec = co_await op();
        if (!out.ec || out.attempts >= p.max_attempts || !is_retryable(out.ec, idempotent))
            co_return out;
        const auto delay = backoff_delay(p, out.attempts - 1, rnd());
        if constexpr (!std::is_same_v<OnRetry, std::nullptr_t>)
            on_retry(out.ec, out.attempts, delay);
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay);
        auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec) {
            out.ec = ec;  // cancelled while waiting
            co_return out;
        }
    }
}

}  // namespace tfsnap::http
