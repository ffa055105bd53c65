#pragma once
// Shared helpers of the aws unit tests: a scripted in-memory transport, a provider context over
// a fake clock and a memory log, a temporary directory, and a runner that drives a coroutine on
// an io_context with a deadline and checks that no work is left over.
//
// Secrets in tests: values that stand for secrets are compared with EXPECT_TRUE(a == b) on
// core::secret or with `has_header`, never with EXPECT_EQ on the text, so a failure never
// prints them.

#include "tfsnap/aws/credentials_provider.hpp"
#include "tfsnap/aws/detail/exchange.hpp"
#include "tfsnap/core/clock.hpp"
#include "tfsnap/core/logger.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tfsnap::aws::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// 2024-06-01T12:00:00Z, the time every test starts at.
inline core::time_point test_epoch() {
    using namespace std::chrono;
    return sys_days{year{2024} / June / 1} + hours{12};
}

// Deadline for a whole test's I/O; only reached when a test hangs.
inline constexpr auto test_deadline = std::chrono::seconds(20);

// Drives `a` on `io` to completion and returns its value. Fails the test when the coroutine
// has not finished by the deadline, rethrows its exception, and checks that no work is left.
template <class T>
T run(asio::io_context& io, asio::awaitable<T> a) {
    std::optional<T> result;
    std::exception_ptr error;
    bool finished = false;
    asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
        finished = true;
        error = e;
        if (!e)
            result.emplace(std::move(v));
    });
    io.restart();
    io.run_for(test_deadline);
    EXPECT_TRUE(finished) << "the coroutine did not finish before the test deadline";
    EXPECT_TRUE(io.stopped()) << "work was left outstanding on the io_context";
    if (error)
        std::rethrow_exception(error);
    if (!result)
        return T{};
    return std::move(*result);
}

inline http_result reply(unsigned status, std::string body = {}) {
    http_result r;
    r.reply.status = status;
    r.reply.body = std::move(body);
    return r;
}

inline http_result network_failure(boost::system::error_code ec = asio::error::timed_out) {
    http_result r;
    r.ec = ec;
    return r;
}

// A transport that records every call and answers with `handler`. With `hold()`, calls wait
// until `release()`, so tests can start many callers while one exchange is in flight.
class scripted_transport {
public:
    std::function<http_result(const http_call&)> handler = [](const http_call&) { return reply(404); };

    transport as_transport() {
        return [this](http_call c) { return handle(std::move(c)); };
    }

    const std::vector<http_call>& calls() const noexcept { return calls_; }
    std::size_t count_to(std::string_view url_part) const {
        std::size_t n = 0;
        for (const auto& c : calls_) {
            if (c.url.find(url_part) != std::string::npos)
                ++n;
        }
        return n;
    }

    void hold(asio::io_context& io) {
        gate_ = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
    }
    void release() {
        if (gate_)
            gate_->cancel();
        gate_.reset();
    }
    std::size_t waiting() const noexcept { return waiting_; }

private:
    asio::awaitable<http_result> handle(http_call c) {
        calls_.push_back(std::move(c));
        const std::size_t index = calls_.size() - 1;
        if (auto gate = gate_) {
            ++waiting_;
            co_await gate->async_wait(asio::as_tuple(asio::use_awaitable));
            --waiting_;
        }
        co_return handler(calls_[index]);
    }

    std::vector<http_call> calls_;
    std::shared_ptr<asio::steady_timer> gate_;
    std::size_t waiting_ = 0;
};

// True when the call has header `name` with exactly `value` (which may be a secret: the value
// is never printed).
inline bool has_header(const http_call& c, std::string_view name, std::string_view value) {
    const auto* v = detail::find_header(c.headers, name);
    return v && *v == value;
}
inline bool has_header(const http_call& c, std::string_view name) {
    return detail::find_header(c.headers, name) != nullptr;
}
inline std::string header_or_empty(const http_call& c, std::string_view name) {
    const auto* v = detail::find_header(c.headers, name);
    return v ? *v : std::string();
}

// A provider context over a fake clock, a memory log and a scripted transport.
class context_fixture {
public:
    core::fake_clock clock{test_epoch()};
    core::memory_sink sink;
    scripted_transport net;

    provider_context make_context(environment env = {}, std::string region = "us-east-1") {
        return provider_context{
            .env = std::move(env),
            .http = net.as_transport(),
            .clock = clock,
            .log = core::logger(sink, core::log_level::debug),
            .region = std::move(region),
            .endpoints = {},
            .timeouts = {},
            .cache = {},
        };
    }
    context_ptr make_context_ptr(environment env = {}, std::string region = "us-east-1") {
        return std::make_shared<const provider_context>(make_context(std::move(env), std::move(region)));
    }

    std::size_t log_count(core::log_level level) const {
        std::size_t n = 0;
        for (const auto& r : sink.records()) {
            if (r.level == level)
                ++n;
        }
        return n;
    }
    // Every log record as one line, to check that no secret reached the log.
    std::string all_log_text() const {
        std::string out;
        for (const auto& r : sink.records())
            out += core::format_log_line(r.level, r.message, r.fields) + "\n";
        return out;
    }
};

// A directory under $TMPDIR (or /tmp), removed with everything in it.
class temp_dir {
public:
    temp_dir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/tfsnap-aws-test-XXXXXX";
        if (!::mkdtemp(tmpl.data()))
            throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::string& path() const noexcept { return path_; }

    std::string write(const std::string& name, std::string_view content) const {
        const std::string p = path_ + "/" + name;
        std::filesystem::create_directories(std::filesystem::path(p).parent_path());
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out << content;
        return p;
    }

private:
    std::string path_;
};

// Documented sample documents, adapted to the test clock (see each test for the source).

// EC2 User Guide, "Retrieve security credentials from instance metadata" (example output).
inline std::string imds_credentials_json(std::string_view expiration = "2024-06-01T18:00:00Z") {
    return std::string(R"({
  "Code" : "Success",
  "LastUpdated" : "2024-06-01T11:55:00Z",
  "Type" : "AWS-HMAC",
  "AccessKeyId" : "ASIAIOSFODNN7EXAMPLE",
  "SecretAccessKey" : "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "Token" : "IMDS-SESSION-TOKEN-EXAMPLE",
  "Expiration" : ")") +
           std::string(expiration) + "\"\n}";
}

// STS API Reference, AssumeRole "Examples" (sample response), with our times.
inline std::string assume_role_xml(std::string_view akid = "ASIAIOSFODNN7EXAMPLE",
                                   std::string_view expiration = "2024-06-01T13:00:00Z") {
    return std::string(R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleResult>
<SourceIdentity>Alice</SourceIdentity>
  <AssumedRoleUser>
    <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>
    <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>
  </AssumedRoleUser>
  <Credentials>
    <AccessKeyId>)") +
           std::string(akid) + R"(</AccessKeyId>
    <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
    <SessionToken>
     AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW
    </SessionToken>
    <Expiration>)" +
           std::string(expiration) + R"(</Expiration>
  </Credentials>
  <PackedPolicySize>6</PackedPolicySize>
</AssumeRoleResult>
<ResponseMetadata>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
</ResponseMetadata>
</AssumeRoleResponse>)";
}

// STS API Reference, AssumeRoleWithWebIdentity "Examples" (sample response), with our times.
inline std::string web_identity_xml(std::string_view expiration = "2024-06-01T13:00:00Z") {
    return std::string(
               R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>
    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>)") +
           std::string(expiration) + R"(</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
    <SourceIdentity>SourceIdentityValue</SourceIdentity>
    <Provider>www.amazon.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>)";
}

// STS API Reference, "Common errors" / query API error responses.
inline std::string sts_error_xml(std::string_view code = "AccessDenied",
                                 std::string_view message =
                                     "User: arn:aws:iam::123456789012:user/ops is not "
                                     "authorized to perform: sts:AssumeRole") {
    return std::string(R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>)") +
           std::string(code) + "</Code>\n    <Message>" + std::string(message) + R"(</Message>
  </Error>
  <RequestId>0e3bd95c-ba7a-11e9-9c52-EXAMPLE</RequestId>
</ErrorResponse>)";
}

}  // namespace tfsnap::aws::test
