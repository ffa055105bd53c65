#pragma once
// The long-running tasks of one owner (the daemon's scheduler, control server, metrics listener,
// housekeeping), each spawned with its own cancellation signal, and awaited together.
//
//   task_group g(ex);
//   g.spawn("control server", server.run());
//   ...
//   g.cancel("control server", cancellation_type::total);
//   co_await g.wait();   // until every task has ended
//
// A task that ends with an exception other than a cancellation is reported to `on_failure`
// (the daemon stops on it). Thread safety: none; use from the tasks' executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace tfsnap::daemon {

class task_group {
public:
    explicit task_group(boost::asio::any_io_executor ex) : ex_(ex), idle_(ex) {}

    // Called when a task ends by an exception that is not a cancellation: its name and what().
    void on_failure(std::function<void(const std::string&, const std::string&)> f) {
        on_failure_ = std::move(f);
    }

    void spawn(std::string name, boost::asio::awaitable<void> task) {
        auto& signal = tasks_[name];
        signal = std::make_unique<boost::asio::cancellation_signal>();
        boost::asio::co_spawn(ex_, std::move(task),
                              boost::asio::bind_cancellation_slot(
                                  signal->slot(), [this, name](std::exception_ptr e) { ended(name, e); }));
    }

    // Cancels one task (nothing when it has ended).
    void cancel(const std::string& name, boost::asio::cancellation_type type) {
        if (const auto it = tasks_.find(name); it != tasks_.end())
            it->second->emit(type);
    }

    bool running(const std::string& name) const { return tasks_.count(name) != 0; }
    std::size_t size() const noexcept { return tasks_.size(); }

    // Returns once every task has ended.
    boost::asio::awaitable<void> wait() {
        while (!tasks_.empty()) {
            idle_.expires_at(boost::asio::steady_timer::time_point::max());
            (void)co_await idle_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        }
    }

private:
    void ended(const std::string& name, std::exception_ptr e) {
        tasks_.erase(name);
        if (e && on_failure_) {
            try {
                std::rethrow_exception(e);
            } catch (const boost::system::system_error& x) {
                if (x.code() != boost::asio::error::operation_aborted)
                    on_failure_(name, x.what());
            } catch (const std::exception& x) {
                on_failure_(name, x.what());
            } catch (...) {
                on_failure_(name, "unknown exception");
            }
        }
        idle_.cancel();
    }

    boost::asio::any_io_executor ex_;
    boost::asio::steady_timer idle_;
    std::map<std::string, std::unique_ptr<boost::asio::cancellation_signal>> tasks_;
    std::function<void(const std::string&, const std::string&)> on_failure_;
};

}  // namespace tfsnap::daemon
