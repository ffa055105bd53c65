#pragma once
// The lifecycle guard of one environment: which retained snapshots pin a version that a bucket
// lifecycle rule will delete, and what tfsnap does about it.
//
// 1. The bucket's lifecycle rules come from the shared bucket_cache: read at most once per
//    refresh interval (a day) per bucket.
// 2. When a rule applies to the state's key, ListObjectVersions of the key gives each version's
//    fate (lifecycle::fates): when it became noncurrent, when S3 deletes it.
// 3. Each snapshot's manifest gets `expires_at` (or loses it when no rule deletes the version
//    any more); the index follows.
// 4. A snapshot whose version will be deleted and that has no copy is a warning (log line;
//    counted for the metric), and with `copy.on_expiry: archive` it gets a server-side copy
//    now, while the version still exists (copying at once, rather than just before the
//    deadline, never misses it: the daemon may be down on the day).
// A rule that will put a delete marker on the live state (Expiration on current versions) is
// reported too: Terraform would find no state after that date.
//
// Errors are values: a lifecycle that cannot be read (e.g. no s3:GetLifecycleConfiguration
// permission) is reported in `error` and changes nothing.

#include "tfsnap/backup/context.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace tfsnap::backup {

struct guard_item {
    std::string snapshot_id;
    std::string version_id;
    std::string expires_at;  // RFC 3339; empty when S3 will not delete it by a known date
    std::string reason;      // the rule and how the date was computed
    bool uncertain = false;  // a tag filter, or NewerNoncurrentVersions: depends on what happens next
    bool has_copy = false;
    bool archived_now = false;
    std::string error;  // the archive copy failed
};

struct guard_report {
    bool rules_apply = false;        // some enabled rule matches the key
    std::vector<guard_item> items;   // snapshots whose version has a fate worth reporting
    std::size_t at_risk = 0;         // will be deleted and have no copy (after archiving)
    std::size_t archived = 0;        // copies taken now
    std::string live_state_warning;  // a rule will put a delete marker on the current state
    std::string error;

    bool ok() const noexcept { return error.empty() && at_risk == 0; }
};

boost::asio::awaitable<guard_report> run_lifecycle_guard(job_context& ctx, const config::environment& env,
                                                         environment_access access);

}  // namespace tfsnap::backup
