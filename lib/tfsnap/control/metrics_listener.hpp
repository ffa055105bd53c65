#pragma once
// GET /metrics on a loopback TCP address (`metrics.listen: 127.0.0.1:9464`), for a Prometheus
// that scrapes over TCP. It serves that one resource and nothing else: no control API, no
// peer credentials to check (the configuration only accepts loopback addresses).
//
// Per request: the header within header_timeout (an idle keep-alive connection is closed when
// it passes), at most max_header_bytes; the response within write_timeout. GET and HEAD of
// /metrics (a query string is ignored) get 200 with the body `render()` returns, as
// `content_type`; any other path 404, any other method 405 with Allow, a request with a body 413,
// a malformed one 400 — each with a JSON error body like the control API's. At most
// max_connections connections are served at once; beyond that a connection is closed at once.
//
// Cancellation: run() accepts until it is cancelled (any type), then closes the acceptor and
// every connection and returns once they are gone.
// Thread safety: none; use from one executor. Lifetime: the listener must outlive run().

#include "tfsnap/core/logger.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tfsnap::control {

struct metrics_listener_config {
    std::string host = "127.0.0.1";  // an address, or "localhost"
    std::uint16_t port = 9464;       // 0: any free port (tests); see port()
    std::size_t max_connections = 16;
    std::chrono::milliseconds header_timeout{10000};
    std::chrono::milliseconds write_timeout{10000};
    std::size_t max_header_bytes = 8 * 1024;
    std::string content_type = "text/plain; version=0.0.4; charset=utf-8";
};

class metrics_listener {
public:
    metrics_listener(boost::asio::any_io_executor ex, metrics_listener_config cfg,
                     std::function<std::string()> render, core::logger log);
    ~metrics_listener();
    metrics_listener(const metrics_listener&) = delete;
    metrics_listener& operator=(const metrics_listener&) = delete;

    // Binds and listens; an error names the address and the reason in error_detail().
    boost::system::error_code listen();
    const std::string& error_detail() const noexcept { return error_detail_; }
    std::uint16_t port() const noexcept { return port_; }  // after listen()

    boost::asio::awaitable<void> run();

    struct stats {
        std::uint64_t accepted = 0;
        std::uint64_t rejected = 0;  // over max_connections
        std::uint64_t requests = 0;
    };
    const stats& counters() const noexcept { return stats_; }

private:
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket sock);

    boost::asio::any_io_executor ex_;
    metrics_listener_config cfg_;
    std::function<std::string()> render_;
    core::logger log_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::string error_detail_;
    std::uint16_t port_ = 0;
    std::size_t open_ = 0;
    stats stats_;
    struct tracker;
    std::shared_ptr<tracker> tracker_;
};

}  // namespace tfsnap::control
