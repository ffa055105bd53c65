#pragma once
// The one HTTP exchange the credential providers need (IMDS, ECS, STS), as a function, so the
// providers can be tested against loopback servers and do not depend on the HTTP client's
// internals. `http::make_transport(client)` adapts the real client.

#include "tfsnap/sigv4/signer.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace tfsnap::aws {

struct http_call {
    std::string method;                       // "GET", "PUT", "POST"
    std::string url;                          // "http://169.254.169.254/latest/api/token"
    sigv4::param_list headers;                // sent as given (no signing here)
    std::string body;                         // sent as given
    std::chrono::milliseconds timeout{5000};  // for the whole exchange
};

struct http_reply {
    unsigned status = 0;
    sigv4::param_list headers;  // names lower-case
    std::string body;           // at most 1 MiB; a longer body is an error
};

struct http_result {
    boost::system::error_code ec;  // connection failures and timeouts; HTTP errors are in reply.status
    http_reply reply;
};

// One exchange, no retries (the caller decides). Never throws for network errors.
using transport = std::function<boost::asio::awaitable<http_result>(http_call)>;

}  // namespace tfsnap::aws
