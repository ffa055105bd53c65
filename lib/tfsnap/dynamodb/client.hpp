#pragma once
// The DynamoDB operations of Terraform's lock table, over the JSON 1.0 protocol
// (`X-Amz-Target: DynamoDB_20120810.<Operation>`), signed with SigV4.
//
// Items (item.hpp) hold string (S), number (N) and boolean (BOOL) attributes, which is what the
// lock table uses; other attribute types in an item read are kept as their raw JSON. The JSON of
// bodies and replies is json.hpp's (pure, depth-bounded).
// Conditional writes are not retried after the server may have acted (a retry would fail on
// its own earlier success); throttling is retried, since nothing was written.
// Responses are checked against DynamoDB's x-amz-crc32 header when present.
//
// Thread safety and lifetime as for s3::client.

#include "tfsnap/core/clock.hpp"
#include "tfsnap/dynamodb/error.hpp"
#include "tfsnap/dynamodb/item.hpp"
#include "tfsnap/dynamodb/json.hpp"
#include "tfsnap/http/aws_request.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/http/retry.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include <boost/asio/awaitable.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tfsnap::dynamodb {

// An expression with its placeholders, e.g. text "attribute_not_exists(#id)",
// names {"#id": "LockID"}, or values {":d": S("abc")}.
struct expression {
    std::string text{};
    std::map<std::string, std::string> names{};
    item values{};
};

struct client_config {
    std::string region = "us-east-1";
    std::optional<std::string> endpoint;  // empty: https://dynamodb.<region>.amazonaws.com
    http::retry_policy retry;
};

struct op_result {
    boost::system::error_code ec;
    error_info info;
};

struct get_item_result : op_result {
    std::optional<item> found;  // nullopt: no item with that key
};

struct describe_table_result : op_result {
    std::string status;  // "CREATING", "ACTIVE", ...
    std::string hash_key;
};

class client {
public:
    client(http::client& http, client_config cfg, http::credentials_source credentials,
           const core::wall_clock& clock, http::random_unit random = http::default_random_unit());

    // A table with a string hash key, billed per request (what Terraform's docs create).
    boost::asio::awaitable<op_result> create_table(std::string table, std::string hash_key);
    boost::asio::awaitable<describe_table_result> describe_table(std::string table);
    boost::asio::awaitable<op_result> delete_table(std::string table);

    // `projection` empty: every attribute.
    boost::asio::awaitable<get_item_result> get_item(std::string table, item key, bool consistent_read,
                                                     std::vector<std::string> projection);
    // `condition.text` empty: unconditional.
    boost::asio::awaitable<op_result> put_item(std::string table, item value, expression condition);
    // `update.names/values` and `condition.names/values` share one namespace of placeholders.
    boost::asio::awaitable<op_result> update_item(std::string table, item key, expression update,
                                                  expression condition);
    boost::asio::awaitable<op_result> delete_item(std::string table, item key, expression condition);

private:
    struct call_result;
    boost::asio::awaitable<call_result> execute(const char* operation, const std::string& table,
                                                std::string body, bool idempotent);

    http::client& http_;
    client_config cfg_;
    http::credentials_source credentials_;
    const core::wall_clock& clock_;
    http::random_unit random_;
    sigv4::signer signer_;
    http::url base_;
    bool base_ok_ = false;
};

}  // namespace tfsnap::dynamodb
