#pragma once
// The backup job of one environment: pin the state's current S3 version in a snapshot.
//
// S3 source:
// 1. HEAD the state object. Its version id equal to the newest snapshot's: the state is
//    unchanged, and the job records a check (LAST_BACKUP.json), not a snapshot, unless
//    `always_snapshot` or the request forces one. A snapshot whose configured copy is missing
//    (a copy that failed earlier) gets it now.
// 2. GET exactly that version (versionId), streamed to a scratch file in the catalog while MD5
//    and SHA-256 are computed; S3's ETag is checked against the MD5 when it is one.
// 3. Summarise the state (tfstate::inspect_file): serial, lineage, terraform_version,
//    resources. Encrypted (OpenTofu; the manifest records its encryption_version) and non-JSON
//    states are snapshotted as opaque; a state in format 3 or older, or nested deeper than
//    Terraform reads (tfstate/limits.hpp), is snapshotted as opaque with a warning. Its bytes,
//    checksums and version are recorded all the same.
// 4. Copy: server-side CopyObject of that version into the archive bucket (the bytes never
//    pass through this host), or an AES-256-GCM sealed file in the snapshot directory.
// 5. Write MANIFEST.json (atomically), commit it to git when catalog.git is on, prune, and run
//    the lifecycle guard (lifecycle_guard.hpp).
//
// A current delete marker is a `state_deleted` outcome: an error log, an event in
// EVENTS.json, a failed job; no snapshot is removed (pruning does not run). radosgw answers a
// plain 404 to HEAD on a deleted object, so a 404 is told apart from "never existed" with
// ListObjectVersions.
// A bucket without versioning fails the job with the command that enables it.
//
// File source (`source: file`): the file is copied into the catalog (sealed, with copy mode
// local); unchanged means the same SHA-256 as the newest snapshot.
//
// Errors are values in the outcome; nothing throws except cancellation.

#include "tfsnap/backup/context.hpp"
#include "tfsnap/backup/lifecycle_guard.hpp"
#include "tfsnap/backup/prune.hpp"
#include "tfsnap/manifest/manifest.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::backup {

struct backup_request {
    std::string schedule = "on-demand";  // the schedule that fired, recorded in the manifest
    std::string requested_by{};          // for on-demand jobs: "alice (uid 1000)"; empty: tfsnapd
    bool force_snapshot = false;         // snapshot even when unchanged
    bool prune = true;                   // apply retention afterwards
    // Told at each step ("check", "download", "catalog", "retention", "lifecycle guard") with
    // the steps done so far and their number; called on the job's executor.
    std::function<void(std::string_view step, int done, int total)> on_progress{};
};

enum class backup_status { snapshot, unchanged, state_deleted, failed };
std::string_view to_string(backup_status s) noexcept;

struct backup_outcome {
    backup_status status = backup_status::failed;
    boost::system::error_code ec;
    std::string message;  // one line: what happened, and for a failure what to do
    std::string version_id;
    std::string snapshot_id;                    // the new snapshot, or for unchanged the newest one
    std::optional<manifest::manifest> written;  // the new snapshot's manifest
    std::vector<std::string> warnings;          // the job succeeded, but look at these
    std::optional<prune_report> pruned;
    std::optional<guard_report> guard;  // the lifecycle guard, after a snapshot or check
    std::chrono::milliseconds elapsed{};

    // A snapshot or an unchanged check, with everything the configuration asks for (a snapshot
    // whose copy failed is not ok: `ec` is set and the message says so).
    bool ok() const noexcept {
        return (status == backup_status::snapshot || status == backup_status::unchanged) && !ec;
    }
};

boost::asio::awaitable<backup_outcome> run_backup(job_context& ctx, const config::environment& env,
                                                  environment_access access, backup_request request);

}  // namespace tfsnap::backup
