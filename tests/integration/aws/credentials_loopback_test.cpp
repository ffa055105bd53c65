// The credential providers over real loopback sockets: http::client + aws::make_transport against
// scripted stand-ins for EC2 IMDS, the container credentials endpoint and STS, each one a
// loopback_http_server on 127.0.0.1 with its own thread.
//
// The stand-ins answer as these AWS documentation pages describe the services:
// - EC2 User Guide, "How Instance Metadata Service Version 2 works"
//   (docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html):
//   PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1 to 21600; the header is
//   required, 400 without it) returns the session token as the body; every GET then carries
//   X-aws-ec2-metadata-token, and a missing, invalid or expired token is 401 Unauthorized.
// - EC2 User Guide, "Retrieve security credentials from instance metadata"
//   (.../instance-metadata-security-credentials.html): GET
//   /latest/meta-data/iam/security-credentials/ lists the role name, and .../<role> returns
//   {"Code": "Success", ..., "AccessKeyId", "SecretAccessKey", "Token", "Expiration"}.
// - AWS SDKs and Tools Reference Guide, "IMDS credential provider"
//   (docs.aws.amazon.com/sdkref/latest/guide/feature-imds-credentials.html):
//   AWS_EC2_METADATA_DISABLED=true means IMDS is not contacted at all.
// - AWS SDKs and Tools Reference Guide, "Container credential provider"
//   (.../sdkref/latest/guide/feature-container-credentials.html) and the Amazon ECS Developer
//   Guide, "Task IAM role": GET of 169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or of
//   AWS_CONTAINER_CREDENTIALS_FULL_URI with the Authorization header from
//   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (preferred) or AWS_CONTAINER_AUTHORIZATION_TOKEN; the
//   answer is {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"}, errors may
//   come as {"code": ..., "message": ...}.
// - STS API Reference, "AssumeRole", "AssumeRoleWithWebIdentity", "Common Parameters" and
//   "Common Errors" (docs.aws.amazon.com/STS/latest/APIReference/): POST / with
//   Content-Type application/x-www-form-urlencoded, Action, Version=2011-06-15, RoleArn,
//   RoleSessionName, ExternalId, DurationSeconds (WebIdentityToken for web identity, unsigned);
//   XML replies, <ErrorResponse><Error><Type/><Code/><Message/></Error> for errors, throttling
//   as Code Throttling with HTTP 400.
// - IAM User Guide, "Create a signed AWS API request" (SigV4): the Authorization header's
//   Credential=<key>/<yyyymmdd>/<region>/sts/aws4_request, SignedHeaders and Signature, checked
//   here by signing the recorded request again.
//
// Secrets (secret keys, session tokens, IMDS tokens, authorization and web identity tokens) are
// compared inside EXPECT_TRUE, so a failure never prints them.
#include "tfsnap/aws/caching_provider.hpp"
#include "tfsnap/aws/http_transport.hpp"
#include "tfsnap/aws/make_provider.hpp"
#include "tfsnap/aws/providers.hpp"
#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/http/retry.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include "support/loopback_http_server.hpp"
#include "unit/aws/aws_test_util.hpp"

#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace aws = tfsnap::aws;
namespace aws_test = tfsnap::aws::test;
namespace core = tfsnap::core;
namespace http = tfsnap::http;
namespace sigv4 = tfsnap::sigv4;
using namespace std::chrono_literals;
using tfsnap::test::canned_response;
using tfsnap::test::loopback_http_server;
using tfsnap::test::recorded_request;
using steady = std::chrono::steady_clock;

constexpr std::string_view role_name = "tfsnap-instance-role";
constexpr std::string_view credentials_list = "/latest/meta-data/iam/security-credentials/";

// A stand-in for EC2 IMDSv2 with HttpTokens=required (see the header comment). Tokens are
// "imds-session-token-N" in the order they are issued.
class imds_stand_in {
public:
    imds_stand_in() : server_([this](const recorded_request& r) { return answer(r); }) {}

    std::string url() const { return server_.url(); }
    std::vector<recorded_request> requests() const { return server_.requests(); }
    std::size_t connections() const { return server_.connections_accepted(); }
    static std::string token(int n) { return "imds-session-token-" + std::to_string(n); }

    // The n-th GET (1-based) finds every token issued so far invalidated, as after a restart of
    // the service, and is answered 401.
    void invalidate_tokens_at_get(int n) {
        std::lock_guard lock(mutex_);
        invalidate_at_get_ = n;
    }
    // Every GET is answered 401, whatever token it carries.
    void refuse_every_token() {
        std::lock_guard lock(mutex_);
        refuse_all_ = true;
    }
    // The token request is answered late (deadline tests) or with another status.
    void token_answer(std::chrono::milliseconds delay, unsigned status = 200) {
        std::lock_guard lock(mutex_);
        token_delay_ = delay;
        token_status_ = status;
    }

private:
    canned_response answer(const recorded_request& r) {
        std::lock_guard lock(mutex_);
        if (r.target == "/latest/api/token") {
            if (r.method != "PUT")
                return {.status = 405};
            const std::string ttl = r.header("x-aws-ec2-metadata-token-ttl-seconds");
            int seconds = 0;
            try {
                seconds = std::stoi(ttl);
            } catch (const std::exception&) {
                seconds = 0;
            }
            if (seconds < 1 || seconds > 21600)
                return {.status = 400, .body = "Missing or invalid TTL header"};
            if (token_status_ != 200)
                return {.status = token_status_, .delay = token_delay_};
            const std::string t = token(++issued_);
            valid_.insert(t);
            return {
                .status = 200,
                .headers = {{"Content-Type", "text/plain"}, {"X-aws-ec2-metadata-token-ttl-seconds", ttl}},
                .body = t,
                .delay = token_delay_};
        }
        if (r.method != "GET")
            return {.status = 405};
        ++gets_;
        if (refuse_all_ || valid_.count(r.header("x-aws-ec2-metadata-token")) == 0)
            return {.status = 401};
        if (gets_ == invalidate_at_get_) {
            valid_.clear();
            return {.status = 401};
        }
        if (r.target == credentials_list)
            return {
                .status = 200, .headers = {{"Content-Type", "text/plain"}}, .body = std::string(role_name)};
        if (r.target == std::string(credentials_list) + std::string(role_name))
            return {.status = 200,
                    .headers = {{"Content-Type", "text/plain"}},
                    .body = aws_test::imds_credentials_json()};
        return {.status = 404};
    }

    mutable std::mutex mutex_;
    std::set<std::string> valid_;
    int issued_ = 0;
    int gets_ = 0;
    int invalidate_at_get_ = 0;
    bool refuse_all_ = false;
    std::chrono::milliseconds token_delay_{0};
    unsigned token_status_ = 200;
    loopback_http_server server_;  // last: it calls answer() until it is destroyed
};

// The container endpoint's credentials document (Amazon ECS Developer Guide, "Task IAM role").
std::string container_credentials_json() {
    return R"({
  "AccessKeyId": "ASIAECSEXAMPLE",
  "Expiration": "2024-06-01T18:00:00Z",
  "RoleArn": "arn:aws:iam::123456789012:role/task-role",
  "SecretAccessKey": "ecs/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "Token": "ECS-SESSION-TOKEN-EXAMPLE"
})";
}

// A container endpoint that accepts `token` as its Authorization header (none: no header).
loopback_http_server::handler container_endpoint(std::string token) {
    return [token = std::move(token)](const recorded_request& r) -> canned_response {
        if (r.method != "GET")
            return {.status = 405};
        if (r.header("authorization") != token) {
            return {.status = 401,
                    .headers = {{"Content-Type", "application/json"}},
                    .body = R"({"code": "InvalidToken", "message": "the authorization token is not valid"})"};
        }
        return {.status = 200,
                .headers = {{"Content-Type", "application/json"}},
                .body = container_credentials_json()};
    };
}

std::string url_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// application/x-www-form-urlencoded, decoded. A repeated name would be a bug: it is kept twice
// with a suffix so the size checks catch it.
std::map<std::string, std::string> parse_form(std::string_view body) {
    std::map<std::string, std::string> out;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const auto pair = body.substr(0, amp);
        const auto eq = pair.find('=');
        std::string name = url_decode(pair.substr(0, eq));
        std::string value = eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
        while (out.count(name) != 0)
            name += "#again";
        out.emplace(std::move(name), std::move(value));
        body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    }
    return out;
}

// STS as the query API answers it: AssumeRole must be signed, AssumeRoleWithWebIdentity is not.
canned_response sts_success(const recorded_request& r) {
    const auto form = parse_form(r.body);
    const auto action = form.find("Action");
    const auto xml = [](unsigned status, std::string body) {
        return canned_response{
            .status = status, .headers = {{"Content-Type", "text/xml"}}, .body = std::move(body)};
    };
    if (r.method != "POST" || r.target != "/" || action == form.end())
        return xml(400, aws_test::sts_error_xml("MissingAction", "no Action"));
    if (action->second == "AssumeRole") {
        if (r.header("authorization").empty())
            return xml(403, aws_test::sts_error_xml("MissingAuthenticationToken", "not signed"));
        return xml(200, aws_test::assume_role_xml());
    }
    if (action->second == "AssumeRoleWithWebIdentity")
        return xml(200, aws_test::web_identity_xml());
    return xml(400, aws_test::sts_error_xml("InvalidAction", "unknown action"));
}

canned_response sts_error_reply(unsigned status, std::string_view code, std::string_view message) {
    return {.status = status,
            .headers = {{"Content-Type", "text/xml"}},
            .body = aws_test::sts_error_xml(code, message)};
}

struct authorization_parts {
    std::string algorithm;
    std::string credential;
    std::string signed_headers;
    std::string signature;
};

// "AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=.."
authorization_parts split_authorization(std::string_view v) {
    authorization_parts p;
    const auto space = v.find(' ');
    p.algorithm = std::string(v.substr(0, space));
    v = space == std::string_view::npos ? std::string_view() : v.substr(space + 1);
    while (!v.empty()) {
        const auto comma = v.find(',');
        auto item = v.substr(0, comma);
        while (!item.empty() && item.front() == ' ')
            item.remove_prefix(1);
        const auto eq = item.find('=');
        const auto name = item.substr(0, eq);
        const std::string value(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
        if (name == "Credential")
            p.credential = value;
        else if (name == "SignedHeaders")
            p.signed_headers = value;
        else if (name == "Signature")
            p.signature = value;
        v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    }
    return p;
}

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
std::uint16_t closed_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::address_v4::loopback(), 0});
    const auto port = a.local_endpoint().port();
    a.close();
    return port;
}

long long elapsed_ms(steady::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - since).count();
}

class CredentialsLoopback : public ::testing::Test {
protected:
    asio::io_context io;
    http::client client{io.get_executor(), http::client_config{}};
    core::fake_clock clock{aws_test::test_epoch()};
    core::memory_sink sink;
    aws_test::temp_dir dir;

    aws::provider_context context(aws::environment env, aws::endpoint_overrides endpoints = {},
                                  aws::provider_timeouts timeouts = {}) {
        return aws::provider_context{
            .env = std::move(env),
            .http = aws::make_transport(client),
            .clock = clock,
            .log = core::logger(sink, core::log_level::debug),
            .region = "us-east-1",
            .endpoints = std::move(endpoints),
            .timeouts = timeouts,
            .cache = {},
        };
    }
    aws::context_ptr context_ptr(aws::environment env, aws::endpoint_overrides endpoints = {},
                                 aws::provider_timeouts timeouts = {}) {
        return std::make_shared<const aws::provider_context>(
            context(std::move(env), std::move(endpoints), timeouts));
    }

    // Runs get() to completion under the test deadline; fails if work is left on the io_context.
    aws::credentials_result get(const aws::provider_ptr& p) { return aws_test::run(io, p->get()); }

    std::string log_text() const {
        std::string out;
        for (const auto& r : sink.records())
            out += core::format_log_line(r.level, r.message, r.fields) + "\n";
        return out;
    }
};

aws::endpoint_overrides imds_at(const std::string& url) {
    aws::endpoint_overrides e;
    e.imds = url;
    return e;
}
aws::endpoint_overrides ecs_at(const std::string& url) {
    aws::endpoint_overrides e;
    e.ecs = url;
    return e;
}
aws::endpoint_overrides sts_at(const std::string& url) {
    aws::endpoint_overrides e;
    e.sts = url;
    return e;
}

// ---- EC2 IMDSv2 ---------------------------------------------------------------------------

TEST_F(CredentialsLoopback, ImdsV2TokenThenRoleThenCredentials) {
    imds_stand_in imds;
    const auto r = get(aws::make_imds_provider(context_ptr({}, imds_at(imds.url()))));
    ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    EXPECT_TRUE(r.creds.secret_access_key == core::secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
    EXPECT_TRUE(r.creds.session_token == core::secret("IMDS-SESSION-TOKEN-EXAMPLE"));
    ASSERT_TRUE(r.expiration.has_value());
    EXPECT_EQ(*r.expiration, aws_test::test_epoch() + 6h);  // "2024-06-01T18:00:00Z"
    EXPECT_EQ(r.source, "imds role tfsnap-instance-role");

    const auto reqs = imds.requests();
    ASSERT_EQ(reqs.size(), 3u);
    EXPECT_EQ(reqs[0].method, "PUT");
    EXPECT_EQ(reqs[0].target, "/latest/api/token");
    EXPECT_EQ(reqs[0].header("x-aws-ec2-metadata-token-ttl-seconds"), "21600");
    EXPECT_EQ(reqs[0].header("x-aws-ec2-metadata-token"), "") << "the token request carries no token";
    EXPECT_EQ(reqs[1].method, "GET");
    EXPECT_EQ(reqs[1].target, "/latest/meta-data/iam/security-credentials/");
    EXPECT_TRUE(reqs[1].header("x-aws-ec2-metadata-token") == imds_stand_in::token(1));
    EXPECT_EQ(reqs[2].method, "GET");
    EXPECT_EQ(reqs[2].target, "/latest/meta-data/iam/security-credentials/tfsnap-instance-role");
    EXPECT_TRUE(reqs[2].header("x-aws-ec2-metadata-token") == imds_stand_in::token(1));
    EXPECT_EQ(reqs[1].header("x-aws-ec2-metadata-token-ttl-seconds"), "");
    EXPECT_EQ(client.counters().requests, 3u);
}

TEST_F(CredentialsLoopback, ImdsTokenTtlComesFromTheTimeouts) {
    imds_stand_in imds;
    aws::provider_timeouts t;
    t.imds_token_ttl = 60s;
    ASSERT_TRUE(get(aws::make_imds_provider(context_ptr({}, imds_at(imds.url()), t))).ok());
    EXPECT_EQ(imds.requests().at(0).header("x-aws-ec2-metadata-token-ttl-seconds"), "60");
}

TEST_F(CredentialsLoopback, ImdsTokenRefusedWhenListingTheRoleIsFetchedOnceMore) {
    imds_stand_in imds;
    imds.invalidate_tokens_at_get(1);
    const auto r = get(aws::make_imds_provider(context_ptr({}, imds_at(imds.url()))));
    ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");

    const auto reqs = imds.requests();
    ASSERT_EQ(reqs.size(), 5u);
    EXPECT_EQ(reqs[0].method + " " + reqs[0].target, "PUT /latest/api/token");
    EXPECT_EQ(reqs[1].target, credentials_list);  // 401
    EXPECT_EQ(reqs[2].method + " " + reqs[2].target, "PUT /latest/api/token");
    EXPECT_EQ(reqs[3].target, credentials_list);
    EXPECT_EQ(reqs[4].target, std::string(credentials_list) + std::string(role_name));
    EXPECT_TRUE(reqs[1].header("x-aws-ec2-metadata-token") == imds_stand_in::token(1));
    EXPECT_TRUE(reqs[3].header("x-aws-ec2-metadata-token") == imds_stand_in::token(2));
    EXPECT_TRUE(reqs[4].header("x-aws-ec2-metadata-token") == imds_stand_in::token(2));
}

TEST_F(CredentialsLoopback, ImdsTokenRefusedWhenFetchingTheCredentialsIsFetchedOnceMore) {
    imds_stand_in imds;
    imds.invalidate_tokens_at_get(2);
    const auto r = get(aws::make_imds_provider(context_ptr({}, imds_at(imds.url()))));
    ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);

    const auto reqs = imds.requests();
    ASSERT_EQ(reqs.size(), 6u);
    int puts = 0;
    for (const auto& q : reqs)
        puts += q.method == "PUT" ? 1 : 0;
    EXPECT_EQ(puts, 2);
    EXPECT_EQ(reqs[2].target, std::string(credentials_list) + std::string(role_name));  // 401
    EXPECT_EQ(reqs[3].method, "PUT");
    EXPECT_TRUE(reqs[5].header("x-aws-ec2-metadata-token") == imds_stand_in::token(2));
}

TEST_F(CredentialsLoopback, ImdsTokenAlwaysRefusedStopsAfterOneNewToken) {
    imds_stand_in imds;
    imds.refuse_every_token();
    const auto r = get(aws::make_imds_provider(context_ptr({}, imds_at(imds.url()))));
    EXPECT_EQ(r.ec, aws::errc::imds_unavailable);
    EXPECT_EQ(r.error.http_status, 401u);
    const auto reqs = imds.requests();
    ASSERT_EQ(reqs.size(), 4u) << "PUT, GET (401), PUT, GET (401): no loop";
    EXPECT_EQ(reqs[0].method, "PUT");
    EXPECT_EQ(reqs[2].method, "PUT");
    const auto text = aws::format(r.ec, r.error);
    EXPECT_EQ(text.find("imds-session-token"), std::string::npos) << "no token in the error";
}

TEST_F(CredentialsLoopback, ImdsDisabledSendsNothing) {
    imds_stand_in imds;
    const aws::environment env{{"AWS_EC2_METADATA_DISABLED", "true"}};
    auto r = get(aws::make_imds_provider(context_ptr(env, imds_at(imds.url()))));
    EXPECT_EQ(r.ec, aws::errc::not_configured);

    // the default chain as a whole, with nothing else configured: it tries IMDS last, and not here
    const aws::environment chain_env{{"AWS_EC2_METADATA_DISABLED", "TRUE"},
                                     {"HOME", dir.path()},
                                     {"AWS_SHARED_CREDENTIALS_FILE", dir.path() + "/none"},
                                     {"AWS_CONFIG_FILE", dir.path() + "/none"}};
    r = get(aws::make_default_chain(context_ptr(chain_env, imds_at(imds.url()))));
    EXPECT_EQ(r.ec, aws::errc::no_credentials) << aws::format(r.ec, r.error);
    EXPECT_TRUE(imds.requests().empty());
    EXPECT_EQ(imds.connections(), 0u);
    EXPECT_EQ(client.counters().requests, 0u);
}

TEST_F(CredentialsLoopback, ImdsTooSlowIsUnavailableAfterTheConfiguredAttempts) {
    imds_stand_in imds;
    imds.token_answer(5s);
    aws::provider_timeouts t;
    t.imds = 250ms;
    t.imds_attempts = 2;
    const auto start = steady::now();
    const auto r = get(aws::make_imds_provider(context_ptr({}, imds_at(imds.url()), t)));
    const auto took = elapsed_ms(start);
    EXPECT_EQ(r.ec, aws::errc::imds_unavailable) << aws::format(r.ec, r.error);
    EXPECT_EQ(r.error.provider, "imds");
    EXPECT_EQ(client.counters().requests, 2u);
    const auto reqs = imds.requests();
    ASSERT_EQ(reqs.size(), 2u) << "each attempt reached the stand-in; no credentials request followed";
    EXPECT_EQ(reqs[0].method, "PUT");
    EXPECT_EQ(reqs[1].method, "PUT");
    EXPECT_GE(took, 2 * 250 - 50) << "each attempt waits for its deadline";
    EXPECT_LT(took, 2500) << "the answer, 5 s late, is not waited for";
}

TEST_F(CredentialsLoopback, ImdsPortClosedIsUnavailableQuickly) {
    const std::string base = "http://127.0.0.1:" + std::to_string(closed_port());
    const auto start = steady::now();
    const auto r = get(aws::make_imds_provider(context_ptr({}, imds_at(base))));
    const auto took = elapsed_ms(start);
    EXPECT_EQ(r.ec, aws::errc::imds_unavailable) << aws::format(r.ec, r.error);
    EXPECT_EQ(client.counters().requests, 2u) << "imds_attempts (2) tries of the token request";
    EXPECT_LT(took, 1000);
    EXPECT_EQ(r.error.path, base);
    // what a chain does with it: moves on, and reports every source it tried
    const aws::environment env{{"HOME", dir.path()},
                               {"AWS_SHARED_CREDENTIALS_FILE", dir.path() + "/none"},
                               {"AWS_CONFIG_FILE", dir.path() + "/none"}};
    const auto chain = get(aws::make_default_chain(context_ptr(env, imds_at(base))));
    EXPECT_EQ(chain.ec, aws::errc::no_credentials) << aws::format(chain.ec, chain.error);
}

TEST_F(CredentialsLoopback, ImdsServerErrorsAreRetriedThenUnavailable) {
    imds_stand_in imds;
    imds.token_answer(0ms, 503);
    const auto r = get(aws::make_imds_provider(context_ptr({}, imds_at(imds.url()))));
    EXPECT_EQ(r.ec, aws::errc::imds_unavailable);
    EXPECT_EQ(r.error.http_status, 503u);
    EXPECT_EQ(imds.requests().size(), 2u);
    EXPECT_TRUE(http::is_retryable(r.ec, true)) << "IMDS being unavailable is transient";
}

TEST_F(CredentialsLoopback, ImdsEndpointVariableWinsOverTheOverride) {
    imds_stand_in imds;
    const std::string unused = "http://127.0.0.1:" + std::to_string(closed_port());
    const aws::environment env{{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url() + "/"}};
    const auto r = get(aws::make_imds_provider(context_ptr(env, imds_at(unused))));
    ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);
    const auto reqs = imds.requests();
    ASSERT_EQ(reqs.size(), 3u);
    EXPECT_EQ(reqs[0].target, "/latest/api/token")
        << "a trailing slash on the endpoint adds no empty segment";
}

// credentials_provider.hpp: cancelling the caller ends the HTTP exchange in flight, at once, and
// no further attempt is made.
TEST_F(CredentialsLoopback, CancellingGetEndsTheImdsExchangeInFlight) {
    imds_stand_in imds;
    imds.token_answer(10s);
    aws::provider_timeouts t;
    t.imds = 5s;
    const auto p = aws::make_imds_provider(context_ptr({}, imds_at(imds.url()), t));

    asio::cancellation_signal cancel;
    std::optional<aws::credentials_result> result;
    const auto start = steady::now();
    asio::co_spawn(
        io, p->get(),
        asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, aws::credentials_result r) {
            if (e)
                std::rethrow_exception(e);
            result = std::move(r);
        }));
    asio::steady_timer timer(io, 200ms);
    timer.async_wait([&](boost::system::error_code) { cancel.emit(asio::cancellation_type::terminal); });
    io.run_for(aws_test::test_deadline);
    const auto took = elapsed_ms(start);
    ASSERT_TRUE(result.has_value()) << "get() did not finish";
    EXPECT_TRUE(io.stopped()) << "work was left outstanding";
    EXPECT_EQ(result->ec, asio::error::operation_aborted) << aws::format(result->ec, result->error);
    EXPECT_LT(took, 2000) << "neither the 5 s deadline nor the 10 s answer was waited for";
    EXPECT_EQ(imds.requests().size(), 1u) << "a cancelled exchange is not tried again";
}

// ---- Container credentials (ECS / EKS Pod Identity) ---------------------------------------

TEST_F(CredentialsLoopback, EcsRelativeUriWithoutAuthorization) {
    loopback_http_server ecs(container_endpoint(""));
    const aws::environment env{{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/4f3a-task"}};
    const auto r = get(aws::make_ecs_provider(context_ptr(env, ecs_at(ecs.url()))));
    ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIAECSEXAMPLE");
    EXPECT_TRUE(r.creds.secret_access_key == core::secret("ecs/K7MDENG/bPxRfiCYEXAMPLEKEY"));
    EXPECT_TRUE(r.creds.session_token == core::secret("ECS-SESSION-TOKEN-EXAMPLE"));
    EXPECT_EQ(r.expiration, aws_test::test_epoch() + 6h);
    EXPECT_EQ(r.source, "ecs " + ecs.url());

    const auto reqs = ecs.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "GET");
    EXPECT_EQ(reqs[0].target, "/v2/credentials/4f3a-task");
    for (const auto& [name, value] : reqs[0].headers)
        EXPECT_NE(name, "authorization");
}

TEST_F(CredentialsLoopback, EcsFullUriWithAuthorizationToken) {
    loopback_http_server ecs(container_endpoint("Basic ZWtzLXBvZC1pZGVudGl0eS10b2tlbg=="));
    const aws::environment env{
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url() + "/v1/credentials"},
        {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic ZWtzLXBvZC1pZGVudGl0eS10b2tlbg=="}};
    const auto r = get(aws::make_ecs_provider(context_ptr(env)));
    ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);
    const auto reqs = ecs.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].target, "/v1/credentials");
    EXPECT_TRUE(reqs[0].header("authorization") == "Basic ZWtzLXBvZC1pZGVudGl0eS10b2tlbg==");
}

TEST_F(CredentialsLoopback, EcsTokenFileWinsOverTheVariable) {
    loopback_http_server ecs(container_endpoint("token-from-the-file"));
    const auto file = dir.write("eks-pod-identity-token", "token-from-the-file\n");
    const aws::environment env{{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url() + "/v1/credentials"},
                               {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "token-from-the-variable"},
                               {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file}};
    const auto p = aws::make_ecs_provider(context_ptr(env));
    auto r = get(p);
    ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);
    ASSERT_EQ(ecs.requests().size(), 1u);
    EXPECT_TRUE(ecs.requests()[0].header("authorization") == "token-from-the-file");

    // the file is read on every call: a rotated token is sent, and refused here
    dir.write("eks-pod-identity-token", "rotated-token");
    r = get(p);
    EXPECT_EQ(r.ec, aws::errc::ecs_unavailable);
    ASSERT_EQ(ecs.requests().size(), 2u);
    EXPECT_TRUE(ecs.requests()[1].header("authorization") == "rotated-token");
}

TEST_F(CredentialsLoopback, EcsRefusalKeepsTheCodeAndNoToken) {
    loopback_http_server ecs(container_endpoint("the-right-token"));
    const aws::environment env{{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url() + "/v1/credentials"},
                               {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "a-wrong-token"}};
    const auto r = get(aws::make_ecs_provider(context_ptr(env)));
    EXPECT_EQ(r.ec, aws::errc::ecs_unavailable);
    EXPECT_EQ(r.error.http_status, 401u);
    EXPECT_EQ(r.error.service_code, "InvalidToken");
    EXPECT_EQ(r.error.service_message, "the authorization token is not valid");
    EXPECT_EQ(r.error.path, ecs.url());
    EXPECT_EQ(ecs.requests().size(), 1u) << "a 4xx is not retried";
    const auto text = aws::format(r.ec, r.error);
    EXPECT_EQ(text.find("a-wrong-token"), std::string::npos);
    EXPECT_EQ(text.find("/v1/credentials"), std::string::npos) << "only the origin is reported";
}

TEST_F(CredentialsLoopback, EcsFullUriNamingLocalhost) {
    loopback_http_server ecs(container_endpoint("t"));
    const aws::environment env{{"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                "http://localhost:" + std::to_string(ecs.port()) + "/v1/credentials"},
                               {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "t"}};
    const auto r = get(aws::make_ecs_provider(context_ptr(env)));
    ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);
    ASSERT_EQ(ecs.requests().size(), 1u);
    EXPECT_EQ(ecs.requests()[0].header("host"), "localhost:" + std::to_string(ecs.port()));
}

TEST_F(CredentialsLoopback, EcsFullUriOverHttpToAnotherHostIsRefusedBeforeAnyConnection) {
    const aws::environment env{
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.10:8080/v1/credentials"},
        {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "must-not-leave-the-host"}};
    const auto r = get(aws::make_ecs_provider(context_ptr(env)));
    EXPECT_EQ(r.ec, aws::errc::invalid_endpoint);
    EXPECT_EQ(client.counters().requests, 0u);
}

// ---- STS AssumeRole -----------------------------------------------------------------------

constexpr std::string_view demo_role = "arn:aws:iam::123456789012:role/demo";

tfsnap::config::credentials_config assume_role_config() {
    tfsnap::config::credentials_config cfg;
    cfg.role_arn = std::string(demo_role);
    cfg.external_id = "123ABC";
    cfg.role_session_name = "tfsnap-loopback";
    return cfg;
}

aws::environment static_keys_env(bool with_token) {
    aws::environment env{{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                         {"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}};
    if (with_token)
        env.emplace("AWS_SESSION_TOKEN", "source-session-token");
    return env;
}

// Signs the recorded request again, over exactly the headers it says it signed, and returns
// the signature; the caller compares it with the one sent.
std::string resign(const recorded_request& r, const authorization_parts& auth, std::string_view secret_key,
                   core::time_point when) {
    sigv4::request req;
    req.method = r.method;
    req.path = r.target;
    std::string_view names = auth.signed_headers;
    while (!names.empty()) {
        const auto semi = names.find(';');
        const std::string name(names.substr(0, semi));
        req.headers.emplace_back(name, r.header(name));
        names = semi == std::string_view::npos ? std::string_view() : names.substr(semi + 1);
    }
    req.payload_hash = tfsnap::crypto::sha256_hex(r.body);
    sigv4::signing_params sp;
    sp.region = "us-east-1";
    sp.service = "sts";
    sp.time = when;
    const auto key = sigv4::signing_key(core::secret(std::string(secret_key)), sp);
    return sigv4::signature(key, sigv4::string_to_sign(sigv4::canonical_request(req, sp), sp));
}

TEST_F(CredentialsLoopback, AssumeRoleOverTheWireIsSignedAsDocumented) {
    loopback_http_server sts(sts_success);
    const auto p =
        aws::make_provider(assume_role_config(), context_ptr(static_keys_env(true), sts_at(sts.url())));
    const auto r = get(p);
    ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    EXPECT_TRUE(r.creds.secret_access_key == core::secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"));
    EXPECT_TRUE(r.creds.session_token ==
                core::secret("AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW"));
    EXPECT_EQ(r.expiration, aws_test::test_epoch() + 1h);
    EXPECT_EQ(r.source, "assume-role arn:aws:iam::123456789012:role/demo over environment");

    const auto reqs = sts.requests();
    ASSERT_EQ(reqs.size(), 1u);
    const auto& q = reqs[0];
    EXPECT_EQ(q.method, "POST");
    EXPECT_EQ(q.target, "/");
    EXPECT_EQ(q.header("content-type"), "application/x-www-form-urlencoded; charset=utf-8");
    EXPECT_EQ(q.header("host"), "127.0.0.1:" + std::to_string(sts.port()));
    EXPECT_EQ(q.header("x-amz-date"), "20240601T120000Z");
    EXPECT_TRUE(q.header("x-amz-security-token") == "source-session-token");
    EXPECT_EQ(q.header("content-length"), std::to_string(q.body.size()));

    const auto form = parse_form(q.body);
    EXPECT_EQ(form.size(), 6u) << q.body;
    EXPECT_EQ(form.count("Action") ? form.at("Action") : "", "AssumeRole");
    EXPECT_EQ(form.count("Version") ? form.at("Version") : "", "2011-06-15");
    EXPECT_EQ(form.count("RoleArn") ? form.at("RoleArn") : "", demo_role);
    EXPECT_EQ(form.count("RoleSessionName") ? form.at("RoleSessionName") : "", "tfsnap-loopback");
    EXPECT_EQ(form.count("ExternalId") ? form.at("ExternalId") : "", "123ABC");
    EXPECT_EQ(form.count("DurationSeconds") ? form.at("DurationSeconds") : "", "3600");

    const auto auth = split_authorization(q.header("authorization"));
    EXPECT_EQ(auth.algorithm, "AWS4-HMAC-SHA256");
    EXPECT_EQ(auth.credential, "AKIDEXAMPLE/20240601/us-east-1/sts/aws4_request");
    EXPECT_TRUE(auth.credential.ends_with("/sts/aws4_request"));
    EXPECT_EQ(auth.signed_headers, "content-type;host;x-amz-date;x-amz-security-token");
    ASSERT_EQ(auth.signature.size(), 64u);
    EXPECT_EQ(auth.signature,
              resign(q, auth, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", aws_test::test_epoch()));
    // the check can fail: a different secret gives a different signature
    EXPECT_NE(auth.signature, resign(q, auth, "another-secret", aws_test::test_epoch()));

    const auto logs = log_text();
    EXPECT_EQ(logs.find("source-session-token"), std::string::npos);
    EXPECT_EQ(logs.find("wJalrXUtnFEMI"), std::string::npos);
}

TEST_F(CredentialsLoopback, AssumeRoleOverProfileKeysWithoutToken) {
    loopback_http_server sts(sts_success);
    const auto creds = dir.write("credentials",
                                 "[ops]\n"
                                 "aws_access_key_id = AKIDPROFILEEXAMPLE\n"
                                 "aws_secret_access_key = profile/K7MDENG/bPxRfiCYEXAMPLEKEY\n");
    auto cfg = assume_role_config();
    cfg.profile = "ops";
    cfg.external_id.reset();
    cfg.role_session_name.reset();
    const aws::environment env{{"HOME", dir.path()},
                               {"AWS_SHARED_CREDENTIALS_FILE", creds},
                               {"AWS_CONFIG_FILE", dir.path() + "/none"}};
    const auto r = get(aws::make_provider(cfg, context_ptr(env, sts_at(sts.url()))));
    ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);

    ASSERT_EQ(sts.requests().size(), 1u);
    const auto q = sts.requests()[0];
    EXPECT_EQ(q.header("x-amz-security-token"), "") << "long-term keys have no token to send";
    const auto auth = split_authorization(q.header("authorization"));
    EXPECT_EQ(auth.credential, "AKIDPROFILEEXAMPLE/20240601/us-east-1/sts/aws4_request");
    EXPECT_EQ(auth.signed_headers, "content-type;host;x-amz-date");
    EXPECT_EQ(auth.signature, resign(q, auth, "profile/K7MDENG/bPxRfiCYEXAMPLEKEY", aws_test::test_epoch()));
    const auto form = parse_form(q.body);
    EXPECT_EQ(form.size(), 5u) << q.body;
    EXPECT_EQ(form.count("ExternalId"), 0u);
    EXPECT_EQ(form.count("RoleSessionName") ? form.at("RoleSessionName") : "", "tfsnap");
}

// ---- STS AssumeRoleWithWebIdentity --------------------------------------------------------

TEST_F(CredentialsLoopback, WebIdentityIsUnsignedAndSendsTheTokenFromTheFile) {
    loopback_http_server sts(sts_success);
    const auto token_file =
        dir.write("web-identity-token", "eyJhbGciOiJSUzI1NiJ9.LOOPBACK-WEB-IDENTITY.sig\n");
    tfsnap::config::credentials_config cfg;
    cfg.role_arn = "arn:aws:iam::123456789012:role/FederatedWebIdentityRole";
    cfg.web_identity_token_file = token_file;
    cfg.role_session_name = "app1";
    const auto r = get(aws::make_provider(cfg, context_ptr({}, sts_at(sts.url()))));
    ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
    EXPECT_TRUE(r.creds.session_token == core::secret("AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE"));
    EXPECT_EQ(r.expiration, aws_test::test_epoch() + 1h);

    const auto reqs = sts.requests();
    ASSERT_EQ(reqs.size(), 1u);
    const auto& q = reqs[0];
    EXPECT_EQ(q.method, "POST");
    EXPECT_EQ(q.target, "/");
    EXPECT_EQ(q.header("content-type"), "application/x-www-form-urlencoded; charset=utf-8");
    EXPECT_EQ(q.header("authorization"), "");
    EXPECT_EQ(q.header("x-amz-date"), "");
    EXPECT_EQ(q.header("x-amz-security-token"), "");
    const auto form = parse_form(q.body);
    EXPECT_EQ(form.size(), 6u);
    EXPECT_EQ(form.count("Action") ? form.at("Action") : "", "AssumeRoleWithWebIdentity");
    EXPECT_EQ(form.count("Version") ? form.at("Version") : "", "2011-06-15");
    EXPECT_EQ(form.count("RoleArn") ? form.at("RoleArn") : "",
              "arn:aws:iam::123456789012:role/FederatedWebIdentityRole");
    EXPECT_EQ(form.count("RoleSessionName") ? form.at("RoleSessionName") : "", "app1");
    EXPECT_EQ(form.count("DurationSeconds") ? form.at("DurationSeconds") : "", "3600");
    ASSERT_EQ(form.count("WebIdentityToken"), 1u);
    EXPECT_TRUE(form.at("WebIdentityToken") == "eyJhbGciOiJSUzI1NiJ9.LOOPBACK-WEB-IDENTITY.sig");
    EXPECT_EQ(log_text().find("LOOPBACK-WEB-IDENTITY"), std::string::npos);
}

TEST_F(CredentialsLoopback, WebIdentityFromTheEnvironmentReadsARotatedToken) {
    loopback_http_server sts(sts_success);
    const auto token_file = dir.write("token", "first-projected-token");
    const aws::environment env{{"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web"},
                               {"AWS_WEB_IDENTITY_TOKEN_FILE", token_file}};
    const auto p = aws::make_web_identity_env_provider(context_ptr(env, sts_at(sts.url())));
    ASSERT_TRUE(get(p).ok());
    dir.write("token", "second-projected-token");
    ASSERT_TRUE(get(p).ok());
    const auto reqs = sts.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_TRUE(parse_form(reqs[0].body)["WebIdentityToken"] == "first-projected-token");
    EXPECT_TRUE(parse_form(reqs[1].body)["WebIdentityToken"] == "second-projected-token");
}

// ---- STS errors ---------------------------------------------------------------------------

struct sts_error_case {
    const char* name;
    bool web_identity;
    unsigned status;
    std::string body;
    aws::errc expected;
    std::string code;  // expected service_code
    bool retryable;    // http::is_retryable(ec, true)
};

TEST_F(CredentialsLoopback, StsErrorsKeepTheirCodeAndRetryClass) {
    const sts_error_case cases[] = {
        {"AccessDenied", false, 403,
         aws_test::sts_error_xml("AccessDenied",
                                 "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: "
                                 "sts:AssumeRole"),
         aws::errc::sts_error, "AccessDenied", false},
        {"InvalidIdentityToken", true, 400,
         aws_test::sts_error_xml("InvalidIdentityToken", "Couldn't retrieve verification key"),
         aws::errc::sts_error, "InvalidIdentityToken", false},
        {"Throttling", false, 400, aws_test::sts_error_xml("Throttling", "Rate exceeded"),
         aws::errc::sts_throttled, "Throttling", true},
        {"ThrottlingWebIdentity", true, 400, aws_test::sts_error_xml("Throttling", "Rate exceeded"),
         aws::errc::sts_throttled, "Throttling", true},
        {"ServiceUnavailable", false, 503, aws_test::sts_error_xml("ServiceUnavailable", "try later"),
         aws::errc::sts_unavailable, "ServiceUnavailable", true},
        {"ProxyErrorPage", false, 502, "<html><body>Bad Gateway</body></html>", aws::errc::sts_unavailable,
         "", true},
        {"IDPCommunicationError", true, 400,
         aws_test::sts_error_xml("IDPCommunicationError", "IdP unreachable"), aws::errc::sts_unavailable,
         "IDPCommunicationError", true},
    };
    const auto token_file = dir.write("token", "SECRET-WEB-IDENTITY-TOKEN");
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        loopback_http_server sts([&c](const recorded_request&) {
            return canned_response{
                .status = c.status, .headers = {{"Content-Type", "text/xml"}}, .body = c.body};
        });
        tfsnap::config::credentials_config cfg;
        cfg.role_arn = "arn:aws:iam::123456789012:role/demo";
        if (c.web_identity)
            cfg.web_identity_token_file = token_file;
        const auto r = get(aws::make_provider(cfg, context_ptr(static_keys_env(true), sts_at(sts.url()))));
        EXPECT_EQ(r.ec, c.expected) << aws::format(r.ec, r.error);
        EXPECT_EQ(r.error.service_code, c.code);
        EXPECT_EQ(r.error.http_status, c.status);
        EXPECT_EQ(r.error.provider, c.web_identity ? "web-identity" : "assume-role");
        EXPECT_EQ(http::is_retryable(r.ec, true), c.retryable);
        EXPECT_EQ(sts.requests().size(), 1u) << "the provider does not retry by itself";
        const auto text = aws::format(r.ec, r.error);
        EXPECT_EQ(text.find("SECRET-WEB-IDENTITY-TOKEN"), std::string::npos);
        EXPECT_EQ(text.find("source-session-token"), std::string::npos);
        EXPECT_EQ(text.find("wJalrXUtnFEMI"), std::string::npos);
    }
}

// The error code alone drives the one retry routine: a throttled AssumeRole is tried again and
// succeeds, a refused one is not.
TEST_F(CredentialsLoopback, ThrottledAssumeRoleSucceedsUnderTheRetryRoutine) {
    std::atomic<int> seen{0};
    loopback_http_server sts([&seen](const recorded_request& r) {
        if (++seen == 1)
            return sts_error_reply(400, "Throttling", "Rate exceeded");
        return sts_success(r);
    });
    const auto p =
        aws::make_provider(assume_role_config(), context_ptr(static_keys_env(false), sts_at(sts.url())));
    const http::retry_policy policy{.max_attempts = 3, .base_delay = 10ms, .max_delay = 50ms};
    const http::random_unit no_jitter = [] { return 0.0; };
    aws::credentials_result last;
    const auto out = aws_test::run(
        io, http::with_retries(policy, false, no_jitter, [&]() -> asio::awaitable<boost::system::error_code> {
            last = co_await p->get();
            co_return last.ec;
        }));
    EXPECT_FALSE(out.ec) << out.ec.message();
    EXPECT_EQ(out.attempts, 2);
    EXPECT_TRUE(last.ok());
    EXPECT_EQ(sts.requests().size(), 2u);

    loopback_http_server refusing(
        [](const recorded_request&) { return sts_error_reply(403, "AccessDenied", "not authorized"); });
    const auto q =
        aws::make_provider(assume_role_config(), context_ptr(static_keys_env(false), sts_at(refusing.url())));
    const auto refused = aws_test::run(
        io, http::with_retries(policy, true, no_jitter, [&]() -> asio::awaitable<boost::system::error_code> {
            co_return (co_await q->get()).ec;
        }));
    EXPECT_EQ(refused.ec, aws::errc::sts_error);
    EXPECT_EQ(refused.attempts, 1);
    EXPECT_EQ(refusing.requests().size(), 1u);
}

// ---- Shared refresh -----------------------------------------------------------------------

TEST_F(CredentialsLoopback, TenConcurrentCallersCauseOneAssumeRole) {
    loopback_http_server sts([](const recorded_request& r) {
        auto res = sts_success(r);
        res.delay = 300ms;  // every caller arrives while the one exchange is in flight
        return res;
    });
    const auto p =
        aws::make_provider(assume_role_config(), context_ptr(static_keys_env(true), sts_at(sts.url())));

    constexpr int callers = 10;
    std::vector<aws::credentials_result> results(callers);
    int finished = 0;
    for (int i = 0; i < callers; ++i) {
        asio::co_spawn(
            io,
            [&, i]() -> asio::awaitable<void> {
                results[i] = co_await p->get();
                ++finished;
            },
            [](std::exception_ptr e) {
                if (e)
                    std::rethrow_exception(e);
            });
    }
    io.run_for(aws_test::test_deadline);
    ASSERT_EQ(finished, callers);
    EXPECT_TRUE(io.stopped()) << "work was left outstanding";
    for (const auto& r : results) {
        ASSERT_TRUE(r.ok()) << aws::format(r.ec, r.error);
        EXPECT_EQ(r.creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
        EXPECT_TRUE(r.creds.session_token == results[0].creds.session_token);
    }
    EXPECT_EQ(sts.requests().size(), 1u);
    EXPECT_EQ(sts.connections_accepted(), 1u);
    const auto* cache = dynamic_cast<const aws::caching_provider*>(p.get());
    ASSERT_NE(cache, nullptr);
    EXPECT_EQ(cache->refresh_count(), 1u);

    // still fresh: the next caller is served from the cache
    const auto again = get(p);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(sts.requests().size(), 1u);
    // due for a refresh (inside refresh_ahead of the 13:00 expiry): one more exchange
    clock.advance(56min);
    ASSERT_TRUE(get(p).ok());
    EXPECT_EQ(sts.requests().size(), 2u);
}

// caching_provider.hpp: when the caller doing the shared refresh is cancelled, its exchange ends
// and a waiting caller refreshes by itself.
TEST_F(CredentialsLoopback, CancelledRefresherDoesNotStrandTheWaiter) {
    loopback_http_server sts([](const recorded_request& r) {
        auto res = sts_success(r);
        res.delay = 500ms;
        return res;
    });
    const auto p =
        aws::make_provider(assume_role_config(), context_ptr(static_keys_env(true), sts_at(sts.url())));

    asio::cancellation_signal cancel;
    std::optional<aws::credentials_result> first, second;
    const auto rethrow_or_keep = [](std::optional<aws::credentials_result>& into) {
        return [&into](std::exception_ptr e, aws::credentials_result r) {
            if (e)
                std::rethrow_exception(e);
            into = std::move(r);
        };
    };
    asio::co_spawn(io, p->get(), asio::bind_cancellation_slot(cancel.slot(), rethrow_or_keep(first)));
    asio::co_spawn(io, p->get(), rethrow_or_keep(second));
    asio::steady_timer timer(io, 100ms);
    timer.async_wait([&](boost::system::error_code) { cancel.emit(asio::cancellation_type::terminal); });
    io.run_for(aws_test::test_deadline);
    EXPECT_TRUE(io.stopped()) << "work was left outstanding";
    ASSERT_TRUE(first.has_value());
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(first->ec, asio::error::operation_aborted);
    ASSERT_TRUE(second->ok()) << aws::format(second->ec, second->error);
    EXPECT_EQ(second->creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    EXPECT_EQ(sts.requests().size(), 2u) << "the abandoned exchange, then the waiter's own";
}

}  // namespace
