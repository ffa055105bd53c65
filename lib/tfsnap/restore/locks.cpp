#include "tfsnap/restore/locks.hpp"

#include "tfsnap/http/body.hpp"
#include "tfsnap/http/error.hpp"

namespace tfsnap::restore {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// A LockInfo is a few hundred bytes; anything this large is not one.
constexpr std::size_t max_lockfile_bytes = 1024 * 1024;

std::string quoted(const std::string& s) {
    return "\"" + s + "\"";
}

// The reason goes into messages: it states sizes and shapes, never the lock's contents, which
// are someone else's free text.
std::string corrupt_message(const std::string& where, const std::string& reason) {
    return where + " exists but " + reason +
           "; tfsnap neither overwrites nor deletes it (look at it, and remove it by hand only if it is "
           "stale)";
}

// describe_holder() names the holder, the operation, the time and the lock ID, on one line.
std::string held_message(const std::string& where, const tfstate::lock_info& holder) {
    return where + " is " + tfstate::describe_holder(holder);
}

// Parses a LockInfo as Terraform wrote it; nullopt (with `reason`) when it is not one we could
// compare IDs with. Terraform itself treats a LockInfo without an ID as a broken lock
// (statemgr.LockWithContext).
std::optional<tfstate::lock_info> parse_holder(std::string_view raw, const char* what, std::string& reason) {
    std::string why;
    auto info = tfstate::parse_lock_info(raw, &why);
    // parse_lock_info's reasons never quote the input
    if (!info) {
        reason =
            std::string(what) + " (" + std::to_string(raw.size()) + " bytes) is not LockInfo JSON: " + why;
        return std::nullopt;
    }
    if (info->id.empty()) {
        reason = std::string(what) + " (" + std::to_string(raw.size()) + " bytes) is LockInfo without an ID";
        return std::nullopt;
    }
    return info;
}

std::string unquoted_etag(std::string_view etag) {
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
        etag = etag.substr(1, etag.size() - 2);
    return std::string(etag);
}

}  // namespace

// ===================================================================================== DynamoDB

struct dynamodb_lock::read_result {
    error_code ec;
    std::string message;
    bool present = false;
    std::string raw;                         // the Info attribute as stored
    std::optional<tfstate::lock_info> info;  // nullopt while present: corrupt
    std::string corrupt_reason;
};

dynamodb_lock::dynamodb_lock(dynamodb::client& db, std::string table, std::string lock_id)
    : db_(db), table_(std::move(table)), lock_id_(std::move(lock_id)) {}

std::string dynamodb_lock::where() const {
    return "DynamoDB lock " + quoted(lock_id_) + " in table " + quoted(table_);
}

asio::awaitable<dynamodb_lock::read_result> dynamodb_lock::read() {
    read_result out;
    std::string table = table_;
    dynamodb::item key;
    key.emplace("LockID", dynamodb::attribute_value::string(lock_id_));
    // Terraform's getLockInfoWithDynamoDB: ConsistentRead, projection "LockID, Info"
    std::vector<std::string> projection;
    projection.emplace_back("LockID");
    projection.emplace_back("Info");
    auto got = co_await db_.get_item(std::move(table), std::move(key), true, std::move(projection));
    if (got.ec) {
        out.ec = got.ec;
        out.message = "cannot read " + where() + ": " + dynamodb::describe(got.ec, got.info);
        co_return out;
    }
    if (!got.found)
        co_return out;
    out.present = true;
    const auto it = got.found->find("Info");
    if (it == got.found->end() || it->second.type != dynamodb::attribute_value::kind::s) {
        out.corrupt_reason = "has no string attribute Info";
        co_return out;
    }
    out.raw = it->second.value;
    out.info = parse_holder(out.raw, "its Info", out.corrupt_reason);
    co_return out;
}

asio::awaitable<lock_result> dynamodb_lock::acquire(tfstate::lock_info info) {
    lock_result out;
    if (info.id.empty()) {
        out.ec = lock_errc::bad_lock_info;
        out.message = "cannot lock " + where() + ": the LockInfo has no ID";
        co_return out;
    }
    // Terraform's Lock() sets Path to lockPath(), "<bucket>/<key>", which is also the LockID.
    info.path = lock_id_;
    const std::string json = tfstate::to_json(info);

    // Two rounds at most: a lock released between our refused PutItem and our GetItem is worth
    // one more try; beyond that the lock is busy and the operator decides.
    for (int round = 0; round < 2; ++round) {
        std::string table = table_;
        dynamodb::item value;
        value.emplace("LockID", dynamodb::attribute_value::string(lock_id_));
        value.emplace("Info", dynamodb::attribute_value::string(json));
        dynamodb::expression condition;
        condition.text = "attribute_not_exists(LockID)";  // exactly Terraform's lockWithDynamoDB
        const auto put = co_await db_.put_item(std::move(table), std::move(value), std::move(condition));
        if (!put.ec) {
            out.acquired = true;
            out.message = "locked " + where() + " with ID " + info.id;
            co_return out;
        }
        const bool refused = put.ec == dynamodb::errc::conditional_check_failed;

        // Refused: find out who holds it. Any other failure may have happened after DynamoDB
        // wrote the item (a lost reply; conditional writes are not retried): look before saying.
        auto seen = co_await read();
        if (seen.ec) {
            out.ec = refused ? make_error_code(lock_errc::lock_held) : put.ec;
            out.message = refused ? where() + " is held by someone else; " + seen.message
                                  : "cannot lock " + where() + ": " + dynamodb::describe(put.ec, put.info) +
                                        "; whether the lock was taken is unknown (" + seen.message + ")";
            co_return out;
        }
        if (!seen.present) {
            if (refused)
                continue;
            out.ec = put.ec;
            out.message = "cannot lock " + where() + ": " + dynamodb::describe(put.ec, put.info) +
                          "; the lock is not held";
            co_return out;
        }
        if (!seen.info) {
            out.ec = lock_errc::lock_corrupt;
            out.message = corrupt_message(where(), seen.corrupt_reason);
            co_return out;
        }
        if (seen.info->id == info.id) {
            out.acquired = true;
            out.message =
                "locked " + where() + " with ID " + info.id + " (the write's reply was lost; read back)";
            co_return out;
        }
        out.ec = lock_errc::lock_held;
        out.message = held_message(where(), *seen.info);
        out.held_by = std::move(seen.info);
        co_return out;
    }
    out.ec = lock_errc::lock_held;
    out.message =
        where() + " was taken and released by someone else while tfsnap tried to lock it; try again";
    co_return out;
}

asio::awaitable<lock_result> dynamodb_lock::release(std::string our_id) {
    lock_result out;
    // A second round only when the conditional delete found the item changed since our read.
    for (int round = 0; round < 2; ++round) {
        auto seen = co_await read();
        if (seen.ec) {
            out.ec = seen.ec;
            out.message = seen.message;
            co_return out;
        }
        if (!seen.present) {
            out.already_released = true;
            out.message = where() + " is not held: nothing to release";
            co_return out;
        }
        if (!seen.info) {
            out.ec = lock_errc::lock_corrupt;
            out.message = corrupt_message(where(), seen.corrupt_reason);
            co_return out;
        }
        if (seen.info->id != our_id) {
            out.ec = lock_errc::not_our_lock;
            out.message = "not releasing " + where() + ": it is not ours (ID " + our_id + "); it is " +
                          tfstate::describe_holder(*seen.info);
            out.held_by = std::move(seen.info);
            co_return out;
        }

        if (hooks_.before_delete)
            co_await hooks_.before_delete();
        // Terraform's unlockWithDynamoDB deletes unconditionally after comparing the ID; the
        // condition closes the window between that comparison and the delete.
        std::string table = table_;
        dynamodb::item key;
        key.emplace("LockID", dynamodb::attribute_value::string(lock_id_));
        dynamodb::expression condition;
        condition.text = "#info = :info";
        condition.names.emplace("#info", "Info");
        condition.values.emplace(":info", dynamodb::attribute_value::string(seen.raw));
        const auto del = co_await db_.delete_item(std::move(table), std::move(key), std::move(condition));
        if (!del.ec) {
            out.released = true;
            out.message = "released " + where() + " (ID " + our_id + ")";
            co_return out;
        }
        if (del.ec == dynamodb::errc::conditional_check_failed)
            continue;
        // Not retried by the client (conditional): the delete may have happened. Look.
        auto after = co_await read();
        if (!after.ec && !after.present) {
            out.released = true;
            out.message =
                "released " + where() + " (ID " + our_id + "; the delete's reply was lost, read back)";
            co_return out;
        }
        out.ec = del.ec;
        out.message = "cannot release " + where() + ": " + dynamodb::describe(del.ec, del.info);
        co_return out;
    }
    out.ec = lock_errc::lock_changed;
    out.message = "not releasing " + where() + ": it changed twice between reading and deleting it";
    co_return out;
}

asio::awaitable<lock_result> dynamodb_lock::inspect() {
    lock_result out;
    auto seen = co_await read();
    if (seen.ec) {
        out.ec = seen.ec;
        out.message = seen.message;
    } else if (!seen.present) {
        out.message = where() + " is not held";
    } else if (!seen.info) {
        out.ec = lock_errc::lock_corrupt;
        out.message = corrupt_message(where(), seen.corrupt_reason);
    } else {
        out.message = held_message(where(), *seen.info);
        out.held_by = std::move(seen.info);
    }
    co_return out;
}

// ===================================================================================== S3 lockfile

struct s3_lockfile::read_result {
    error_code ec;
    std::string message;
    bool present = false;
    std::string raw;
    std::optional<tfstate::lock_info> info;  // nullopt while present: corrupt
    std::string corrupt_reason;
    std::string version_id;
    std::string etag;
};

struct s3_lockfile::overwrite_check {
    error_code ec;  // the check could not be made
    std::string message;
    bool overwrote = false;                    // a lockfile that is not ours lies right under ours
    std::vector<std::string> our_versions;     // our versions, newest first
    std::optional<tfstate::lock_info> victim;  // the lockfile under ours, parsed
    std::string victim_version;
    std::string victim_corrupt;  // why the lockfile under ours does not parse
};

s3_lockfile::s3_lockfile(s3::client& s3, std::string bucket, std::string state_key, bool conditional_writes,
                         s3::put_options writes)
    : s3_(s3),
      bucket_(std::move(bucket)),
      state_key_(std::move(state_key)),
      key_(state_key_ + ".tflock"),  // backend_state.go: getLockFilePath = path + lockFileSuffix
      conditional_writes_(conditional_writes),
      writes_(std::move(writes)) {}

std::string s3_lockfile::where() const {
    return "lockfile s3://" + bucket_ + "/" + key_;
}

asio::awaitable<s3_lockfile::read_result> s3_lockfile::read() {
    read_result out;
    std::string bucket = bucket_;
    std::string key = key_;
    std::string version;
    http::string_sink sink(max_lockfile_bytes);
    auto got = co_await s3_.get_object(std::move(bucket), std::move(key), std::move(version), sink);
    if (got.ec == s3::errc::no_such_key || got.ec == s3::errc::delete_marker)
        co_return out;
    if (got.ec == http::errc::body_too_large) {
        out.present = true;
        out.corrupt_reason =
            "is larger than " + std::to_string(max_lockfile_bytes) + " bytes, not a LockInfo";
        co_return out;
    }
    if (got.ec) {
        out.ec = got.ec;
        out.message = "cannot read " + where() + ": " + s3::describe(got.ec, got.info);
        co_return out;
    }
    out.present = true;
    out.raw = sink.take();
    out.version_id = got.object.version_id;
    out.etag = got.object.etag;
    out.info = parse_holder(out.raw, "its content", out.corrupt_reason);
    co_return out;
}

asio::awaitable<s3_lockfile::overwrite_check> s3_lockfile::find_overwritten(std::string our_id,
                                                                            std::string our_version,
                                                                            std::string our_etag) {
    overwrite_check out;
    std::string bucket = bucket_;
    std::string prefix = key_;
    auto listed = co_await s3_.list_object_versions(std::move(bucket), std::move(prefix));
    if (listed.ec) {
        out.ec = listed.ec;
        out.message = "cannot list the versions of " + where() + ": " + s3::describe(listed.ec, listed.info);
        co_return out;
    }
    // S3 lists one key's versions and delete markers newest first.
    std::vector<const s3::version_entry*> entries;
    for (const auto& e : listed.entries) {
        if (e.key == key_)
            entries.push_back(&e);
    }
    std::size_t i = 0;
    while (i < entries.size() && entries[i]->version_id != our_version)
        ++i;
    if (i == entries.size()) {
        out.ec = s3::errc::no_such_version;
        out.message = "our version " + our_version + " of " + where() + " is not in its version listing";
        co_return out;
    }
    // The client retries a PUT without a condition after a lost reply: the same bytes again,
    // hence the same ETag. Those versions are ours too.
    const std::string etag = unquoted_etag(our_etag);
    auto ours = [&](const s3::version_entry& e) { return !e.delete_marker && unquoted_etag(e.etag) == etag; };
    for (std::size_t k = 0; k < i; ++k) {
        if (ours(*entries[k]))
            out.our_versions.push_back(entries[k]->version_id);
    }
    std::size_t j = i;
    while (j < entries.size() && ours(*entries[j]))
        out.our_versions.push_back(entries[j++]->version_id);
    if (j == entries.size() || entries[j]->delete_marker)
        co_return out;  // the lock was free when we wrote: nothing, or a release's delete marker

    // A live lockfile right under ours: written between our GET (which found none) and our PUT.
    out.victim_version = entries[j]->version_id;
    std::string bucket2 = bucket_;
    std::string key = key_;
    std::string version = out.victim_version;
    http::string_sink sink(max_lockfile_bytes);
    auto got = co_await s3_.get_object(std::move(bucket2), std::move(key), std::move(version), sink);
    if (got.ec && got.ec != http::errc::body_too_large) {
        out.ec = got.ec;
        out.message = "cannot read version " + out.victim_version + " of " + where() + ": " +
                      s3::describe(got.ec, got.info);
        co_return out;
    }
    if (got.ec) {
        out.victim_corrupt =
            "is larger than " + std::to_string(max_lockfile_bytes) + " bytes, not a LockInfo";
    } else {
        const std::string raw = sink.take();
        out.victim = parse_holder(raw, "its content", out.victim_corrupt);
        if (out.victim && out.victim->id == our_id)
            co_return out;  // our own bytes under another ETag (SSE-KMS ETags are not MD5s)
    }
    out.overwrote = true;
    co_return out;
}

asio::awaitable<lock_result> s3_lockfile::undo_overwrite(overwrite_check check, std::string our_id) {
    lock_result out;
    // "the lockfile held by alice@ops-1 for ..." / "a lockfile whose content (9 bytes) is not ..."
    const std::string victim = check.victim ? "the lockfile " + tfstate::describe_holder(*check.victim)
                                            : "a lockfile whose " + check.victim_corrupt;
    std::vector<std::string> left;
    for (const auto& v : check.our_versions) {
        std::string bucket = bucket_;
        std::string key = key_;
        std::string version = v;
        const auto del = co_await s3_.delete_object(std::move(bucket), std::move(key), std::move(version));
        if (del.ec && del.ec != s3::errc::no_such_version && del.ec != s3::errc::no_such_key)
            left.push_back(v + " (" + s3::describe(del.ec, del.info) + ")");
    }
    if (!left.empty()) {
        std::string list;
        for (const auto& l : left)
            list += (list.empty() ? "" : ", ") + l;
        out.ec = lock_errc::lock_overwritten;
        out.message = "tfsnap's lockfile (ID " + our_id + ") replaced " + victim + " at " + where() +
                      " and the version(s) " + list +
                      " could not be deleted: delete them by version id so that " + "version " +
                      check.victim_version + " is current again";
        out.held_by = std::move(check.victim);
        co_return out;
    }
    out.ec = lock_errc::lock_held;
    out.message = where() + ": " + victim + " was written between tfsnap's check and its write (version " +
                  check.victim_version +
                  "); this store does not honour If-None-Match, so tfsnap's write covered it: tfsnap deleted "
                  "its own version(s) and theirs is current again";
    out.held_by = std::move(check.victim);
    co_return out;
}

asio::awaitable<lock_result> s3_lockfile::acquire(tfstate::lock_info info) {
    lock_result out;
    if (info.id.empty()) {
        out.ec = lock_errc::bad_lock_info;
        out.message = "cannot lock " + where() + ": the LockInfo has no ID";
        co_return out;
    }
    // Terraform's Lock() sets Path to lockPath(), "<bucket>/<key>", for the lockfile too.
    info.path = bucket_ + "/" + state_key_;
    const std::string json = tfstate::to_json(info);

    // Terraform's lockWithFile only PUTs with If-None-Match; this GET is what protects a holder
    // on a store that ignores the condition.
    auto seen = co_await read();
    if (seen.ec) {
        out.ec = seen.ec;
        out.message = seen.message;
        co_return out;
    }
    if (seen.present) {
        if (!seen.info) {
            out.ec = lock_errc::lock_corrupt;
            out.message = corrupt_message(where(), seen.corrupt_reason);
        } else if (seen.info->id == info.id) {
            out.acquired = true;
            out.message = "locked " + where() + " with ID " + info.id + " (already ours)";
        } else {
            out.ec = lock_errc::lock_held;
            out.message = held_message(where(), *seen.info);
            out.held_by = std::move(seen.info);
        }
        co_return out;
    }

    if (hooks_.before_put)
        co_await hooks_.before_put();
    std::string bucket = bucket_;
    std::string key = key_;
    auto body = http::body_source::memory(json);
    s3::put_options opts = writes_;
    opts.content_type = "application/json";
    opts.if_match.clear();
    opts.if_none_match = conditional_writes_;
    const auto put = co_await s3_.put_object(std::move(bucket), std::move(key), body, std::move(opts));
    if (put.ec) {
        const bool refused =
            put.ec == s3::errc::precondition_failed || put.ec == s3::errc::conditional_conflict;
        auto again = co_await read();
        if (again.ec || !again.present) {
            out.ec = refused ? make_error_code(lock_errc::lock_held) : put.ec;
            out.message =
                refused ? where() + " was taken by someone else at the same moment" +
                              (again.ec ? "; " + again.message : std::string(" and released; try again"))
                        : "cannot lock " + where() + ": " + s3::describe(put.ec, put.info) +
                              (again.ec ? "; whether the lock was taken is unknown (" + again.message + ")"
                                        : std::string("; the lock is not held"));
            co_return out;
        }
        if (!again.info) {
            out.ec = lock_errc::lock_corrupt;
            out.message = corrupt_message(where(), again.corrupt_reason);
            co_return out;
        }
        if (again.info->id == info.id) {
            out.acquired = true;
            out.message =
                "locked " + where() + " with ID " + info.id + " (the write's reply was lost; read back)";
            co_return out;
        }
        out.ec = lock_errc::lock_held;
        out.message = held_message(where(), *again.info);
        out.held_by = std::move(again.info);
        co_return out;
    }
    if (hooks_.after_put)
        co_await hooks_.after_put();

    // Read back: the lock is ours only if the lockfile now carries our ID.
    auto back = co_await read();
    if (back.ec) {
        out.ec = lock_errc::lock_unconfirmed;
        out.message = "wrote " + where() + " (ID " + info.id + ") but cannot read it back: " + back.message +
                      "; not treating the lock as held (release it with this ID)";
        co_return out;
    }
    if (!back.present) {
        out.ec = lock_errc::lock_unconfirmed;
        out.message = where() + " (ID " + info.id +
                      ") was deleted by someone else right after tfsnap wrote it; "
                      "not locked";
        co_return out;
    }
    if (!back.info) {
        out.ec = lock_errc::lock_corrupt;
        out.message =
            corrupt_message(where(), back.corrupt_reason) + " (it replaced tfsnap's, ID " + info.id + ")";
        co_return out;
    }
    if (back.info->id != info.id) {
        // Theirs was written after ours: theirs is current and stays; ours is history.
        out.ec = lock_errc::lock_held;
        out.message = held_message(where(), *back.info) +
                      "; their lockfile replaced tfsnap's right after it was "
                      "written, and is left alone";
        out.held_by = std::move(back.info);
        co_return out;
    }

    if (!conditional_writes_ && !put.version_id.empty() && put.version_id != "null") {
        std::string our_id = info.id;
        std::string version = put.version_id;
        std::string etag = put.etag.empty() ? back.etag : put.etag;
        auto check = co_await find_overwritten(std::move(our_id), std::move(version), std::move(etag));
        if (check.ec) {
            out.warnings.push_back(
                check.message +
                "; cannot prove that no lockfile was written between tfsnap's check and its write");
        } else if (check.overwrote) {
            std::string id = info.id;
            co_return co_await undo_overwrite(std::move(check), std::move(id));
        }
    }
    out.acquired = true;
    out.message = "locked " + where() + " with ID " + info.id;
    co_return out;
}

asio::awaitable<lock_result> s3_lockfile::release(std::string our_id) {
    lock_result out;
    auto seen = co_await read();
    if (seen.ec) {
        out.ec = seen.ec;
        out.message = seen.message;
        co_return out;
    }
    if (!seen.present) {
        out.already_released = true;
        out.message = where() + " does not exist: nothing to release";
        co_return out;
    }
    if (!seen.info) {
        out.ec = lock_errc::lock_corrupt;
        out.message = corrupt_message(where(), seen.corrupt_reason);
        co_return out;
    }
    if (seen.info->id != our_id) {
        out.ec = lock_errc::not_our_lock;
        out.message = "not releasing " + where() + ": it is not ours (ID " + our_id + "); it is " +
                      tfstate::describe_holder(*seen.info);
        out.held_by = std::move(seen.info);
        co_return out;
    }

    // A delete marker on top of ours would leave a lockfile that ours covered (a store without
    // conditional writes) as a noncurrent version: its holder's lock would be gone.
    if (!conditional_writes_ && !seen.version_id.empty() && seen.version_id != "null") {
        std::string id = our_id;
        std::string version = seen.version_id;
        std::string etag = seen.etag;
        auto check = co_await find_overwritten(std::move(id), std::move(version), std::move(etag));
        if (check.ec) {
            out.warnings.push_back(check.message + "; released the way Terraform does (a delete marker)");
        } else if (check.overwrote) {
            std::string id2 = our_id;
            auto undone = co_await undo_overwrite(std::move(check), std::move(id2));
            if (undone.ec == lock_errc::lock_held) {
                out.released = true;
                out.held_by = std::move(undone.held_by);
                out.message = "released " + where() + " (ID " + our_id +
                              ") by deleting tfsnap's version(s): they covered another holder's lockfile, "
                              "which is current again";
                co_return out;
            }
            co_return undone;
        }
    }

    // unlockWithFile: DeleteObject without a version id.
    std::string bucket = bucket_;
    std::string key = key_;
    std::string no_version;
    const auto del = co_await s3_.delete_object(std::move(bucket), std::move(key), std::move(no_version));
    if (!del.ec) {
        out.released = true;
        out.message = "released " + where() + " (ID " + our_id + ")";
        co_return out;
    }
    auto after = co_await read();
    if (!after.ec && !after.present) {
        out.released = true;
        out.message = "released " + where() + " (ID " + our_id + "; the delete's reply was lost, read back)";
        co_return out;
    }
    out.ec = del.ec;
    out.message = "cannot release " + where() + ": " + s3::describe(del.ec, del.info);
    co_return out;
}

asio::awaitable<lock_result> s3_lockfile::inspect() {
    lock_result out;
    auto seen = co_await read();
    if (seen.ec) {
        out.ec = seen.ec;
        out.message = seen.message;
    } else if (!seen.present) {
        out.message = where() + " does not exist: not locked";
    } else if (!seen.info) {
        out.ec = lock_errc::lock_corrupt;
        out.message = corrupt_message(where(), seen.corrupt_reason);
    } else {
        out.message = held_message(where(), *seen.info);
        out.held_by = std::move(seen.info);
    }
    co_return out;
}

}  // namespace tfsnap::restore
