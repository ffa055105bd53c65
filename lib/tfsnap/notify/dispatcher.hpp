#pragma once
// Sends events to the configured webhooks (`notify.webhooks`), without ever holding up or
// failing the code that publishes them.
//
// - publish() renders the body (render.hpp) for every webhook subscribed to the event and
//   starts one delivery per webhook: a coroutine on the executor. It returns at once.
// - A delivery POSTs the body (Content-Type: application/json, User-Agent: tfsnap/VERSION) to
//   the webhook's URL, or to the URL read from $CREDENTIALS_DIRECTORY/<url_credential> at that
//   moment. 2xx is delivered. Connection errors, attempt timeouts, 408, 429 and 5xx are retried
//   with full-jitter exponential backoff (http/retry.hpp) up to `retries` times; any other
//   status gives up at once. Each attempt is limited to `timeout`, and the whole delivery,
//   backoff included, to `deadline`. Delivery is at least once: an attempt that timed out may
//   have arrived.
// - Every outcome is logged once: info when delivered, warning otherwise, with the event, the
//   environment and the status or error. Of the URL only scheme://host[:port] is ever logged
//   (a Slack URL carries its token in the path).
// - At most `max_pending` deliveries are in flight; an event beyond that is dropped for that
//   webhook, counted in `dropped`, and one warning is logged per overload (a notice reports the
//   count once deliveries are below the limit again).
//
// Errors: nothing throws into the caller; a failed delivery is a log line and a counter.
// Cancellation: cancel() sends terminal cancellation to every delivery in flight; each ends
// promptly (logged as cancelled). Events published after cancel() are dropped.
// Thread safety: none; call every member from the executor's thread (tfsnapd's I/O thread).
// Lifetime: `http` must outlive the dispatcher. Destroy the dispatcher only when in_flight()
// is 0 (after cancel(), run the executor until it is).

#include "tfsnap/config/config.hpp"
#include "tfsnap/core/logger.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/http/retry.hpp"
#include "tfsnap/notify/event.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tfsnap::notify {

struct dispatcher_options {
    std::size_t max_pending = 64;                      // deliveries in flight at most
    std::chrono::milliseconds base_delay{500};         // backoff: uniform(0, min(max, base * 2^n))
    std::chrono::milliseconds max_delay{10000};        //
    std::optional<std::string> credentials_directory;  // unset: $CREDENTIALS_DIRECTORY, at delivery
    http::random_unit random{};                        // backoff jitter in [0, 1); unset: random
};

class dispatcher {
public:
    // `host` is this machine's name, as the bodies report it.
    dispatcher(boost::asio::any_io_executor ex, http::client& http, core::logger log, std::string host,
               dispatcher_options opts = {});
    ~dispatcher();
    dispatcher(const dispatcher&) = delete;
    dispatcher& operator=(const dispatcher&) = delete;

    // The webhooks, at start and on reload. Deliveries in flight keep the settings they started
    // with.
    void configure(std::vector<config::webhook_config> hooks);

    // Fire and forget: starts a delivery to every webhook subscribed to e.kind.
    void publish(const event& e) noexcept;

    std::size_t in_flight() const noexcept { return running_.size(); }

    // Terminal cancellation of every delivery in flight (shutdown, after the grace time).
    void cancel();

    // Waits until no delivery is in flight (true) or `until` passes (false). Cancellation: throws
    // operation_aborted.
    boost::asio::awaitable<bool> drained(std::chrono::steady_clock::time_point until);

    struct stats {
        std::uint64_t delivered = 0;
        std::uint64_t failed = 0;   // gave up, or cancelled
        std::uint64_t dropped = 0;  // never started: too many pending, or after cancel()
    };
    const stats& counters() const noexcept { return stats_; }

private:
    struct delivery;
    struct attempt_state;
    struct running_delivery {
        std::unique_ptr<boost::asio::cancellation_signal> signal;
        std::string event;
        std::string environment;
    };

    void start(delivery d);
    boost::asio::awaitable<void> deliver(delivery d);
    boost::asio::awaitable<boost::system::error_code> send_with_retries(const http::url& u, const delivery& d,
                                                                        attempt_state& st);
    boost::asio::awaitable<boost::system::error_code> attempt(const http::url& u, const http::request& req,
                                                              std::chrono::steady_clock::time_point deadline,
                                                              std::chrono::steady_clock::duration timeout,
                                                              attempt_state& st);
    void report(const delivery& d, const attempt_state& st, const std::string& webhook,
                const boost::system::error_code& ec);
    void finished(std::uint64_t id, std::exception_ptr e);
    void drop(const event& e);

    boost::asio::any_io_executor ex_;
    http::client& http_;
    core::logger log_;
    std::string host_;
    dispatcher_options opts_;
    http::random_unit random_;
    std::vector<config::webhook_config> hooks_;
    std::map<std::uint64_t, running_delivery> running_;
    boost::asio::steady_timer idle_;  // never expires; cancelled when running_ empties
    std::uint64_t next_id_ = 1;
    bool stopped_ = false;
    bool overloaded_ = false;
    std::uint64_t dropped_in_overload_ = 0;
    stats stats_;
};

}  // namespace tfsnap::notify
