#pragma once
// What S3 operations return. Pure data.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tfsnap::s3 {

using time_point = std::chrono::system_clock::time_point;

struct object_info {
    std::string version_id;  // "null" for objects written before versioning was enabled
    std::string etag;        // as S3 sends it, with quotes
    std::uint64_t size = 0;
    time_point last_modified{};
    std::string sse;  // "AES256", "aws:kms", or empty
    std::string kms_key_id;
};

// One entry of ListObjectVersions: a version or a delete marker.
struct version_entry {
    std::string key;
    std::string version_id;
    bool is_latest = false;
    bool delete_marker = false;
    time_point last_modified{};
    std::string etag;  // versions only
    std::uint64_t size = 0;
};

enum class versioning_status { never_enabled, enabled, suspended };

struct lifecycle_rule {
    std::string id;
    bool enabled = false;
    std::string prefix;                  // Filter/Prefix, Filter/And/Prefix, or the legacy top-level Prefix
    std::optional<int> expiration_days;  // current versions
    std::optional<time_point> expiration_date;     // current versions
    std::optional<int> noncurrent_days;            // NoncurrentVersionExpiration/NoncurrentDays
    std::optional<int> newer_noncurrent_versions;  // NoncurrentVersionExpiration/NewerNoncurrentVersions
    bool expired_object_delete_marker = false;
    bool has_tag_filter = false;  // a tag filter: tfsnap cannot tell which objects it matches
};

}  // namespace tfsnap::s3
