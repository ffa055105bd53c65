#pragma once
// Sending one SigV4-signed request to an AWS service (S3, DynamoDB, STS): the step shared by
// every service client. No retries here; callers wrap it in `with_retries`.
//
// Thread safety and lifetime as for `client`.

#include "tfsnap/core/clock.hpp"
#include "tfsnap/http/body.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>

namespace tfsnap::http {

struct credentials_lookup {
    boost::system::error_code ec;
    sigv4::credentials creds;
};
// Where signing credentials come from: the aws module's provider chain, or fixed keys in tests.
// Called before every attempt, so refreshed credentials are picked up by retries.
using credentials_source = std::function<boost::asio::awaitable<credentials_lookup>()>;

struct aws_request {
    boost::beast::http::verb method = boost::beast::http::verb::get;
    url origin;                 // scheme, host and port the request goes to
    std::string path = "/";     // wire path, already encoded
    sigv4::param_list query;    // decoded; encoded and sorted for the wire and the signature
    sigv4::param_list headers;  // sent and signed ("host" is added from `origin`)
    body_source body = body_source::none();
    std::string payload_hash;  // hex SHA-256 of the body
    std::string region;
    std::string service;  // "s3", "dynamodb", "sts"
    bool idempotent = true;
};

// Signs `req` with `creds` at `clock.now()` and sends it; the response body goes to `sink`.
boost::asio::awaitable<result> send_signed(client& http, sigv4::signer& signer,
                                           const sigv4::credentials& creds, const core::wall_clock& clock,
                                           const aws_request& req, body_sink& sink);

}  // namespace tfsnap::http
