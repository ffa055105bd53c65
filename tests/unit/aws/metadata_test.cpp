// EC2 IMDSv2 and container (ECS/EKS) credentials over a scripted transport.
//
// Documentation followed:
//   - EC2 User Guide, "Use the Instance Metadata Service to access instance metadata" (PUT
//     /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds, then requests with
//     X-aws-ec2-metadata-token; 401 for an expired token) and "Retrieve security credentials
//     from instance metadata" (GET /latest/meta-data/iam/security-credentials/ gives the role
//     name, .../<role> the JSON document);
//   - AWS SDKs and Tools reference guide, "IMDS credential provider" (AWS_EC2_METADATA_DISABLED,
//     AWS_EC2_METADATA_SERVICE_ENDPOINT) and "Amazon EC2 instance metadata" (1 s timeout
//     default);
//   - AWS SDKs and Tools reference guide, "Container credential provider"
//     (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on http://169.254.170.2,
//     AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)); the AWS SDK
//     for Rust's aws_config::ecs documentation for the allowed plain-http hosts (loopback,
//     169.254.170.2, 169.254.170.23, fd00:ec2::23).
#include "tfsnap/aws/providers.hpp"

#include "aws_test_util.hpp"

#include <gtest/gtest.h>

namespace {

using namespace tfsnap::aws;
using namespace tfsnap::aws::test;
using tfsnap::core::secret;

class Metadata : public ::testing::Test, public context_fixture {
protected:
    asio::io_context io;
    temp_dir dir;

    credentials_result get(const provider_ptr& p) { return run(io, p->get()); }

    // A well-behaved IMDS: token, one role, its credentials.
    static http_result imds(const http_call& c) {
        if (c.method == "PUT" && c.url.ends_with("/latest/api/token"))
            return reply(200, "IMDS-API-TOKEN");
        if (c.method == "GET" && c.url.ends_with("/latest/meta-data/iam/security-credentials/"))
            return has_header(c, "x-aws-ec2-metadata-token", "IMDS-API-TOKEN") ? reply(200, "web-role\n")
                                                                               : reply(401);
        if (c.method == "GET" && c.url.ends_with("/latest/meta-data/iam/security-credentials/web-role"))
            return has_header(c, "x-aws-ec2-metadata-token", "IMDS-API-TOKEN")
                       ? reply(200, imds_credentials_json())
                       : reply(401);
        return reply(404);
    }
};

// --- IMDS ----------------------------------------------------------------------------------

TEST_F(Metadata, ImdsV2TokenRoleAndCredentials) {
    net.handler = imds;
    const auto r = get(make_imds_provider(make_context_ptr()));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    EXPECT_TRUE(r.creds.session_token == secret("IMDS-SESSION-TOKEN-EXAMPLE"));
    EXPECT_EQ(r.expiration, test_epoch() + std::chrono::hours(6));
    EXPECT_EQ(r.source, "imds role web-role");
    ASSERT_EQ(net.calls().size(), 3u);
    const auto& put = net.calls()[0];
    EXPECT_EQ(put.method, "PUT");
    EXPECT_EQ(put.url, "http://169.254.169.254/latest/api/token");
    EXPECT_EQ(header_or_empty(put, "x-aws-ec2-metadata-token-ttl-seconds"), "21600");
    EXPECT_EQ(put.timeout, std::chrono::milliseconds(1000));
    EXPECT_EQ(net.calls()[1].url, "http://169.254.169.254/latest/meta-data/iam/security-credentials/");
    EXPECT_EQ(net.calls()[2].url,
              "http://169.254.169.254/latest/meta-data/iam/security-credentials/web-role");
    EXPECT_EQ(net.calls()[2].timeout, std::chrono::milliseconds(1000));
}

TEST_F(Metadata, ImdsDisabled) {
    for (const char* v : {"true", "TRUE", "True"}) {
        const auto r = get(make_imds_provider(make_context_ptr({{"AWS_EC2_METADATA_DISABLED", v}})));
        EXPECT_EQ(r.ec, errc::not_configured) << v;
        EXPECT_NE(r.error.message.find("AWS_EC2_METADATA_DISABLED"), std::string::npos);
    }
    EXPECT_TRUE(net.calls().empty());
    net.handler = imds;
    EXPECT_TRUE(get(make_imds_provider(make_context_ptr({{"AWS_EC2_METADATA_DISABLED", "false"}}))).ok());
}

TEST_F(Metadata, ImdsEndpointFromTheEnvironmentWinsOverTheOverride) {
    net.handler = imds;
    auto ctx = make_context({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://[fd00:ec2::254]/"}});
    ctx.endpoints.imds = "http://127.0.0.1:9";
    ASSERT_TRUE(get(make_imds_provider(std::make_shared<const provider_context>(ctx))).ok());
    EXPECT_EQ(net.calls()[0].url, "http://[fd00:ec2::254]/latest/api/token");

    auto ctx2 = make_context();
    ctx2.endpoints.imds = "http://127.0.0.1:9";
    ASSERT_TRUE(get(make_imds_provider(std::make_shared<const provider_context>(ctx2))).ok());
    EXPECT_EQ(net.calls()[3].url, "http://127.0.0.1:9/latest/api/token");
}

TEST_F(Metadata, ImdsUnreachableFailsFastWithOneRetry) {
    net.handler = [](const http_call&) { return network_failure(asio::error::timed_out); };
    const auto r = get(make_imds_provider(make_context_ptr()));
    EXPECT_EQ(r.ec, errc::imds_unavailable);
    EXPECT_EQ(net.calls().size(), 2u) << "one attempt and one retry";
    EXPECT_NE(r.error.message.find("no answer to the session token request"), std::string::npos)
        << r.error.message;
}

TEST_F(Metadata, ImdsServerErrorIsRetriedOnce) {
    net.handler = [n = 0](const http_call& c) mutable { return ++n == 1 ? reply(500) : imds(c); };
    EXPECT_TRUE(get(make_imds_provider(make_context_ptr())).ok());
    EXPECT_EQ(net.calls().size(), 4u);
}

TEST_F(Metadata, ImdsWithoutRoleOrWithTokensRefused) {
    net.handler = [](const http_call& c) { return c.method == "PUT" ? reply(200, "T") : reply(404); };
    auto r = get(make_imds_provider(make_context_ptr()));
    EXPECT_EQ(r.ec, errc::imds_unavailable);
    EXPECT_EQ(r.error.http_status, 404u);
    EXPECT_NE(r.error.message.find("no IAM role"), std::string::npos);

    net.handler = [](const http_call&) { return reply(403); };
    r = get(make_imds_provider(make_context_ptr()));
    EXPECT_EQ(r.ec, errc::imds_unavailable);
    EXPECT_EQ(r.error.http_status, 403u);
}

TEST_F(Metadata, ImdsTokenRejectedIsFetchedAgainOnce) {
    int puts = 0;
    net.handler = [&puts](const http_call& c) {
        if (c.method == "PUT")
            return reply(200, ++puts == 1 ? "STALE-TOKEN" : "IMDS-API-TOKEN");
        return imds(c);
    };
    const auto r = get(make_imds_provider(make_context_ptr()));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(puts, 2);
}

TEST_F(Metadata, ImdsBadDocumentsAndRoleNames) {
    net.handler = [](const http_call& c) {
        if (c.method == "PUT")
            return reply(200, "T");
        if (c.url.ends_with("/security-credentials/"))
            return reply(200, "../../user-data");
        return reply(200, "{}");
    };
    auto r = get(make_imds_provider(make_context_ptr()));
    EXPECT_EQ(r.ec, errc::invalid_response) << "a role name that would change the path is refused";
    EXPECT_EQ(net.calls().size(), 2u);

    net.handler = [](const http_call& c) {
        if (c.method == "PUT")
            return reply(200, "T");
        if (c.url.ends_with("/security-credentials/"))
            return reply(200, "web-role");
        return reply(200, R"({"Code":"Success","AccessKeyId":"A","SecretAccessKey":"SECRETVALUE"})");
    };
    r = get(make_imds_provider(make_context_ptr()));
    EXPECT_EQ(r.ec, errc::invalid_response);
    EXPECT_EQ(format(r.ec, r.error).find("SECRETVALUE"), std::string::npos);
}

// --- ECS / container -----------------------------------------------------------------------

http_result ecs_ok(const http_call&) {
    return reply(200, R"({"AccessKeyId":"ASIAECS","SecretAccessKey":"ecs-secret","Token":"ecs-token",
                          "Expiration":"2024-06-01T18:00:00Z","RoleArn":"arn:aws:iam::1:role/task"})");
}

TEST_F(Metadata, EcsRelativeUri) {
    net.handler = ecs_ok;
    const auto r = get(make_ecs_provider(
        make_context_ptr({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/2f0a6d8c-task"}})));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIAECS");
    EXPECT_EQ(r.expiration, test_epoch() + std::chrono::hours(6));
    EXPECT_EQ(r.source, "ecs http://169.254.170.2") << "the relative URI (a capability) is not logged";
    ASSERT_EQ(net.calls().size(), 1u);
    EXPECT_EQ(net.calls()[0].method, "GET");
    EXPECT_EQ(net.calls()[0].url, "http://169.254.170.2/v2/credentials/2f0a6d8c-task");
    EXPECT_FALSE(has_header(net.calls()[0], "authorization"));
    EXPECT_EQ(net.calls()[0].timeout, std::chrono::milliseconds(2000));
}

TEST_F(Metadata, EcsRelativeUriOnTheOverriddenBase) {
    net.handler = ecs_ok;
    auto ctx = make_context({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds"}});
    ctx.endpoints.ecs = "http://127.0.0.1:4000/";
    ASSERT_TRUE(get(make_ecs_provider(std::make_shared<const provider_context>(ctx))).ok());
    EXPECT_EQ(net.calls()[0].url, "http://127.0.0.1:4000/creds");
}

TEST_F(Metadata, EcsFullUriWithAuthorizationToken) {
    net.handler = ecs_ok;
    const auto r = get(make_ecs_provider(
        make_context_ptr({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials"},
                          {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic ECS-TOKEN"}})));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(net.calls()[0].url, "http://169.254.170.23/v1/credentials");
    EXPECT_TRUE(has_header(net.calls()[0], "authorization", "Basic ECS-TOKEN"));
}

TEST_F(Metadata, EcsTokenFileWinsOverTokenVariable) {
    net.handler = ecs_ok;
    const auto token_file = dir.write("eks-token", "EKS-POD-IDENTITY-TOKEN\n");
    const auto r = get(
        make_ecs_provider(make_context_ptr({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:80/c"},
                                            {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "from-variable"},
                                            {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file}})));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_TRUE(has_header(net.calls()[0], "authorization", "EKS-POD-IDENTITY-TOKEN"));
}

TEST_F(Metadata, EcsFullUriHostRules) {
    net.handler = ecs_ok;
    for (const char* ok : {"https://creds.example.com/x", "http://127.0.0.1:8080/c", "http://localhost/c",
                           "http://[::1]:9/c", "http://169.254.170.2/c", "http://[fd00:ec2::23]/c"}) {
        EXPECT_TRUE(
            get(make_ecs_provider(make_context_ptr({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ok}}))).ok())
            << ok;
    }
    const auto before = net.calls().size();
    for (const char* bad : {"http://creds.example.com/x", "http://10.0.0.1/c", "http://128.0.0.1/c",
                            "ftp://127.0.0.1/", "http://user:pw@127.0.0.1/", "not a url"}) {
        const auto r =
            get(make_ecs_provider(make_context_ptr({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", bad}})));
        EXPECT_EQ(r.ec, errc::invalid_endpoint) << bad;
    }
    EXPECT_EQ(net.calls().size(), before) << "a refused endpoint is never contacted";
}

TEST_F(Metadata, EcsErrors) {
    auto r = get(make_ecs_provider(make_context_ptr()));
    EXPECT_EQ(r.ec, errc::not_configured);

    const auto ctx = make_context_ptr({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/c"}});
    net.handler = [](const http_call&) { return network_failure(); };
    r = get(make_ecs_provider(ctx));
    EXPECT_EQ(r.ec, errc::ecs_unavailable);
    EXPECT_EQ(net.calls().size(), 2u) << "one retry";

    net.handler = [](const http_call&) { return reply(401, R"({"code":"InvalidToken","message":"no"})"); };
    r = get(make_ecs_provider(ctx));
    EXPECT_EQ(r.ec, errc::ecs_unavailable);
    EXPECT_EQ(r.error.http_status, 401u);
    EXPECT_EQ(r.error.service_code, "InvalidToken");
    EXPECT_EQ(net.calls().size(), 3u) << "4xx is not retried";

    net.handler = [](const http_call&) { return reply(200, "{}"); };
    r = get(make_ecs_provider(ctx));
    EXPECT_EQ(r.ec, errc::invalid_response);

    r = get(
        make_ecs_provider(make_context_ptr({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/c"},
                                            {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nX-Injected: 1"}})));
    EXPECT_EQ(r.ec, errc::invalid_credentials_file) << "a token cannot inject headers";

    r = get(make_ecs_provider(
        make_context_ptr({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/c"},
                          {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", dir.path() + "/none"}})));
    EXPECT_EQ(r.ec, errc::file_unreadable);
}

}  // namespace
