#include "tfsnap/aws/error.hpp"
#include "tfsnap/core/error.hpp"
#include "tfsnap/http/retry.hpp"

#include <gtest/gtest.h>
#include <boost/asio/error.hpp>

#include <string_view>

namespace {

using namespace tfsnap::aws;

TEST(AwsError, CategoryAndMessages) {
    const boost::system::error_code ec = errc::profile_cycle;
    EXPECT_STREQ(ec.category().name(), "tfsnap.aws");
    EXPECT_EQ(ec.message(), "AWS profiles reference each other in a cycle");
    for (int v = static_cast<int>(errc::no_credentials); v <= static_cast<int>(errc::sts_unavailable); ++v)
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

// STS API Reference, "Common Errors" (Throttling / ThrottlingException / RequestLimitExceeded
// with HTTP 400, InternalFailure 500, ServiceUnavailable 503) and AssumeRoleWithWebIdentity
// (IDPCommunicationError: "often a transient error"). The code decides; the status only when the
// code is not one of these.
TEST(AwsError, StsCodesMapToTheirRetryClass) {
    struct row {
        std::string_view code;
        unsigned status;
        errc expected;
    };
    const row rows[] = {
        {"Throttling", 400, errc::sts_throttled},
        {"ThrottlingException", 400, errc::sts_throttled},
        {"RequestLimitExceeded", 400, errc::sts_throttled},
        {"Throttling", 0, errc::sts_throttled},
        {"ServiceUnavailable", 503, errc::sts_unavailable},
        {"InternalFailure", 500, errc::sts_unavailable},
        {"IDPCommunicationError", 400, errc::sts_unavailable},
        {"", 500, errc::sts_unavailable},
        {"", 502, errc::sts_unavailable},
        {"", 503, errc::sts_unavailable},
        {"", 504, errc::sts_unavailable},
        {"", 429, errc::sts_throttled},
        {"AccessDenied", 403, errc::sts_error},
        {"InvalidIdentityToken", 400, errc::sts_error},
        {"ExpiredTokenException", 400, errc::sts_error},
        {"InvalidClientTokenId", 403, errc::sts_error},
        {"SignatureDoesNotMatch", 403, errc::sts_error},
        {"RegionDisabledException", 403, errc::sts_error},
        {"MalformedPolicyDocument", 400, errc::sts_error},
        {"", 400, errc::sts_error},
        {"", 403, errc::sts_error},
        {"", 0, errc::sts_error},
        // codes are case-sensitive, as AWS sends them
        {"throttling", 400, errc::sts_error},
        {"Throttling ", 400, errc::sts_error},
    };
    for (const auto& r : rows)
        EXPECT_EQ(from_sts_code(r.code, r.status), r.expected) << "code=" << r.code << " status=" << r.status;
}

TEST(AwsError, TransientCodesAreRetryable) {
    using tfsnap::core::condition;
    using tfsnap::http::is_retryable;
    const auto ec = [](errc e) { return make_error_code(e); };

    for (const errc e : {errc::imds_unavailable, errc::ecs_unavailable, errc::sts_unavailable}) {
        EXPECT_TRUE(ec(e) == condition::transient) << ec(e).message();
        EXPECT_FALSE(ec(e) == condition::not_processed) << ec(e).message();
        EXPECT_TRUE(is_retryable(ec(e), true)) << ec(e).message();
        EXPECT_FALSE(is_retryable(ec(e), false)) << ec(e).message();
    }
    // throttled: STS did no work, so even a request that is not idempotent may be sent again
    EXPECT_TRUE(ec(errc::sts_throttled) == condition::transient);
    EXPECT_TRUE(ec(errc::sts_throttled) == condition::not_processed);
    EXPECT_TRUE(is_retryable(ec(errc::sts_throttled), true));
    EXPECT_TRUE(is_retryable(ec(errc::sts_throttled), false));

    // the code alone carries the class: a mapped STS reply needs no error_info to be classified
    EXPECT_TRUE(is_retryable(ec(from_sts_code("Throttling", 400)), true));
    EXPECT_TRUE(is_retryable(ec(from_sts_code("InternalFailure", 500)), true));
    EXPECT_FALSE(is_retryable(ec(from_sts_code("AccessDenied", 403)), true));
    EXPECT_FALSE(is_retryable(ec(from_sts_code("InvalidIdentityToken", 400)), true));

    for (int v = static_cast<int>(errc::no_credentials); v <= static_cast<int>(errc::sts_unavailable); ++v) {
        const auto e = static_cast<errc>(v);
        if (e == errc::imds_unavailable || e == errc::ecs_unavailable || e == errc::sts_unavailable ||
            e == errc::sts_throttled)
            continue;
        EXPECT_FALSE(ec(e) == condition::transient) << ec(e).message();
        EXPECT_FALSE(ec(e) == condition::not_processed) << ec(e).message();
        EXPECT_FALSE(is_retryable(ec(e), true)) << ec(e).message();
        EXPECT_FALSE(is_retryable(ec(e), false)) << ec(e).message();
    }
    // other categories are unaffected by ours
    EXPECT_FALSE(make_error_code(errc::sts_unavailable) == boost::asio::error::timed_out);
}

TEST(AwsError, FormatNamesTheThrottlingCode) {
    error_info info;
    info.provider = "assume-role";
    info.http_status = 400;
    info.service_code = "Throttling";
    EXPECT_EQ(format(errc::sts_throttled, info),
              "AWS STS throttled the request [provider=assume-role, http_status=400, code=Throttling]");
}

}  // namespace
