#include "tfsnap/backup/bucket_cache.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tfsnap::backup {

template <class Result, class Read>
boost::asio::awaitable<Result> bucket_cache::get(
    std::map<std::string, cached<Result>>& cache,
    std::map<std::string, std::shared_ptr<pending<Result>>>& inflight, std::string key, core::time_point now,
    bool fresh, Read read) {
    if (!fresh) {
        if (const auto it = cache.find(key); it != cache.end() && now - it->second.at < refresh_)
            co_return it->second.value;
    }
    if (const auto it = inflight.find(key); it != inflight.end()) {
        // someone is asking already: wait for that answer
        const auto p = it->second;
        while (!p->result)
            co_await p->done.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        co_return *p->result;
    }
    const auto p = std::make_shared<pending<Result>>(co_await boost::asio::this_coro::executor);
    inflight.emplace(key, p);
    ++reads_;
    Result r;
    try {
        r = co_await read();
    } catch (...) {
        // the waiters must not hang: they retry on their own
        inflight.erase(key);
        p->result.emplace();
        p->result->ec = make_error_code(boost::system::errc::operation_canceled);
        p->done.cancel();
        throw;
    }
    if (!r.ec)
        cache[key] = {r, now};
    inflight.erase(key);
    p->result = r;
    p->done.cancel();
    co_return r;
}

boost::asio::awaitable<s3::versioning_result> bucket_cache::versioning(s3::client& s3, std::string origin,
                                                                       std::string bucket,
                                                                       core::time_point now, bool fresh) {
    auto read = [&s3, bucket]() { return s3.get_bucket_versioning(bucket); };
    std::string key = origin + " " + bucket;  // named: no temporaries in a co_await (GCC 12)
    co_return co_await get(versioning_, versioning_inflight_, std::move(key), now, fresh, read);
}

boost::asio::awaitable<s3::lifecycle_result> bucket_cache::lifecycle(s3::client& s3, std::string origin,
                                                                     std::string bucket, core::time_point now,
                                                                     bool fresh) {
    auto read = [&s3, bucket]() { return s3.get_bucket_lifecycle(bucket); };
    std::string key = origin + " " + bucket;
    co_return co_await get(lifecycle_, lifecycle_inflight_, std::move(key), now, fresh, read);
}

}  // namespace tfsnap::backup
