// Parsing of IMDS / container JSON and STS XML.
//
// Documents followed (the samples are in aws_test_util.hpp):
//   - EC2 User Guide, "Retrieve security credentials from instance metadata" (IMDS JSON);
//   - AWS SDKs and Tools reference guide, "Container credential provider", and the AWS SDK for
//     Rust's aws_config::ecs documentation (container JSON, {"code","message"} errors);
//   - STS API Reference, AssumeRole and AssumeRoleWithWebIdentity sample responses, and the
//     query API's <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/> errors.
#include "tfsnap/aws/responses.hpp"

#include "aws_test_util.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace {

using namespace tfsnap::aws;
using tfsnap::core::secret;
using namespace std::chrono;

// IMDS and container endpoints are answered by whatever listens there: 100,000 nested arrays
// overflowed the stack of the recursive parser. Refused as a bad document now.
TEST(ContainerCredentials, DeepNestingIsRefusedNotACrash) {
    const std::string deep = R"({"AccessKeyId":"AKID","SecretAccessKey":"s","Token":"t","X":)" +
                             std::string(100000, '[') + std::string(100000, ']') + "}";
    for (const auto kind : {container_kind::imds, container_kind::ecs}) {
        const auto r = parse_container_credentials(deep, kind);
        EXPECT_EQ(r.ec, errc::invalid_response);
        EXPECT_EQ(r.error.message, "the credentials document is not a JSON object");
    }
    EXPECT_FALSE(parse_container_error(R"({"code":"x","message":)" + std::string(100000, '[')));
}

// The clock counts nanoseconds in 64 bits (years 1678 to 2262): "9999-..." overflowed the
// conversion (signed overflow, found by fuzz_aws_credentials). Refused now.
TEST(Iso8601, YearsOutsideTheClocksRangeAreRefused) {
    EXPECT_FALSE(parse_iso8601("9999-12-31T23:59:59Z"));
    EXPECT_FALSE(parse_iso8601("2262-12-31T00:00:00Z"));
    EXPECT_FALSE(parse_iso8601("1677-01-01T00:00:00Z"));
    EXPECT_TRUE(parse_iso8601("2261-12-31T23:59:59.999999999Z"));
    const auto r = parse_container_credentials(
        R"({"AccessKeyId":"AKID","SecretAccessKey":"s","Token":"t","Expiration":"9999-12-31T23:59:59Z"})",
        container_kind::imds);
    EXPECT_EQ(r.ec, errc::invalid_response);
}

TEST(Iso8601, ParsesTheFormsAwsUses) {
    const auto base = sys_days{year{2017} / May / 17} + hours{15} + minutes{9} + seconds{54};
    EXPECT_EQ(parse_iso8601("2017-05-17T15:09:54Z"), base);
    EXPECT_EQ(parse_iso8601("2017-05-17T15:09:54.359Z"), base + milliseconds{359});
    EXPECT_EQ(parse_iso8601("2017-05-17T17:09:54+02:00"), base);
    EXPECT_EQ(parse_iso8601("2017-05-17T14:39:54-00:30"), base);
    EXPECT_FALSE(parse_iso8601(""));
    EXPECT_FALSE(parse_iso8601("2017-05-17 15:09:54Z"));
    EXPECT_FALSE(parse_iso8601("2017-05-17T15:09:54"));
    EXPECT_FALSE(parse_iso8601("2017-02-30T15:09:54Z"));
    EXPECT_FALSE(parse_iso8601("2017-05-17T25:09:54Z"));
    EXPECT_FALSE(parse_iso8601("2017-05-17T15:09:54.Z"));
    EXPECT_EQ(format_iso8601(base + milliseconds{359}), "2017-05-17T15:09:54Z");
}

TEST(ContainerCredentials, ImdsDocument) {
    const auto r = parse_container_credentials(test::imds_credentials_json(), container_kind::imds);
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    EXPECT_TRUE(r.creds.secret_access_key == secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
    EXPECT_TRUE(r.creds.session_token == secret("IMDS-SESSION-TOKEN-EXAMPLE"));
    EXPECT_EQ(r.expiration, sys_days{year{2024} / June / 1} + hours{18});
}

TEST(ContainerCredentials, ImdsCodeOtherThanSuccess) {
    const auto r = parse_container_credentials(R"({"Code":"AssumeRoleUnauthorizedAccess","Message":"denied",
        "LastUpdated":"2024-06-01T11:00:00Z"})",
                                               container_kind::imds);
    EXPECT_EQ(r.ec, errc::imds_unavailable);
    EXPECT_EQ(r.error.service_code, "AssumeRoleUnauthorizedAccess");
    EXPECT_EQ(r.error.service_message, "denied");
}

TEST(ContainerCredentials, EcsDocumentWithRoleArn) {
    const auto r = parse_container_credentials(R"({
        "AccessKeyId": "ASIAECS", "SecretAccessKey": "ecs-secret", "Token": "ecs-token",
        "Expiration": "2024-06-01T18:00:00Z", "RoleArn": "arn:aws:iam::1:role/task"})",
                                               container_kind::ecs);
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIAECS");
    EXPECT_EQ(r.role_arn, "arn:aws:iam::1:role/task");
}

TEST(ContainerCredentials, EcsLongTermKeysWithoutTokenOrExpiration) {
    const auto r =
        parse_container_credentials(R"({"AccessKeyId":"AKID","SecretAccessKey":"s"})", container_kind::ecs);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.creds.session_token.empty());
    EXPECT_FALSE(r.expiration);
}

struct bad_json {
    const char* name;
    const char* json;
    container_kind kind;
    const char* message_part;
};

void PrintTo(const bad_json& c, std::ostream* os) {
    *os << c.name;
}

class ContainerCredentialsErrors : public ::testing::TestWithParam<bad_json> {};

TEST_P(ContainerCredentialsErrors, AreInvalidResponses) {
    const auto& c = GetParam();
    const auto r = parse_container_credentials(c.json, c.kind);
    EXPECT_EQ(r.ec, errc::invalid_response);
    EXPECT_NE(r.error.message.find(c.message_part), std::string::npos) << r.error.message;
    EXPECT_EQ(format(r.ec, r.error).find("SECRETVALUE"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ContainerCredentialsErrors,
    ::testing::Values(
        bad_json{"NotJson", "not json", container_kind::imds, "not a JSON object"},
        bad_json{"NotAnObject", "[1,2]", container_kind::ecs, "not a JSON object"},
        bad_json{"NoAccessKeyId",
                 R"({"SecretAccessKey":"SECRETVALUE","Token":"t","Expiration":"2024-06-01T18:00:00Z"})",
                 container_kind::imds, "no AccessKeyId"},
        bad_json{"NoSecret", R"({"AccessKeyId":"A","Token":"t","Expiration":"2024-06-01T18:00:00Z"})",
                 container_kind::ecs, "no SecretAccessKey"},
        bad_json{"WrongType", R"({"AccessKeyId":1,"SecretAccessKey":"SECRETVALUE"})", container_kind::ecs,
                 "no AccessKeyId"},
        bad_json{
            "ImdsNoToken",
            R"({"Code":"Success","AccessKeyId":"A","SecretAccessKey":"SECRETVALUE","Expiration":"2024-06-01T18:00:00Z"})",
            container_kind::imds, "no Token"},
        bad_json{"ImdsNoExpiration",
                 R"({"Code":"Success","AccessKeyId":"A","SecretAccessKey":"SECRETVALUE","Token":"t"})",
                 container_kind::imds, "no Expiration"},
        bad_json{"BadExpiration",
                 R"({"AccessKeyId":"A","SecretAccessKey":"SECRETVALUE","Token":"t","Expiration":"tomorrow"})",
                 container_kind::ecs, "not an ISO 8601 time"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ContainerError, CodeAndMessage) {
    const auto e = parse_container_error(R"({"code":"InvalidToken","message":"bad\ntoken"})");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, "InvalidToken");
    EXPECT_EQ(e->message, "bad token") << "control characters are not kept";
    EXPECT_FALSE(parse_container_error("<html>"));
    EXPECT_FALSE(parse_container_error(R"({"message":"no code"})"));
}

TEST(StsResponse, AssumeRoleSample) {
    const auto r = parse_sts_credentials(test::assume_role_xml(), "AssumeRole");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    EXPECT_TRUE(r.creds.secret_access_key == secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"));
    // the sample wraps the token over lines; the whitespace is layout, not token
    EXPECT_TRUE(r.creds.session_token ==
                secret("AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW"));
    EXPECT_EQ(r.expiration, sys_days{year{2024} / June / 1} + hours{13});
    EXPECT_EQ(r.role_arn, "arn:aws:sts::123456789012:assumed-role/demo/TestAR");
}

TEST(StsResponse, AssumeRoleWithWebIdentitySample) {
    const auto r = parse_sts_credentials(test::web_identity_xml(), "AssumeRoleWithWebIdentity");
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
    EXPECT_TRUE(r.creds.session_token == secret("AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE"));
}

TEST(StsResponse, WrongActionIsInvalid) {
    const auto r = parse_sts_credentials(test::assume_role_xml(), "AssumeRoleWithWebIdentity");
    EXPECT_EQ(r.ec, errc::invalid_response);
}

TEST(StsResponse, ErrorDocumentKeepsTheCode) {
    const auto r = parse_sts_credentials(test::sts_error_xml("ExpiredTokenException",
                                                             "The security token included "
                                                             "in the request is expired"),
                                         "AssumeRole");
    EXPECT_EQ(r.ec, errc::sts_error);
    EXPECT_EQ(r.error.service_code, "ExpiredTokenException");
    EXPECT_EQ(r.error.service_message, "The security token included in the request is expired");
    const auto e = parse_sts_error(test::sts_error_xml());
    ASSERT_TRUE(e);
    EXPECT_EQ(e->type, "Sender");
    EXPECT_EQ(e->code, "AccessDenied");
    EXPECT_EQ(e->request_id, "0e3bd95c-ba7a-11e9-9c52-EXAMPLE");

    const auto throttled =
        parse_sts_credentials(test::sts_error_xml("Throttling", "Rate exceeded"), "AssumeRole");
    EXPECT_EQ(throttled.ec, errc::sts_throttled);
    EXPECT_EQ(throttled.error.service_code, "Throttling");
}

TEST(StsResponse, MissingFields) {
    const std::string no_token = R"(<AssumeRoleResponse><AssumeRoleResult><Credentials>
        <AccessKeyId>A</AccessKeyId><SecretAccessKey>SECRETVALUE</SecretAccessKey>
        <Expiration>2024-06-01T13:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>)";
    auto r = parse_sts_credentials(no_token, "AssumeRole");
    EXPECT_EQ(r.ec, errc::invalid_response);
    EXPECT_NE(r.error.message.find("SessionToken"), std::string::npos);

    const std::string no_expiration = R"(<AssumeRoleResponse><AssumeRoleResult><Credentials>
        <AccessKeyId>A</AccessKeyId><SecretAccessKey>SECRETVALUE</SecretAccessKey>
        <SessionToken>T</SessionToken></Credentials></AssumeRoleResult></AssumeRoleResponse>)";
    r = parse_sts_credentials(no_expiration, "AssumeRole");
    EXPECT_EQ(r.ec, errc::invalid_response);
    EXPECT_NE(r.error.message.find("Expiration"), std::string::npos);

    r = parse_sts_credentials("<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>", "AssumeRole");
    EXPECT_EQ(r.ec, errc::invalid_response);
    r = parse_sts_credentials("<html><body>Bad gateway</body></html>", "AssumeRole");
    EXPECT_EQ(r.ec, errc::invalid_response);
    r = parse_sts_credentials("not xml <", "AssumeRole");
    EXPECT_EQ(r.ec, errc::invalid_response);
}

TEST(StsResponse, UntrustedErrorTextIsSanitised) {
    const std::string long_message(1000, 'x');
    const auto e =
        parse_sts_error(test::sts_error_xml("Code\x01With\x7f"
                                            "Controls",
                                            long_message));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, "Code?With?Controls");
    EXPECT_EQ(e->message.size(), 256u);
}

}  // namespace
