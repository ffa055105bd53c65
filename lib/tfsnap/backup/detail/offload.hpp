#pragma once
// Runs blocking or CPU-heavy work (parsing a 100 MB state, sealing a copy, hashing a file) on
// the context's thread pool and resumes on the caller's executor; inline when there is no pool.
//
// Call it with a named function object, not a lambda temporary written inside the co_await
// expression: GCC 12 destroys some temporaries of a co_await full-expression twice.

#include "tfsnap/backup/context.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>
#include <type_traits>
#include <utility>

namespace tfsnap::backup::detail {

template <class R>
boost::asio::awaitable<R> call(std::function<R()> fn) {
    co_return fn();
}

// Not a coroutine itself: it hands `fn` to a coroutine that owns it.
template <class R>
boost::asio::awaitable<R> offload(const job_context& ctx, std::function<R()> fn) {
    if (!ctx.cpu)
        return call<R>(std::move(fn));
    return boost::asio::co_spawn(*ctx.cpu, call<R>(std::move(fn)), boost::asio::use_awaitable);
}

}  // namespace tfsnap::backup::detail
