// The HTTP client over real loopback sockets: keep-alive reuse, the pool limit, the stale
// connection rule, deadlines, refused connections, and TLS verification (a TLS server with a
// certificate made for the test).
#include "tfsnap/http/client.hpp"
#include "tfsnap/http/retry.hpp"

#include "support/fault_proxy.hpp"
#include "support/loopback_http_server.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace tfsnap::http;
using namespace std::chrono_literals;
using tfsnap::test::canned_response;
using tfsnap::test::loopback_http_server;
using tfsnap::test::recorded_request;

// Completion of a spawned test task: an exception fails the io_context's run() call loudly.
const auto rethrow = [](std::exception_ptr e) {
    if (e)
        std::rethrow_exception(e);
};

// Runs `n` requests concurrently (or one after another) and returns their results.
std::vector<result> run(client_config cfg, const std::string& base, std::vector<request> reqs,
                        bool concurrent = false) {
    asio::io_context io;
    client c(io.get_executor(), cfg);
    std::vector<result> out(reqs.size());
    std::vector<string_sink> sinks(reqs.size());
    const url u = *parse_url(base);
    if (concurrent) {
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            asio::co_spawn(
                io, [&, i]() -> asio::awaitable<void> { out[i] = co_await c.send(u, reqs[i], sinks[i]); },
                rethrow);
        }
    } else {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                for (std::size_t i = 0; i < reqs.size(); ++i)
                    out[i] = co_await c.send(u, reqs[i], sinks[i]);
            },
            rethrow);
    }
    io.run_for(30s);
    EXPECT_TRUE(io.stopped()) << "requests still running after 30 s";
    return out;
}

request get(std::string target = "/") {
    request r;
    r.target = std::move(target);
    return r;
}

TEST(HttpClient, KeepAliveReusesOneConnection) {
    loopback_http_server server([](const recorded_request&) { return canned_response{.body = "ok"}; });
    const auto results = run({}, server.url(), {get("/1"), get("/2"), get("/3"), get("/4"), get("/5")});
    for (const auto& r : results) {
        ASSERT_FALSE(r.ec) << r.ec.message() << " " << r.info.detail;
        EXPECT_EQ(r.res.status, 200u);
    }
    EXPECT_EQ(server.connections_accepted(), 1u);
    EXPECT_EQ(server.requests().size(), 5u);
}

TEST(HttpClient, PoolLimitQueuesRequestsBeyondIt) {
    std::atomic<int> in_flight{0}, peak{0};
    loopback_http_server server([&](const recorded_request&) {
        const int now = ++in_flight;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        std::this_thread::sleep_for(50ms);
        --in_flight;
        return canned_response{.body = "ok"};
    });
    client_config cfg;
    cfg.max_connections_per_host = 2;
    const auto results = run(cfg, server.url(), std::vector<request>(8, get()), true);
    for (const auto& r : results)
        ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_LE(server.connections_accepted(), 2u);
    EXPECT_LE(peak.load(), 2);
}

TEST(HttpClient, StaleKeepAliveConnectionIsRetriedOnceOnANewOne) {
    loopback_http_server upstream([](const recorded_request&) { return canned_response{.body = "ok"}; });
    tfsnap::test::fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.on_request(
        2, {.kind = tfsnap::test::fault_kind::reset});  // the 2nd request dies on its reused connection
    const auto results = run({}, proxy.url(), {get("/a"), get("/b")});
    ASSERT_FALSE(results[0].ec);
    ASSERT_FALSE(results[1].ec) << results[1].ec.message();
    EXPECT_EQ(proxy.requests_seen(), 3u);  // a, b (reset), b again
    EXPECT_EQ(upstream.requests().size(), 2u);
}

TEST(HttpClient, NonIdempotentRequestIsNotRetriedOnAStaleConnection) {
    loopback_http_server upstream([](const recorded_request&) { return canned_response{.body = "ok"}; });
    tfsnap::test::fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.on_request(2, {.kind = tfsnap::test::fault_kind::reset});
    auto put = get("/lock");
    put.method = bhttp::verb::put;
    put.idempotent = false;
    const auto results = run({}, proxy.url(), {get("/a"), put});
    ASSERT_FALSE(results[0].ec);
    EXPECT_EQ(results[1].ec, errc::receive_failed);
    EXPECT_FALSE(is_retryable(results[1].ec, false));
    EXPECT_EQ(proxy.requests_seen(), 2u);
}

TEST(HttpClient, ReadDeadlineFires) {
    loopback_http_server server([](const recorded_request&) { return canned_response{.delay = 3s}; });
    client_config cfg;
    cfg.read_timeout = 200ms;
    const auto t0 = std::chrono::steady_clock::now();
    const auto results = run(cfg, server.url(), {get()});
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(results[0].ec, errc::timeout);
    EXPECT_EQ(results[0].info.phase, "receive");
    EXPECT_LT(took, 2s);
}

TEST(HttpClient, WholeRequestDeadlineBoundsEveryStep) {
    loopback_http_server server([](const recorded_request&) { return canned_response{.delay = 3s}; });
    client_config cfg;
    cfg.read_timeout = 10s;
    cfg.request_timeout = 300ms;
    const auto t0 = std::chrono::steady_clock::now();
    const auto results = run(cfg, server.url(), {get()});
    EXPECT_EQ(results[0].ec, errc::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(HttpClient, RefusedConnectionIsSafeToRetry) {
    std::uint16_t port = 0;
    {
        asio::io_context io;
        asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    }  // closed again: nothing listens there now
    const auto results = run({}, "http://127.0.0.1:" + std::to_string(port), {get()});
    EXPECT_EQ(results[0].ec, errc::connect_failed);
    EXPECT_EQ(results[0].info.phase, "connect");
    EXPECT_TRUE(is_retryable(results[0].ec, false));
}

// ------------------------------------------------------------------------------ TLS

class TlsServer {
public:
    // A certificate for "localhost" only, signed by itself, made with the openssl CLI.
    static void SetUpTestSuite() {
        dir_ = std::filesystem::temp_directory_path() / ("tfsnap-tls-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        const std::string cmd =
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
            "-addext subjectAltName=DNS:localhost -keyout " +
            (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " >/dev/null 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0);
    }
    static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
    static std::string cert() { return (dir_ / "cert.pem").string(); }

    TlsServer()
        : ctx_(asio::ssl::context::tls_server), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        ctx_.use_certificate_chain_file(cert());
        ctx_.use_private_key_file((dir_ / "key.pem").string(), asio::ssl::context::pem);
        thread_ = std::thread([this] { serve(); });
    }
    ~TlsServer() {
        io_.stop();
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    std::string sni() const {
        std::lock_guard l(m_);
        return sni_;
    }

private:
    void serve() {
        asio::co_spawn(
            io_,
            [this]() -> asio::awaitable<void> {
                for (;;) {
                    auto [aec, sock] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
                    if (aec)
                        co_return;
                    boost::beast::ssl_stream<asio::ip::tcp::socket> s(std::move(sock), ctx_);
                    auto [ec] = co_await s.async_handshake(asio::ssl::stream_base::server,
                                                           asio::as_tuple(asio::use_awaitable));
                    if (ec)
                        continue;  // the client refused our certificate
                    if (const char* name = SSL_get_servername(s.native_handle(), TLSEXT_NAMETYPE_host_name)) {
                        std::lock_guard l(m_);
                        sni_ = name;
                    }
                    boost::beast::flat_buffer b;
                    bhttp::request<bhttp::string_body> req;
                    auto [rec, rn] =
                        co_await bhttp::async_read(s, b, req, asio::as_tuple(asio::use_awaitable));
                    if (rec)
                        continue;
                    bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
                    res.body() = "secure";
                    res.keep_alive(false);
                    res.prepare_payload();
                    co_await bhttp::async_write(s, res, asio::as_tuple(asio::use_awaitable));
                }
            },
            rethrow);
        io_.run();
    }

    static inline std::filesystem::path dir_;
    asio::io_context io_;
    asio::ssl::context ctx_;
    asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    mutable std::mutex m_;
    std::string sni_;
};

class HttpClientTls : public ::testing::Test {
protected:
    static void SetUpTestSuite() { TlsServer::SetUpTestSuite(); }
    static void TearDownTestSuite() { TlsServer::TearDownTestSuite(); }
};

TEST_F(HttpClientTls, UntrustedCertificateIsRefusedAndNotRetried) {
    TlsServer server;
    const auto results = run({}, "https://localhost:" + std::to_string(server.port()), {get()});
    EXPECT_EQ(results[0].ec, errc::tls_verify_failed);
    EXPECT_EQ(results[0].info.phase, "handshake");
    EXPECT_NE(results[0].info.detail.find("self-signed"), std::string::npos) << results[0].info.detail;
    EXPECT_FALSE(is_retryable(results[0].ec, true));
}

TEST_F(HttpClientTls, TrustedCaFileVerifiesAndSendsSni) {
    TlsServer server;
    client_config cfg;
    cfg.ca_file = TlsServer::cert();
    const auto results = run(cfg, "https://localhost:" + std::to_string(server.port()), {get()});
    ASSERT_FALSE(results[0].ec) << results[0].ec.message() << ": " << results[0].info.detail;
    EXPECT_EQ(results[0].res.status, 200u);
    EXPECT_EQ(server.sni(), "localhost");
}

TEST_F(HttpClientTls, HostNameMismatchIsRefused) {
    TlsServer server;
    client_config cfg;
    cfg.ca_file = TlsServer::cert();  // trusted, but issued for localhost, not 127.0.0.1
    const auto results = run(cfg, "https://127.0.0.1:" + std::to_string(server.port()), {get()});
    EXPECT_EQ(results[0].ec, errc::tls_verify_failed);
}

TEST_F(HttpClientTls, UnreadableCaFileIsReportedPlainly) {
    client_config cfg;
    cfg.ca_file = "/nonexistent/ca.pem";
    const auto results = run(cfg, "https://localhost:1", {get()});
    EXPECT_EQ(results[0].ec, errc::tls_handshake_failed);
    EXPECT_EQ(results[0].info.detail, "cannot load the CA bundle /nonexistent/ca.pem");
}

// The CA store is loaded at the first https request: plain HTTP never needs it (a local endpoint's
// client paid for loading the system store at construction, on every process start).
TEST_F(HttpClientTls, PlainHttpNeverLoadsTheCaStore) {
    loopback_http_server server([](const recorded_request&) { return canned_response{.body = "ok"}; });
    client_config cfg;
    cfg.ca_file = "/nonexistent/ca.pem";
    const auto results = run(cfg, server.url(), {get()});
    ASSERT_FALSE(results[0].ec) << results[0].ec.message() << ": " << results[0].info.detail;
    EXPECT_EQ(results[0].res.status, 200u);
}

}  // namespace
