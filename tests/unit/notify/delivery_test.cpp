#include "tfsnap/notify/detail/delivery.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

using namespace tfsnap::notify;
namespace fs = std::filesystem;

TEST(StatusOutcome, TwoHundredsDeliver) {
    for (const unsigned s : {200u, 201u, 202u, 204u, 299u})
        EXPECT_FALSE(detail::status_outcome(s)) << s;
}

TEST(StatusOutcome, ThrottlingTimeoutsAndServerErrorsAreRetried) {
    for (const unsigned s : {408u, 429u, 500u, 502u, 503u, 504u, 599u}) {
        const auto ec = detail::status_outcome(s);
        EXPECT_EQ(ec, errc::unavailable) << s;
        EXPECT_TRUE(ec == tfsnap::core::condition::transient) << s;
    }
}

TEST(StatusOutcome, OtherStatusesGiveUp) {
    for (const unsigned s : {100u, 301u, 302u, 400u, 401u, 403u, 404u, 410u, 413u, 600u}) {
        const auto ec = detail::status_outcome(s);
        EXPECT_EQ(ec, errc::rejected) << s;
        EXPECT_FALSE(ec == tfsnap::core::condition::transient) << s;
    }
}

TEST(TrimTrailingSpace, DropsTheNewline) {
    EXPECT_EQ(detail::trim_trailing_space("https://h/x\n"), "https://h/x");
    EXPECT_EQ(detail::trim_trailing_space("https://h/x\r\n \t\n"), "https://h/x");
    EXPECT_EQ(detail::trim_trailing_space(" https://h/x"), " https://h/x");
    EXPECT_EQ(detail::trim_trailing_space("\n\n"), "");
}

class CredentialUrl : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tfsnap-notify-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    void write(const std::string& name, const std::string& text) {
        std::ofstream(dir_ / name, std::ios::binary) << text;
    }

    fs::path dir_;
};

TEST_F(CredentialUrl, ReadsAndTrims) {
    write("slack", "https://hooks.slack.com/services/T000/B000/XXXX\n");
    const auto r = detail::read_credential_url(dir_.string(), "slack");
    ASSERT_FALSE(r.ec) << r.detail;
    EXPECT_EQ(r.url.reveal(), "https://hooks.slack.com/services/T000/B000/XXXX");
}

TEST_F(CredentialUrl, MissingDirectory) {
    const auto r = detail::read_credential_url("", "slack");
    EXPECT_EQ(r.ec, errc::credential_unavailable);
    EXPECT_EQ(r.detail, "CREDENTIALS_DIRECTORY is not set (no LoadCredential=slack:... in the unit)");
}

TEST_F(CredentialUrl, MissingFile) {
    const auto r = detail::read_credential_url(dir_.string(), "absent");
    EXPECT_EQ(r.ec, errc::credential_unavailable);
    EXPECT_EQ(r.detail,
              "cannot read the credential absent in CREDENTIALS_DIRECTORY: No such file or directory");
}

TEST_F(CredentialUrl, NotAUrlIsReportedWithoutTheContent) {
    write("slack", "hooks.slack.com/services/T000/B000/XXXX\n");
    const auto r = detail::read_credential_url(dir_.string(), "slack");
    EXPECT_EQ(r.ec, errc::invalid_url);
    EXPECT_EQ(r.detail, "the credential slack: the webhook URL must start with https:// or http://");
    EXPECT_TRUE(r.url.empty());
}

TEST_F(CredentialUrl, TooLarge) {
    write("big", "https://h.example/" + std::string(20000, 'x'));
    const auto r = detail::read_credential_url(dir_.string(), "big");
    EXPECT_EQ(r.ec, errc::invalid_url);
    EXPECT_EQ(r.detail.find("xxx"), std::string::npos);
}

}  // namespace
