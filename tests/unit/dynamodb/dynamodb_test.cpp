#include "tfsnap/dynamodb/client.hpp"
#include "tfsnap/http/retry.hpp"

#include <gtest/gtest.h>

namespace {

using namespace tfsnap::dynamodb;

TEST(DynamoDbJson, ItemsRoundTrip) {
    const item it{{"LockID", attribute_value::string("bucket/env/terraform.tfstate")},
                  {"Info", attribute_value::string(R"({"ID":"x","Who":"a@b"})")},
                  {"Count", attribute_value::number("42")},
                  {"Held", attribute_value::boolean(true)}};
    const auto text = json::encode_item(it);
    EXPECT_EQ(text,
              R"({"Count":{"N":"42"},"Held":{"BOOL":true},"Info":{"S":"{\"ID\":\"x\",\"Who\":\"a@b\"}"},)"
              R"("LockID":{"S":"bucket/env/terraform.tfstate"}})");
    const auto back = json::decode_item(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, it);
}

TEST(DynamoDbJson, OtherAttributeTypesAreKeptRaw) {
    const auto it = json::decode_item(R"({"Tags":{"SS":["a","b"]},"LockID":{"S":"k"}})");
    ASSERT_TRUE(it);
    EXPECT_EQ(it->at("Tags").type, attribute_value::kind::raw);
    EXPECT_EQ(it->at("Tags").value, R"({"SS":["a","b"]})");
    EXPECT_EQ(json::encode_item(*it), R"({"LockID":{"S":"k"},"Tags":{"SS":["a","b"]}})");
}

TEST(DynamoDbJson, MalformedItemsAreRejected) {
    EXPECT_FALSE(json::decode_item("not json"));
    EXPECT_FALSE(json::decode_item(R"(["a"])"));
    EXPECT_FALSE(json::decode_item(R"({"A":"plain string"})"));
    EXPECT_FALSE(json::decode_item(R"({"A":{"S":"x","N":"1"}})"));
}

// Attribute values nest through M and L; a hostile answer nesting 100,000 levels overflowed the
// stack (recursive parse, then a recursive write of the raw value). Refused now; what nests within
// the bound is kept raw and written back.
TEST(DynamoDbJson, DeepNestingIsRefusedNotACrash) {
    std::string deep = R"({"LockID":{"S":"k"},"Tree":)";
    for (int i = 0; i < 100000; ++i)
        deep += R"({"M":{"a":)";
    EXPECT_FALSE(json::decode_item(deep + "null"));
    EXPECT_FALSE(
        json::decode_item(R"({"A":{"L":)" + std::string(100000, '[') + std::string(100000, ']') + "}}"));

    std::string nested = R"({"LockID":{"S":"k"},"Tree":)";
    std::string tail;
    for (int i = 0; i < 100; ++i) {
        nested += R"({"L":[)";
        tail += "]}";
    }
    nested += R"({"S":"leaf"})" + tail + "}";
    const auto it = json::decode_item(nested);
    ASSERT_TRUE(it);
    EXPECT_EQ(it->at("Tree").type, attribute_value::kind::raw);
    EXPECT_EQ(json::encode_item(*it), nested);
}

// A raw attribute holding a number written back and read again is the same attribute (numbers
// were parsed approximately, so 184467440737095516195 came back as ...480000.0; found by
// fuzz_dynamodb_json).
TEST(DynamoDbJson, RawNumbersRoundTripExactly) {
    const auto it =
        json::decode_item(R"({"Info":{"S":184467440737095516195},"X":{"L":[{"N":0.1},1e300,-2.5e-8]}})");
    ASSERT_TRUE(it);
    const auto back = json::decode_item(json::encode_item(*it));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, *it);
    EXPECT_EQ(json::encode_item(*back), json::encode_item(*it));
}

TEST(DynamoDbJson, StringsKeepEveryByte) {
    const auto it = json::decode_item(R"({"LockID":{"S":"a\u0000b"},"N":{"N":"1"}})");
    ASSERT_TRUE(it);
    EXPECT_EQ(it->at("LockID").value, std::string("a\0b", 3));
}

TEST(DynamoDbJson, ErrorReplies) {
    const auto e = json::parse_error_reply(
        R"({"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"failed"})");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->type, "ConditionalCheckFailedException");
    EXPECT_EQ(e->message, "failed");
    const auto long_message =
        json::parse_error_reply(R"({"__type":"X","Message":")" + std::string(2000, 'm') + "\"}");
    ASSERT_TRUE(long_message);
    EXPECT_EQ(long_message->message.size(), json::max_error_message);
    EXPECT_FALSE(json::parse_error_reply(R"({"message":"no type"})"));
    EXPECT_FALSE(json::parse_error_reply(R"(["__type"])"));
    EXPECT_FALSE(json::parse_error_reply(R"({"__type":)" + std::string(100000, '[')));
}

TEST(DynamoDbJson, DescribeTableAndGetItemReplies) {
    const auto t = json::parse_describe_table_reply(
        R"({"Table":{"TableStatus":"ACTIVE","KeySchema":[{"AttributeName":"LockID","KeyType":"HASH"},7]}})");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->status, "ACTIVE");
    EXPECT_EQ(t->hash_key, "LockID");
    EXPECT_FALSE(json::parse_describe_table_reply(R"({"Table":[]})"));

    const auto none = json::parse_get_item_reply("{}");
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->found);
    const auto found = json::parse_get_item_reply(R"({"Item":{"LockID":{"S":"k"}}})");
    ASSERT_TRUE(found && found->found);
    EXPECT_EQ(found->found->at("LockID").value, "k");
    EXPECT_FALSE(json::parse_get_item_reply(R"({"Item":{"LockID":"k"}})"));
    EXPECT_FALSE(json::parse_get_item_reply("[]"));
}

TEST(DynamoDbErrors, TypesMapToCodesAndRetryClasses) {
    EXPECT_EQ(from_type("com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", 400),
              errc::conditional_check_failed);
    EXPECT_EQ(from_type("ConditionalCheckFailedException", 400), errc::conditional_check_failed);
    EXPECT_EQ(from_type("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", 400),
              errc::resource_not_found);
    EXPECT_EQ(from_type("com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", 400),
              errc::throttled);
    EXPECT_EQ(from_type("ThrottlingException", 400), errc::throttled);
    EXPECT_EQ(from_type("com.amazon.coral.service#UnrecognizedClientException", 400), errc::bad_credentials);
    EXPECT_EQ(from_type("SomethingNew", 500), errc::internal_error);
    EXPECT_EQ(from_type("SomethingNew", 400), errc::other);

    using tfsnap::http::is_retryable;
    // throttling wrote nothing: even a conditional (non-idempotent) write may be retried
    EXPECT_TRUE(is_retryable(errc::throttled, false));
    EXPECT_TRUE(is_retryable(errc::internal_error, true));
    EXPECT_FALSE(is_retryable(errc::internal_error, false));
    EXPECT_FALSE(is_retryable(errc::conditional_check_failed, true));
    EXPECT_FALSE(is_retryable(errc::validation, true));
    EXPECT_TRUE(is_retryable(errc::checksum_mismatch, true));
}

}  // namespace

namespace {

TEST(DynamoDbErrors, DescribeWordsEveryPart) {
    error_info info;
    info.operation = "PutItem";
    info.table = "terraform-locks";
    info.http_status = 400;
    info.type = "ConditionalCheckFailedException";
    info.request_id = "RID1";
    info.message = "The conditional request failed";
    EXPECT_EQ(
        describe(errc::conditional_check_failed, info),
        "PutItem terraform-locks: HTTP 400 ConditionalCheckFailedException (the condition of the request was "
        "not met), request id RID1: The conditional request failed");
    const error_info transport{.operation = "",
                               .table = "",
                               .http_status = 0,
                               .type = "",
                               .message = "",
                               .request_id = "",
                               .detail = "connect: Connection refused"};
    EXPECT_EQ(describe(tfsnap::http::errc::connect_failed, transport),
              "DynamoDB: connection could not be established [connect: Connection refused]");
}

}  // namespace
