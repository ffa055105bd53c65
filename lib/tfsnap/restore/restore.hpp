#pragma once
// Restores: the plan (a dry run, and the default) and its execution, for one environment.
//
// A restore makes an old S3 version of the state the current one, the way Terraform itself
// writes a state: under the locks the environment's backend uses (DynamoDB LockID
// "<bucket>/<key>", and/or the "<key>.tflock" object), with Terraform's DynamoDB digest item
// "<bucket>/<key>-md5" set to the MD5 of the bytes now current, after a pinned safety snapshot
// of the version it replaces, and only if nobody wrote the state since the plan. An undelete
// removes the delete marker on top of a deleted state instead.
//
// plan(): resolves the target (a snapshot, a version id, or the newest version at a time),
// reads the current and target versions, diffs them, inspects the locks, and returns what a
// restore would do, with every warning and refusal and a plan token (valid 15 minutes) bound to
// the environment, the target, the current version and ETag, and the options.
//
// execute(): needs that token. It re-checks the current version and ETag ("state changed since
// the plan" otherwise, changing nothing), writes the restore journal, takes the locks in
// Terraform's order, the `.tflock` lockfile and then DynamoDB (a lock held by anyone else is a
// refusal naming the holder; tfsnap never breaks a lock), checks the current version again under
// the locks (a Terraform write between the check and the lock is a refusal, never overwritten),
// takes the safety snapshot, writes (the journal first records the MD5 of the bytes), sets the
// digest, re-reads and verifies the new version, and then, however it ended — success, failure,
// refusal, an exception, or a cancellation (SIGTERM past shutdown_grace, a cancelled job) —
// settles the digest if the state was written without it, releases exactly the locks it took
// (the lockfile first), in a scope the caller's cancellation cannot reach and within
// `cleanup_timeout`, and appends to the audit log. For mode full it then runs Terraform.
//
// Errors are values; nothing throws but cancellation and memory exhaustion.

#include "tfsnap/backup/context.hpp"
#include "tfsnap/core/dir_owner.hpp"
#include "tfsnap/restore/plan_token.hpp"
#include "tfsnap/restore/terraform_run.hpp"
#include "tfsnap/tfstate/diff.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::restore {

// What a restore does: write the state back, or also run `terraform apply` afterwards.
enum class restore_mode { state_only, full };
std::string_view to_string(restore_mode m) noexcept;  // "state-only", "full"
std::optional<restore_mode> parse_restore_mode(std::string_view s) noexcept;

// What a plan is for: an old version written back, or a deleted state brought back.
enum class restore_action { restore, undelete };
std::string_view to_string(restore_action a) noexcept;  // "restore", "undelete"

struct restore_request {
    // the target: exactly one of snapshot_id, version_id, at; or undelete
    std::string snapshot_id{};
    std::string version_id{};
    std::optional<std::chrono::sys_seconds> at{};
    bool undelete = false;
    restore_mode mode = restore_mode::state_only;
    bool force_lineage = false;
    // Write the restored state with the current serial + 1 (or its own, when higher), so that
    // Terraform treats it as the newest: stale local copies with a serial in between are refused by
    // `terraform state push`, and later applies never reuse a serial that exists in the bucket's
    // history. The default; false writes the old serial back (and the plan warns).
    bool roll_forward_serial = true;
    std::string reason{};
    long long uid = -1;
    std::string user{};  // the requesting user's name; requested_by is "user@host"
    // execute(): told as each step begins ("lock", "write", ...), with the steps done so far and
    // how many this restore has; called on the restore's executor.
    std::function<void(std::string_view step, int done, int total)> on_progress{};
};

struct lock_view {
    std::string kind{};   // "dynamodb" or "s3-lockfile"
    std::string where{};  // "DynamoDB table t, LockID b/k" or "s3://b/k.tflock"
    bool held = false;
    std::string holder{};  // describe_holder() of the current holder
};

struct restore_plan {
    std::string environment;
    restore_action action = restore_action::restore;
    std::string target_version;
    std::string target_snapshot;  // when the target was a snapshot
    std::string target_last_modified;
    std::string current_version;  // the current version, or the delete marker's id
    std::string current_etag;
    bool current_deleted = false;  // the current entry is a delete marker
    bool already_current = false;  // nothing to do
    std::optional<tfstate::state_diff> diff;
    std::string target_md5, target_sha256;
    std::vector<lock_view> locks;
    std::vector<std::string> warnings;
    std::vector<std::string> refusals;  // non-empty: execute will refuse
    restore_mode mode = restore_mode::state_only;
    bool force_lineage = false;
    bool roll_forward_serial = false;
    std::string token;
    std::string token_expires_at;
    std::optional<terraform_result> terraform;  // mode full: terraform plan's result

    bool ok() const noexcept { return refusals.empty(); }
};

std::string to_json(const restore_plan& p);

struct step {
    std::string name;
    bool ok = false;
    std::string detail;
    long long ms = 0;
};

enum class outcome { ok, no_op, refused, failed };
std::string_view to_string(outcome o) noexcept;

struct restore_result {
    outcome result = outcome::failed;
    std::string restore_id;
    std::string message;  // one line; for refusals and failures, what to do
    std::vector<step> steps;
    std::string new_version_id;
    std::string safety_snapshot;
    std::string undo;  // how to go back: the command or request that restores the safety snapshot
    std::optional<terraform_result> terraform;
    long long ms = 0;

    bool ok() const noexcept { return result == outcome::ok || result == outcome::no_op; }
};

struct restore_context {
    backup::job_context& jobs;  // catalog, clock, log, bucket cache
    std::filesystem::path state_dir;
    std::vector<std::byte> token_key;               // HMAC key for plan tokens (32 random bytes per start)
    std::string host;                               // for LockInfo Who: "user@host"
    std::string terraform_version_hint = "tfsnap";  // LockInfo Version
    // AWS credentials for a full restore's Terraform run (names and values; secret), from the
    // environment's credentials provider. Unset: Terraform gets none from tfsnap.
    std::function<boost::asio::awaitable<std::vector<std::pair<std::string, std::string>>>(
        const config::environment&)>
        terraform_credentials{};
    // Called after each step of execute() with its name; tests use it to stop at a point.
    std::function<void(std::string_view)> after_step{};
    // How the result's `undo` names the command that restores the safety snapshot.
    std::string undo_command = "tfsnapd restore";
    // How long releasing the locks (and settling the digest) may take once a restore has ended,
    // however it ended; the journal keeps what could not be released for the next start.
    std::chrono::milliseconds cleanup_timeout{std::chrono::seconds{60}};
    // The restores execute() is running now in this process (their restore ids): their journals
    // are live, and retry_journals() leaves them alone.
    std::set<std::string> running{};
};

// What a plan token must say of `req` for execute() to accept it: environment, action, mode, the
// options and who asked (the target and current versions are the plan's). tfsnapd checks a
// token against it (check_request_token) when the restore is asked for, before any job exists.
plan_claims request_claims(const restore_context& ctx, const config::environment& env,
                           const restore_request& req);

boost::asio::awaitable<restore_plan> plan(restore_context& ctx, const config::environment& env,
                                          backup::environment_access access, restore_request req);

boost::asio::awaitable<restore_result> execute(restore_context& ctx, const config::environment& env,
                                               backup::environment_access access, restore_request req,
                                               std::string token);

// At start-up, by the state_dir's owner only (the processes that left the journals are then
// provably gone): finds restore journals a crash left behind, settles a digest a crash left
// stale, releases the locks they name that are still tfsnap's own (never anyone else's), and
// appends what it did to the audit log. An owner of another directory recovers nothing.
struct recovery {
    std::string restore_id;
    std::string environment;
    std::vector<std::string> released;  // lock descriptions
    std::vector<std::string> left;      // locks now held by someone else, or not reachable
    std::string error;
};
boost::asio::awaitable<std::vector<recovery>> recover_journals(
    restore_context& ctx, const core::dir_owner& owner, const config::daemon_config& cfg,
    std::function<backup::environment_access(const config::environment&)> access_of);

// While the daemon runs: the same for the journals of restores that ended without releasing
// everything (S3 or DynamoDB failing past their retries, a cleanup past its timeout), skipping
// the ones still running in this process (ctx.running). Malformed journals are not reported again.
// Does nothing (and no I/O but a directory listing) when there is no such journal.
boost::asio::awaitable<std::vector<recovery>> retry_journals(
    restore_context& ctx, const core::dir_owner& owner, const config::daemon_config& cfg,
    std::function<backup::environment_access(const config::environment&)> access_of);

}  // namespace tfsnap::restore
