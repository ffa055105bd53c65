#pragma once
// Pruning: apply an environment's retention to its catalog, and delete what it does not keep.
//
// Each snapshot is judged with the retention of the schedule that took it (schedule names in
// the manifest); snapshots of other origins (on-demand, a schedule since removed, safety
// snapshots taken before a restore) are judged together with the environment's retention.
// Safety snapshots ("pre-restore") are pinned for restore_pin; manifests' pinned_until pins.
//
// Deleting a snapshot deletes its archive copy (that exact version, in the archive bucket) and
// then its catalog directory (manifest and local copy). It never touches the state's own S3
// versions: a copy that names the state's bucket and key is refused. When the archive delete
// fails, the snapshot is kept and the error reported; the next prune tries again.
//
// A dry run reports the same decisions and deletes nothing.

#include "tfsnap/backup/context.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace tfsnap::backup {

struct prune_item {
    std::string snapshot_id;
    std::string schedule;
    bool keep = true;
    std::vector<std::string> reasons;  // why it is kept ("daily 2026-11-20", "pinned until ...")
    bool deleted = false;              // deleted now (never in a dry run)
    std::string error;                 // why a delete did not happen
};

struct prune_report {
    bool dry_run = false;
    std::vector<prune_item> items;  // newest first
    std::size_t kept = 0;
    std::size_t deleted = 0;  // or would be, in a dry run
    std::size_t failed = 0;
    std::string error;  // the catalog could not be read

    bool ok() const noexcept { return failed == 0 && error.empty(); }
};

boost::asio::awaitable<prune_report> prune(job_context& ctx, const config::environment& env,
                                           environment_access access, bool dry_run);

// The schedule name of safety snapshots taken before a restore.
inline constexpr std::string_view safety_schedule = "pre-restore";

}  // namespace tfsnap::backup
