// systemd credential files ($CREDENTIALS_DIRECTORY/<name>, systemd.exec(5) "Credentials") and
// credential name validation.
#include "tfsnap/aws/systemd_credential.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace {

using namespace tfsnap::aws;
using tfsnap::core::secret;

TEST(SystemdCredentialName, Validation) {
    for (const char* ok : {"aws", "aws-prod", "AWS_keys.v2", "a", "..a"})
        EXPECT_TRUE(is_valid_credential_name(ok)) << ok;
    EXPECT_TRUE(is_valid_credential_name(std::string(64, 'x')));
    for (const char* bad : {"", ".", "..", "../etc/passwd", "a/b", "/abs", "with space", "tab\t", "ünï"})
        EXPECT_FALSE(is_valid_credential_name(bad)) << bad;
    EXPECT_FALSE(is_valid_credential_name(std::string(65, 'x')));
}

TEST(SystemdCredential, WithoutHeader) {
    const auto r =
        parse_systemd_credential("aws_access_key_id = AKIDSYS\naws_secret_access_key = S\n", "/run/c/aws");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "AKIDSYS");
    EXPECT_TRUE(r.creds.secret_access_key == secret("S"));
    EXPECT_TRUE(r.creds.session_token.empty());
}

TEST(SystemdCredential, WithDefaultHeaderCommentsAndToken) {
    const auto r = parse_systemd_credential(
        "# written by "
        "ops\n[default]\naws_access_key_id=AKIDSYS\naws_secret_access_key=S\naws_session_token=T",
        "p");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_TRUE(r.creds.session_token == secret("T"));
}

struct bad_file {
    const char* name;
    const char* text;
    errc code;
    int line;
    const char* message_part;
};

void PrintTo(const bad_file& c, std::ostream* os) {
    *os << c.name;
}

class SystemdCredentialErrors : public ::testing::TestWithParam<bad_file> {};

TEST_P(SystemdCredentialErrors, AreClear) {
    const auto& c = GetParam();
    const auto r = parse_systemd_credential(c.text, "/run/credentials/tfsnapd.service/aws");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.ec, c.code) << format(r.ec, r.error);
    EXPECT_EQ(r.error.line, c.line);
    EXPECT_EQ(r.error.path, "/run/credentials/tfsnapd.service/aws");
    EXPECT_NE(r.error.message.find(c.message_part), std::string::npos) << r.error.message;
    EXPECT_EQ(format(r.ec, r.error).find("SECRETVALUE"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SystemdCredentialErrors,
    ::testing::Values(bad_file{"NoSecret", "aws_access_key_id = A\n", errc::incomplete_credentials, 0,
                               "no aws_secret_access_key"},
                      bad_file{"NoAccessKeyId", "aws_secret_access_key = SECRETVALUE\n",
                               errc::incomplete_credentials, 0, "no aws_access_key_id"},
                      bad_file{"Empty", "", errc::incomplete_credentials, 0, "holds no keys"},
                      bad_file{"UnknownKey", "aws_access_key_id = A\naws_secret_acces_key = SECRETVALUE\n",
                               errc::invalid_credentials_file, 2, "unknown key aws_secret_acces_key"},
                      bad_file{"OtherProfile", "[prod]\naws_access_key_id = A\n",
                               errc::invalid_credentials_file, 1, "one set of keys"},
                      bad_file{"SecondSection", "[default]\naws_access_key_id = A\n[other]\n",
                               errc::invalid_credentials_file, 3, "one set of keys"},
                      bad_file{"EnvStyle", "AWS_ACCESS_KEY_ID=A\nAWS_SECRET_ACCESS_KEY SECRETVALUE\n",
                               errc::invalid_credentials_file, 2, "expected 'key = value'"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
