#pragma once
// Runs an awaitable to completion on a fresh io_context; rethrows its exception. For tests.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>

namespace tfsnap::test {

template <class T>
T run_sync(boost::asio::io_context& io, boost::asio::awaitable<T> a) {
    std::optional<T> out;
    std::exception_ptr error;
    boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e)
            out.emplace(std::move(v));
    });
    io.restart();
    io.run();
    if (error)
        std::rethrow_exception(error);
    return std::move(*out);
}

}  // namespace tfsnap::test
