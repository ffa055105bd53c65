// Self-tests of the test doubles: loopback_http_server and fault_proxy, driven by plain Beast
// clients. The FaultProxyRadosgw tests put the proxy in front of the harness's radosgw and run
// only as the server test support.fault_proxy_radosgw (they need TFSNAP_HARNESS_ENV).
#include "support/fault_proxy.hpp"
#include "support/loopback_http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using tfsnap::test::canned_response;
using tfsnap::test::fault;
using tfsnap::test::fault_kind;
using tfsnap::test::fault_proxy;
using tfsnap::test::loopback_http_server;
using tfsnap::test::recorded_request;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t mib = 1024 * 1024;

// ASSERT_* leave the function with `return`, which a coroutine cannot do: this co_returns.
#define CO_ASSERT(cond, message)                                           \
    do {                                                                   \
        if (!(cond)) {                                                     \
            ADD_FAILURE() << "assertion failed: " #cond ": " << (message); \
            co_return;                                                     \
        }                                                                  \
    } while (false)

// Runs `task` on its own io_context. The test fails if it has not finished by `deadline`, or
// if it finished but left work behind.
void run_with_deadline(asio::awaitable<void> task, std::chrono::milliseconds deadline = 20s) {
    asio::io_context io;
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
        done = true;
        error = e;
    });
    io.run_for(deadline);
    ASSERT_TRUE(done) << "the test did not finish within " << deadline.count() << " ms";
    EXPECT_TRUE(io.stopped()) << "work was left outstanding";
    if (error) {
        std::rethrow_exception(error);
    }
}

asio::awaitable<beast::tcp_stream> connect_to(std::uint16_t port) {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stream.expires_after(5s);
    co_await stream.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), asio::use_awaitable);
    co_return stream;
}

http::request<http::string_body> make_request(http::verb method, std::string target, std::uint16_t port,
                                              std::string body = {}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
}

struct exchange_result {
    error_code ec;  // of the write, else of the read
    http::response<http::string_body> response;
};

// Writes `req` and reads the response (up to 64 MiB of body) with one deadline for each. On a
// read error, `response` holds what was parsed before it.
asio::awaitable<exchange_result> exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                          const http::request<http::string_body>& req,
                                          std::chrono::milliseconds deadline = 5s) {
    stream.expires_after(deadline);
    auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
    if (wec) {
        co_return exchange_result{wec, {}};
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * mib);
    parser.skip(req.method() == http::verb::head);
    stream.expires_after(deadline);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
    co_return exchange_result{rec, parser.release()};
}

std::string pattern(std::size_t size, unsigned seed) {
    std::string s(size, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& c : s) {
        x = x * 1664525u + 1013904223u;
        c = static_cast<char>(x >> 24);
    }
    return s;
}

canned_response ok(std::string body = "ok") {
    canned_response r;
    r.body = std::move(body);
    return r;
}

std::string header_of(const http::response<http::string_body>& res, std::string_view name) {
    return std::string(res[name]);
}

// ---------------------------------------------------------------------------------------------
// loopback_http_server

TEST(LoopbackHttpServer, AnswersWithTheCannedResponseAndRecordsTheRequest) {
    loopback_http_server server([](const recorded_request&) {
        canned_response r;
        r.status = 201;
        r.headers = {{"X-Test", "yes"}, {"Content-Type", "text/plain"}};
        r.body = "hello";
        return r;
    });
    EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()));

    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(server.port());
        beast::flat_buffer buffer;
        auto req = make_request(http::verb::put, "/latest/api/token?x=1", server.port(), "abc");
        req.set("X-aws-ec2-metadata-token-ttl-seconds", "21600");
        auto [ec, res] = co_await exchange(stream, buffer, req);
        CO_ASSERT(!ec, ec.message());
        EXPECT_EQ(res.result_int(), 201u);
        EXPECT_EQ(header_of(res, "X-Test"), "yes");
        EXPECT_EQ(header_of(res, "Content-Type"), "text/plain");
        EXPECT_EQ(header_of(res, "Content-Length"), "5");
        EXPECT_EQ(res.body(), "hello");
    };
    run_with_deadline(test());

    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "PUT");
    EXPECT_EQ(reqs[0].target, "/latest/api/token?x=1");
    EXPECT_EQ(reqs[0].body, "abc");
    EXPECT_EQ(reqs[0].header("x-aws-ec2-metadata-token-ttl-seconds"), "21600");
    EXPECT_EQ(reqs[0].header("X-AWS-EC2-Metadata-Token-TTL-Seconds"), "21600");
    EXPECT_EQ(reqs[0].header("host"), "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(reqs[0].header("absent"), "");
    ASSERT_EQ(reqs[0].headers.size(), 3u);
    EXPECT_EQ(reqs[0].headers[0].first, "host");
    EXPECT_EQ(reqs[0].headers[1].first, "content-length");
    EXPECT_EQ(reqs[0].headers[2].first, "x-aws-ec2-metadata-token-ttl-seconds");
}

TEST(LoopbackHttpServer, KeepsOneConnectionForSeveralRequests) {
    loopback_http_server server([](const recorded_request& r) { return ok("echo " + r.target); });
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(server.port());
        beast::flat_buffer buffer;
        for (int i = 0; i < 3; ++i) {
            const std::string target = "/r" + std::to_string(i);
            auto [ec, res] =
                co_await exchange(stream, buffer, make_request(http::verb::get, target, server.port()));
            CO_ASSERT(!ec, ec.message());
            EXPECT_EQ(res.body(), "echo " + target);
            EXPECT_TRUE(res.keep_alive());
        }
    };
    run_with_deadline(test());
    EXPECT_EQ(server.connections_accepted(), 1u);
    EXPECT_EQ(server.requests().size(), 3u);
}

TEST(LoopbackHttpServer, ReadsChunkedRequestBodies) {
    loopback_http_server server([](const recorded_request& r) { return ok(r.body); });
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(server.port());
        beast::flat_buffer buffer;
        auto req = make_request(http::verb::post, "/", server.port(), "hello chunked world");
        req.chunked(true);
        auto [ec, res] = co_await exchange(stream, buffer, req);
        CO_ASSERT(!ec, ec.message());
        EXPECT_EQ(res.body(), "hello chunked world");
    };
    run_with_deadline(test());
    ASSERT_EQ(server.requests().size(), 1u);
    EXPECT_EQ(server.requests()[0].header("transfer-encoding"), "chunked");
    EXPECT_EQ(server.requests()[0].body, "hello chunked world");
}

TEST(LoopbackHttpServer, HonoursDelay) {
    loopback_http_server server([](const recorded_request&) {
        auto r = ok("late");
        r.delay = 300ms;
        return r;
    });
    auto test = [&]() -> asio::awaitable<void> {
        {
            // A client deadline shorter than the delay fires first.
            auto stream = co_await connect_to(server.port());
            beast::flat_buffer buffer;
            auto [ec, res] =
                co_await exchange(stream, buffer, make_request(http::verb::get, "/", server.port()), 100ms);
            EXPECT_EQ(ec, beast::error::timeout) << ec.message();
        }
        auto stream = co_await connect_to(server.port());
        beast::flat_buffer buffer;
        const auto start = std::chrono::steady_clock::now();
        auto [ec, res] = co_await exchange(stream, buffer, make_request(http::verb::get, "/", server.port()));
        CO_ASSERT(!ec, ec.message());
        EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
        EXPECT_EQ(res.body(), "late");
    };
    run_with_deadline(test());
}

TEST(LoopbackHttpServer, HonoursCloseAfter) {
    loopback_http_server server([](const recorded_request& r) {
        auto res = ok();
        res.close_after = r.target == "/close";
        return res;
    });
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(server.port());
        beast::flat_buffer buffer;
        auto [ec, res] =
            co_await exchange(stream, buffer, make_request(http::verb::get, "/close", server.port()));
        CO_ASSERT(!ec, ec.message());
        EXPECT_FALSE(res.keep_alive());
        EXPECT_EQ(header_of(res, "Connection"), "close");

        // The server has closed its end: the next request on this connection gets no answer.
        auto [ec2, res2] =
            co_await exchange(stream, buffer, make_request(http::verb::get, "/", server.port()));
        EXPECT_TRUE(ec2 == http::error::end_of_stream || ec2 == asio::error::connection_reset ||
                    ec2 == asio::error::broken_pipe)
            << ec2.message();

        auto fresh = co_await connect_to(server.port());
        auto [ec3, res3] =
            co_await exchange(fresh, buffer, make_request(http::verb::get, "/", server.port()));
        CO_ASSERT(!ec3, ec3.message());
        EXPECT_TRUE(res3.keep_alive());
    };
    run_with_deadline(test());
    EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST(LoopbackHttpServer, AnswersHeadWithContentLengthAndNoBody) {
    loopback_http_server server([](const recorded_request&) { return ok("twelve bytes"); });
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(server.port());
        beast::flat_buffer buffer;
        auto [ec, res] =
            co_await exchange(stream, buffer, make_request(http::verb::head, "/", server.port()));
        CO_ASSERT(!ec, ec.message());
        EXPECT_EQ(header_of(res, "Content-Length"), "12");
        EXPECT_EQ(res.body(), "");
        // Nothing stray follows the head: the connection serves the next request.
        auto [ec2, res2] =
            co_await exchange(stream, buffer, make_request(http::verb::get, "/", server.port()));
        CO_ASSERT(!ec2, ec2.message());
        EXPECT_EQ(res2.body(), "twelve bytes");
    };
    run_with_deadline(test());
}

TEST(LoopbackHttpServer, AnswersAThrowingHandlerWith500) {
    loopback_http_server server(
        [](const recorded_request&) -> canned_response { throw std::runtime_error("boom"); });
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(server.port());
        beast::flat_buffer buffer;
        auto [ec, res] = co_await exchange(stream, buffer, make_request(http::verb::get, "/", server.port()));
        CO_ASSERT(!ec, ec.message());
        EXPECT_EQ(res.result_int(), 500u);
        EXPECT_EQ(res.body(), "boom");
    };
    run_with_deadline(test());
}

TEST(LoopbackHttpServer, DestructorClosesIdleAndDelayedConnections) {
    auto server = std::make_unique<loopback_http_server>([](const recorded_request&) {
        auto r = ok();
        r.delay = 10s;
        return r;
    });
    auto test = [&]() -> asio::awaitable<void> {
        auto idle = co_await connect_to(server->port());
        auto waiting = co_await connect_to(server->port());
        waiting.expires_after(5s);
        co_await http::async_write(waiting, make_request(http::verb::get, "/", server->port()),
                                   asio::use_awaitable);
        // Let the server read the request and start its delay.
        asio::steady_timer pause(co_await asio::this_coro::executor, 100ms);
        co_await pause.async_wait(asio::use_awaitable);

        const auto start = std::chrono::steady_clock::now();
        server.reset();
        EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        waiting.expires_after(2s);
        auto [ec, n] = co_await http::async_read(waiting, buffer, res, use_tuple);
        EXPECT_TRUE(ec == http::error::end_of_stream || ec == asio::error::connection_reset) << ec.message();
        idle.expires_after(2s);
        auto [ec2, n2] = co_await http::async_read(idle, buffer, res, use_tuple);
        EXPECT_TRUE(ec2 == http::error::end_of_stream || ec2 == asio::error::connection_reset)
            << ec2.message();
    };
    run_with_deadline(test());
}

// ---------------------------------------------------------------------------------------------
// fault_proxy in front of a loopback_http_server

TEST(FaultProxy, PassesRequestsAndResponsesThrough) {
    loopback_http_server upstream([](const recorded_request& r) {
        canned_response res;
        res.status = 207;
        res.headers = {
            {"Content-Type", "application/xml"}, {"x-amz-request-id", "REQ1"}, {"ETag", "\"abc\""}};
        res.body = "<got>" + r.method + " " + r.target + " " + r.body + "</got>";
        return res;
    });
    fault_proxy proxy("127.0.0.1", upstream.port());
    EXPECT_EQ(proxy.url(), "http://127.0.0.1:" + std::to_string(proxy.port()));

    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        for (int i = 0; i < 2; ++i) {
            auto req = make_request(http::verb::put, "/bucket/key?partNumber=" + std::to_string(i),
                                    proxy.port(), "payload " + std::to_string(i));
            req.set("x-amz-meta-color", "blue");
            auto [ec, res] = co_await exchange(stream, buffer, req);
            CO_ASSERT(!ec, ec.message());
            EXPECT_EQ(res.result_int(), 207u);
            EXPECT_EQ(header_of(res, "Content-Type"), "application/xml");
            EXPECT_EQ(header_of(res, "x-amz-request-id"), "REQ1");
            EXPECT_EQ(header_of(res, "ETag"), "\"abc\"");
            EXPECT_EQ(res.body(), "<got>PUT /bucket/key?partNumber=" + std::to_string(i) + " payload " +
                                      std::to_string(i) + "</got>");
        }
    };
    run_with_deadline(test());

    EXPECT_EQ(proxy.requests_seen(), 2u);
    EXPECT_EQ(upstream.connections_accepted(), 1u);
    const auto reqs = upstream.requests();
    ASSERT_EQ(reqs.size(), 2u);
    // Host is forwarded as the client sent it, so a signature over it still verifies.
    EXPECT_EQ(reqs[0].header("host"), "127.0.0.1:" + std::to_string(proxy.port()));
    EXPECT_EQ(reqs[0].header("x-amz-meta-color"), "blue");
    EXPECT_EQ(reqs[1].target, "/bucket/key?partNumber=1");
}

TEST(FaultProxy, PassesHeadAndChunkedMessagesThrough) {
    loopback_http_server upstream([](const recorded_request& r) {
        canned_response res;
        res.body = "body of " + r.target + (r.body.empty() ? "" : " with " + r.body);
        if (r.target == "/chunked") {
            res.headers = {{"Transfer-Encoding", "chunked"}};
        }
        return res;
    });
    fault_proxy proxy("127.0.0.1", upstream.port());
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto [ec1, head] =
            co_await exchange(stream, buffer, make_request(http::verb::head, "/h", proxy.port()));
        CO_ASSERT(!ec1, ec1.message());
        EXPECT_EQ(header_of(head, "Content-Length"), "10");  // "body of /h"
        EXPECT_EQ(head.body(), "");

        auto req = make_request(http::verb::post, "/chunked", proxy.port(), "a chunked request");
        req.chunked(true);
        auto [ec2, chunked] = co_await exchange(stream, buffer, req);
        CO_ASSERT(!ec2, ec2.message());
        EXPECT_TRUE(chunked.chunked());
        EXPECT_EQ(chunked.body(), "body of /chunked with a chunked request");

        auto [ec3, plain] =
            co_await exchange(stream, buffer, make_request(http::verb::get, "/p", proxy.port()));
        CO_ASSERT(!ec3, ec3.message());
        EXPECT_EQ(plain.body(), "body of /p");
    };
    run_with_deadline(test());
    EXPECT_EQ(upstream.connections_accepted(), 1u);
}

TEST(FaultProxy, AnswersExpectContinueItself) {
    loopback_http_server upstream([](const recorded_request& r) { return ok("got " + r.body); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto req = make_request(http::verb::put, "/k", proxy.port(), "after continue");
        req.set(http::field::expect, "100-continue");
        http::request_serializer<http::string_body> sr{req};
        stream.expires_after(5s);
        co_await http::async_write_header(stream, sr, asio::use_awaitable);

        http::response<http::string_body> cont;
        stream.expires_after(5s);
        co_await http::async_read(stream, buffer, cont, asio::use_awaitable);
        EXPECT_EQ(cont.result(), http::status::continue_);

        stream.expires_after(5s);
        co_await http::async_write(stream, sr, asio::use_awaitable);
        http::response<http::string_body> res;
        stream.expires_after(5s);
        co_await http::async_read(stream, buffer, res, asio::use_awaitable);
        EXPECT_EQ(res.result_int(), 200u);
        EXPECT_EQ(res.body(), "got after continue");
    };
    run_with_deadline(test());
    ASSERT_EQ(upstream.requests().size(), 1u);
    EXPECT_EQ(upstream.requests()[0].header("expect"), "");
}

TEST(FaultProxy, StreamsAnEightMebibyteBodyBothWays) {
    const std::string up = pattern(8 * mib, 1);
    const std::string down = pattern(8 * mib, 2);
    loopback_http_server upstream([&](const recorded_request& r) {
        canned_response res;
        res.status = r.body == up ? 200 : 400;
        res.body = down;
        return res;
    });
    fault_proxy proxy("127.0.0.1", upstream.port());
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto [ec, res] =
            co_await exchange(stream, buffer, make_request(http::verb::put, "/big", proxy.port(), up));
        CO_ASSERT(!ec, ec.message());
        EXPECT_EQ(res.result_int(), 200u) << "upstream got a different body";
        EXPECT_EQ(header_of(res, "Content-Length"), std::to_string(8 * mib));
        EXPECT_EQ(res.body().size(), down.size());
        EXPECT_TRUE(res.body() == down);
    };
    run_with_deadline(test());
}

TEST(FaultProxy, ResetClosesTheConnectionWithoutAResponse) {
    loopback_http_server upstream([](const recorded_request&) { return ok(); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.on_request(1, fault{.kind = fault_kind::reset});
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto [ec, res] = co_await exchange(stream, buffer, make_request(http::verb::get, "/", proxy.port()));
        EXPECT_TRUE(ec == asio::error::connection_reset || ec == http::error::end_of_stream ||
                    ec == asio::error::eof)
            << ec.message();

        auto fresh = co_await connect_to(proxy.port());
        auto [ec2, res2] =
            co_await exchange(fresh, buffer, make_request(http::verb::get, "/next", proxy.port()));
        CO_ASSERT(!ec2, ec2.message());
        EXPECT_EQ(res2.result_int(), 200u);
    };
    run_with_deadline(test());
    ASSERT_EQ(upstream.requests().size(), 1u);
    EXPECT_EQ(upstream.requests()[0].target, "/next");
    EXPECT_EQ(proxy.requests_seen(), 2u);
}

TEST(FaultProxy, StallOutlastsTheClientDeadline) {
    loopback_http_server upstream([](const recorded_request&) { return ok(); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.on_request(1, fault{.kind = fault_kind::stall, .stall_for = 5s});
    auto test = [&]() -> asio::awaitable<void> {
        {
            auto stream = co_await connect_to(proxy.port());
            beast::flat_buffer buffer;
            const auto start = std::chrono::steady_clock::now();
            auto [ec, res] = co_await exchange(
                stream, buffer, make_request(http::verb::put, "/", proxy.port(), "body"), 200ms);
            EXPECT_EQ(ec, beast::error::timeout) << ec.message();
            EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
        }
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto [ec, res] =
            co_await exchange(stream, buffer, make_request(http::verb::get, "/next", proxy.port()), 2s);
        CO_ASSERT(!ec, ec.message());
        EXPECT_EQ(res.result_int(), 200u);
    };
    run_with_deadline(test());
    ASSERT_EQ(upstream.requests().size(), 1u);
    EXPECT_EQ(upstream.requests()[0].target, "/next");
}

TEST(FaultProxy, StallEndsByClosingTheConnection) {
    loopback_http_server upstream([](const recorded_request&) { return ok(); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.on_request(1, fault{.kind = fault_kind::stall, .stall_for = 300ms});
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        const auto start = std::chrono::steady_clock::now();
        auto [ec, res] =
            co_await exchange(stream, buffer, make_request(http::verb::get, "/", proxy.port()), 5s);
        EXPECT_EQ(ec, http::error::end_of_stream) << ec.message();
        EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
    };
    run_with_deadline(test());
    EXPECT_TRUE(upstream.requests().empty());
}

TEST(FaultProxy, DestructorCancelsAStall) {
    loopback_http_server upstream([](const recorded_request&) { return ok(); });
    auto proxy = std::make_unique<fault_proxy>("127.0.0.1", upstream.port());
    proxy->on_request(1, fault{.kind = fault_kind::stall, .stall_for = 30s});
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy->port());
        stream.expires_after(5s);
        co_await http::async_write(stream, make_request(http::verb::get, "/", proxy->port()),
                                   asio::use_awaitable);
        asio::steady_timer pause(co_await asio::this_coro::executor, 100ms);
        co_await pause.async_wait(asio::use_awaitable);

        const auto start = std::chrono::steady_clock::now();
        proxy.reset();
        EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        stream.expires_after(2s);
        auto [ec, n] = co_await http::async_read(stream, buffer, res, use_tuple);
        EXPECT_TRUE(ec == http::error::end_of_stream || ec == asio::error::connection_reset) << ec.message();
    };
    run_with_deadline(test());
}

TEST(FaultProxy, SlowDownAnswers503AndKeepsTheConnection) {
    loopback_http_server upstream([](const recorded_request& r) { return ok("upstream " + r.body); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.on_request(1, fault{.kind = fault_kind::slow_down});
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto [ec, res] = co_await exchange(
            stream, buffer, make_request(http::verb::put, "/k", proxy.port(), std::string(100000, 'x')));
        CO_ASSERT(!ec, ec.message());
        EXPECT_EQ(res.result_int(), 503u);
        EXPECT_EQ(header_of(res, "Content-Type"), "application/xml");
        EXPECT_EQ(res.body(), R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>)"
                              R"(<Message>Please reduce your request rate.</Message>)"
                              R"(<RequestId>tfsnap-fault-proxy</RequestId></Error>)");
        EXPECT_TRUE(res.keep_alive());

        auto [ec2, res2] =
            co_await exchange(stream, buffer, make_request(http::verb::put, "/k", proxy.port(), "again"));
        CO_ASSERT(!ec2, ec2.message());
        EXPECT_EQ(res2.result_int(), 200u);
        EXPECT_EQ(res2.body(), "upstream again");
    };
    run_with_deadline(test());
    ASSERT_EQ(upstream.requests().size(), 1u);
    EXPECT_EQ(upstream.requests()[0].body, "again");
    EXPECT_EQ(proxy.requests_seen(), 2u);
}

TEST(FaultProxy, TruncateCutsTheBodyShort) {
    const std::string body = pattern(1000, 3);
    loopback_http_server upstream([&](const recorded_request&) { return ok(body); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.on_request(1, fault{.kind = fault_kind::truncate, .truncate_after = 100});
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto [ec, res] =
            co_await exchange(stream, buffer, make_request(http::verb::get, "/obj", proxy.port()));
        EXPECT_TRUE(ec == http::error::partial_message || ec == asio::error::eof) << ec.message();
        EXPECT_EQ(res.result_int(), 200u);
        EXPECT_EQ(header_of(res, "Content-Length"), "1000");
        EXPECT_EQ(res.body().size(), 100u);
        EXPECT_EQ(res.body(), body.substr(0, 100));

        auto fresh = co_await connect_to(proxy.port());
        auto [ec2, res2] =
            co_await exchange(fresh, buffer, make_request(http::verb::get, "/obj", proxy.port()));
        CO_ASSERT(!ec2, ec2.message());
        EXPECT_TRUE(res2.body() == body);
    };
    run_with_deadline(test());
}

TEST(FaultProxy, TruncateAfterZeroSendsOnlyTheHead) {
    loopback_http_server upstream([](const recorded_request&) { return ok("0123456789"); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.on_request(1, fault{.kind = fault_kind::truncate});
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto [ec, res] = co_await exchange(stream, buffer, make_request(http::verb::get, "/", proxy.port()));
        EXPECT_TRUE(ec == http::error::partial_message || ec == asio::error::eof) << ec.message();
        EXPECT_EQ(header_of(res, "Content-Length"), "10");
        EXPECT_EQ(res.body(), "");
    };
    run_with_deadline(test());
}

TEST(FaultProxy, CountsRequestsOverAllConnections) {
    loopback_http_server upstream([](const recorded_request&) { return ok(); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.on_request(2, fault{.kind = fault_kind::slow_down});
    proxy.on_request(4, fault{.kind = fault_kind::slow_down});
    auto test = [&]() -> asio::awaitable<void> {
        auto a = co_await connect_to(proxy.port());
        auto b = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto [ec1, r1] = co_await exchange(a, buffer, make_request(http::verb::get, "/1", proxy.port()));
        auto [ec2, r2] = co_await exchange(b, buffer, make_request(http::verb::get, "/2", proxy.port()));
        CO_ASSERT(!(ec1 || ec2), "");
        EXPECT_EQ(r1.result_int(), 200u);
        EXPECT_EQ(r2.result_int(), 503u);
        proxy.clear();  // request 4 would have been slowed down
        auto [ec3, r3] = co_await exchange(a, buffer, make_request(http::verb::get, "/3", proxy.port()));
        auto [ec4, r4] = co_await exchange(b, buffer, make_request(http::verb::get, "/4", proxy.port()));
        CO_ASSERT(!(ec3 || ec4), "");
        EXPECT_EQ(r3.result_int(), 200u);
        EXPECT_EQ(r4.result_int(), 200u);
    };
    run_with_deadline(test());
    EXPECT_EQ(proxy.requests_seen(), 4u);
    EXPECT_EQ(upstream.requests().size(), 3u);
    EXPECT_EQ(upstream.connections_accepted(), 2u);
}

// An upstream that answers one request per connection with keep-alive semantics, then closes
// the connection anyway, as servers do with idle keep-alive connections.
asio::awaitable<void> closing_upstream(tcp::acceptor& acceptor, int connections) {
    for (int i = 0; i < connections; ++i) {
        auto [aec, socket] = co_await acceptor.async_accept(use_tuple);
        if (aec) {
            co_return;
        }
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        stream.expires_after(5s);
        co_await http::async_read(stream, buffer, req, asio::use_awaitable);
        http::response<http::string_body> res{http::status::ok, 11};
        res.body() = "connection " + std::to_string(i);
        res.prepare_payload();
        stream.expires_after(5s);
        co_await http::async_write(stream, res, asio::use_awaitable);
        stream.socket().shutdown(tcp::socket::shutdown_both);
    }
}

TEST(FaultProxy, ReopensAnUpstreamConnectionClosedWhileIdle) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    fault_proxy proxy("127.0.0.1", acceptor.local_endpoint().port());
    auto client = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto [ec1, r1] = co_await exchange(stream, buffer, make_request(http::verb::get, "/1", proxy.port()));
        CO_ASSERT(!ec1, ec1.message());
        EXPECT_EQ(r1.body(), "connection 0");
        // Let the upstream's FIN reach the proxy.
        asio::steady_timer pause(co_await asio::this_coro::executor, 100ms);
        co_await pause.async_wait(asio::use_awaitable);
        auto [ec2, r2] = co_await exchange(stream, buffer, make_request(http::verb::get, "/2", proxy.port()));
        CO_ASSERT(!ec2, ec2.message());
        EXPECT_EQ(r2.body(), "connection 1");
    };
    bool upstream_done = false;
    bool client_done = false;
    asio::co_spawn(io, closing_upstream(acceptor, 2), [&](std::exception_ptr e) {
        upstream_done = true;
        EXPECT_FALSE(e);
    });
    asio::co_spawn(io, client(), [&](std::exception_ptr e) {
        client_done = true;
        EXPECT_FALSE(e);
    });
    io.run_for(20s);
    EXPECT_TRUE(upstream_done && client_done) << "the test did not finish within 20 s";
}

TEST(FaultProxy, UnreachableUpstreamGets502) {
    std::uint16_t closed_port = 0;
    {
        asio::io_context io;
        tcp::acceptor a(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        closed_port = a.local_endpoint().port();
    }
    fault_proxy proxy("127.0.0.1", closed_port);
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto [ec, res] = co_await exchange(stream, buffer, make_request(http::verb::get, "/", proxy.port()));
        CO_ASSERT(!ec, ec.message());
        EXPECT_EQ(res.result_int(), 502u);
        EXPECT_FALSE(res.keep_alive());
    };
    run_with_deadline(test());
}

// ---------------------------------------------------------------------------------------------
// fault_proxy: random faults, rules, holds, counters and the request log

using tfsnap::test::error_dialect;
using tfsnap::test::fault_proxy_options;
using tfsnap::test::random_faults;
using tfsnap::test::rule;
using tfsnap::test::rule_action;

// Waits (up to 5 s, on the test's io_context) until `done()` holds.
asio::awaitable<bool> eventually(const std::function<bool()>& done) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (int i = 0; i < 500; ++i) {
        if (done()) {
            co_return true;
        }
        t.expires_after(10ms);
        co_await t.async_wait(use_tuple);
    }
    co_return done();
}

// One request on a fresh connection, each fault closing its own: the status, or 0 with no
// complete response.
asio::awaitable<unsigned> one_request(std::uint16_t port, std::string target) {
    auto stream = co_await connect_to(port);
    beast::flat_buffer buffer;
    auto [ec, res] =
        co_await exchange(stream, buffer, make_request(http::verb::get, std::move(target), port), 2s);
    co_return ec ? 0u : res.result_int();
}

std::vector<unsigned> random_run(std::uint64_t seed, tfsnap::test::fault_counts& counts) {
    loopback_http_server upstream([](const recorded_request&) { return ok("0123456789"); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.set_random_faults(
        random_faults{.share = 0.5,
                      .seed = seed,
                      .kinds = {fault_kind::reset, fault_kind::slow_down, fault_kind::internal_error,
                                fault_kind::truncate, fault_kind::stall},
                      .stall_for = 50ms,
                      .truncate_after = 5});
    std::vector<unsigned> statuses;
    auto test = [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 60; ++i) {
            statuses.push_back(co_await one_request(proxy.port(), "/r" + std::to_string(i)));
        }
    };
    run_with_deadline(test(), 30s);
    counts = proxy.injected();
    EXPECT_EQ(proxy.request_log().size(), 60u);
    return statuses;
}

TEST(FaultProxy, RandomFaultsHitASeededShareAndAreCounted) {
    tfsnap::test::fault_counts a, b, c;
    const auto first = random_run(7, a);
    const auto again = random_run(7, b);
    const auto other = random_run(8, c);
    EXPECT_EQ(first, again) << "the same seed gives the same faults";
    EXPECT_NE(first, other) << "another seed gives other faults";
    const auto passed = static_cast<std::size_t>(std::count(first.begin(), first.end(), 200u));
    // A truncate of a body no longer than its cut is harmless: it passes and is still counted.
    EXPECT_EQ(a.total(), 60u - passed + (a.truncate - a.truncated_bodies));
    EXPECT_GT(a.total(), 15u);
    EXPECT_LT(a.total(), 45u);
    EXPECT_GT(a.reset, 0u);
    EXPECT_GT(a.slow_down, 0u);
    EXPECT_GT(a.internal_error, 0u);
    EXPECT_GT(a.stall, 0u);
    EXPECT_EQ(std::count(first.begin(), first.end(), 503u), static_cast<std::ptrdiff_t>(a.slow_down));
    EXPECT_EQ(std::count(first.begin(), first.end(), 500u), static_cast<std::ptrdiff_t>(a.internal_error));
}

TEST(FaultProxy, DelayedRequestsArriveLateOrNotAtAll) {
    loopback_http_server upstream([](const recorded_request&) { return ok(); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.set_random_faults(random_faults{.seed = 3, .delay_max = 400ms});
    auto test = [&]() -> asio::awaitable<void> {
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 5; ++i) {
            EXPECT_EQ(co_await one_request(proxy.port(), "/d"), 200u);
        }
        EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms) << "five draws from [0, 400 ms] add up";
        // a client that leaves while its request waits: the request is dropped
        proxy.set_random_faults(random_faults{.seed = 3, .delay_max = 60'000ms});
        {
            auto stream = co_await connect_to(proxy.port());
            stream.expires_after(5s);
            co_await http::async_write(stream, make_request(http::verb::put, "/late", proxy.port(), "x"),
                                       asio::use_awaitable);
            asio::steady_timer t(co_await asio::this_coro::executor, 100ms);
            co_await t.async_wait(use_tuple);
        }
        CO_ASSERT(co_await eventually([&] { return proxy.injected().dropped == 1; }), "never dropped");
    };
    run_with_deadline(test(), 30s);
    EXPECT_EQ(upstream.requests().size(), 5u);
    EXPECT_EQ(proxy.request_log().back().action, "dropped");
}

TEST(FaultProxy, HoldKeepsTheRequestUntilReleased) {
    loopback_http_server upstream([](const recorded_request& r) { return ok("got " + r.target); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    const auto id = proxy.add_rule(rule{.match = {.method = "PUT", .path = "\\.tflock$"}, .hold_for = 20s});
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        // not matched: GET, and another path
        auto [ec0, r0] =
            co_await exchange(stream, buffer, make_request(http::verb::get, "/b/k.tflock", proxy.port()));
        CO_ASSERT(!ec0 && r0.result_int() == 200u, ec0.message());
        auto [ec1, r1] =
            co_await exchange(stream, buffer, make_request(http::verb::put, "/b/k", proxy.port(), "x"));
        CO_ASSERT(!ec1 && r1.result_int() == 200u, ec1.message());

        auto req = make_request(http::verb::put, "/b/k.tflock", proxy.port(), "lock");
        stream.expires_after(5s);
        co_await http::async_write(stream, req, asio::use_awaitable);
        CO_ASSERT(co_await eventually([&] { return proxy.status_of(id).holding == 1; }), "never held");
        EXPECT_EQ(upstream.requests().size(), 2u) << "a held request is not forwarded";
        proxy.release(id);
        http::response<http::string_body> res;
        stream.expires_after(5s);
        co_await http::async_read(stream, buffer, res, asio::use_awaitable);
        EXPECT_EQ(res.body(), "got /b/k.tflock");
        EXPECT_EQ(upstream.requests().size(), 3u);

        // released: the rule acts no more
        auto [ec2, r2] = co_await exchange(
            stream, buffer, make_request(http::verb::put, "/b/k.tflock", proxy.port(), "again"));
        CO_ASSERT(!ec2 && r2.result_int() == 200u, ec2.message());
    };
    run_with_deadline(test());
    const auto s = proxy.status_of(id);
    EXPECT_TRUE(s.exists);
    EXPECT_EQ(s.matched, 1u);
    EXPECT_EQ(s.holding, 0u);
    EXPECT_TRUE(s.released);
    const auto log = proxy.request_log(2);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[0].n, 3u);
    EXPECT_EQ(log[0].action, "held");
    EXPECT_EQ(log[0].rule, id);
    EXPECT_EQ(log[0].status, 200u);
    EXPECT_EQ(log[1].action, "pass");
}

TEST(FaultProxy, HoldEndsByItselfAfterItsTime) {
    loopback_http_server upstream([](const recorded_request&) { return ok(); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    proxy.add_rule(rule{.match = {.path = "^/slow$"}, .hold_for = 300ms});
    auto test = [&]() -> asio::awaitable<void> {
        const auto t0 = std::chrono::steady_clock::now();
        EXPECT_EQ(co_await one_request(proxy.port(), "/slow"), 200u);
        EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
    };
    run_with_deadline(test());
}

TEST(FaultProxy, HoldMatchesABodySubstringAndAHeader) {
    loopback_http_server upstream([](const recorded_request& r) { return ok("stored " + r.body); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    const auto id = proxy.add_rule(rule{
        .match = {.header = "X-Amz-Target", .header_value = "PutItem$", .body = "-md5"}, .hold_for = 20s});
    auto put_item = [&](std::string target_op, std::string body) {
        auto req = make_request(http::verb::post, "/", proxy.port(), std::move(body));
        req.set("X-Amz-Target", "DynamoDB_20120810." + target_op);
        return req;
    };
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto [ec0, r0] = co_await exchange(stream, buffer, put_item("PutItem", R"({"LockID":"b/k"})"));
        CO_ASSERT(!ec0 && r0.body() == R"(stored {"LockID":"b/k"})", r0.body());
        auto [ec1, r1] = co_await exchange(stream, buffer, put_item("GetItem", R"({"LockID":"b/k-md5"})"));
        CO_ASSERT(!ec1 && r1.result_int() == 200u, ec1.message());

        const auto digest = put_item("PutItem", R"({"LockID":"b/k-md5","Digest":"abc"})");
        stream.expires_after(5s);
        co_await http::async_write(stream, digest, asio::use_awaitable);
        CO_ASSERT(co_await eventually([&] { return proxy.status_of(id).holding == 1; }), "never held");
        EXPECT_EQ(upstream.requests().size(), 2u);
        proxy.release(id);
        http::response<http::string_body> res;
        stream.expires_after(5s);
        co_await http::async_read(stream, buffer, res, asio::use_awaitable);
        EXPECT_EQ(res.body(), R"(stored {"LockID":"b/k-md5","Digest":"abc"})");
    };
    run_with_deadline(test());
    const auto reqs = upstream.requests();
    ASSERT_EQ(reqs.size(), 3u);
    EXPECT_EQ(reqs[2].body, R"({"LockID":"b/k-md5","Digest":"abc"})");
    EXPECT_EQ(reqs[2].header("content-length"), std::to_string(reqs[2].body.size()))
        << "forwarded from memory with its own headers";
    EXPECT_EQ(reqs[2].header("x-amz-target"), "DynamoDB_20120810.PutItem");
}

TEST(FaultProxy, AHeldRequestWhoseClientLeavesIsNeverForwarded) {
    loopback_http_server upstream([](const recorded_request&) { return ok(); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    const auto id = proxy.add_rule(rule{.match = {.method = "PUT"}, .hold_for = 20s});
    auto test = [&]() -> asio::awaitable<void> {
        {
            auto stream = co_await connect_to(proxy.port());
            stream.expires_after(5s);
            co_await http::async_write(stream, make_request(http::verb::put, "/state", proxy.port(), "new"),
                                       asio::use_awaitable);
            CO_ASSERT(co_await eventually([&] { return proxy.status_of(id).holding == 1; }), "never held");
        }  // the client goes away
        CO_ASSERT(co_await eventually([&] { return proxy.status_of(id).dropped == 1; }), "never dropped");
        proxy.release(id);
        asio::steady_timer t(co_await asio::this_coro::executor, 200ms);
        co_await t.async_wait(use_tuple);
    };
    run_with_deadline(test());
    EXPECT_TRUE(upstream.requests().empty());
    EXPECT_EQ(proxy.injected().dropped, 1u);
    EXPECT_EQ(proxy.request_log().at(0).action, "dropped");
}

TEST(FaultProxy, AHeldRequestWithABodyStaysHeldUntilReleased) {
    loopback_http_server upstream(
        [](const recorded_request& r) { return ok(std::to_string(r.body.size())); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    const auto id = proxy.add_rule(rule{.match = {.method = "POST"}, .hold_for = 20s});
    const std::string body = pattern(300'000, 9);
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        stream.expires_after(5s);
        co_await http::async_write(stream, make_request(http::verb::post, "/", proxy.port(), body),
                                   asio::use_awaitable);
        CO_ASSERT(co_await eventually([&] { return proxy.status_of(id).holding == 1; }), "never held");
        asio::steady_timer t(co_await asio::this_coro::executor, 300ms);
        co_await t.async_wait(use_tuple);
        EXPECT_EQ(proxy.status_of(id).holding, 1u);
        EXPECT_EQ(proxy.status_of(id).dropped, 0u) << "a body that arrived is not a client that left";
        proxy.release(id);
        http::response<http::string_body> res;
        stream.expires_after(5s);
        co_await http::async_read(stream, buffer, res, asio::use_awaitable);
        EXPECT_EQ(res.body(), std::to_string(body.size()));
    };
    run_with_deadline(test());
    ASSERT_EQ(upstream.requests().size(), 1u);
    EXPECT_TRUE(upstream.requests()[0].body == body);
}

TEST(FaultProxy, HoldResponseLetsTheServerActFirst) {
    loopback_http_server upstream([](const recorded_request&) { return ok("done"); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    const auto id = proxy.add_rule(
        rule{.match = {.method = "PUT"}, .action = rule_action::hold_response, .hold_for = 20s});
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        stream.expires_after(5s);
        co_await http::async_write(stream, make_request(http::verb::put, "/lock", proxy.port(), "l"),
                                   asio::use_awaitable);
        CO_ASSERT(co_await eventually([&] { return proxy.status_of(id).holding == 1; }), "never held");
        EXPECT_EQ(upstream.requests().size(), 1u) << "the request went through before the hold";
        proxy.release(id);
        http::response<http::string_body> res;
        stream.expires_after(5s);
        co_await http::async_read(stream, buffer, res, asio::use_awaitable);
        EXPECT_EQ(res.body(), "done");
    };
    run_with_deadline(test());
    EXPECT_EQ(proxy.request_log().at(0).action, "held_response");
}

TEST(FaultProxy, HoldResponseCanPauseInsideTheBody) {
    const std::string body = pattern(1000, 5);
    loopback_http_server upstream([&](const recorded_request&) { return ok(body); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    const auto id = proxy.add_rule(rule{.match = {.method = "GET"},
                                        .action = rule_action::hold_response,
                                        .hold_for = 20s,
                                        .hold_after_bytes = 10});
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        stream.expires_after(5s);
        co_await http::async_write(stream, make_request(http::verb::get, "/state", proxy.port()),
                                   asio::use_awaitable);
        std::string got;
        std::array<char, 4096> buf{};
        auto body_bytes = [&] {
            const auto end = got.find("\r\n\r\n");
            return end == std::string::npos ? std::size_t{0} : got.size() - end - 4;
        };
        while (body_bytes() < 10) {
            stream.expires_after(5s);
            got.append(buf.data(), co_await stream.async_read_some(asio::buffer(buf), asio::use_awaitable));
        }
        CO_ASSERT(co_await eventually([&] { return proxy.status_of(id).holding == 1; }), "never held");
        EXPECT_EQ(body_bytes(), 10u) << "only the first 10 body bytes came before the hold";
        proxy.release(id);
        while (body_bytes() < body.size()) {
            stream.expires_after(5s);
            got.append(buf.data(), co_await stream.async_read_some(asio::buffer(buf), asio::use_awaitable));
        }
        EXPECT_TRUE(got.substr(got.find("\r\n\r\n") + 4) == body);
    };
    run_with_deadline(test());
}

TEST(FaultProxy, RuleFaultsSpeakTheDynamoDbDialect) {
    loopback_http_server upstream([](const recorded_request&) { return ok("{}"); });
    fault_proxy proxy("127.0.0.1", upstream.port(), fault_proxy_options{.dialect = error_dialect::dynamodb});
    proxy.add_rule(rule{.match = {.header = "X-Amz-Target"},
                        .action = rule_action::fault,
                        .what = fault{.kind = fault_kind::internal_error},
                        .times = 1});
    proxy.add_rule(rule{.match = {.header = "X-Amz-Target"},
                        .action = rule_action::fault,
                        .what = fault{.kind = fault_kind::slow_down},
                        .times = 1});
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        auto req = make_request(http::verb::post, "/", proxy.port(), "{}");
        req.set("X-Amz-Target", "DynamoDB_20120810.GetItem");
        auto [ec1, r1] = co_await exchange(stream, buffer, req);
        CO_ASSERT(!ec1, ec1.message());
        EXPECT_EQ(r1.result_int(), 500u);
        EXPECT_EQ(header_of(r1, "Content-Type"), "application/x-amz-json-1.0");
        EXPECT_NE(r1.body().find("#InternalServerError"), std::string::npos) << r1.body();
        auto [ec2, r2] = co_await exchange(stream, buffer, req);
        CO_ASSERT(!ec2, ec2.message());
        EXPECT_EQ(r2.result_int(), 400u);
        EXPECT_NE(r2.body().find("#ThrottlingException"), std::string::npos) << r2.body();
        auto [ec3, r3] = co_await exchange(stream, buffer, req);
        CO_ASSERT(!ec3, ec3.message());
        EXPECT_EQ(r3.result_int(), 200u) << "each rule acted once";
    };
    run_with_deadline(test());
    EXPECT_EQ(proxy.injected().internal_error, 1u);
    EXPECT_EQ(proxy.injected().slow_down, 1u);
    EXPECT_EQ(upstream.requests().size(), 1u);
}

TEST(FaultProxy, ClearReleasesHoldsAndStopsRandomFaults) {
    loopback_http_server upstream([](const recorded_request&) { return ok(); });
    fault_proxy proxy("127.0.0.1", upstream.port());
    const auto id = proxy.add_rule(rule{.match = {.path = "^/held$"}, .hold_for = 20s});
    auto test = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        stream.expires_after(5s);
        co_await http::async_write(stream, make_request(http::verb::get, "/held", proxy.port()),
                                   asio::use_awaitable);
        CO_ASSERT(co_await eventually([&] { return proxy.status_of(id).holding == 1; }), "never held");
        proxy.set_random_faults(random_faults{.share = 1, .kinds = {fault_kind::slow_down}});
        proxy.clear();
        http::response<http::string_body> res;
        stream.expires_after(5s);
        co_await http::async_read(stream, buffer, res, asio::use_awaitable);
        EXPECT_EQ(res.result_int(), 200u);
        auto [ec, r] =
            co_await exchange(stream, buffer, make_request(http::verb::get, "/next", proxy.port()));
        CO_ASSERT(!ec, ec.message());
        EXPECT_EQ(r.result_int(), 200u);
    };
    run_with_deadline(test());
    EXPECT_FALSE(proxy.status_of(id).exists);
    EXPECT_EQ(proxy.injected().total(), 0u);
}

// A "VmRSS"/"VmHWM" line of /proc/self/status, in bytes; VmHWM is the peak since the last
// reset_peak_rss().
std::size_t status_bytes(std::string_view key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(key)) {
            return std::stoul(line.substr(key.size() + 1)) * 1024;
        }
    }
    return 0;
}

bool reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

// An upstream on the test's own io_context that never holds a whole body: it counts request
// bodies through a small buffer, answers GET with `get_size` bytes written from a small buffer,
// and anything else with the byte count it read.
asio::awaitable<void> streaming_upstream(tcp::acceptor& acceptor, std::size_t get_size, int requests) {
    auto [aec, socket] = co_await acceptor.async_accept(use_tuple);
    if (aec) {
        co_return;
    }
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    std::array<char, 64 * 1024> chunk{};
    for (int i = 0; i < requests; ++i) {
        http::request_parser<http::buffer_body> p;
        p.body_limit(boost::none);
        stream.expires_after(10s);
        co_await http::async_read_header(stream, buffer, p, asio::use_awaitable);
        std::size_t received = 0;
        while (!p.is_done()) {
            p.get().body().data = chunk.data();
            p.get().body().size = chunk.size();
            stream.expires_after(10s);
            auto [ec, n] = co_await http::async_read(stream, buffer, p, use_tuple);
            if (ec && ec != http::error::need_buffer) {
                throw boost::system::system_error(ec);
            }
            received += chunk.size() - p.get().body().size;
        }
        if (p.get().method() != http::verb::get) {
            http::response<http::string_body> res{http::status::ok, 11};
            res.body() = std::to_string(received);
            res.prepare_payload();
            stream.expires_after(10s);
            co_await http::async_write(stream, res, asio::use_awaitable);
            continue;
        }
        http::response<http::buffer_body> res{http::status::ok, 11};
        res.content_length(get_size);
        http::response_serializer<http::buffer_body> sr{res};
        stream.expires_after(10s);
        co_await http::async_write_header(stream, sr, asio::use_awaitable);
        std::size_t left = get_size;
        while (!sr.is_done()) {
            const std::size_t n = std::min(left, chunk.size());
            res.body().data = n ? chunk.data() : nullptr;
            res.body().size = n;
            res.body().more = left > n;
            left -= n;
            stream.expires_after(10s);
            auto [ec, w] = co_await http::async_write(stream, sr, use_tuple);
            if (ec && ec != http::error::need_buffer) {
                throw boost::system::system_error(ec);
            }
        }
    }
}

TEST(FaultProxy, StreamsSixtyFourMebibytesWithoutHoldingThem) {
#if defined(__SANITIZE_ADDRESS__)
    constexpr std::size_t size = 16 * mib;  // the RSS check is skipped, and ASan is slow
#else
    constexpr std::size_t size = 64 * mib;
#endif
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    fault_proxy proxy("127.0.0.1", acceptor.local_endpoint().port());

    const bool peak_was_reset = reset_peak_rss();
    const std::size_t baseline = peak_was_reset ? status_bytes("VmRSS") : status_bytes("VmHWM");

    std::size_t uploaded = 0;
    std::size_t downloaded = 0;
    auto client = [&]() -> asio::awaitable<void> {
        auto stream = co_await connect_to(proxy.port());
        beast::flat_buffer buffer;
        std::array<char, 64 * 1024> chunk{};

        http::request<http::buffer_body> put{http::verb::put, "/big", 11};
        put.set(http::field::host, "127.0.0.1");
        put.content_length(size);
        http::request_serializer<http::buffer_body> sr{put};
        stream.expires_after(10s);
        co_await http::async_write_header(stream, sr, asio::use_awaitable);
        std::size_t left = size;
        while (!sr.is_done()) {
            const std::size_t n = std::min(left, chunk.size());
            put.body().data = n ? chunk.data() : nullptr;
            put.body().size = n;
            put.body().more = left > n;
            left -= n;
            stream.expires_after(10s);
            auto [ec, w] = co_await http::async_write(stream, sr, use_tuple);
            if (ec && ec != http::error::need_buffer) {
                throw boost::system::system_error(ec);
            }
        }
        http::response<http::string_body> put_res;
        stream.expires_after(10s);
        co_await http::async_read(stream, buffer, put_res, asio::use_awaitable);
        uploaded = std::stoul(put_res.body());

        auto get = make_request(http::verb::get, "/big", proxy.port());
        stream.expires_after(10s);
        co_await http::async_write(stream, get, asio::use_awaitable);
        http::response_parser<http::buffer_body> p;
        p.body_limit(boost::none);
        stream.expires_after(10s);
        co_await http::async_read_header(stream, buffer, p, asio::use_awaitable);
        while (!p.is_done()) {
            p.get().body().data = chunk.data();
            p.get().body().size = chunk.size();
            stream.expires_after(10s);
            auto [ec, n] = co_await http::async_read(stream, buffer, p, use_tuple);
            if (ec && ec != http::error::need_buffer) {
                throw boost::system::system_error(ec);
            }
            downloaded += chunk.size() - p.get().body().size;
        }
    };
    bool upstream_done = false;
    bool client_done = false;
    std::exception_ptr upstream_error;
    std::exception_ptr client_error;
    asio::co_spawn(io, streaming_upstream(acceptor, size, 2), [&](std::exception_ptr e) {
        upstream_done = true;
        upstream_error = e;
    });
    asio::co_spawn(io, client(), [&](std::exception_ptr e) {
        client_done = true;
        client_error = e;
    });
    io.run_for(40s);
    ASSERT_TRUE(upstream_done && client_done) << "the transfer did not finish within 40 s";
    for (const auto& e : {upstream_error, client_error}) {
        if (e) {
            std::rethrow_exception(e);
        }
    }
    EXPECT_EQ(uploaded, size);
    EXPECT_EQ(downloaded, size);

#if defined(__SANITIZE_ADDRESS__)
    // ASan's quarantine keeps freed memory resident (up to 256 MiB), so RSS says nothing here.
    GTEST_SKIP() << "peak RSS is not meaningful under AddressSanitizer; the transfer itself passed";
#endif
    const std::size_t peak = status_bytes("VmHWM");
    EXPECT_LT(peak, baseline + 16 * mib) << "peak RSS " << peak / mib << " MiB, before " << baseline / mib
                                         << " MiB (peak reset: " << peak_was_reset << ")";
}

// ---------------------------------------------------------------------------------------------
// fault_proxy in front of the harness's radosgw (run as support.fault_proxy_radosgw)

// The `export NAME=VALUE` lines of the harness env file; VALUE may be single-quoted.
std::map<std::string, std::string> read_env_file(const std::string& path) {
    std::map<std::string, std::string> env;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        constexpr std::string_view prefix = "export ";
        if (!line.starts_with(prefix)) {
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        std::string name = line.substr(prefix.size(), eq - prefix.size());
        std::string raw = line.substr(eq + 1);
        std::string value;
        bool quoted = false;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] == '\'') {
                quoted = !quoted;
            } else if (raw[i] == '\\' && !quoted && i + 1 < raw.size()) {
                value += raw[++i];
            } else {
                value += raw[i];
            }
        }
        env[std::move(name)] = std::move(value);
    }
    return env;
}

std::string hex(const unsigned char* data, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < size; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 0xf];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
    return hex(digest.data(), digest.size());
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &size);
    return std::string(reinterpret_cast<const char*>(mac.data()), size);
}

// A minimal SigV4 signature for path-style S3 requests with no query string and an unsigned
// payload, enough to show that a signed request still verifies after the proxy.
void sign(http::request<http::string_body>& req, const std::map<std::string, std::string>& env) {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    std::array<char, 32> stamp{};
    std::strftime(stamp.data(), stamp.size(), "%Y%m%dT%H%M%SZ", &utc);
    const std::string amz_date = stamp.data();
    const std::string date = amz_date.substr(0, 8);
    const std::string region = env.at("AWS_DEFAULT_REGION");
    const std::string scope = date + "/" + region + "/s3/aws4_request";

    req.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    req.set("x-amz-date", amz_date);
    const std::string canonical = std::string(req.method_string()) + "\n" + std::string(req.target()) +
                                  "\n\n" + "host:" + std::string(req[http::field::host]) + "\n" +
                                  "x-amz-content-sha256:UNSIGNED-PAYLOAD\n" + "x-amz-date:" + amz_date +
                                  "\n\n" + "host;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD";
    const std::string to_sign = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + sha256_hex(canonical);
    std::string key = hmac_sha256("AWS4" + env.at("AWS_SECRET_ACCESS_KEY"), date);
    key = hmac_sha256(key, region);
    key = hmac_sha256(key, "s3");
    key = hmac_sha256(key, "aws4_request");
    const std::string mac = hmac_sha256(key, to_sign);
    req.set(http::field::authorization,
            "AWS4-HMAC-SHA256 Credential=" + env.at("AWS_ACCESS_KEY_ID") + "/" + scope +
                ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" +
                hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size()));
}

class FaultProxyRadosgw : public ::testing::Test {
protected:
    void SetUp() override {
        const char* path = std::getenv("TFSNAP_HARNESS_ENV");
        ASSERT_NE(path, nullptr)
            << "TFSNAP_HARNESS_ENV is not set: run as ctest -R support.fault_proxy_radosgw";
        env_ = read_env_file(path);
        ASSERT_TRUE(env_.contains("S3_ENDPOINT")) << "no S3_ENDPOINT in " << path;
        const std::string endpoint = env_["S3_ENDPOINT"];
        constexpr std::string_view scheme = "http://";
        ASSERT_TRUE(endpoint.starts_with(scheme)) << endpoint;
        const std::string authority = endpoint.substr(scheme.size());
        const auto colon = authority.rfind(':');
        ASSERT_NE(colon, std::string::npos) << endpoint;
        host_ = authority.substr(0, colon);
        port_ = static_cast<std::uint16_t>(std::stoul(authority.substr(colon + 1)));
    }

    std::map<std::string, std::string> env_;
    std::string host_;
    std::uint16_t port_ = 0;
};

std::string s3_code(std::string_view body) {
    const auto begin = body.find("<Code>");
    const auto end = body.find("</Code>");
    if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) {
        return {};
    }
    return std::string(body.substr(begin + 6, end - begin - 6));
}

// radosgw 16 answers an anonymous ListBuckets with 200 and an empty list, and a request signed
// with the wrong secret with 403 SignatureDoesNotMatch: both answers come through unchanged.
TEST_F(FaultProxyRadosgw, AnswersComeThroughAsDirectly) {
    fault_proxy proxy(host_, port_);
    auto wrong_keys = env_;
    wrong_keys["AWS_SECRET_ACCESS_KEY"] = "not-the-secret";
    auto test = [&]() -> asio::awaitable<void> {
        beast::flat_buffer buffer;
        auto direct = co_await connect_to(port_);
        auto proxied = co_await connect_to(proxy.port());
        for (const bool badly_signed : {false, true}) {
            auto direct_req = make_request(http::verb::get, "/", port_);
            auto proxied_req = make_request(http::verb::get, "/", proxy.port());
            if (badly_signed) {
                sign(direct_req, wrong_keys);
                sign(proxied_req, wrong_keys);
            }
            auto [ec, res] = co_await exchange(direct, buffer, direct_req);
            CO_ASSERT(!ec, ec.message());
            auto [pec, pres] = co_await exchange(proxied, buffer, proxied_req);
            CO_ASSERT(!pec, pec.message());
            EXPECT_EQ(pres.result_int(), res.result_int());
            EXPECT_EQ(s3_code(pres.body()), s3_code(res.body()));
            EXPECT_EQ(std::string(pres[http::field::content_type]),
                      std::string(res[http::field::content_type]));
            if (badly_signed) {
                EXPECT_EQ(pres.result_int(), 403u);
                EXPECT_EQ(s3_code(pres.body()), "SignatureDoesNotMatch") << pres.body();
            } else {
                EXPECT_EQ(pres.result_int(), 200u);
                EXPECT_NE(pres.body().find("ListAllMyBucketsResult"), std::string::npos) << pres.body();
            }
        }
    };
    run_with_deadline(test());
    EXPECT_EQ(proxy.requests_seen(), 2u);
}

TEST_F(FaultProxyRadosgw, SignedRequestsVerifyAndFaultsApply) {
    fault_proxy proxy(host_, port_);
    const std::string bucket =
        "tfsnap-fault-proxy-" + std::to_string(::getpid()) + "-" +
        std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
    const std::string object = pattern(4 * mib, 7);
    auto test = [&]() -> asio::awaitable<void> {
        beast::flat_buffer buffer;
        auto stream = co_await connect_to(proxy.port());
        auto signed_request = [&](http::verb method, std::string target, std::string body = {}) {
            auto req = make_request(method, std::move(target), proxy.port(), std::move(body));
            sign(req, env_);
            return req;
        };

        auto [ec1, list] = co_await exchange(stream, buffer, signed_request(http::verb::get, "/"));
        CO_ASSERT(!ec1, ec1.message());
        EXPECT_EQ(list.result_int(), 200u) << list.body();
        EXPECT_NE(list.body().find("ListAllMyBucketsResult"), std::string::npos) << list.body();

        auto [ec2, mk] = co_await exchange(stream, buffer, signed_request(http::verb::put, "/" + bucket));
        CO_ASSERT(!ec2, ec2.message());
        CO_ASSERT(mk.result_int() == 200u, mk.body());

        auto [ec3, put] = co_await exchange(stream, buffer,
                                            signed_request(http::verb::put, "/" + bucket + "/state", object));
        CO_ASSERT(!ec3, ec3.message());
        EXPECT_EQ(put.result_int(), 200u) << put.body();

        auto [ec4, got] =
            co_await exchange(stream, buffer, signed_request(http::verb::get, "/" + bucket + "/state"));
        CO_ASSERT(!ec4, ec4.message());
        EXPECT_EQ(got.result_int(), 200u);
        EXPECT_TRUE(got.body() == object)
            << "the object came back different: " << got.body().size() << " bytes";

        // Request 5 is slowed down, request 6 truncated.
        proxy.on_request(5, fault{.kind = fault_kind::slow_down});
        proxy.on_request(6, fault{.kind = fault_kind::truncate, .truncate_after = 1000});
        auto [ec5, slow] =
            co_await exchange(stream, buffer, signed_request(http::verb::get, "/" + bucket + "/state"));
        CO_ASSERT(!ec5, ec5.message());
        EXPECT_EQ(slow.result_int(), 503u);
        EXPECT_EQ(s3_code(slow.body()), "SlowDown");
        auto [ec6, cut] =
            co_await exchange(stream, buffer, signed_request(http::verb::get, "/" + bucket + "/state"));
        EXPECT_TRUE(ec6 == http::error::partial_message || ec6 == asio::error::eof) << ec6.message();
        EXPECT_EQ(cut.body().size(), 1000u);
        EXPECT_EQ(std::string(cut[http::field::content_length]), std::to_string(object.size()));

        auto fresh = co_await connect_to(proxy.port());
        auto [ec7, del] =
            co_await exchange(fresh, buffer, signed_request(http::verb::delete_, "/" + bucket + "/state"));
        CO_ASSERT(!ec7, ec7.message());
        EXPECT_EQ(del.result_int(), 204u) << del.body();
        auto [ec8, rb] = co_await exchange(fresh, buffer, signed_request(http::verb::delete_, "/" + bucket));
        CO_ASSERT(!ec8, ec8.message());
        EXPECT_EQ(rb.result_int(), 204u) << rb.body();
    };
    run_with_deadline(test(), 60s);
    EXPECT_EQ(proxy.requests_seen(), 8u);
}

}  // namespace
