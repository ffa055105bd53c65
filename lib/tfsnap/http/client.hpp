#pragma once
// An async HTTP/1.1 client for HTTP and HTTPS, on one Asio executor.
//
// - HTTPS verifies the peer's certificate chain and host name and sends SNI, against the
//   system CA store or `client_config::ca_file`. Verification cannot be turned off by accident:
//   `verify_peer = false` is the only way, and it is meant for tests. The CA store is loaded at
//   the first https request (a client of plain-HTTP endpoints never pays for it); a store that
//   cannot be loaded fails every https request, and only those.
// - Keep-alive connections are pooled per origin, at most `max_connections_per_host` at a
//   time (further requests wait for a free one, within their deadline).
// - Every step has a deadline: resolve, connect, TLS handshake, write, each read; and the
//   request as a whole has `request_timeout`. A step never waits past the whole deadline.
// - Response bodies stream into a `body_sink`; response headers and bodies have size limits.
// - `send` makes one attempt. It retries by itself in one case only: an idempotent request on
//   a reused keep-alive connection that the server had closed (nothing came back), which is
//   retried once on a new connection. Policy retries live in retry.hpp.
//
// Errors: `errc` values (error.hpp) with an `error_info`; HTTP statuses are not errors here.
// Cancellation: `send` honours the awaiting coroutine's cancellation slot (terminal
// cancellation closes the connection in use).
// Thread safety: none. Use a client from its executor only (tfsnapd has one I/O thread).
// Lifetime: the client must outlive every `send` in progress.

#include "tfsnap/http/body.hpp"
#include "tfsnap/http/error.hpp"
#include "tfsnap/http/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace tfsnap::http {

struct client_config {
    std::chrono::milliseconds resolve_timeout{5000};
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds handshake_timeout{10000};
    std::chrono::milliseconds write_timeout{30000};  // each write step
    std::chrono::milliseconds read_timeout{30000};   // each read step (time without progress)
    std::chrono::milliseconds request_timeout{
        300000};                                    // the whole exchange, waiting for a connection included
    std::chrono::milliseconds idle_timeout{30000};  // pooled connections idle longer are closed
    std::size_t max_connections_per_host = 16;
    std::size_t max_header_bytes = 64 * 1024;
    std::uint64_t max_body_bytes = std::uint64_t{16} << 30;  // sinks may set lower limits
    std::string ca_file;                                     // PEM bundle; empty: the system store
    // Host names to connect to at a fixed address instead of asking DNS, like curl's --resolve
    // (TLS still verifies the certificate against the host name). "host" -> "127.0.0.1".
    std::map<std::string, std::string> resolve_overrides;
    bool verify_peer = true;  // false only in tests
    std::string user_agent = "tfsnap";
};

struct request {
    boost::beast::http::verb method = boost::beast::http::verb::get;
    std::string target = "/";            // path and query, already encoded
    boost::beast::http::fields headers;  // sent as given; Host is added from the URL if absent
    body_source body = body_source::none();
    bool idempotent = true;  // see the stale-connection rule above
};

struct response {
    unsigned status = 0;
    boost::beast::http::fields headers;

    // The first value of a header (names are case-insensitive), or "" when absent.
    std::string header(std::string_view name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : std::string(it->value());
    }
};

struct result {
    boost::system::error_code ec;
    error_info info;  // set when ec is
    response res;     // valid when !ec
};

class client {
public:
    client(boost::asio::any_io_executor ex, client_config cfg);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // One exchange with `origin` (scheme, host and port of `u`; its path is ignored: the
    // request's target is sent). The body goes to `sink`.
    boost::asio::awaitable<result> send(const url& u, const request& req, body_sink& sink);

    // Closes every idle pooled connection (at shutdown, or after a network change).
    void close_idle();

    const client_config& config() const noexcept { return cfg_; }
    boost::asio::any_io_executor get_executor() const noexcept { return ex_; }

    // Counters, for metrics and tests.
    struct stats {
        std::uint64_t requests = 0;
        std::uint64_t connections_opened = 0;
        std::uint64_t connections_reused = 0;
        std::uint64_t stale_retries = 0;
    };
    const stats& counters() const noexcept { return stats_; }

private:
    struct impl;
    boost::asio::any_io_executor ex_;
    client_config cfg_;
    std::unique_ptr<impl> impl_;
    stats stats_;
};

}  // namespace tfsnap::http
