#include "tfsnap/http/retry.hpp"

#include "tfsnap/core/error.hpp"

#include <boost/asio/error.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

namespace tfsnap::http {

bool is_retryable(const boost::system::error_code& ec, bool idempotent) noexcept {
    namespace aerr = boost::asio::error;
    if (!ec || ec == aerr::operation_aborted)
        return false;
    if (ec == core::condition::not_processed || ec == aerr::connection_refused)
        return true;
    if (!idempotent)
        return false;
    if (ec == core::condition::transient)
        return true;
    // system errors that reach here unwrapped
    return ec == aerr::connection_reset || ec == aerr::connection_aborted || ec == aerr::broken_pipe ||
           ec == aerr::timed_out || ec == aerr::eof || ec == aerr::network_unreachable ||
           ec == aerr::host_unreachable;
}

std::chrono::milliseconds backoff_delay(const retry_policy& p, int retry, double unit) noexcept {
    const double base = static_cast<double>(p.base_delay.count());
    const double cap = static_cast<double>(p.max_delay.count());
    const double ceiling = std::min(cap, base * std::pow(2.0, std::min(retry, 30)));
    const double u = std::clamp(unit, 0.0, 1.0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(ceiling * u));
}

random_unit default_random_unit() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

}  // namespace tfsnap::http
