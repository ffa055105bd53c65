#include "tfsnap/aws/error.hpp"

#include <gtest/gtest.h>

namespace {

using namespace tfsnap::aws;

TEST(AwsError, CategoryAndMessages) {
    const boost::system::error_code ec = errc::profile_cycle;
    EXPECT_STREQ(ec.category().name(), "tfsnap.aws");
    EXPECT_EQ(ec.message(), "AWS profiles reference each other in a cycle");
    for (int v = static_cast<int>(errc::no_credentials); v <= static_cast<int>(errc::expired); ++v)
        EXPECT_NE(make_error_code(static_cast<errc>(v)).message(), "unknown tfsnap.aws error") << v;
}

TEST(AwsError, FormatShowsEveryFieldThatIsSet) {
    error_info info;
    info.provider = "assume-role";
    info.path = "https://sts.us-east-1.amazonaws.com/";
    info.http_status = 403;
    info.service_code = "AccessDenied";
    info.service_message = "not authorized";
    info.message = "assuming arn:aws:iam::1:role/r";
    EXPECT_EQ(
        format(errc::sts_error, info),
        "AWS STS returned an error: assuming arn:aws:iam::1:role/r [provider=assume-role, "
        "path=https://sts.us-east-1.amazonaws.com/, http_status=403, code=AccessDenied]: not authorized");

    error_info chain;
    chain.message = "none";
    chain.tried = {"environment: unset", "imds: disabled"};
    EXPECT_EQ(format(errc::no_credentials, chain),
              "no AWS credentials found: none; tried: environment: unset; imds: disabled");

    error_info file;
    file.path = "/root/.aws/credentials";
    file.line = 3;
    EXPECT_EQ(format(errc::invalid_credentials_file, file),
              "invalid AWS credentials file [path=/root/.aws/credentials, line=3]");
}

TEST(AwsError, SanitiseServiceText) {
    EXPECT_EQ(sanitise_service_text("ok text"), "ok text");
    EXPECT_EQ(sanitise_service_text("line\nbreak\x1b[31m"), "line break?[31m");
    EXPECT_EQ(sanitise_service_text("abcdef", 3), "abc");
}

}  // namespace
