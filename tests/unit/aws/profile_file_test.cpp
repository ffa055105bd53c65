// Parsing of the shared credentials and config files.
//
// Rules followed: AWS SDKs and Tools reference guide, "Shared config and credentials files"
// (docs.aws.amazon.com/sdkref/latest/guide/file-format.html) for [default], [profile name] and
// the two files; AWS SDK for Java 2.x developer guide, "Profile file changes"
// (docs.aws.amazon.com/sdk-for-java/latest/developer-guide/migration-profile-file.html) for
// comments, duplicates and [profile foo] vs [foo].
#include "tfsnap/aws/profile_file.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace {

using namespace tfsnap::aws;
using tfsnap::core::secret;

TEST(ProfileFile, CredentialsFileWithCommentsAndWhitespace) {
    const auto r = parse_profile_file(R"(# a comment
; another comment
[default]
aws_access_key_id = AKIDEXAMPLE
aws_secret_access_key=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY   # trailing comment

  [ops]   ; comment after a header
	aws_access_key_id   =   AKIDOPS
aws_secret_access_key = secret#with;hash
aws_session_token = token ; comment
)",
                                      profile_file_kind::credentials, "/home/u/.aws/credentials");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_TRUE(r.warnings.empty());
    ASSERT_EQ(r.profiles.size(), 2u);
    const auto& d = r.profiles.at("default");
    EXPECT_EQ(*d.setting("aws_access_key_id"), "AKIDEXAMPLE");
    ASSERT_NE(d.secret_value("aws_secret_access_key"), nullptr);
    EXPECT_TRUE(*d.secret_value("aws_secret_access_key") ==
                secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"));
    EXPECT_EQ(d.setting("aws_secret_access_key"), nullptr) << "secrets are never plain settings";
    const auto& ops = r.profiles.at("ops");
    EXPECT_EQ(*ops.setting("aws_access_key_id"), "AKIDOPS");
    // '#' and ';' not preceded by whitespace belong to the value
    EXPECT_TRUE(*ops.secret_value("aws_secret_access_key") == secret("secret#with;hash"));
    EXPECT_TRUE(*ops.secret_value("aws_session_token") == secret("token"));
    EXPECT_EQ(ops.origins.at("aws_session_token").line, 10);
    EXPECT_EQ(ops.origins.at("aws_session_token").file, "/home/u/.aws/credentials");
}

TEST(ProfileFile, KeysAreCaseInsensitiveAndCrLfIsAccepted) {
    const auto r = parse_profile_file("[default]\r\nAWS_Access_Key_ID = AKID\r\nRegion = eu-west-1\r\n",
                                      profile_file_kind::credentials, "c");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(*r.profiles.at("default").setting("aws_access_key_id"), "AKID");
    EXPECT_EQ(*r.profiles.at("default").setting("region"), "eu-west-1");
}

TEST(ProfileFile, ConfigFileUsesProfilePrefix) {
    const auto r = parse_profile_file(R"([default]
region = us-east-1
[profile ops]
role_arn = arn:aws:iam::123456789012:role/ops
source_profile = default
[plain]
region = eu-west-1
[sso-session corp]
sso_start_url = https://example.awsapps.com/start
[services s3-local]
s3 =
  endpoint_url = http://localhost:4566
)",
                                      profile_file_kind::config, "/home/u/.aws/config");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_TRUE(r.profiles.contains("default"));
    EXPECT_TRUE(r.profiles.contains("ops"));
    EXPECT_FALSE(r.profiles.contains("plain")) << "[plain] in the config file is not a profile";
    EXPECT_FALSE(r.profiles.contains("corp"));
    EXPECT_FALSE(r.profiles.contains("sso-session corp"));
    ASSERT_EQ(r.warnings.size(), 1u);  // only [plain]: other section kinds are skipped silently
    EXPECT_EQ(r.warnings[0].line, 6);
    EXPECT_NE(r.warnings[0].message.find("[profile plain]"), std::string::npos) << r.warnings[0].message;
}

TEST(ProfileFile, ProfileDefaultWinsOverDefaultInConfig) {
    const auto r = parse_profile_file("[default]\nregion = a\n[profile default]\nregion = b\n",
                                      profile_file_kind::config, "config");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r.profiles.at("default").setting("region"), "b");
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0].line, 1);
}

TEST(ProfileFile, ProfilePrefixInCredentialsFileIsIgnoredWithAWarning) {
    const auto r = parse_profile_file("[profile ops]\naws_access_key_id = A\n",
                                      profile_file_kind::credentials, "credentials");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.profiles.empty());
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].message.find("write [ops]"), std::string::npos) << r.warnings[0].message;
}

TEST(ProfileFile, DuplicatesMergeAndTheLastValueWins) {
    const auto r = parse_profile_file(R"([ops]
aws_access_key_id = FIRST
region = eu-west-1
[other]
x = 1
[ops]
aws_access_key_id = SECOND
)",
                                      profile_file_kind::credentials, "credentials");
    ASSERT_TRUE(r.ok());
    const auto& ops = r.profiles.at("ops");
    EXPECT_EQ(*ops.setting("aws_access_key_id"), "SECOND");
    EXPECT_EQ(*ops.setting("region"), "eu-west-1");
    EXPECT_EQ(ops.origins.at("aws_access_key_id").line, 7);
    ASSERT_EQ(r.warnings.size(), 2u);  // the profile defined again, the key set again
    EXPECT_EQ(r.warnings[0].line, 6);
    EXPECT_EQ(r.warnings[1].line, 7);
    EXPECT_NE(r.warnings[1].message.find("aws_access_key_id"), std::string::npos);
    EXPECT_EQ(r.warnings[1].message.find("FIRST"), std::string::npos) << "warnings never quote values";
}

TEST(ProfileFile, IndentedLinesContinueTheValue) {
    const auto r = parse_profile_file(
        "[profile x]\ns3 =\n  addressing_style = path\n  max_concurrent_requests = 10\n"
        "region = r\n",
        profile_file_kind::config, "config");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(*r.profiles.at("x").setting("s3"), "addressing_style = path\nmax_concurrent_requests = 10");
    EXPECT_EQ(*r.profiles.at("x").setting("region"), "r");
}

TEST(ProfileFile, IndentedKeyAfterABlankLineIsANewKey) {
    const auto r = parse_profile_file("[default]\naws_access_key_id = A\n\n  region = r\n",
                                      profile_file_kind::credentials, "credentials");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r.profiles.at("default").setting("aws_access_key_id"), "A");
    EXPECT_EQ(*r.profiles.at("default").setting("region"), "r");
}

struct bad_case {
    const char* name;
    const char* text;
    int line;
    const char* message_part;
};

void PrintTo(const bad_case& c, std::ostream* os) {
    *os << c.name;
}

class ProfileFileErrors : public ::testing::TestWithParam<bad_case> {};

TEST_P(ProfileFileErrors, AreReportedWithTheLine) {
    const auto& c = GetParam();
    const auto r = parse_profile_file(c.text, profile_file_kind::credentials, "/etc/creds");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.ec, errc::invalid_credentials_file);
    EXPECT_EQ(r.error.line, c.line);
    EXPECT_EQ(r.error.path, "/etc/creds");
    EXPECT_NE(r.error.message.find(c.message_part), std::string::npos) << r.error.message;
    EXPECT_EQ(format(r.ec, r.error).find("s3cr3t"), std::string::npos) << "messages never quote values";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ProfileFileErrors,
    ::testing::Values(
        bad_case{"Orphan", "aws_secret_access_key = s3cr3t\n[default]\n", 1, "before any [profile] section"},
        bad_case{"NoEquals", "[default]\naws_secret_access_key s3cr3t\n", 2, "expected 'key = value'"},
        bad_case{"UnclosedHeader", "[default\naws_secret_access_key = s3cr3t\n", 1, "without a closing ']'"},
        bad_case{"JunkAfterHeader", "[default] junk\n", 1, "unexpected text after"},
        bad_case{"EmptyHeader", "[]\n", 1, "empty section name"},
        bad_case{"NoKeyName", "[default]\n = s3cr3t\n", 2, "no key name"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ProfileFile, EmptyFileHasNoProfiles) {
    const auto r = parse_profile_file("", profile_file_kind::credentials, "c");
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.profiles.empty());
}

}  // namespace
