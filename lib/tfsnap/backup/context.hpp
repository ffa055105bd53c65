#pragma once
// What the snapshot jobs (backup, prune, lifecycle guard, verify) work with.
//
// `job_context` is shared by every job of the daemon; `environment_access` holds the clients of
// one environment (its region, endpoint and credentials). The daemon builds both; tests build
// them against radosgw and dynalite.
//
// Lifetime: everything referenced must outlive the jobs. Thread safety: use from the I/O
// executor; CPU work (parsing a state, sealing a copy) is posted to `cpu` when it is set.

#include "tfsnap/backup/bucket_cache.hpp"
#include "tfsnap/catalog/catalog.hpp"
#include "tfsnap/config/config.hpp"
#include "tfsnap/core/clock.hpp"
#include "tfsnap/core/logger.hpp"
#include "tfsnap/crypto/sealed_file.hpp"
#include "tfsnap/dynamodb/client.hpp"
#include "tfsnap/s3/client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tfsnap::catalog_git {
class recorder;
}

namespace tfsnap::backup {

struct job_context {
    catalog::catalog& catalog;
    const core::wall_clock& clock;
    core::logger log;
    bucket_cache& buckets;
    std::string created_by = "tfsnapd";  // "tfsnapd@HOST"
    std::string tfsnap_version;
    std::optional<boost::asio::any_io_executor> cpu{};  // a small thread pool for hashing and parsing
    // catalog.git: commits and tags a new snapshot; returns "" or what went wrong (a git failure
    // never fails a backup). Empty: no git.
    std::function<boost::asio::awaitable<std::string>(std::string env, std::string snapshot_id)>
        record_snapshot{};
    // catalog.git: commits the removal of pruned snapshots (their tags stay); "" or what went wrong.
    std::function<boost::asio::awaitable<std::string>(std::string env, std::vector<std::string> ids)>
        record_removal{};
};

struct environment_access {
    s3::client* s3 = nullptr;                       // the state bucket; null for source: file
    s3::client* archive = nullptr;                  // the archive bucket (copy.bucket); often == s3
    dynamodb::client* dynamodb = nullptr;           // with lock.dynamodb_table
    const crypto::sealing_key* copy_key = nullptr;  // copy mode local
};

// The `record_snapshot` hook for catalog.git: commits and tags through `git` (which must
// outlive the jobs). A git failure comes back as text; the snapshot itself is already safe.
std::function<boost::asio::awaitable<std::string>(std::string, std::string)> git_hook(
    catalog_git::recorder& git);
// The `record_removal` hook for catalog.git, likewise.
std::function<boost::asio::awaitable<std::string>(std::string, std::vector<std::string>)> git_removal_hook(
    catalog_git::recorder& git);

// "s3://bucket/key" of an environment's state.
std::string s3_uri(const config::environment& env);

// What tells buckets of different endpoints apart in the bucket cache: the endpoint, or the region.
std::string bucket_origin(const config::environment& env);

// An ETag without its quotes.
std::string unquote_etag(std::string etag);

// A server-side copy of version `version` of the environment's state into its archive bucket,
// at archive_key(env, snapshot_id), with copy.sse. The copy_info to record, or the error.
struct archive_result {
    std::optional<manifest::copy_info> copy;
    std::string error;  // set when copy is not
};
boost::asio::awaitable<archive_result> archive_version(const config::environment& env,
                                                       environment_access access, std::string version,
                                                       std::string snapshot_id, std::string sha256);

// The file name of an environment's state key ("terraform.tfstate" for "a/b/terraform.tfstate").
std::string state_file_name(const config::environment& env);

// The archive key of a snapshot's server-side copy: <prefix><snapshot_id>/<state file name>.
std::string archive_key(const config::environment& env, std::string_view snapshot_id);

// "bucket X is not versioned (...); enable it with: aws s3api put-bucket-versioning ..."
std::string not_versioned_message(std::string_view bucket, s3::versioning_status status);

}  // namespace tfsnap::backup
