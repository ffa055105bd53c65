// The HTTP exchange over beast::test::stream: correct parsing, every error path classified,
// and a fail_count loop that fails each stream operation in turn.
#include "tfsnap/http/detail/exchange.hpp"

#include "support/run_sync.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/fail_count.hpp>
#include <boost/beast/_experimental/test/stream.hpp>

#include <filesystem>
#include <fstream>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace tfsnap::http;
using boost::system::error_code;
using detail::deadline;
using detail::steady;

const url origin = *parse_url("http://127.0.0.1:7480");

struct outcome {
    error_code ec;
    result r;
    detail::exchange_state st;
    std::string sent;  // what the client wrote
};

// Runs one exchange against a peer that answers `reply` (and then closes, if `close`).
outcome exchange(const request& req, const std::string& reply, body_sink& sink, client_config cfg = {},
                 beast::test::fail_count* fc = nullptr, bool close = true, bool reused = false,
                 steady::duration budget = std::chrono::seconds(30)) {
    asio::io_context io;
    beast::test::fail_count never(1000000);
    beast::test::stream client(io, fc ? *fc : never);
    beast::test::stream server(io);
    client.connect(server);
    client.append(reply);  // what the client will read
    if (close)
        client.close_remote();  // then end of stream
    outcome out;
    out.st.reused = reused;
    beast::flat_buffer buffer;
    const deadline d{steady::now() + budget};
    out.ec = tfsnap::test::run_sync(io, detail::exchange(client, buffer, origin, req, cfg, sink, d, out.r,
                                                         out.st, [](steady::duration) {}));
    out.sent = std::string(server.str());
    return out;
}

request get(std::string target = "/bucket/key") {
    request r;
    r.method = bhttp::verb::get;
    r.target = std::move(target);
    return r;
}

TEST(HttpExchange, ReadsStatusHeadersAndBody) {
    string_sink body;
    const auto out =
        exchange(get(), "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: 5\r\n\r\nhello", body);
    ASSERT_FALSE(out.ec) << out.ec.message();
    EXPECT_EQ(out.r.res.status, 200u);
    EXPECT_EQ(out.r.res.headers["etag"], "\"abc\"");
    EXPECT_EQ(body.data(), "hello");
    EXPECT_TRUE(out.st.reusable);
    EXPECT_EQ(out.sent.substr(0, 29), "GET /bucket/key HTTP/1.1\r\nHos");
    EXPECT_NE(out.sent.find("Host: 127.0.0.1:7480\r\n"), std::string::npos);
    EXPECT_NE(out.sent.find("User-Agent: tfsnap\r\n"), std::string::npos);
}

TEST(HttpExchange, KeepsACallerHostHeader) {
    string_sink body;
    auto req = get();
    req.headers.set(bhttp::field::host, "bucket.s3.amazonaws.com");
    const auto out = exchange(req, "HTTP/1.1 204 No Content\r\n\r\n", body);
    ASSERT_FALSE(out.ec);
    EXPECT_NE(out.sent.find("Host: bucket.s3.amazonaws.com\r\n"), std::string::npos);
    EXPECT_EQ(out.sent.find("Host: 127.0.0.1"), std::string::npos);
}

TEST(HttpExchange, ChunkedBodyIsReassembled) {
    string_sink body;
    const auto out = exchange(
        get(), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
        body);
    ASSERT_FALSE(out.ec) << out.ec.message();
    EXPECT_EQ(body.data(), "abcdefg");
}

TEST(HttpExchange, HeadResponseHasNoBodyDespiteContentLength) {
    string_sink body;
    auto req = get();
    req.method = bhttp::verb::head;
    const auto out =
        exchange(req, "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n", body, {}, nullptr, false);
    ASSERT_FALSE(out.ec) << out.ec.message();
    EXPECT_EQ(out.r.res.headers["content-length"], "1048576");
    EXPECT_EQ(body.data(), "");
}

TEST(HttpExchange, ConnectionCloseIsNotReusable) {
    string_sink body;
    const auto out =
        exchange(get(), "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", body);
    ASSERT_FALSE(out.ec);
    EXPECT_FALSE(out.st.reusable);
}

TEST(HttpExchange, ShortBodyIsNeverSuccess) {
    string_sink body;
    const auto out = exchange(get(), "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", body);
    EXPECT_EQ(out.ec, errc::truncated_body);
    EXPECT_EQ(out.r.info.phase, "receive");
}

TEST(HttpExchange, OversizedHeaderIsRefused) {
    string_sink body;
    client_config cfg;
    cfg.max_header_bytes = 100;
    const auto out =
        exchange(get(), "HTTP/1.1 200 OK\r\nX-Big: " + std::string(500, 'x') + "\r\n\r\n", body, cfg);
    EXPECT_EQ(out.ec, errc::header_too_large);
}

TEST(HttpExchange, OversizedBodyIsRefusedByTheSink) {
    string_sink body(3);
    const auto out = exchange(get(), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", body);
    EXPECT_EQ(out.ec, errc::body_too_large);
}

TEST(HttpExchange, OversizedBodyIsRefusedByTheClientLimit) {
    string_sink body;
    client_config cfg;
    cfg.max_body_bytes = 4;
    const auto out = exchange(get(), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", body, cfg);
    EXPECT_EQ(out.ec, errc::body_too_large);
}

TEST(HttpExchange, GarbageIsABadResponse) {
    string_sink body;
    const auto out = exchange(get(), "SSH-2.0-OpenSSH_9.2\r\n\r\n", body);
    EXPECT_EQ(out.ec, errc::bad_response);
}

TEST(HttpExchange, ClosedBeforeAnyByteIsStaleOnlyWhenReused) {
    string_sink body;
    auto out = exchange(get(), "", body, {}, nullptr, true, /*reused=*/true);
    EXPECT_EQ(out.ec, errc::receive_failed);
    EXPECT_TRUE(out.st.stale);
    out = exchange(get(), "", body, {}, nullptr, true, /*reused=*/false);
    EXPECT_EQ(out.ec, errc::receive_failed);
    EXPECT_FALSE(out.st.stale);
}

TEST(HttpExchange, ExpiredDeadlineDoesNoIo) {
    string_sink body;
    const auto out = exchange(get(), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", body, {}, nullptr, true,
                              false, std::chrono::seconds(-1));
    EXPECT_EQ(out.ec, errc::timeout);
    EXPECT_EQ(out.sent, "");
}

TEST(HttpExchange, MemoryBodyIsSentWithItsLength) {
    string_sink body;
    const std::string payload = "{\"serial\": 7}";
    auto req = get();
    req.method = bhttp::verb::put;
    req.body = body_source::memory(payload);
    const auto out = exchange(req, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", body);
    ASSERT_FALSE(out.ec);
    EXPECT_NE(out.sent.find("Content-Length: 13\r\n\r\n{\"serial\": 7}"), std::string::npos) << out.sent;
}

TEST(HttpExchange, FileBodyIsStreamedAndAMissingFileReported) {
    const auto path =
        std::filesystem::temp_directory_path() / ("tfsnap-upload-" + std::to_string(::getpid()));
    std::ofstream(path) << std::string(200000, 'z');
    string_sink body;
    auto req = get();
    req.method = bhttp::verb::put;
    req.body = body_source::file(path.string());
    auto out = exchange(req, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", body);
    ASSERT_FALSE(out.ec) << out.ec.message();
    EXPECT_NE(out.sent.find("Content-Length: 200000\r\n"), std::string::npos);
    EXPECT_EQ(out.sent.size() - out.sent.find("\r\n\r\n") - 4, 200000u);
    std::filesystem::remove(path);
    out = exchange(req, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", body);
    EXPECT_EQ(out.ec, errc::body_source_failed);
}

// Fails the 1st, 2nd, ... stream operation until the exchange gets through. Every failure
// must be a classified, retryable error; none may be taken as success.
TEST(HttpExchange, FailCountLoopEveryOperationFailsCleanly) {
    const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world";
    int failures = 0;
    for (std::size_t n = 0; n < 100; ++n) {
        beast::test::fail_count fc(n);
        string_sink body;
        const auto out = exchange(get(), reply, body, {}, &fc);
        if (!out.ec) {
            EXPECT_EQ(body.data(), "hello world");
            EXPECT_EQ(out.r.res.status, 200u);
            break;
        }
        ++failures;
        EXPECT_TRUE(out.ec == errc::send_failed || out.ec == errc::receive_failed ||
                    out.ec == errc::truncated_body)
            << "operation " << n << ": " << out.ec.message();
        EXPECT_FALSE(out.r.info.phase.empty());
        EXPECT_EQ(out.r.res.status, 0u) << "a failed exchange must not report a status";
    }
    EXPECT_GT(failures, 1);
}

}  // namespace
