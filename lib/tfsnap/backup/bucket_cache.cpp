#include "tfsnap/backup/bucket_cache.hpp"

namespace tfsnap::backup {

boost::asio::awaitable<s3::versioning_result> bucket_cache::versioning(s3::client& s3, std::string origin,
                                                                       std::string bucket,
                                                                       core::time_point now, bool fresh) {
    const std::string key = origin + " " + bucket;
    if (!fresh) {
        if (const auto it = versioning_.find(key); it != versioning_.end() && now - it->second.at < refresh_)
            co_return it->second.value;
    }
    ++reads_;
    auto r = co_await s3.get_bucket_versioning(bucket);
    if (!r.ec)
        versioning_[key] = {r, now};
    co_return r;
}

boost::asio::awaitable<s3::lifecycle_result> bucket_cache::lifecycle(s3::client& s3, std::string origin,
                                                                     std::string bucket, core::time_point now,
                                                                     bool fresh) {
    const std::string key = origin + " " + bucket;
    if (!fresh) {
        if (const auto it = lifecycle_.find(key); it != lifecycle_.end() && now - it->second.at < refresh_)
            co_return it->second.value;
    }
    ++reads_;
    auto r = co_await s3.get_bucket_lifecycle(bucket);
    if (!r.ec)
        lifecycle_[key] = {r, now};
    co_return r;
}

}  // namespace tfsnap::backup
