#include "tfsnap/aws/detail/exchange.hpp"

#include "tfsnap/aws/detail/text.hpp"

#include <boost/asio/error.hpp>

#include <algorithm>

namespace tfsnap::aws::detail {

boost::asio::awaitable<http_result> exchange_with_retry(const transport& http, http_call call, int attempts) {
    http_result result;
    for (int i = 0; i < std::max(attempts, 1); ++i) {
        result = co_await http(call);
        if (result.ec == boost::asio::error::operation_aborted)
            break;
        if (!result.ec && result.reply.status < 500)
            break;
    }
    co_return result;
}

const std::string* find_header(const sigv4::param_list& headers, std::string_view name) {
    for (const auto& [k, v] : headers) {
        if (iequals(k, name))
            return &v;
    }
    return nullptr;
}

}  // namespace tfsnap::aws::detail
