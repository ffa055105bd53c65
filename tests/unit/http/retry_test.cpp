#include "tfsnap/http/retry.hpp"

#include "support/run_sync.hpp"
#include "tfsnap/core/error.hpp"
#include "tfsnap/http/error.hpp"

#include <gtest/gtest.h>
#include <boost/asio/error.hpp>

#include <vector>

namespace {

using namespace tfsnap::http;
namespace asio = boost::asio;
using boost::system::error_code;

TEST(HttpRetry, ClassifierTable) {
    struct row {
        error_code ec;
        bool idempotent_retry;
        bool non_idempotent_retry;
    };
    const row rows[] = {
        {{}, false, false},
        {errc::connect_failed, true, true},  // never reached the server
        {errc::resolve_failed, true, true},
        {errc::tls_handshake_failed, true, true},
        {errc::timeout, true, false},  // the server may have acted
        {errc::send_failed, true, false},
        {errc::receive_failed, true, false},
        {errc::truncated_body, true, false},
        {errc::server_error, true, false},
        {errc::tls_verify_failed, false, false},  // retrying cannot fix a certificate
        {errc::body_too_large, false, false},
        {errc::header_too_large, false, false},
        {errc::bad_response, false, false},
        {asio::error::connection_reset, true, false},
        {asio::error::connection_refused, true, true},
        {asio::error::operation_aborted, false, false},  // cancellation is final
        {tfsnap::core::errc::timeout, true, false},
        {tfsnap::core::errc::not_found, false, false},
    };
    for (const auto& r : rows) {
        EXPECT_EQ(is_retryable(r.ec, true), r.idempotent_retry) << r.ec.message();
        EXPECT_EQ(is_retryable(r.ec, false), r.non_idempotent_retry) << r.ec.message();
    }
}

TEST(HttpRetry, StatusErrors) {
    for (unsigned s : {500u, 502u, 503u, 504u})
        EXPECT_EQ(status_error(s), errc::server_error) << s;
    for (unsigned s : {200u, 204u, 301u, 400u, 403u, 404u, 409u, 412u, 501u})
        EXPECT_FALSE(status_error(s)) << s;
}

TEST(HttpRetry, FullJitterBackoffStaysWithinTheCap) {
    const retry_policy p{.max_attempts = 10,
                         .base_delay = std::chrono::milliseconds(100),
                         .max_delay = std::chrono::milliseconds(2000)};
    EXPECT_EQ(backoff_delay(p, 0, 0.0).count(), 0);
    EXPECT_EQ(backoff_delay(p, 0, 0.5).count(), 50);
    EXPECT_EQ(backoff_delay(p, 1, 0.5).count(), 100);
    EXPECT_EQ(backoff_delay(p, 3, 0.999).count(), 799);
    EXPECT_EQ(backoff_delay(p, 10, 0.5).count(), 1000);  // capped at 2000 before jitter
    EXPECT_EQ(backoff_delay(p, 1000, 0.5).count(), 1000);
}

TEST(HttpRetry, RetriesTransientErrorsUntilSuccess) {
    asio::io_context io;
    const retry_policy p{.max_attempts = 5,
                         .base_delay = std::chrono::milliseconds(0),
                         .max_delay = std::chrono::milliseconds(0)};
    std::vector<error_code> script{errc::server_error, errc::timeout, {}};
    std::size_t calls = 0;
    std::vector<int> retried;
    const auto out = tfsnap::test::run_sync(
        io,
        with_retries(
            p, true, [] { return 0.5; },
            [&]() -> asio::awaitable<error_code> { co_return script.at(calls++); },
            [&](const error_code&, int attempt, std::chrono::milliseconds) { retried.push_back(attempt); }));
    EXPECT_FALSE(out.ec);
    EXPECT_EQ(out.attempts, 3);
    EXPECT_EQ(retried, (std::vector<int>{1, 2}));
}

TEST(HttpRetry, StopsAtOnceOnAPermanentError) {
    asio::io_context io;
    std::size_t calls = 0;
    const auto out = tfsnap::test::run_sync(io, with_retries(
                                                    retry_policy{}, true, [] { return 0.0; },
                                                    [&]() -> asio::awaitable<error_code> {
                                                        ++calls;
                                                        co_return errc::tls_verify_failed;
                                                    }));
    EXPECT_EQ(out.ec, errc::tls_verify_failed);
    EXPECT_EQ(calls, 1u);
}

TEST(HttpRetry, NonIdempotentIsNotRetriedAfterTheServerMayHaveActed) {
    asio::io_context io;
    std::size_t calls = 0;
    const auto out = tfsnap::test::run_sync(io, with_retries(
                                                    retry_policy{}, false, [] { return 0.0; },
                                                    [&]() -> asio::awaitable<error_code> {
                                                        ++calls;
                                                        co_return errc::receive_failed;
                                                    }));
    EXPECT_EQ(out.ec, errc::receive_failed);
    EXPECT_EQ(calls, 1u);
}

TEST(HttpRetry, GivesUpAfterMaxAttempts) {
    asio::io_context io;
    const retry_policy p{.max_attempts = 3,
                         .base_delay = std::chrono::milliseconds(0),
                         .max_delay = std::chrono::milliseconds(0)};
    std::size_t calls = 0;
    const auto out = tfsnap::test::run_sync(io, with_retries(
                                                    p, true, [] { return 0.0; },
                                                    [&]() -> asio::awaitable<error_code> {
                                                        ++calls;
                                                        co_return errc::server_error;
                                                    }));
    EXPECT_EQ(out.ec, errc::server_error);
    EXPECT_EQ(out.attempts, 3);
    EXPECT_EQ(calls, 3u);
}

}  // namespace
