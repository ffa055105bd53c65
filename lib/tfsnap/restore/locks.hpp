#pragma once
// Terraform's state locks, taken and released the way Terraform does, and never broken.
//
// Terraform's S3 backend (hashicorp/terraform internal/backend/remote-state/s3/client.go) has two
// kinds of lock, used alone or together:
//
// - DynamoDB (`dynamodb_table`): an item {LockID: "<bucket>/<key>", Info: <LockInfo JSON>},
//   written by PutItem with ConditionExpression "attribute_not_exists(LockID)"
//   (lockWithDynamoDB). Unlock reads the item (GetItem, ConsistentRead, projection
//   "LockID, Info"), compares the LockInfo ID, then calls DeleteItem with *no* condition
//   (unlockWithDynamoDB; its own TODO admits the gap). `dynamodb_lock::release` adds the
//   condition `Info = <what we read>`, so a lock that changed between the read and the delete
//   is never deleted.
// - The S3 lockfile (`use_lockfile`): the object "<key>.tflock" (backend_state.go
//   getLockFilePath, lockFileSuffix) holding the same JSON, written by PutObject with
//   IfNoneMatch "*" (lockWithFile). Unlock GETs it, compares the ID, then DeleteObject *without*
//   a version id (unlockWithFile). In a versioned bucket that adds a delete marker and keeps
//   every lockfile as a noncurrent version (hashicorp/terraform#36445); `s3_lockfile` does the
//   same, so the bucket's history looks the same whoever locked.
//
// On failure Terraform reads the lock back and reports a statemgr.LockError with the holder's
// LockInfo (internal/states/statemgr/locker.go); a LockError with an ID is what makes
// `-lock-timeout` wait and retry. Here the holder is `lock_result::held_by`, and the error is
// `lock_errc::lock_held` (acquire) or `lock_errc::not_our_lock` (release).
//
// The invariant: tfsnap writes or deletes a lock only when it is absent (acquire) or carries
// tfsnap's own ID (release). A lock whose LockInfo does not parse is `lock_corrupt`: refused and
// left alone; messages give its length, never its contents.
//
// Terraform writes the lockfile like the state (lockWithFile: Content-Type application/json,
// x-amz-checksum-sha256 unless skip_s3_checksum, the backend's encryption and ACL); so does
// `s3_lockfile`, from the `writes` it is given.
//
// Conditional writes: radosgw 16 ignores If-None-Match on versioned buckets
// (tests/harness/README.md), and some S3 stores predate conditional writes, so `s3_lockfile`
// GETs first (Terraform does not), PUTs, and reads the lockfile back. With
// `conditional_writes == false` a foreign lockfile PUT in the window between our GET and our
// PUT is overwritten by ours; on a versioned bucket `s3_lockfile` then finds it under our version
// and deletes our version by id, which makes theirs current again (see acquire()). On an
// unversioned bucket without conditional writes that window cannot be closed by any client.
//
// Results are values; nothing throws but cancellation and memory exhaustion.
// Thread safety: none; use from the clients' executor. Lifetime: the client must outlive the lock
// object, and the lock object every coroutine started on it.

#include "tfsnap/dynamodb/client.hpp"
#include "tfsnap/restore/lock_error.hpp"
#include "tfsnap/s3/client.hpp"
#include "tfsnap/tfstate/lock_info.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tfsnap::restore {

struct lock_result {
    boost::system::error_code ec;
    std::string message;    // one line for the operator; holder descriptions come from describe_holder()
    bool acquired = false;  // acquire: the lock is ours now
    bool released = false;  // release: our lock was removed by this call
    bool already_released = false;              // release: there was no lock (ok)
    std::optional<tfstate::lock_info> held_by;  // the lock's current holder, when someone holds it
    std::vector<std::string> warnings;          // things the operator should know, on success too

    bool ok() const noexcept { return !ec; }
};

// The DynamoDB lock of one state: the item whose LockID is `lock_id` ("<bucket>/<key>").
class dynamodb_lock {
public:
    dynamodb_lock(dynamodb::client& db, std::string table, std::string lock_id);

    // PutItem {LockID, Info} if no item has this LockID. `info.path` is set to the LockID (as
    // Terraform does); `info.id` must be set. Refused (lock_held): held_by is the holder, and the
    // item is not touched. An item with our own ID counts as acquired (an earlier attempt whose
    // reply was lost).
    boost::asio::awaitable<lock_result> acquire(tfstate::lock_info info);
    // Deletes the item if its Info carries `our_id`, conditioned on Info being unchanged since
    // it was read. No item: ok, already_released. Another ID: not_our_lock, held_by.
    boost::asio::awaitable<lock_result> release(std::string our_id);
    // Who holds it now (held_by), read with ConsistentRead. ec only for read failures and
    // lock_corrupt.
    boost::asio::awaitable<lock_result> inspect();

    const std::string& table() const noexcept { return table_; }
    const std::string& lock_id() const noexcept { return lock_id_; }
    std::string where() const;  // `DynamoDB lock "b/k" in table "t"`

    // For tests: awaited between release()'s read and its conditional DeleteItem.
    struct test_hooks {
        std::function<boost::asio::awaitable<void>()> before_delete;
    };
    void set_test_hooks(test_hooks hooks) { hooks_ = std::move(hooks); }

private:
    struct read_result;
    boost::asio::awaitable<read_result> read();

    dynamodb::client& db_;
    std::string table_;
    std::string lock_id_;
    test_hooks hooks_;
};

// The S3 lockfile of one state: the object "<state_key>.tflock" in `bucket`.
class s3_lockfile {
public:
    // `writes`: how Terraform's backend writes objects (encryption, ACL, x-amz-checksum-sha256), so
    // that a bucket policy that requires them admits the lockfile; its conditions are ignored.
    s3_lockfile(s3::client& s3, std::string bucket, std::string state_key, bool conditional_writes,
                s3::put_options writes = {});

    // GET: a lockfile exists → lock_held (held_by) or, with our ID, acquired. Else PUT the
    // LockInfo JSON (If-None-Match: * when conditional_writes; a 412 means someone else won:
    // lock_held), read it back, and hold the lock only if the read-back carries our ID.
    // `info.path` is set to "<bucket>/<state_key>" (Terraform's lockPath()); `info.id` must be set.
    // Without conditional writes, on a versioned bucket, also checks the version under ours: if
    // it is someone's lockfile (written between our GET and PUT), our version(s) are deleted by
    // version id so theirs is current again, and the result is lock_held naming them.
    boost::asio::awaitable<lock_result> acquire(tfstate::lock_info info);
    // GET, compare the ID, DeleteObject (no version id: a delete marker on a versioned bucket,
    // as Terraform does). Absent: ok, already_released. Another ID: not_our_lock, held_by.
    // Without conditional writes on a versioned bucket, if our version hides someone's lockfile,
    // our version is deleted by id instead of being covered by a marker, so theirs comes back.
    boost::asio::awaitable<lock_result> release(std::string our_id);
    boost::asio::awaitable<lock_result> inspect();

    const std::string& bucket() const noexcept { return bucket_; }
    const std::string& key() const noexcept { return key_; }  // "<state_key>.tflock"
    std::string where() const;                                // "s3://bucket/key.tflock"

    // For tests: awaited just before the PUT and just after it (before the read-back), so a test
    // can write a foreign lockfile into those windows.
    struct test_hooks {
        std::function<boost::asio::awaitable<void>()> before_put;
        std::function<boost::asio::awaitable<void>()> after_put;
    };
    void set_test_hooks(test_hooks hooks) { hooks_ = std::move(hooks); }

private:
    struct read_result;
    struct overwrite_check;
    boost::asio::awaitable<read_result> read();
    boost::asio::awaitable<overwrite_check> find_overwritten(std::string our_id, std::string our_version,
                                                             std::string our_etag);
    boost::asio::awaitable<lock_result> undo_overwrite(overwrite_check check, std::string our_id);

    s3::client& s3_;
    std::string bucket_;
    std::string state_key_;
    std::string key_;
    bool conditional_writes_;
    s3::put_options writes_;
    test_hooks hooks_;
};

}  // namespace tfsnap::restore
