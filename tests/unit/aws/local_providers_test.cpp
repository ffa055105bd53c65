// Providers that read the environment and local files: environment variables, the shared
// files (profiles, with roles assumed through a scripted STS), and systemd credentials.
//
// Documentation followed:
//   - AWS SDKs and Tools reference guide: "AWS access keys" (AWS_ACCESS_KEY_ID,
//     AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), "Location of the shared config and credentials
//     files" (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, ~/.aws/...), "Shared config and
//     credentials files" (AWS_PROFILE, [default]), "Assume role credential provider";
//   - systemd.exec(5), "Credentials" ($CREDENTIALS_DIRECTORY, LoadCredential=).
#include "tfsnap/aws/providers.hpp"

#include "aws_test_util.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

namespace {

using namespace tfsnap::aws;
using namespace tfsnap::aws::test;
using tfsnap::core::secret;

class LocalProviders : public ::testing::Test, public context_fixture {
protected:
    asio::io_context io;
    temp_dir dir;

    credentials_result get(const provider_ptr& p) { return run(io, p->get()); }
};

// --- environment ---------------------------------------------------------------------------

TEST_F(LocalProviders, EnvironmentKeysAndToken) {
    const auto p = make_environment_provider(make_context_ptr({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                                               {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                                                               {"AWS_SESSION_TOKEN", "env-token"}}));
    const auto r = get(p);
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "AKIDENV");
    EXPECT_TRUE(r.creds.secret_access_key == secret("env-secret"));
    EXPECT_TRUE(r.creds.session_token == secret("env-token"));
    EXPECT_FALSE(r.expiration);
    EXPECT_EQ(r.source, "environment");
}

TEST_F(LocalProviders, EnvironmentNotConfiguredAndIncomplete) {
    auto r = get(make_environment_provider(make_context_ptr({{"AWS_ACCESS_KEY_ID", ""}})));
    EXPECT_EQ(r.ec, errc::not_configured) << "an empty variable counts as unset";
    r = get(make_environment_provider(make_context_ptr({{"AWS_ACCESS_KEY_ID", "AKID"}})));
    EXPECT_EQ(r.ec, errc::incomplete_credentials);
    EXPECT_NE(r.error.message.find("AWS_SECRET_ACCESS_KEY is not"), std::string::npos);
    r = get(make_environment_provider(make_context_ptr({{"AWS_SECRET_ACCESS_KEY", "SECRETVALUE"}})));
    EXPECT_EQ(r.ec, errc::incomplete_credentials);
    EXPECT_EQ(format(r.ec, r.error).find("SECRETVALUE"), std::string::npos);
}

TEST(Environment, CaptureFromEnvp) {
    const char* envp[] = {"HOME=/root", "AWS_PROFILE=ops", "EMPTY=", "BROKEN", "X=a=b", nullptr};
    const auto env = capture_environment(envp);
    EXPECT_EQ(env.at("HOME"), "/root");
    EXPECT_EQ(env.at("X"), "a=b");
    EXPECT_FALSE(env.contains("BROKEN"));
    EXPECT_EQ(env_value(env, "AWS_PROFILE"), "ops");
    EXPECT_FALSE(env_value(env, "EMPTY"));
    EXPECT_FALSE(env_value(env, "MISSING"));
}

// --- shared files --------------------------------------------------------------------------

TEST_F(LocalProviders, DefaultProfileUnderHome) {
    dir.write(".aws/credentials",
              "[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = def-secret\n");
    const auto r = get(make_profile_provider(make_context_ptr({{"HOME", dir.path()}})));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "AKIDDEF");
    EXPECT_TRUE(r.creds.secret_access_key == secret("def-secret"));
    EXPECT_EQ(r.source, "profile default (" + dir.path() + "/.aws/credentials)");
}

TEST_F(LocalProviders, AwsProfileAndFileVariablesWithTilde) {
    dir.write("elsewhere/creds", "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = s\n");
    dir.write("elsewhere/conf", "[profile ops]\nregion = eu-west-1\n");
    const auto r =
        get(make_profile_provider(make_context_ptr({{"HOME", dir.path()},
                                                    {"AWS_PROFILE", "ops"},
                                                    {"AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere/creds"},
                                                    {"AWS_CONFIG_FILE", dir.path() + "/elsewhere/conf"}})));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "AKIDOPS");
}

TEST_F(LocalProviders, MissingDefaultIsNotConfiguredButANamedProfileIsAnError) {
    auto r = get(make_profile_provider(make_context_ptr({{"HOME", dir.path()}})));
    EXPECT_EQ(r.ec, errc::not_configured) << "no files at all";
    dir.write(".aws/credentials", "[other]\naws_access_key_id = A\naws_secret_access_key = s\n");
    r = get(make_profile_provider(make_context_ptr({{"HOME", dir.path()}})));
    EXPECT_EQ(r.ec, errc::not_configured) << "no [default]";
    EXPECT_NE(r.error.message.find("no [default] profile"), std::string::npos) << r.error.message;
    r = get(make_profile_provider(make_context_ptr({{"HOME", dir.path()}, {"AWS_PROFILE", "prod"}})));
    EXPECT_EQ(r.ec, errc::profile_not_found);
    EXPECT_NE(r.error.message.find("profile prod is not defined"), std::string::npos) << r.error.message;
    r = get(make_profile_provider(make_context_ptr({{"HOME", dir.path() + "/nowhere"}}), "default"));
    EXPECT_EQ(r.ec, errc::profile_not_found) << "a profile named in the configuration must exist";
    r = get(make_profile_provider(make_context_ptr({}), "default"));
    EXPECT_EQ(r.ec, errc::profile_not_found);
}

TEST_F(LocalProviders, SyntaxErrorNamesFileAndLine) {
    const auto path =
        dir.write(".aws/credentials", "[default]\naws_access_key_id = A\naws_secret_access_key\n");
    const auto r = get(make_profile_provider(make_context_ptr({{"HOME", dir.path()}})));
    EXPECT_EQ(r.ec, errc::invalid_credentials_file);
    EXPECT_EQ(r.error.path, path);
    EXPECT_EQ(r.error.line, 3);
}

TEST_F(LocalProviders, UnreadableFile) {
    std::filesystem::create_directories(dir.path() + "/.aws/credentials");  // a directory cannot be read
    const auto r = get(make_profile_provider(make_context_ptr({{"HOME", dir.path()}})));
    EXPECT_EQ(r.ec, errc::file_unreadable);
    EXPECT_EQ(r.error.path, dir.path() + "/.aws/credentials");
}

TEST_F(LocalProviders, FileWarningsAreLogged) {
    dir.write(
        ".aws/credentials",
        "[default]\naws_access_key_id = A\naws_secret_access_key = SECRETVALUE\naws_access_key_id = B\n");
    const auto r = get(make_profile_provider(make_context_ptr({{"HOME", dir.path()}})));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.creds.access_key_id, "B");
    EXPECT_EQ(log_count(tfsnap::core::log_level::warning), 1u);
    EXPECT_EQ(all_log_text().find("SECRETVALUE"), std::string::npos);
}

TEST_F(LocalProviders, RoleChainFromTheFilesAssumesEachRoleInTurn) {
    dir.write(".aws/credentials",
              "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n");
    dir.write(".aws/config", R"([profile deploy]
role_arn = arn:aws:iam::111111111111:role/deploy
source_profile = hop
role_session_name = nightly
[profile hop]
role_arn = arn:aws:iam::222222222222:role/hop
source_profile = base
external_id = hop-ext
)");
    net.handler = [n = 0](const http_call&) mutable {
        return reply(200, assume_role_xml(++n == 1 ? "ASIAHOP" : "ASIADEPLOY"));
    };
    const auto r = get(make_profile_provider(
        make_context_ptr({{"HOME", dir.path()}, {"AWS_PROFILE", "deploy"}}, "eu-west-1")));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIADEPLOY");
    ASSERT_EQ(net.calls().size(), 2u);
    // the first role is assumed with the base keys, the second with the first role's credentials
    EXPECT_TRUE(header_or_empty(net.calls()[0], "authorization")
                    .starts_with("AWS4-HMAC-SHA256 Credential=AKIDBASE/20240601/eu-west-1/sts/aws4_request,"))
        << header_or_empty(net.calls()[0], "authorization");
    EXPECT_NE(net.calls()[0].body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fhop"),
              std::string::npos);
    EXPECT_NE(net.calls()[0].body.find("ExternalId=hop-ext"), std::string::npos);
    EXPECT_NE(header_or_empty(net.calls()[1], "authorization").find("Credential=ASIAHOP/"),
              std::string::npos);
    EXPECT_TRUE(has_header(net.calls()[1], "x-amz-security-token"));
    EXPECT_NE(net.calls()[1].body.find("RoleSessionName=nightly"), std::string::npos);
    EXPECT_EQ(r.source,
              "assume-role arn:aws:iam::111111111111:role/deploy over assume-role "
              "arn:aws:iam::222222222222:role/hop over profile base (" +
                  dir.path() + "/.aws/credentials) (profile deploy)");
}

TEST_F(LocalProviders, ProfileCycleMakesNoStsCall) {
    dir.write(".aws/config",
              "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
              "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n");
    const auto r = get(make_profile_provider(make_context_ptr({{"HOME", dir.path()}}), "a"));
    EXPECT_EQ(r.ec, errc::profile_cycle);
    EXPECT_NE(r.error.message.find("a -> b -> a"), std::string::npos) << r.error.message;
    EXPECT_TRUE(net.calls().empty());
}

TEST_F(LocalProviders, CredentialSourceThatIsNotThereIsABrokenProfile) {
    dir.write(".aws/config",
              "[default]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = Environment\n");
    const auto r = get(make_profile_provider(make_context_ptr({{"HOME", dir.path()}})));
    EXPECT_EQ(r.ec, errc::invalid_profile) << "not not_configured: a chain must not skip a broken profile";
    EXPECT_NE(r.error.message.find("credential_source = Environment"), std::string::npos) << r.error.message;
    EXPECT_TRUE(net.calls().empty());
}

TEST_F(LocalProviders, CredentialSourceEnvironmentAssumesTheRole) {
    dir.write(".aws/config",
              "[default]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = Environment\n");
    net.handler = [](const http_call&) { return reply(200, assume_role_xml()); };
    const auto r = get(make_profile_provider(make_context_ptr(
        {{"HOME", dir.path()}, {"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}})));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    ASSERT_EQ(net.calls().size(), 1u);
    EXPECT_NE(header_or_empty(net.calls()[0], "authorization").find("Credential=AKIDENV/"),
              std::string::npos);
}

// --- systemd credentials -------------------------------------------------------------------

TEST_F(LocalProviders, SystemdCredential) {
    dir.write("creds/aws", "[default]\naws_access_key_id = AKIDSYS\naws_secret_access_key = sys-secret\n");
    const auto r = get(make_systemd_credential_provider(
        make_context_ptr({{"CREDENTIALS_DIRECTORY", dir.path() + "/creds"}}), "aws"));
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "AKIDSYS");
    EXPECT_TRUE(r.creds.secret_access_key == secret("sys-secret"));
    EXPECT_EQ(r.source, "systemd-credential aws");
}

TEST_F(LocalProviders, SystemdCredentialErrors) {
    const auto ctx = make_context_ptr({{"CREDENTIALS_DIRECTORY", dir.path()}});
    auto r = get(make_systemd_credential_provider(make_context_ptr({}), "aws"));
    EXPECT_EQ(r.ec, errc::not_configured);
    EXPECT_NE(r.error.message.find("CREDENTIALS_DIRECTORY is not set"), std::string::npos);
    r = get(make_systemd_credential_provider(ctx, "missing"));
    EXPECT_EQ(r.ec, errc::not_configured);
    EXPECT_EQ(r.error.path, dir.path() + "/missing");
    dir.write("outside", "aws_access_key_id = A\naws_secret_access_key = s\n");
    r = get(make_systemd_credential_provider(
        make_context_ptr({{"CREDENTIALS_DIRECTORY", dir.path() + "/sub"}}), "../outside"));
    EXPECT_EQ(r.ec, errc::invalid_credential_name) << "no traversal out of CREDENTIALS_DIRECTORY";
    r = get(make_systemd_credential_provider(ctx, ".."));
    EXPECT_EQ(r.ec, errc::invalid_credential_name);
    dir.write("bad", "aws_access_key_id = A\n");
    r = get(make_systemd_credential_provider(ctx, "bad"));
    EXPECT_EQ(r.ec, errc::incomplete_credentials);
    EXPECT_EQ(r.error.path, dir.path() + "/bad");
}

}  // namespace
