#include "tfsnap/control/change_notifier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace tfsnap::control {

namespace asio = boost::asio;

change_notifier::change_notifier(asio::any_io_executor ex) : timer_(std::move(ex)) {
    timer_.expires_at(asio::steady_timer::time_point::max());
}

void change_notifier::notify_all() {
    ++generation_;
    // re-arming cancels every pending wait
    timer_.expires_at(asio::steady_timer::time_point::max());
}

asio::awaitable<void> change_notifier::wait_since(std::uint64_t gen) {
    while (generation_ == gen) {
        co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (generation_ != gen)
            break;
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(asio::error::operation_aborted);
    }
}

}  // namespace tfsnap::control
