#pragma once
// The validated configuration of tfsnapd, after `defaults` have been merged into every
// environment. Produced only by `config::load_*` (load.hpp); every field here has passed
// validation, so consumers need no further checks.

#include "tfsnap/config/duration.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::config {

struct position {
    int line = 0;  // 1-based
    int column = 0;
};

// How long a safety snapshot (taken before a restore) is pinned when `restore_pin` is unset.
inline constexpr duration default_restore_pin = std::chrono::days{30};

// Retention rules, applied as restic's `forget` does (see retention/policy.hpp); an unset rule
// keeps nothing by itself.
struct retention_policy {
    std::optional<std::int64_t> keep_last;
    std::optional<std::int64_t> keep_hourly;
    std::optional<std::int64_t> keep_daily;
    std::optional<std::int64_t> keep_weekly;
    std::optional<std::int64_t> keep_monthly;
    std::optional<std::int64_t> keep_yearly;
    std::optional<duration> keep_within;   // relative to the newest snapshot, not to now
    std::optional<std::int64_t> min_keep;  // a floor: never keep fewer (the newest are added)
    std::optional<duration> restore_pin;   // safety snapshots are pinned this long; unset: 30d

    // Fields set in `over` replace ours.
    retention_policy merged_with(const retention_policy& over) const;
    // True when no keep_* rule is set: every snapshot is kept. min_keep and restore_pin are not
    // rules on their own.
    bool empty() const noexcept;
    friend bool operator==(const retention_policy&, const retention_policy&) = default;
};

enum class missed_policy { run_once, skip };
enum class concurrency_policy { forbid, replace };

std::string_view to_string(missed_policy p) noexcept;
std::string_view to_string(concurrency_policy p) noexcept;

struct schedule {
    std::string name;
    std::string cron;
    std::string timezone = "UTC";
    missed_policy missed = missed_policy::run_once;
    concurrency_policy concurrency = concurrency_policy::forbid;
    duration jitter{0};
    retention_policy retention;  // already merged: defaults < environment < schedule
    position where;
};

// How tfsnapd gets AWS credentials for an environment. With nothing set, the standard chain
// (environment variables, shared files, web identity, ECS, IMDS) is used.
struct credentials_config {
    std::optional<std::string> profile;                  // a profile of the shared config files
    std::optional<std::string> role_arn;                 // STS AssumeRole (or web identity, below)
    std::optional<std::string> role_session_name;        // default "tfsnap"
    std::optional<std::string> external_id;              // for AssumeRole
    std::optional<std::string> web_identity_token_file;  // AssumeRoleWithWebIdentity with role_arn
    std::optional<std::string> systemd_credential;       // name under $CREDENTIALS_DIRECTORY

    friend bool operator==(const credentials_config&, const credentials_config&) = default;
};

// The locks the environment's Terraform backend uses; a restore takes the same ones.
struct lock_config {
    std::optional<std::string> dynamodb_table;  // Terraform's `dynamodb_table`
    bool lockfile = false;                      // Terraform's `use_lockfile` (<key>.tflock)

    friend bool operator==(const lock_config&, const lock_config&) = default;
};

// How the environment's Terraform backend writes objects (its `encrypt`, `kms_key_id`, `acl` and
// `skip_s3_checksum`): tfsnap writes the `.tflock` lockfile and a restored state the same way, so
// that a bucket policy that admits Terraform's writes admits tfsnap's.
struct object_write_config {
    bool encrypt = false;           // server-side encryption: aws:kms with kms_key_id, else AES256
    std::string kms_key_id;         // with encrypt
    std::string acl;                // a canned ACL, "" for none
    bool skip_s3_checksum = false;  // true: no x-amz-checksum-sha256 header

    friend bool operator==(const object_write_config&, const object_write_config&) = default;
};

enum class copy_mode { none, server_side, local };
std::string_view to_string(copy_mode m) noexcept;

// What to do when a bucket lifecycle rule will delete a retained snapshot's S3 version and the
// snapshot has no copy: warn (log + metric), or also take a server-side copy before it expires.
enum class expiry_action { warn, archive };
std::string_view to_string(expiry_action a) noexcept;

struct copy_config {
    copy_mode mode = copy_mode::none;
    std::string bucket;          // server-side (or on_expiry: archive): the archive bucket
    std::string prefix;          // prefix inside the archive bucket; default "<environment>/"
    std::string sse;             // server-side: "" (the bucket's default), "AES256" or "aws:kms"
    std::string kms_key_id;      // with sse aws:kms; empty: the account's default KMS key
    std::string key_file;        // local: the AES-256 key file
    std::string key_credential;  // local: or the key from $CREDENTIALS_DIRECTORY/<name>
    expiry_action on_expiry = expiry_action::warn;

    // Whether snapshots can be archived into `bucket` (always, or before their version expires).
    bool archives() const noexcept {
        return mode == copy_mode::server_side || (on_expiry == expiry_action::archive && !bucket.empty());
    }
    friend bool operator==(const copy_config&, const copy_config&) = default;
};

// Where an environment's state lives: the S3 backend's versioned object, or a local
// terraform.tfstate (Terraform's local backend), whose bytes are copied into the catalog.
enum class source_kind { s3, file };
std::string_view to_string(source_kind k) noexcept;

// The verify job: checks every retained snapshot (version still there with its ETag and size,
// copy checksums, the DynamoDB digest). Weekly by default.
struct verify_config {
    bool enabled = true;
    std::string cron = "0 4 * * sun";
    std::string timezone = "UTC";
    duration jitter{0};

    friend bool operator==(const verify_config&, const verify_config&) = default;
};

struct environment {
    std::string name;
    source_kind source = source_kind::s3;
    std::string path;  // source file: the terraform.tfstate to snapshot
    std::string bucket;
    // The state object's key: the backend's `key`, or for a non-default workspace
    // "<workspace_key_prefix>/<workspace>/<key>", as Terraform's S3 backend stores it.
    std::string key;
    std::string backend_key;                    // the backend's `key` as configured
    std::optional<std::string> workspace;       // unset or "default": the default workspace
    std::string workspace_key_prefix = "env:";  // Terraform's default
    // The endpoint honours If-Match / If-None-Match. Default: true for AWS S3 (no endpoint, or an
    // amazonaws.com one), false for other endpoints (radosgw 16 ignores them on versioned buckets).
    bool conditional_writes = false;
    object_write_config writes;               // encrypt, kms_key_id, acl, skip_s3_checksum
    std::string terraform_bin = "terraform";  // full restores: the Terraform (or OpenTofu) binary
    duration terraform_timeout = std::chrono::minutes{30};
    std::string region = "us-east-1";
    std::optional<std::string> endpoint;           // S3-compatible stores; null means AWS
    std::optional<std::string> dynamodb_endpoint;  // custom DynamoDB endpoint
    bool path_style = false;
    std::optional<std::string> ca_file;  // PEM bundle for TLS; unset: the system store
    credentials_config credentials;
    lock_config lock;
    std::vector<schedule> schedules;  // empty: backed up on demand only
    retention_policy retention;       // defaults merged with the environment's own
    copy_config copy;
    bool always_snapshot = false;  // snapshot even when the current version is already snapshotted
    verify_config verify;
    std::optional<std::string> terraform_dir;
    position where;

    // Terraform's DynamoDB LockID for this state: "<bucket>/<key>".
    std::string lock_id() const { return bucket + "/" + key; }
};

// The events a webhook may subscribe to, in this order (notify::event_kind's names).
inline constexpr std::string_view webhook_events[] = {"failure", "success", "restore", "state-deleted",
                                                      "expiry"};

// One webhook of `notify.webhooks`. The URL is a secret (Slack's carries its token in the path):
// only its scheme://host[:port] (validate.hpp's url_origin) may appear in logs and messages.
struct webhook_config {
    std::string url;                               // empty when url_credential is used
    std::string url_credential;                    // systemd credential name, read at delivery time
    std::vector<std::string> events;               // validated names, in webhook_events order
    std::optional<std::string> slack_template;     // set: the body is {"text": "<rendered>"}
    duration timeout = std::chrono::seconds{10};   // each attempt
    int retries = 3;                               // attempts after the first (0-10)
    duration deadline = std::chrono::seconds{60};  // the whole delivery, retries included
    position where;
};

struct notify_config {
    std::vector<webhook_config> webhooks;  // in file order
};

struct control_config {
    std::string socket = "/run/tfsnap/control.sock";
    std::vector<std::string> readers;    // "group:NAME" or "user:NAME"; may GET
    std::vector<std::string> operators;  // may also POST (back up, restore)
    // Fairness: how many connections may be open at once in all; how many of one uid (root is
    // not limited); how many of max_connections only root and operators may take; how many
    // long polls (GET /v1/jobs/{id}?wait=) one uid may have waiting (root is not limited).
    std::int64_t max_connections = 32;
    std::int64_t max_connections_per_uid = 8;
    std::int64_t reserved_for_operators = 8;
    std::int64_t max_long_polls_per_uid = 4;
    // How long a user or group lookup (found or not) is reused before NSS is asked again.
    duration name_cache_ttl = std::chrono::seconds{30};
};

struct catalog_config {
    bool git = false;  // commit and tag each snapshot in <state_dir>/catalog (a git work tree)
    duration git_timeout = std::chrono::seconds{30};
};

struct metrics_config {
    // Also serve GET /metrics on this loopback TCP address ("127.0.0.1:9464", "[::1]:9464").
    std::optional<std::string> listen;
};

struct daemon_config {
    std::string file;  // where it was loaded from
    std::string state_dir = "/var/lib/tfsnap";
    std::int64_t max_concurrent_jobs = 4;  // scheduled runs beyond this wait in due order
    // Threads of the worker pool (hashing, parsing, sealing, the catalog's file work). Unset: one
    // per core.
    std::optional<std::int64_t> worker_threads;
    control_config control;
    notify_config notify;
    catalog_config catalog;
    metrics_config metrics;
    duration shutdown_grace = std::chrono::seconds{30};  // SIGTERM: running jobs may finish this long
    duration job_retention = std::chrono::hours{24};     // finished jobs stay listed this long
    std::vector<environment> environments;               // in file order

    const environment* find(std::string_view name) const noexcept;
};

}  // namespace tfsnap::config
