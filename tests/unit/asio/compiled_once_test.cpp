// Proves that code using Asio, Asio SSL and Beast links against the compiled-once tfsnap_asio
// library (no header-only instantiation in this translation unit) and that an awaitable runs.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <gtest/gtest.h>

#include <sstream>

namespace {

#ifndef BOOST_ASIO_SEPARATE_COMPILATION
#error "tfsnap_asio must export BOOST_ASIO_SEPARATE_COMPILATION"
#endif
#ifndef BOOST_BEAST_SEPARATE_COMPILATION
#error "tfsnap_asio must export BOOST_BEAST_SEPARATE_COMPILATION"
#endif

namespace asio = boost::asio;
namespace http = boost::beast::http;

asio::awaitable<int> answer() {
    co_return 42;
}

TEST(AsioCompiledOnce, AwaitableRunsOnIoContext) {
    asio::io_context io;
    int got = 0;
    asio::co_spawn(io, answer(), [&](std::exception_ptr e, int v) {
        ASSERT_FALSE(e);
        got = v;
    });
    io.run();
    EXPECT_EQ(got, 42);
}

TEST(AsioCompiledOnce, SslContextVerifiesPeersWhenAsked) {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    EXPECT_EQ(SSL_CTX_get_verify_mode(ctx.native_handle()), SSL_VERIFY_PEER);
}

TEST(AsioCompiledOnce, BeastSerialisesARequest) {
    http::request<http::string_body> req{http::verb::get, "/v1/status", 11};
    req.set(http::field::host, "localhost");
    std::ostringstream out;
    out << req;
    EXPECT_EQ(out.str(), "GET /v1/status HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

}  // namespace
