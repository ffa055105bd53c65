#pragma once
// One HTTP exchange with a bounded number of attempts, for the metadata endpoints (IMDS, ECS).

#include "tfsnap/aws/transport.hpp"

#include <boost/asio/awaitable.hpp>

namespace tfsnap::aws::detail {

// Tries again after a connection failure, a timeout or a 5xx, at most `attempts` times in all;
// never after a cancellation. The last result is returned.
boost::asio::awaitable<http_result> exchange_with_retry(const transport& http, http_call call, int attempts);

// Reads a header of a call or reply (names compared case-insensitively).
const std::string* find_header(const sigv4::param_list& headers, std::string_view name);

}  // namespace tfsnap::aws::detail
