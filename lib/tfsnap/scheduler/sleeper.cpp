#include "tfsnap/scheduler/sleeper.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

namespace tfsnap::scheduler {

namespace asio = boost::asio;

steady_sleeper::steady_sleeper(asio::any_io_executor ex, const core::wall_clock& clock,
                               std::chrono::milliseconds watch_interval)
    : clock_(clock), timer_(std::move(ex)), watch_(std::max(watch_interval, std::chrono::milliseconds{1})) {}

asio::awaitable<void> steady_sleeper::sleep_until(core::time_point wall_deadline) {
    for (;;) {
        if (woken_) {
            woken_ = false;
            co_return;
        }
        const auto now = clock_.now();
        if (now >= wall_deadline)
            co_return;
        const auto distance =
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(wall_deadline - now);
        timer_.expires_after(std::min<std::chrono::steady_clock::duration>(distance, watch_));
        sleeping_ = true;
        auto [ec] = co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        sleeping_ = false;
        if (ec == asio::error::operation_aborted && !woken_)
            throw boost::system::system_error(ec);
    }
}

void steady_sleeper::wake() {
    woken_ = true;
    if (sleeping_)
        timer_.cancel();
}

}  // namespace tfsnap::scheduler
