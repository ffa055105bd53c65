// The default chain's order and its report when nothing is found.
//
// Order followed: AWS SDKs and Tools reference guide, "Understand the credential provider
// chain" (standardized-credentials.html), and the AWS SDK for Rust's DefaultCredentialsChain
// (environment, shared config, web identity, ECS, IMDSv2); tfsnap adds its systemd credential
// just before IMDS, which stays last as in every SDK.
#include "tfsnap/aws/providers.hpp"

#include "aws_test_util.hpp"

#include <gtest/gtest.h>

namespace {

using namespace tfsnap::aws;
using namespace tfsnap::aws::test;

class Chain : public ::testing::Test, public context_fixture {
protected:
    asio::io_context io;
    temp_dir dir;

    // Every source configured; the test removes the ones that should not win.
    environment everything() {
        dir.write(".aws/credentials",
                  "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n");
        dir.write("creds/aws", "aws_access_key_id = AKIDSYSTEMD\naws_secret_access_key = s\n");
        const auto token = dir.write("token", "jwt");
        return {{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                {"AWS_SECRET_ACCESS_KEY", "s"},
                {"HOME", dir.path()},
                {"AWS_ROLE_ARN", "arn:aws:iam::1:role/wi"},
                {"AWS_WEB_IDENTITY_TOKEN_FILE", token},
                {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x"},
                {"CREDENTIALS_DIRECTORY", dir.path() + "/creds"}};
    }

    static http_result everything_answers(const http_call& c) {
        if (c.url.starts_with("https://sts."))
            return reply(200, web_identity_xml());
        if (c.url.starts_with("http://169.254.170.2/"))
            return reply(200, R"({"AccessKeyId":"ASIAECS","SecretAccessKey":"s","Token":"t",
                                  "Expiration":"2024-06-01T18:00:00Z"})");
        if (c.method == "PUT")
            return reply(200, "T");
        if (c.url.ends_with("/security-credentials/"))
            return reply(200, "role");
        return reply(200, imds_credentials_json());
    }

    credentials_result first_from(environment env) {
        return run(io, make_default_chain(make_context_ptr(std::move(env)))->get());
    }
};

TEST_F(Chain, OrderOfPrecedence) {
    net.handler = everything_answers;
    auto env = everything();

    auto r = first_from(env);
    EXPECT_EQ(r.source, "environment");
    EXPECT_TRUE(net.calls().empty()) << "a chain stops at the first source that has credentials";

    env.erase("AWS_ACCESS_KEY_ID");
    env.erase("AWS_SECRET_ACCESS_KEY");
    r = first_from(env);
    EXPECT_EQ(r.creds.access_key_id, "AKIDPROFILE");

    env.erase("HOME");
    r = first_from(env);
    EXPECT_TRUE(r.source.starts_with("web-identity ")) << r.source;

    env.erase("AWS_ROLE_ARN");
    r = first_from(env);
    EXPECT_TRUE(r.source.starts_with("ecs ")) << r.source;

    env.erase("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    r = first_from(env);
    EXPECT_EQ(r.source, "systemd-credential aws");

    env.erase("CREDENTIALS_DIRECTORY");
    r = first_from(env);
    EXPECT_EQ(r.source, "imds role role");
}

TEST_F(Chain, NothingFoundListsEverySourceTried) {
    net.handler = [](const http_call&) { return network_failure(asio::error::host_unreachable); };
    const auto r = first_from({});
    EXPECT_EQ(r.ec, errc::no_credentials);
    ASSERT_EQ(r.error.tried.size(), 6u);
    EXPECT_TRUE(r.error.tried[0].starts_with("environment: AWS_ACCESS_KEY_ID is not set"))
        << r.error.tried[0];
    EXPECT_TRUE(r.error.tried[1].starts_with("profile: ")) << r.error.tried[1];
    EXPECT_TRUE(r.error.tried[2].starts_with("web-identity: ")) << r.error.tried[2];
    EXPECT_TRUE(r.error.tried[3].starts_with("ecs: ")) << r.error.tried[3];
    EXPECT_TRUE(r.error.tried[4].starts_with("systemd-credential: ")) << r.error.tried[4];
    EXPECT_TRUE(r.error.tried[5].starts_with("imds: no answer")) << r.error.tried[5];
    const auto text = format(r.ec, r.error);
    EXPECT_NE(text.find("tried: environment: "), std::string::npos) << text;
    EXPECT_EQ(net.count_to("/latest/api/token"), 2u)
        << "IMDS: one attempt and one retry, then the chain gives up";
}

TEST_F(Chain, ABrokenSourceStopsTheChain) {
    net.handler = everything_answers;
    auto env = everything();
    env.erase("AWS_SECRET_ACCESS_KEY");  // environment keys half set: a mistake to report
    auto r = first_from(env);
    EXPECT_EQ(r.ec, errc::incomplete_credentials);
    EXPECT_TRUE(r.error.tried.empty());

    env = everything();
    env.erase("AWS_ACCESS_KEY_ID");
    env.erase("AWS_SECRET_ACCESS_KEY");
    env["AWS_PROFILE"] = "typo";
    r = first_from(env);
    EXPECT_EQ(r.ec, errc::profile_not_found);
    ASSERT_EQ(r.error.tried.size(), 1u);
    EXPECT_TRUE(r.error.tried[0].starts_with("environment: "));
}

TEST_F(Chain, ImdsDisabledEndsWithNoCredentials) {
    const auto r = first_from({{"AWS_EC2_METADATA_DISABLED", "true"}});
    EXPECT_EQ(r.ec, errc::no_credentials);
    ASSERT_EQ(r.error.tried.size(), 6u);
    EXPECT_EQ(r.error.tried[5], "imds: disabled by AWS_EC2_METADATA_DISABLED");
    EXPECT_TRUE(net.calls().empty());
}

}  // namespace
