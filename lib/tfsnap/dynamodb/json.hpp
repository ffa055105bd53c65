#pragma once
// DynamoDB's JSON 1.0 documents as the client reads and writes them: items in attribute-value
// JSON, and the parts of replies it uses. Pure: no I/O.
//
// Replies are whatever the endpoint (or anything between) sends, so every parser here reads with
// core/json.hpp (iterative, at most core::json_max_depth levels: attribute values nest through M
// and L) and answers nullopt for anything it cannot use; nothing here throws or aborts on input.
//
// Thread safety: free functions with no shared state.

#include "tfsnap/dynamodb/item.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::dynamodb::json {

// {"Name": {"S": "..."}, ...}. Raw attributes are written back as they were read.
std::string encode_item(const item& it);
// The inverse; nullopt unless every member is an object with exactly one type key.
std::optional<item> decode_item(std::string_view object_json);

// How much of an error reply's message is kept.
inline constexpr std::size_t max_error_message = 512;

// An error reply, {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
// "message": "..."} ("Message" also): the type without its namespace, the message cut to
// max_error_message bytes. nullopt when the body is not one.
struct error_reply {
    std::string type;
    std::string message;
};
std::optional<error_reply> parse_error_reply(std::string_view body);

// DescribeTable: {"Table": {"TableStatus": "ACTIVE", "KeySchema": [{"AttributeName": "LockID",
// "KeyType": "HASH"}], ...}}. nullopt without a "Table" object; missing parts are left empty.
struct table_description {
    std::string status;
    std::string hash_key;
};
std::optional<table_description> parse_describe_table_reply(std::string_view body);

// GetItem: {} when there is no such item, {"Item": {...}} when there is. nullopt when the body is
// neither (not an object, or an "Item" decode_item refuses).
struct get_item_reply {
    std::optional<item> found;
};
std::optional<get_item_reply> parse_get_item_reply(std::string_view body);

}  // namespace tfsnap::dynamodb::json
