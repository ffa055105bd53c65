// make_provider: which provider each `credentials:` section gives (config.hpp documents the
// keys), over a scripted transport and files in a temporary directory.
#include "tfsnap/aws/make_provider.hpp"

#include "aws_test_util.hpp"

#include <gtest/gtest.h>

namespace {

using namespace tfsnap;
using namespace tfsnap::aws;
using namespace tfsnap::aws::test;

class MakeProvider : public ::testing::Test, public context_fixture {
protected:
    asio::io_context io;
    temp_dir dir;

    credentials_result get(const config::credentials_config& cfg, environment env) {
        return run(io, make_provider(cfg, make_context(std::move(env)))->get());
    }
};

TEST_F(MakeProvider, NothingSetUsesTheDefaultChain) {
    const auto r = get({}, {{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}});
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.source, "environment");
}

TEST_F(MakeProvider, ProfileIsUsedAndNotBypassed) {
    dir.write(".aws/credentials", "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = s\n");
    config::credentials_config cfg;
    cfg.profile = "ops";
    auto r =
        get(cfg, {{"HOME", dir.path()}, {"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}});
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "AKIDOPS") << "a configured profile wins over the environment";

    cfg.profile = "missing";
    r = get(cfg, {{"HOME", dir.path()}, {"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}});
    EXPECT_EQ(r.ec, errc::profile_not_found) << "no fallback to the chain when the profile is missing";
}

TEST_F(MakeProvider, SystemdCredential) {
    dir.write("prod-keys", "aws_access_key_id = AKIDSYS\naws_secret_access_key = s\n");
    config::credentials_config cfg;
    cfg.systemd_credential = "prod-keys";
    const auto r = get(cfg, {{"CREDENTIALS_DIRECTORY", dir.path()}});
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.source, "systemd-credential prod-keys");
}

TEST_F(MakeProvider, RoleOverAProfile) {
    dir.write(".aws/credentials", "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = s\n");
    net.handler = [](const http_call&) { return reply(200, assume_role_xml()); };
    config::credentials_config cfg;
    cfg.profile = "ops";
    cfg.role_arn = "arn:aws:iam::123456789012:role/tfsnap-backup";
    cfg.external_id = "ext-1";
    cfg.role_session_name = "tfsnapd-prod";
    const auto r = get(cfg, {{"HOME", dir.path()}});
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.source, "assume-role arn:aws:iam::123456789012:role/tfsnap-backup over profile ops (" +
                            dir.path() + "/.aws/credentials)");
    ASSERT_EQ(net.calls().size(), 1u);
    const auto& body = net.calls()[0].body;
    EXPECT_NE(body.find("ExternalId=ext-1"), std::string::npos) << body;
    EXPECT_NE(body.find("RoleSessionName=tfsnapd-prod"), std::string::npos) << body;
    EXPECT_NE(header_or_empty(net.calls()[0], "authorization").find("Credential=AKIDOPS/"),
              std::string::npos);
}

TEST_F(MakeProvider, RoleOverTheDefaultChain) {
    net.handler = [](const http_call&) { return reply(200, assume_role_xml()); };
    config::credentials_config cfg;
    cfg.role_arn = "arn:aws:iam::123456789012:role/tfsnap-backup";
    const auto r = get(cfg, {{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}});
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_NE(net.calls()[0].body.find("RoleSessionName=tfsnap&"), std::string::npos)
        << "default session name";
    EXPECT_EQ(net.calls()[0].body.find("ExternalId"), std::string::npos);
}

TEST_F(MakeProvider, WebIdentityWithRoleArn) {
    const auto token = dir.write("token", "jwt");
    net.handler = [](const http_call&) { return reply(200, web_identity_xml()); };
    config::credentials_config cfg;
    cfg.role_arn = "arn:aws:iam::123456789012:role/tfsnap";
    cfg.web_identity_token_file = token;
    const auto r = get(cfg, {});
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_TRUE(r.source.starts_with("web-identity arn:aws:iam::123456789012:role/tfsnap")) << r.source;
    EXPECT_FALSE(has_header(net.calls()[0], "authorization"));
}

TEST_F(MakeProvider, TheProviderCachesItsCredentials) {
    net.handler = [](const http_call&) { return reply(200, assume_role_xml()); };
    config::credentials_config cfg;
    cfg.role_arn = "arn:aws:iam::123456789012:role/tfsnap";
    const auto p =
        make_provider(cfg, make_context({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}}));
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(run(io, p->get()).ok());
    EXPECT_EQ(net.calls().size(), 1u);
}

}  // namespace
