#pragma once
// Facts about buckets that change rarely, read at most once per refresh interval (a day by
// default) per bucket: whether versioning is on, and the lifecycle rules. Shared by the backup,
// verify and lifecycle-guard jobs of every environment, so 1,000 environments in one bucket
// cost one GetBucketVersioning a day, not 1,000.
//
// A failed read is not cached: the next job asks again. Concurrent callers for the same bucket
// share one request: while it is in flight the others wait for its answer (so 64 jobs starting
// at once cost one read, not 64).
//
// Thread safety: none; use from the I/O executor. Lifetime: the s3 clients passed per call
// must outlive the call only.

#include "tfsnap/s3/client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace tfsnap::backup {

class bucket_cache {
public:
    explicit bucket_cache(std::chrono::seconds refresh = std::chrono::hours{24}) : refresh_(refresh) {}

    // `origin` tells buckets of different endpoints apart (the endpoint URL, or the region).
    // With `fresh`, the cache is bypassed and refilled.
    boost::asio::awaitable<s3::versioning_result> versioning(s3::client& s3, std::string origin,
                                                             std::string bucket, core::time_point now,
                                                             bool fresh);
    boost::asio::awaitable<s3::lifecycle_result> lifecycle(s3::client& s3, std::string origin,
                                                           std::string bucket, core::time_point now,
                                                           bool fresh);

    std::chrono::seconds refresh() const noexcept { return refresh_; }
    void set_refresh(std::chrono::seconds r) noexcept { refresh_ = r; }
    // Requests actually sent (for tests and status).
    std::uint64_t reads() const noexcept { return reads_; }

private:
    template <class Result>
    struct cached {
        Result value;
        core::time_point at;
    };
    // A read in flight: waiters sleep on `done` until the reader cancels it.
    template <class Result>
    struct pending {
        explicit pending(boost::asio::any_io_executor ex)
            : done(ex, boost::asio::steady_timer::time_point::max()) {}
        boost::asio::steady_timer done;
        std::optional<Result> result;
    };
    template <class Result, class Read>
    boost::asio::awaitable<Result> get(std::map<std::string, cached<Result>>& cache,
                                       std::map<std::string, std::shared_ptr<pending<Result>>>& inflight,
                                       std::string key, core::time_point now, bool fresh, Read read);

    std::chrono::seconds refresh_;
    std::map<std::string, cached<s3::versioning_result>> versioning_;
    std::map<std::string, cached<s3::lifecycle_result>> lifecycle_;
    std::map<std::string, std::shared_ptr<pending<s3::versioning_result>>> versioning_inflight_;
    std::map<std::string, std::shared_ptr<pending<s3::lifecycle_result>>> lifecycle_inflight_;
    std::uint64_t reads_ = 0;
};

}  // namespace tfsnap::backup
