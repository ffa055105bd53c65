// Profile resolution: merging the two files, role_arn with source_profile chains,
// credential_source, web_identity_token_file, and cycle detection.
//
// Rules followed: AWS SDKs and Tools reference guide, "Assume role credential provider"
// (docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html); the merge of
// the two files as the AWS SDK for Java 2.x documents it ("Profile file changes": settings of a
// profile in both files are merged, the credentials file wins).
#include "tfsnap/aws/profile.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace {

using namespace tfsnap::aws;
using tfsnap::core::secret;

profile_set make_set(std::string_view config_text, std::string_view credentials_text = "") {
    const auto config = parse_profile_file(config_text, profile_file_kind::config, "/h/.aws/config");
    const auto creds =
        parse_profile_file(credentials_text, profile_file_kind::credentials, "/h/.aws/credentials");
    EXPECT_TRUE(config.ok()) << format(config.ec, config.error);
    EXPECT_TRUE(creds.ok()) << format(creds.ec, creds.error);
    return merge_profile_files(config, "/h/.aws/config", creds, "/h/.aws/credentials");
}

TEST(Profile, StaticKeysFromTheCredentialsFile) {
    const auto set =
        make_set("[profile ops]\nregion = eu-west-1\n",
                 "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = S\naws_session_token = T\n");
    const auto r = resolve_profile(set, "ops");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.plan.profile, "ops");
    EXPECT_EQ(r.plan.base_profile, "ops");
    EXPECT_TRUE(r.plan.roles.empty());
    const auto& keys = std::get<static_keys>(r.plan.base);
    EXPECT_EQ(keys.access_key_id, "AKIDOPS");
    EXPECT_TRUE(keys.secret_access_key == secret("S"));
    EXPECT_TRUE(keys.session_token == secret("T"));
    EXPECT_EQ(keys.file, "/h/.aws/credentials");
}

TEST(Profile, CredentialsFileWinsOverConfigFilePerKey) {
    const auto set =
        make_set("[default]\naws_access_key_id = FROM_CONFIG\naws_secret_access_key = C\nregion = r\n",
                 "[default]\naws_access_key_id = FROM_CREDENTIALS\n");
    const auto* p = set.find("default");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p->setting("aws_access_key_id"), "FROM_CREDENTIALS");
    EXPECT_EQ(*p->setting("region"), "r");
    const auto r = resolve_profile(set, "default");
    ASSERT_TRUE(r.ok());
    const auto& keys = std::get<static_keys>(r.plan.base);
    EXPECT_EQ(keys.access_key_id, "FROM_CREDENTIALS");
    EXPECT_TRUE(keys.secret_access_key == secret("C"));
}

TEST(Profile, RoleChainThroughSourceProfiles) {
    const auto set = make_set(R"([profile top]
role_arn = arn:aws:iam::111111111111:role/top
source_profile = middle
external_id = ext-123
role_session_name = backup
duration_seconds = 1800
[profile middle]
role_arn = arn:aws:iam::222222222222:role/middle
source_profile = base
)",
                              "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = S\n");
    const auto r = resolve_profile(set, "top");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.plan.base_profile, "base");
    EXPECT_EQ(std::get<static_keys>(r.plan.base).access_key_id, "AKIDBASE");
    ASSERT_EQ(r.plan.roles.size(), 2u);
    // assumed from the base outwards
    EXPECT_EQ(r.plan.roles[0].profile, "middle");
    EXPECT_EQ(r.plan.roles[0].params.role_arn, "arn:aws:iam::222222222222:role/middle");
    EXPECT_EQ(r.plan.roles[0].params.session_name, "tfsnap");
    EXPECT_FALSE(r.plan.roles[0].params.external_id);
    EXPECT_EQ(r.plan.roles[1].profile, "top");
    EXPECT_EQ(r.plan.roles[1].params.role_arn, "arn:aws:iam::111111111111:role/top");
    EXPECT_EQ(r.plan.roles[1].params.external_id, "ext-123");
    EXPECT_EQ(r.plan.roles[1].params.session_name, "backup");
    EXPECT_EQ(r.plan.roles[1].params.duration, std::chrono::seconds(1800));
}

TEST(Profile, SelfReferenceUsesTheProfilesOwnKeys) {
    const auto set = make_set("[profile me]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = me\n",
                              "[me]\naws_access_key_id = AKIDME\naws_secret_access_key = S\n");
    const auto r = resolve_profile(set, "me");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(std::get<static_keys>(r.plan.base).access_key_id, "AKIDME");
    ASSERT_EQ(r.plan.roles.size(), 1u);
    EXPECT_EQ(r.plan.roles[0].params.role_arn, "arn:aws:iam::1:role/r");
}

TEST(Profile, RoleArnWinsOverKeysInASourceProfile) {
    const auto set = make_set(R"([profile a]
role_arn = arn:aws:iam::1:role/a
source_profile = b
[profile b]
role_arn = arn:aws:iam::1:role/b
source_profile = c
aws_access_key_id = AKIDB
aws_secret_access_key = S
)",
                              "[c]\naws_access_key_id = AKIDC\naws_secret_access_key = S\n");
    const auto r = resolve_profile(set, "a");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.plan.base_profile, "c");
    EXPECT_EQ(r.plan.roles.size(), 2u);
}

TEST(Profile, CycleIsAnErrorThatShowsTheLoop) {
    const auto set = make_set(R"([profile a]
role_arn = arn:aws:iam::1:role/a
source_profile = b
[profile b]
role_arn = arn:aws:iam::1:role/b
source_profile = c
[profile c]
role_arn = arn:aws:iam::1:role/c
source_profile = a
)");
    const auto r = resolve_profile(set, "a");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.ec, errc::profile_cycle);
    EXPECT_NE(r.error.message.find("a -> b -> c -> a"), std::string::npos) << r.error.message;
}

TEST(Profile, CycleNotThroughTheFirstProfile) {
    const auto set = make_set(R"([profile a]
role_arn = arn:aws:iam::1:role/a
source_profile = b
[profile b]
role_arn = arn:aws:iam::1:role/b
source_profile = c
[profile c]
role_arn = arn:aws:iam::1:role/c
source_profile = b
)");
    const auto r = resolve_profile(set, "a");
    EXPECT_EQ(r.ec, errc::profile_cycle);
    EXPECT_NE(r.error.message.find("a -> b -> c -> b"), std::string::npos) << r.error.message;
}

TEST(Profile, SelfReferenceWithoutKeysIsACycle) {
    const auto set = make_set("[profile me]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = me\n");
    const auto r = resolve_profile(set, "me");
    EXPECT_EQ(r.ec, errc::profile_cycle);
    EXPECT_NE(r.error.message.find("me -> me"), std::string::npos) << r.error.message;
}

TEST(Profile, CredentialSourceEndsTheChain) {
    const auto set = make_set(R"([profile a]
role_arn = arn:aws:iam::1:role/a
source_profile = b
[profile b]
role_arn = arn:aws:iam::1:role/b
credential_source = Ec2InstanceMetadata
)");
    const auto r = resolve_profile(set, "a");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(std::get<credential_source>(r.plan.base), credential_source::ec2_instance_metadata);
    ASSERT_EQ(r.plan.roles.size(), 2u);
    EXPECT_EQ(r.plan.roles[0].profile, "b");
}

TEST(Profile, WebIdentityTokenFileInAProfile) {
    const auto set = make_set(R"([profile a]
role_arn = arn:aws:iam::1:role/a
source_profile = wi
[profile wi]
role_arn = arn:aws:iam::1:role/wi
web_identity_token_file = /var/run/secrets/token
role_session_name = pod
)");
    const auto r = resolve_profile(set, "a");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    const auto& wi = std::get<web_identity_params>(r.plan.base);
    EXPECT_EQ(wi.role_arn, "arn:aws:iam::1:role/wi");
    EXPECT_EQ(wi.token_file, "/var/run/secrets/token");
    EXPECT_EQ(wi.session_name, "pod");
    ASSERT_EQ(r.plan.roles.size(), 1u);
    EXPECT_EQ(r.plan.roles[0].params.role_arn, "arn:aws:iam::1:role/a");
}

struct bad_profile {
    const char* label;
    const char* config;
    const char* credentials;
    const char* name;
    errc code;
    const char* message_part;
};

void PrintTo(const bad_profile& c, std::ostream* os) {
    *os << c.label;
}

class ProfileErrors : public ::testing::TestWithParam<bad_profile> {};

TEST_P(ProfileErrors, AreClear) {
    const auto& c = GetParam();
    const auto set = make_set(c.config, c.credentials);
    const auto r = resolve_profile(set, c.name);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.ec, c.code) << format(r.ec, r.error);
    EXPECT_NE(r.error.message.find(c.message_part), std::string::npos) << r.error.message;
    EXPECT_EQ(format(r.ec, r.error).find("SECRETVALUE"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ProfileErrors,
    ::testing::Values(
        bad_profile{"MissingProfile", "", "[a]\naws_access_key_id = X\naws_secret_access_key = SECRETVALUE\n",
                    "missing", errc::profile_not_found,
                    "profile missing is not defined in /h/.aws/credentials"},
        bad_profile{"MissingSourceProfile",
                    "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = gone\n", "", "a",
                    errc::profile_not_found, "names source_profile gone, which is not defined"},
        bad_profile{"NoSecretKey", "", "[a]\naws_access_key_id = AKID\n", "a", errc::incomplete_credentials,
                    "has aws_access_key_id but no aws_secret_access_key"},
        bad_profile{"NoAccessKeyId", "", "[a]\naws_secret_access_key = SECRETVALUE\n", "a",
                    errc::incomplete_credentials, "has aws_secret_access_key but no aws_access_key_id"},
        bad_profile{"NoCredentials", "[profile a]\nregion = r\n", "", "a", errc::invalid_profile,
                    "has no credentials"},
        bad_profile{"RoleWithoutSource", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\n", "", "a",
                    errc::invalid_profile, "no source_profile, credential_source or web_identity_token_file"},
        bad_profile{"TwoSources",
                    "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\ncredential_source = "
                    "Environment\n",
                    "", "a", errc::invalid_profile, "both source_profile and credential_source"},
        bad_profile{"UnknownCredentialSource",
                    "[profile a]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = Laptop\n", "", "a",
                    errc::invalid_profile, "credential_source must be"},
        bad_profile{
            "BadDuration",
            "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = a\nduration_seconds = 60\n"
            "aws_access_key_id = A\n",
            "", "a", errc::invalid_profile, "duration_seconds must be"},
        bad_profile{"CredentialProcess", "[profile a]\ncredential_process = /bin/creds\n", "", "a",
                    errc::invalid_profile, "credential_process"},
        bad_profile{"Sso", "[profile a]\nsso_session = corp\nsso_account_id = 1\n", "", "a",
                    errc::invalid_profile, "IAM Identity Center"},
        bad_profile{
            "SourceWithoutCredentials",
            "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n[profile b]\nregion = r\n",
            "", "a", errc::invalid_profile, "the source_profile of a, has no credentials"}),
    [](const auto& info) { return std::string(info.param.label); });

}  // namespace
