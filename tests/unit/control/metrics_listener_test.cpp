// The loopback metrics listener over real TCP on 127.0.0.1 (port 0): GET /metrics with the
// Prometheus content type, keep-alive, HEAD, 404/405/400 as JSON, the connection limit, idle
// connections closed at the header deadline, and a stop that leaves no work behind.
#include "tfsnap/control/metrics_listener.hpp"
#include "tfsnap/config/validate.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <sstream>
#include <string>

#include <unistd.h>

namespace tfsnap::control {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

class sink : public core::log_sink {
public:
    void write(core::log_level, std::string_view m, std::span<const core::log_field>) override {
        lines += std::string(m) + "\n";
    }
    std::string lines;
};

// Runs `client` against a listener on 127.0.0.1:0, then stops the listener; the io_context
// must run out of work (every connection gone).
void with_listener(metrics_listener_config cfg, std::function<asio::awaitable<void>(std::uint16_t)> client,
                   int* renders = nullptr) {
    asio::io_context io;
    sink s;
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    metrics_listener l(
        io.get_executor(), cfg,
        [renders] {
            if (renders != nullptr)
                ++*renders;
            return std::string("# TYPE up gauge\nup 1\n");
        },
        core::logger(s));
    ASSERT_FALSE(l.listen()) << l.error_detail();
    ASSERT_NE(l.port(), 0);
    asio::cancellation_signal stop;
    bool stopped = false;
    asio::co_spawn(io, l.run(), asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr e) {
                       EXPECT_FALSE(e);
                       stopped = true;
                   }));
    bool client_done = false;
    asio::co_spawn(io, client(l.port()), [&](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                ADD_FAILURE() << "client: " << x.what();
            }
        }
        client_done = true;
        stop.emit(asio::cancellation_type::total);
    });
    const auto ran = io.run_for(20s);
    (void)ran;
    EXPECT_TRUE(client_done);
    EXPECT_TRUE(stopped);
    EXPECT_TRUE(io.stopped()) << "work was left on the io_context";
}

asio::awaitable<std::string> exchange(tcp::socket& sock, std::string request) {
    co_await asio::async_write(sock, asio::buffer(request), asio::use_awaitable);
    std::string out;
    char buf[4096];
    // read until the response is complete: headers plus Content-Length bytes
    for (;;) {
        auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf), use_tuple);
        out.append(buf, n);
        const auto end = out.find("\r\n\r\n");
        if (end != std::string::npos) {
            std::size_t len = 0;
            const auto cl = out.find("Content-Length: ");
            if (cl != std::string::npos && cl < end)
                len = std::stoul(out.substr(cl + 16));
            if (out.size() >= end + 4 + len || request.rfind("HEAD", 0) == 0)
                break;
        }
        if (ec)
            break;
    }
    co_return out;
}

asio::awaitable<tcp::socket> connect(std::uint16_t port) {
    tcp::socket sock(co_await asio::this_coro::executor);
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    co_await sock.async_connect(ep, asio::use_awaitable);
    co_return sock;
}

TEST(MetricsListener, ServesMetricsWithKeepAlive) {
    int renders = 0;
    with_listener(
        {},
        [](std::uint16_t port) -> asio::awaitable<void> {
            auto sock = co_await connect(port);
            const std::string get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
            auto r = co_await exchange(sock, get);
            EXPECT_NE(r.find("HTTP/1.1 200 OK"), std::string::npos) << r;
            EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4; charset=utf-8"), std::string::npos)
                << r;
            EXPECT_NE(r.find("\r\n\r\n# TYPE up gauge\nup 1\n"), std::string::npos) << r;
            // the same connection again, with a query string
            const std::string again = "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n";
            r = co_await exchange(sock, again);
            EXPECT_NE(r.find("HTTP/1.1 200 OK"), std::string::npos) << r;
            const std::string head = "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            r = co_await exchange(sock, head);
            EXPECT_NE(r.find("HTTP/1.1 200 OK"), std::string::npos) << r;
            EXPECT_EQ(r.find("up 1"), std::string::npos) << "HEAD has no body: " << r;
        },
        &renders);
    EXPECT_EQ(renders, 3);
}

TEST(MetricsListener, OtherPathsAndMethodsAreJsonErrors) {
    with_listener({}, [](std::uint16_t port) -> asio::awaitable<void> {
        auto sock = co_await connect(port);
        const std::string status = "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n";
        auto r = co_await exchange(sock, status);
        EXPECT_NE(r.find("HTTP/1.1 404"), std::string::npos) << r;
        EXPECT_NE(r.find(R"({"error":{"code":"not_found")"), std::string::npos) << r;
        const std::string post = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
        r = co_await exchange(sock, post);
        EXPECT_NE(r.find("HTTP/1.1 405"), std::string::npos) << r;
        EXPECT_NE(r.find("Allow: GET, HEAD"), std::string::npos) << r;
        const std::string body = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        r = co_await exchange(sock, body);
        EXPECT_NE(r.find("HTTP/1.1 413"), std::string::npos) << r;
        auto sock2 = co_await connect(port);
        const std::string junk = "NOT HTTP AT ALL\r\n\r\n";
        r = co_await exchange(sock2, junk);
        EXPECT_NE(r.find("HTTP/1.1 400"), std::string::npos) << r;
    });
}

TEST(MetricsListener, IdleConnectionsCloseAtTheHeaderDeadline) {
    metrics_listener_config cfg;
    cfg.header_timeout = 200ms;
    with_listener(cfg, [](std::uint16_t port) -> asio::awaitable<void> {
        auto sock = co_await connect(port);
        const auto t0 = std::chrono::steady_clock::now();
        char b[16];
        auto [ec, n] = co_await sock.async_read_some(asio::buffer(b), use_tuple);
        EXPECT_TRUE(ec) << "the listener closed the idle connection";
        EXPECT_EQ(n, 0U);
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    });
}

TEST(MetricsListener, ConnectionsBeyondTheLimitAreClosed) {
    metrics_listener_config cfg;
    cfg.max_connections = 1;
    with_listener(cfg, [](std::uint16_t port) -> asio::awaitable<void> {
        auto first = co_await connect(port);
        // the first is served (keeps its slot while idle); the second is closed at once
        const std::string get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
        auto r = co_await exchange(first, get);
        EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos);
        auto second = co_await connect(port);
        char b[16];
        auto [ec, n] = co_await second.async_read_some(asio::buffer(b), use_tuple);
        EXPECT_TRUE(ec);
        EXPECT_EQ(n, 0U);
    });
}

TEST(MetricsListener, StoppingClosesOpenConnections) {
    // the client leaves a connection open; stopping the listener must still end run()
    int kept = -1;
    with_listener({}, [&kept](std::uint16_t port) -> asio::awaitable<void> {
        auto sock = co_await connect(port);
        const std::string get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
        auto r = co_await exchange(sock, get);
        EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos);
        kept = sock.release();  // still open while the listener stops
    });
    ASSERT_GE(kept, 0);
    ::close(kept);
}

TEST(MetricsListener, AnAddressInUseIsAClearError) {
    asio::io_context io;
    sink s;
    metrics_listener_config cfg;
    cfg.port = 0;
    metrics_listener a(
        io.get_executor(), cfg, [] { return std::string(); }, core::logger(s));
    ASSERT_FALSE(a.listen());
    cfg.port = a.port();
    metrics_listener b(
        io.get_executor(), cfg, [] { return std::string(); }, core::logger(s));
    EXPECT_TRUE(b.listen());
    EXPECT_NE(b.error_detail().find("metrics.listen 127.0.0.1:" + std::to_string(cfg.port) + ": "),
              std::string::npos)
        << b.error_detail();
}

TEST(ListenAddress, LoopbackOnly) {
    EXPECT_EQ(config::check_loopback_listen("127.0.0.1:9464"), "");
    EXPECT_EQ(config::check_loopback_listen("127.0.0.2:80"), "");
    EXPECT_EQ(config::check_loopback_listen("[::1]:9464"), "");
    EXPECT_EQ(config::check_loopback_listen("localhost:9464"), "");
    EXPECT_NE(config::check_loopback_listen("0.0.0.0:9464").find("not a loopback address"),
              std::string::npos);
    EXPECT_NE(config::check_loopback_listen("[::]:9464").find("not a loopback address"), std::string::npos);
    EXPECT_NE(config::check_loopback_listen("10.0.0.1:9464").find("not a loopback address"),
              std::string::npos);
    EXPECT_NE(config::check_loopback_listen("127.0.0.1").find("is not HOST:PORT"), std::string::npos);
    EXPECT_NE(config::check_loopback_listen("127.0.0.1:0").find("is not HOST:PORT"), std::string::npos);
    EXPECT_NE(config::check_loopback_listen("127.0.0.1:70000").find("is not HOST:PORT"), std::string::npos);
    EXPECT_NE(config::check_loopback_listen("::1:9464").find("is not HOST:PORT"), std::string::npos);
    EXPECT_NE(config::check_loopback_listen("prometheus:9464").find("is not an IP address"),
              std::string::npos);
    const auto a = config::parse_listen_address("[::1]:9464");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "::1");
    EXPECT_EQ(a->port, 9464);
}

}  // namespace
}  // namespace tfsnap::control
