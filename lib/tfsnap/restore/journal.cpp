#include "tfsnap/restore/journal.hpp"

#include "tfsnap/core/atomic_file.hpp"
#include "tfsnap/restore/digest.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace tfsnap::restore {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using boost::system::error_code;

namespace {

constexpr std::string_view journal_suffix = ".json";
constexpr std::string_view temp_suffix = ".json.tmp";
constexpr std::string_view lockfile_suffix = ".tflock";
constexpr std::size_t max_journal_bytes = 1024 * 1024;

journal_status io_failure(const core::file_error& e) {
    return {make_error_code(core::errc::io_error), e.message()};
}

journal_status bad_id(std::string_view id) {
    // the id itself may be anything: say how long it is, not what it is
    return {make_error_code(lock_errc::invalid_restore_id),
            "refusing a restore id of " + std::to_string(id.size()) +
                " characters that is not 1-128 of [A-Za-z0-9._-] starting with a letter or digit"};
}

fs::path journal_path(const fs::path& state_dir, std::string_view id) {
    return journal_dir(state_dir) / (std::string(id) + std::string(journal_suffix));
}

fs::path temp_path(const fs::path& state_dir, std::string_view id) {
    return journal_dir(state_dir) / ("." + std::string(id) + std::string(temp_suffix));
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string join(const std::vector<lock_recovery>& v) {
    std::string out;
    for (const auto& l : v)
        out += (out.empty() ? "" : ", ") + describe(l.lock);
    return out;
}

}  // namespace

std::string describe(const journal_lock& l) {
    if (l.kind == "dynamodb")
        return "DynamoDB table \"" + l.table_or_bucket + "\", LockID \"" + l.lock_key + "\"";
    if (l.kind == "s3-lockfile")
        return "s3://" + l.table_or_bucket + "/" + l.lock_key;
    return l.kind + " lock " + l.table_or_bucket + " " + l.lock_key;
}

fs::path journal_dir(const fs::path& state_dir) {
    return state_dir / "restore-journal";
}

journal_status write_journal(const fs::path& state_dir, const journal_entry& e) {
    if (!valid_restore_id(e.restore_id))
        return bad_id(e.restore_id);
    const fs::path dir = journal_dir(state_dir);
    std::error_code ec;
    if (fs::create_directories(dir, ec); ec)
        return {make_error_code(core::errc::io_error), "cannot create " + dir.string() + ": " + ec.message()};
    // 0700 whatever the umask: journals name who restored what, and why
    if (::chmod(dir.c_str(), 0700) != 0)
        return {make_error_code(core::errc::io_error),
                "cannot chmod " + dir.string() + ": " + std::strerror(errno)};
    if (auto f = core::write_file_atomic(journal_path(state_dir, e.restore_id),
                                         temp_path(state_dir, e.restore_id), to_json(e), 0600))
        return io_failure(f);
    return {};
}

journal_status remove_journal(const fs::path& state_dir, std::string_view restore_id) {
    if (!valid_restore_id(restore_id))
        return bad_id(restore_id);
    const fs::path p = journal_path(state_dir, restore_id);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
        return {make_error_code(core::errc::io_error),
                "cannot remove " + p.string() + ": " + std::strerror(errno)};
    if (auto f = core::fsync_dir(journal_dir(state_dir)); f && f.err != ENOENT)
        return io_failure(f);
    return {};
}

journal_status read_journal(const fs::path& state_dir, std::string_view restore_id, journal_entry& out) {
    if (!valid_restore_id(restore_id))
        return bad_id(restore_id);
    const fs::path p = journal_path(state_dir, restore_id);
    std::string text;
    if (auto f = core::read_file(p, text))
        return io_failure(f);
    std::string why;
    auto e = parse_journal(text, &why);
    if (!e)
        return {make_error_code(lock_errc::journal_malformed), p.string() + ": " + why};
    if (e->restore_id != restore_id)
        return {make_error_code(lock_errc::journal_malformed),
                p.string() + ": its restore_id does not match its file name"};
    out = std::move(*e);
    return {};
}

journal_scan scan(const fs::path& state_dir) {
    journal_scan out;
    const fs::path dir = journal_dir(state_dir);
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
        if (ec != std::errc::no_such_file_or_directory) {
            out.ec = make_error_code(core::errc::io_error);
            out.message = "cannot list " + dir.string() + ": " + ec.message();
        }
        return out;
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        const fs::path p = it->path();
        const std::string name = p.filename().string();
        if (!name.empty() && name.front() == '.' && ends_with(name, temp_suffix)) {
            out.leftovers.push_back(p);
            continue;
        }
        const std::string_view stem =
            ends_with(name, journal_suffix)
                ? std::string_view(name).substr(0, name.size() - journal_suffix.size())
                : std::string_view();
        if (stem.empty() || !valid_restore_id(stem)) {
            out.malformed.push_back({p, "not a journal's file name (<restore id>.json)"});
            continue;
        }
        std::error_code type_ec;
        if (!fs::is_regular_file(fs::symlink_status(p, type_ec))) {
            out.malformed.push_back({p, "not a regular file"});
            continue;
        }
        if (const auto size = fs::file_size(p, type_ec); !type_ec && size > max_journal_bytes) {
            out.malformed.push_back({p, "larger than " + std::to_string(max_journal_bytes) + " bytes"});
            continue;
        }
        journal_entry e;
        if (auto s = read_journal(state_dir, stem, e)) {
            out.malformed.push_back({p, s.message()});
            continue;
        }
        out.journals.push_back(std::move(e));
    }
    if (ec) {
        out.ec = make_error_code(core::errc::io_error);
        out.message = "cannot list " + dir.string() + ": " + ec.message();
    }
    std::sort(out.journals.begin(), out.journals.end(),
              [](const journal_entry& a, const journal_entry& b) { return a.restore_id < b.restore_id; });
    std::sort(out.malformed.begin(), out.malformed.end(),
              [](const malformed_journal& a, const malformed_journal& b) { return a.path < b.path; });
    std::sort(out.leftovers.begin(), out.leftovers.end());
    return out;
}

asio::awaitable<recovery_outcome> recover(fs::path state_dir, journal_entry entry, recovery_clients clients) {
    recovery_outcome out;
    out.restore_id = entry.restore_id;
    out.environment = entry.environment;
    out.step = entry.step;

    // The state may have been written and its digest not: settle it while our DynamoDB lock still
    // keeps Terraform out (the bytes now current are then the last ones written, ours or not).
    if (entry.digest_pending()) {
        const auto ours = std::find_if(entry.locks.begin(), entry.locks.end(), [&](const journal_lock& l) {
            return l.kind == "dynamodb" && l.table_or_bucket == entry.digest_table;
        });
        std::string why_not;
        if (clients.dynamodb == nullptr || clients.s3 == nullptr) {
            why_not = "no client to reach the state and its digest";
        } else if (ours == entry.locks.end()) {
            why_not = "the journal names no DynamoDB lock in table " + entry.digest_table;
        } else {
            dynamodb_lock lock(*clients.dynamodb, ours->table_or_bucket, ours->lock_key);
            const auto seen = co_await lock.inspect();
            if (seen.ec)
                why_not = "cannot read the lock " + describe(*ours) + ": " + seen.message;
            else if (!seen.held_by || seen.held_by->id != ours->id)
                why_not = "the lock " + describe(*ours) +
                          " is no longer this restore's, so the state may have been written since";
        }
        if (why_not.empty()) {
            const auto lock_id = ours->lock_key;
            auto d = co_await settle_digest(*clients.s3, *clients.dynamodb, entry.digest_table,
                                            entry.state_bucket, entry.state_key, lock_id);
            if (d.ec) {
                out.digest = "the digest could not be settled: " + d.message;
                lock_recovery r;
                r.lock = *ours;
                r.ec = d.ec;
                r.message =
                    out.digest + "; the locks stay until it can be (Terraform would refuse the state)";
                out.failed.push_back(std::move(r));
            } else {
                out.digest = d.written ? "digest settled: " + d.message : d.message;
            }
        } else {
            out.digest = "digest not settled: " + why_not;
        }
        if (!out.failed.empty()) {
            out.message = "restore " + out.restore_id + " (environment " + out.environment +
                          ", stopped after step \"" + out.step + "\"): " + out.digest +
                          "; no lock was released; the journal is kept for the next attempt";
            co_return out;
        }
    }

    for (const auto& l : entry.locks) {
        lock_recovery r;
        r.lock = l;
        lock_result res;
        if (l.kind == "dynamodb" && clients.dynamodb != nullptr) {
            dynamodb_lock lock(*clients.dynamodb, l.table_or_bucket, l.lock_key);
            res = co_await release_retrying(lock, l.id, 4);
        } else if (l.kind == "s3-lockfile" && clients.s3 != nullptr &&
                   ends_with(l.lock_key, lockfile_suffix)) {
            // conditional_writes false: release then checks that our version hides no one's lockfile
            const std::string state_key = l.lock_key.substr(0, l.lock_key.size() - lockfile_suffix.size());
            s3_lockfile lock(*clients.s3, l.table_or_bucket, state_key, false);
            res = co_await release_retrying(lock, l.id, 4);
        } else {
            r.ec = lock_errc::no_client;
            r.message = "no client to reach " + describe(l);
            out.failed.push_back(std::move(r));
            continue;
        }
        r.message = res.message;
        r.warnings = res.warnings;
        if (res.released) {
            r.holder = std::move(res.held_by);  // set when our version had covered someone's lockfile
            out.released.push_back(std::move(r));
        } else if (res.already_released) {
            out.already_gone.push_back(std::move(r));
        } else if (res.ec == lock_errc::not_our_lock || res.ec == lock_errc::lock_corrupt) {
            // not ours (a corrupt lock cannot be: tfsnap writes parseable LockInfo): left alone
            r.holder = std::move(res.held_by);
            out.held_by_other.push_back(std::move(r));
        } else {
            r.ec = res.ec ? res.ec : make_error_code(core::errc::io_error);
            out.failed.push_back(std::move(r));
        }
    }

    std::string msg = "restore " + out.restore_id + " (environment " + out.environment +
                      ", stopped after step \"" + out.step + "\"): ";
    std::vector<std::string> parts;
    if (!out.released.empty())
        parts.push_back("released " + join(out.released));
    if (!out.already_gone.empty())
        parts.push_back("already gone " + join(out.already_gone));
    if (!out.held_by_other.empty())
        parts.push_back("left alone, not tfsnap's " + join(out.held_by_other));
    if (!out.failed.empty())
        parts.push_back("could not release " + join(out.failed));
    if (parts.empty())
        parts.push_back("it had no locks");
    if (!out.digest.empty())
        parts.insert(parts.begin(), out.digest);
    for (std::size_t i = 0; i < parts.size(); ++i)
        msg += (i ? "; " : "") + parts[i];

    if (out.failed.empty()) {
        if (auto s = remove_journal(state_dir, out.restore_id)) {
            out.ec = s.ec;
            msg += "; cannot remove the journal: " + s.message();
        } else {
            out.journal_removed = true;
            msg += "; journal removed";
        }
    } else {
        msg += "; the journal is kept for the next attempt";
    }
    out.message = std::move(msg);
    co_return out;
}

}  // namespace tfsnap::restore
