#pragma once
// Which S3 version a restore targets, chosen from a ListObjectVersions listing of the state's key.
// Pure: the listing and the time are passed in.
//
// The listing is a prefix listing, so it may hold other keys ("env/terraform.tfstate.tflock",
// "env/terraform.tfstate.backup", ...): only entries of exactly `key` count. Entries are taken
// newest first: the IsLatest entry, then by last_modified, newest first; entries with equal
// last_modified (S3 has millisecond resolution) keep their listing order, which S3 gives newest
// first within a key.
//
// Thread safety: free functions with no shared state.

#include "tfsnap/core/error.hpp"
#include "tfsnap/s3/types.hpp"

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tfsnap::restore {

enum class target_errc {
    no_versions = 1,  // the key has no versions (none listed, or only delete markers)
    too_early,        // every version of the key is newer than the requested time
};

const char* describe(target_errc e) noexcept;
const boost::system::error_category& target_category() noexcept;
inline boost::system::error_code make_error_code(target_errc e) noexcept {
    return {static_cast<int>(e), target_category()};
}

struct target_result {
    std::optional<s3::version_entry> entry;  // a version, never a delete marker
    // A delete marker lies between `entry` and the requested time: at that time the state was
    // deleted, and `entry` is the version the delete marker hid.
    bool deleted_at_time = false;
    boost::system::error_code ec;  // target_errc
    std::string message;           // one line; for too_early it names the oldest version and its time
};

// The newest version (not a delete marker) of exactly `key` with last_modified <= t: the state as
// it was at `t`. A version written at exactly `t` counts; one written later in the same second
// does not (last_modified keeps its milliseconds).
target_result resolve_at(std::span<const s3::version_entry> entries, std::string_view key,
                         std::chrono::sys_seconds t);

// The current entry of `key`: the one flagged IsLatest (a version, or a delete marker when the
// state is deleted). Should no entry carry the flag, the newest entry. nullopt when the key has
// no entries.
std::optional<s3::version_entry> current_entry(std::span<const s3::version_entry> entries,
                                               std::string_view key);

// For an undelete: the newest version under the delete marker(s) on top of `key`. nullopt when
// the current entry is not a delete marker (nothing to undelete) or no version lies under the
// markers.
std::optional<s3::version_entry> previous_version(std::span<const s3::version_entry> entries,
                                                  std::string_view key);

}  // namespace tfsnap::restore

template <>
struct boost::system::is_error_code_enum<tfsnap::restore::target_errc> : std::true_type {};
