#pragma once
// The restore journal: `<state_dir>/restore-journal/<restore_id>.json`, one file per restore in
// progress, so that a crash never leaves a state lock of tfsnap's behind without a record.
//
// A restore writes its journal before it takes any lock, naming every lock it is about to take
// and the LockInfo ID it will use; it rewrites the file as steps complete (`step`) and removes it
// at the end. Writes are atomic (core::write_file_atomic: temporary file, fsync, rename, fsync of
// the directory), the file is 0600 and the directory 0700.
//
// At start-up the state_dir's owner (core::dir_owner: the process that left a journal is then
// provably gone) has `scan` list the journals a crash left; `recover` releases, for one journal,
// only the locks that still carry the journal's ID (through dynamodb_lock / s3_lockfile release,
// which compare IDs, the lockfile first as Terraform does), leaves every other lock alone, and
// returns what it did for the audit log. A journal whose restore may have written the state
// ("writing" or "written") but not yet its DynamoDB digest has the digest settled first
// (digest.hpp), while the DynamoDB lock is still tfsnap's: otherwise every Terraform read of the
// state would fail on a stale `-md5`. It removes the journal only when nothing of the restore's can
// still be held.
//
// File format (pretty-printed JSON):
//   {"restore_id": "...", "environment": "...", "started_at": "RFC 3339", "requested_by": "...",
//    "reason": "...", "step": "...",
//    "state": {"bucket": "b", "key": "k", "digest_table": "t", "before_version": "V", "expected_md5": "..."},
//    "locks": [{"kind": "dynamodb", "table": "t", "lock_key": "<bucket>/<key>", "id": "..."},
//              {"kind": "s3-lockfile", "bucket": "b", "lock_key": "<key>.tflock", "id": "..."}]}
//
// Restore ids are checked (`valid_restore_id`) before they reach a path. Malformed journals are
// reported by `scan`, never deleted. Blocking file I/O of a few KB; no thread safety beyond one
// writer per restore id.

#include "tfsnap/dynamodb/client.hpp"
#include "tfsnap/restore/locks.hpp"
#include "tfsnap/s3/client.hpp"
#include "tfsnap/tfstate/lock_info.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::restore {

struct journal_lock {
    std::string kind;             // "dynamodb" or "s3-lockfile"
    std::string table_or_bucket;  // the DynamoDB table, or the lockfile's bucket
    std::string lock_key;         // the LockID "<bucket>/<key>", or the lockfile's key "<key>.tflock"
    std::string id;               // the LockInfo ID the restore uses
};

// `DynamoDB table "t", LockID "b/k"` or "s3://b/k.tflock".
std::string describe(const journal_lock& l);

struct journal_entry {
    std::string restore_id;
    std::string environment;
    std::string started_at;    // RFC 3339
    std::string requested_by;  // "user@host"
    std::string reason;
    std::vector<journal_lock> locks;  // in the order they are released: the lockfile first
    // The last step reached: "locking", "locked", "writing" (the write may have happened),
    // "written", "digest" (the digest is set).
    std::string step;
    // The state and its digest (optional: journals of older versions have none of these).
    std::string state_bucket, state_key;
    std::string digest_table;    // the DynamoDB table of the `-md5` item; "" when there is none
    std::string before_version;  // the current version when the write began
    std::string expected_md5;    // of the bytes being written

    // Whether the state may have been written without its digest being set yet.
    bool digest_pending() const noexcept {
        return !digest_table.empty() && !state_bucket.empty() && !state_key.empty() &&
               (step == "writing" || step == "written");
    }
};

// 1 to 128 characters of [A-Za-z0-9._-], starting with a letter or digit: a plain file name.
bool valid_restore_id(std::string_view id) noexcept;

std::filesystem::path journal_dir(const std::filesystem::path& state_dir);  // <state_dir>/restore-journal
std::string to_json(const journal_entry& e);
// nullopt, with the reason in `why`, for anything but a complete journal with a valid restore id
// and well-formed locks.
std::optional<journal_entry> parse_journal(std::string_view json, std::string* why);

struct journal_status {
    boost::system::error_code
        ec;              // lock_errc::invalid_restore_id / journal_malformed, or core::errc::io_error
    std::string detail;  // "cannot rename /x/.id.json.tmp: No space left on device"

    explicit operator bool() const noexcept { return static_cast<bool>(ec); }
    const std::string& message() const noexcept { return detail; }
};

// Creates the directory if needed, then replaces `<restore_id>.json` atomically.
journal_status write_journal(const std::filesystem::path& state_dir, const journal_entry& e);
// Removes `<restore_id>.json`; a journal that is not there is not an error.
journal_status remove_journal(const std::filesystem::path& state_dir, std::string_view restore_id);
journal_status read_journal(const std::filesystem::path& state_dir, std::string_view restore_id,
                            journal_entry& out);

struct malformed_journal {
    std::filesystem::path path;
    std::string reason;
};

struct journal_scan {
    boost::system::error_code ec;  // the directory could not be listed (absent is not an error)
    std::string message;
    std::vector<journal_entry> journals;  // sorted by restore id
    std::vector<malformed_journal> malformed;
    std::vector<std::filesystem::path> leftovers;  // temporary files of interrupted writes

    bool ok() const noexcept { return !ec; }
};

// The journals under `state_dir`. Changes nothing.
journal_scan scan(const std::filesystem::path& state_dir);

struct recovery_clients {
    dynamodb::client* dynamodb = nullptr;  // for "dynamodb" locks
    s3::client* s3 = nullptr;              // for "s3-lockfile" locks
};

struct lock_recovery {
    journal_lock lock;
    std::string message;
    boost::system::error_code ec;              // failed only
    std::optional<tfstate::lock_info> holder;  // held_by_other: who holds it now
    std::vector<std::string> warnings;
};

struct recovery_outcome {
    std::string restore_id;
    std::string environment;
    std::string step;                          // where the restore was when it stopped
    std::string digest;                        // what happened to the `-md5` digest, if anything
    std::vector<lock_recovery> released;       // carried the journal's ID; released now
    std::vector<lock_recovery> already_gone;   // no lock there
    std::vector<lock_recovery> held_by_other;  // someone else's lock now (or unreadable): left alone
    std::vector<lock_recovery> failed;         // could not be checked or released: try again later
    bool journal_removed = false;
    boost::system::error_code ec;  // the journal could not be removed
    std::string message;           // one line: what happened, for the audit log

    bool ok() const noexcept { return failed.empty() && !ec; }
};

// Settles the digest when it may be stale (see above; a digest that cannot be settled is a
// failure, and then no lock is released: Terraform would only fail on the digest), releases the
// journal's locks that still carry its IDs, leaves the others, and removes the journal when no
// lock failed. Each lock is released with the given client (its endpoint and
// credentials must be the environment's); a lock whose kind has no client fails (no_client).
boost::asio::awaitable<recovery_outcome> recover(std::filesystem::path state_dir, journal_entry entry,
                                                 recovery_clients clients);

}  // namespace tfsnap::restore
