// STS AssumeRole (SigV4-signed) and AssumeRoleWithWebIdentity (unsigned) over a scripted
// transport.
//
// Documentation followed: STS API Reference, "AssumeRole" and "AssumeRoleWithWebIdentity"
// (request parameters RoleArn, RoleSessionName, ExternalId, DurationSeconds, WebIdentityToken;
// Action and Version=2011-06-15 of the query API; sample responses and errors); IAM User Guide,
// "Signing AWS API requests" (SigV4, service "sts", regional endpoint
// https://sts.<region>.amazonaws.com); AWS SDKs and Tools reference guide, "Assume role
// credential provider" (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_SESSION_NAME).
#include "tfsnap/aws/sts.hpp"
#include "tfsnap/aws/providers.hpp"
#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include "aws_test_util.hpp"

#include <gtest/gtest.h>

namespace {

using namespace tfsnap;
using namespace tfsnap::aws;
using namespace tfsnap::aws::test;
using tfsnap::core::secret;

sigv4::credentials base_credentials(bool with_token) {
    sigv4::credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    if (with_token)
        c.session_token = secret("base-session-token");
    return c;
}

class Sts : public ::testing::Test, public context_fixture {
protected:
    asio::io_context io;
    temp_dir dir;

    credentials_result get(const provider_ptr& p) { return run(io, p->get()); }
};

TEST_F(Sts, AssumeRoleRequestIsSignedAsDocumented) {
    net.handler = [](const http_call&) { return reply(200, assume_role_xml()); };
    assume_role_params params;
    params.role_arn = "arn:aws:iam::123456789012:role/demo";
    params.external_id = "123ABC";
    const auto p =
        make_assume_role_provider(make_context_ptr({}, "eu-west-1"),
                                  make_static_provider(base_credentials(true), "environment"), params);
    const auto r = get(p);
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    EXPECT_EQ(r.expiration, test_epoch() + std::chrono::hours(1));
    EXPECT_EQ(r.source, "assume-role arn:aws:iam::123456789012:role/demo over environment");

    ASSERT_EQ(net.calls().size(), 1u);
    const auto& call = net.calls()[0];
    EXPECT_EQ(call.method, "POST");
    EXPECT_EQ(call.url, "https://sts.eu-west-1.amazonaws.com/");
    EXPECT_EQ(
        call.body,
        "Action=AssumeRole&DurationSeconds=3600&ExternalId=123ABC&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%"
        "3Arole%2Fdemo&RoleSessionName=tfsnap&Version=2011-06-15");
    EXPECT_EQ(header_or_empty(call, "content-type"), "application/x-www-form-urlencoded; charset=utf-8");
    EXPECT_EQ(header_or_empty(call, "host"), "sts.eu-west-1.amazonaws.com");
    EXPECT_EQ(header_or_empty(call, "x-amz-date"), "20240601T120000Z");
    EXPECT_TRUE(has_header(call, "x-amz-security-token", "base-session-token"));

    // The signature covers exactly what was sent: recompute it from the recorded call.
    sigv4::request req;
    req.method = call.method;
    req.path = "/";
    for (const auto& [k, v] : call.headers) {
        if (k != "authorization")
            req.headers.emplace_back(k, v);
    }
    req.payload_hash = crypto::sha256_hex(call.body);
    sigv4::signing_params sp;
    sp.region = "eu-west-1";
    sp.service = "sts";
    sp.time = test_epoch();
    const auto key = sigv4::signing_key(base_credentials(true).secret_access_key, sp);
    const auto expected_signature =
        sigv4::signature(key, sigv4::string_to_sign(sigv4::canonical_request(req, sp), sp));
    EXPECT_EQ(header_or_empty(call, "authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240601/eu-west-1/sts/aws4_request, "
              "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=" +
                  expected_signature);
}

TEST_F(Sts, EndpointOverrideAndChinaRegions) {
    auto ctx = make_context({}, "cn-north-1");
    EXPECT_EQ(sts_endpoint(ctx), "https://sts.cn-north-1.amazonaws.com.cn");
    ctx.endpoints.sts = "http://127.0.0.1:8443/";
    EXPECT_EQ(sts_endpoint(ctx), "http://127.0.0.1:8443/");

    net.handler = [](const http_call&) { return reply(200, assume_role_xml()); };
    assume_role_params params;
    params.role_arn = "arn:aws:iam::1:role/r";
    const auto r = get(make_assume_role_provider(std::make_shared<const provider_context>(ctx),
                                                 make_static_provider(base_credentials(false), "x"), params));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(net.calls()[0].url, "http://127.0.0.1:8443/");
    EXPECT_EQ(header_or_empty(net.calls()[0], "host"), "127.0.0.1:8443");
    EXPECT_FALSE(has_header(net.calls()[0], "x-amz-security-token"));
}

TEST_F(Sts, ErrorResponseKeepsTheCodeAndNoSecret) {
    net.handler = [](const http_call&) { return reply(403, sts_error_xml()); };
    assume_role_params params;
    params.role_arn = "arn:aws:iam::1:role/r";
    const auto r = get(make_assume_role_provider(make_context_ptr(),
                                                 make_static_provider(base_credentials(true), "x"), params));
    EXPECT_EQ(r.ec, errc::sts_error);
    EXPECT_EQ(r.error.provider, "assume-role");
    EXPECT_EQ(r.error.service_code, "AccessDenied");
    EXPECT_EQ(r.error.http_status, 403u);
    EXPECT_EQ(r.error.path, "https://sts.us-east-1.amazonaws.com/");
    const auto text = format(r.ec, r.error);
    EXPECT_NE(text.find("assuming arn:aws:iam::1:role/r"), std::string::npos) << text;
    EXPECT_EQ(text.find("base-session-token"), std::string::npos);
    EXPECT_EQ(text.find("wJalrXUtnFEMI"), std::string::npos);
}

TEST_F(Sts, ServerErrorWithoutDocumentAndTransportFailure) {
    net.handler = [](const http_call&) { return reply(503, "<html>unavailable</html>"); };
    assume_role_params params;
    params.role_arn = "arn:aws:iam::1:role/r";
    const auto ctx = make_context_ptr();
    auto r = get(make_assume_role_provider(ctx, make_static_provider(base_credentials(false), "x"), params));
    EXPECT_EQ(r.ec, errc::sts_unavailable) << "a 5xx without a document is the server's failure";
    EXPECT_EQ(r.error.http_status, 503u);
    EXPECT_TRUE(r.error.service_code.empty());

    net.handler = [](const http_call&) { return network_failure(asio::error::connection_refused); };
    r = get(make_assume_role_provider(ctx, make_static_provider(base_credentials(false), "x"), params));
    EXPECT_EQ(r.ec, asio::error::connection_refused) << "transport failures keep their code";
    EXPECT_EQ(net.calls().size(), 2u) << "STS is tried once per refresh";
}

TEST_F(Sts, BaseFailureMakesNoStsCall) {
    assume_role_params params;
    params.role_arn = "arn:aws:iam::1:role/r";
    const auto ctx = make_context_ptr({{"AWS_ACCESS_KEY_ID", "AKID"}});
    const auto r = get(make_assume_role_provider(ctx, make_environment_provider(ctx), params));
    EXPECT_EQ(r.ec, errc::incomplete_credentials);
    EXPECT_NE(r.error.message.find("the credentials to assume arn:aws:iam::1:role/r"), std::string::npos)
        << r.error.message;
    EXPECT_TRUE(net.calls().empty());
}

TEST_F(Sts, WebIdentityFromTheEnvironmentIsUnsigned) {
    const auto token_file = dir.write("token", "eyJhbGciOiJSUzI1NiJ9.WEB-IDENTITY-TOKEN.sig\n");
    net.handler = [](const http_call&) { return reply(200, web_identity_xml()); };
    const auto r = get(make_web_identity_env_provider(
        make_context_ptr({{"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/FederatedWebIdentityRole"},
                          {"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
                          {"AWS_ROLE_SESSION_NAME", "app1"}},
                         "us-west-2")));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
    EXPECT_EQ(r.expiration, test_epoch() + std::chrono::hours(1));
    EXPECT_EQ(r.source,
              "web-identity arn:aws:iam::123456789012:role/FederatedWebIdentityRole (" + token_file + ")");
    ASSERT_EQ(net.calls().size(), 1u);
    const auto& call = net.calls()[0];
    EXPECT_EQ(call.method, "POST");
    EXPECT_EQ(call.url, "https://sts.us-west-2.amazonaws.com/");
    EXPECT_FALSE(has_header(call, "authorization"));
    EXPECT_FALSE(has_header(call, "x-amz-date"));
    EXPECT_EQ(header_or_empty(call, "content-type"), "application/x-www-form-urlencoded; charset=utf-8");
    EXPECT_TRUE(
        call.body.starts_with("Action=AssumeRoleWithWebIdentity&DurationSeconds=3600&RoleArn=arn%3Aaws%3Aiam%"
                              "3A%3A123456789012%3Arole%2FFederatedWebIdentityRole&RoleSessionName=app1&"
                              "Version=2011-06-15&WebIdentityToken="));
    // the token is sent (trimmed), and is a secret: checked without printing it
    EXPECT_TRUE(call.body.ends_with("&WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.WEB-IDENTITY-TOKEN.sig"));
}

TEST_F(Sts, WebIdentityTokenFileIsReadOnEveryCall) {
    const auto token_file = dir.write("token", "first-token");
    net.handler = [](const http_call&) { return reply(200, web_identity_xml()); };
    web_identity_params params;
    params.role_arn = "arn:aws:iam::1:role/r";
    params.token_file = token_file;
    const auto p = make_web_identity_provider(make_context_ptr(), params);
    ASSERT_TRUE(get(p).ok());
    dir.write("token", "rotated-token");
    ASSERT_TRUE(get(p).ok());
    ASSERT_EQ(net.calls().size(), 2u);
    EXPECT_TRUE(net.calls()[0].body.ends_with("WebIdentityToken=first-token"));
    EXPECT_TRUE(net.calls()[1].body.ends_with("WebIdentityToken=rotated-token"));
    EXPECT_NE(net.calls()[0].body.find("RoleSessionName=tfsnap"), std::string::npos);
}

TEST_F(Sts, WebIdentityErrors) {
    auto r =
        get(make_web_identity_env_provider(make_context_ptr({{"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"}})));
    EXPECT_EQ(r.ec, errc::not_configured);
    EXPECT_NE(r.error.message.find("AWS_WEB_IDENTITY_TOKEN_FILE is not"), std::string::npos);

    r = get(make_web_identity_env_provider(make_context_ptr(
        {{"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"}, {"AWS_WEB_IDENTITY_TOKEN_FILE", dir.path() + "/none"}})));
    EXPECT_EQ(r.ec, errc::file_unreadable);
    EXPECT_EQ(r.error.path, dir.path() + "/none");

    const auto token_file = dir.write("token", "SECRET-TOKEN");
    net.handler = [](const http_call&) {
        return reply(400, sts_error_xml("InvalidIdentityToken", "Couldn't retrieve verification key"));
    };
    r = get(make_web_identity_env_provider(make_context_ptr(
        {{"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"}, {"AWS_WEB_IDENTITY_TOKEN_FILE", token_file}})));
    EXPECT_EQ(r.ec, errc::sts_error);
    EXPECT_EQ(r.error.service_code, "InvalidIdentityToken");
    EXPECT_EQ(r.error.provider, "web-identity");
    EXPECT_EQ(r.error.http_status, 400u);
    EXPECT_EQ(format(r.ec, r.error).find("SECRET-TOKEN"), std::string::npos);
}

TEST_F(Sts, ThrottlingAndServerFaultsAreTransientCodes) {
    assume_role_params params;
    params.role_arn = "arn:aws:iam::1:role/r";
    const auto ctx = make_context_ptr();
    const auto p = make_assume_role_provider(ctx, make_static_provider(base_credentials(false), "x"), params);

    net.handler = [](const http_call&) { return reply(400, sts_error_xml("Throttling", "Rate exceeded")); };
    auto r = get(p);
    EXPECT_EQ(r.ec, errc::sts_throttled);
    EXPECT_EQ(r.error.service_code, "Throttling");
    EXPECT_EQ(r.error.service_message, "Rate exceeded");
    EXPECT_EQ(r.error.http_status, 400u);

    net.handler = [](const http_call&) { return reply(500, sts_error_xml("InternalFailure", "try again")); };
    r = get(p);
    EXPECT_EQ(r.ec, errc::sts_unavailable);
    EXPECT_EQ(r.error.service_code, "InternalFailure");

    // the message is never looked at: a permanent code stays permanent whatever it says
    net.handler = [](const http_call&) {
        return reply(403, sts_error_xml("AccessDenied", "Throttling ServiceUnavailable"));
    };
    r = get(p);
    EXPECT_EQ(r.ec, errc::sts_error);
    EXPECT_EQ(net.calls().size(), 3u) << "the provider itself never retries STS";
}

}  // namespace
