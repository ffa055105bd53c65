#pragma once
// Error codes of the git history of the catalog ("tfsnap.catalog_git").

#include "tfsnap/core/error.hpp"

#include <boost/system/error_code.hpp>

#include <string>

namespace tfsnap::catalog_git {

enum class errc {
    invalid_environment = 1,  // not config::is_valid_name, or not usable in a git tag name
    invalid_snapshot_id,      // not manifest::is_valid_snapshot_id
    not_initialized,          // the catalog has no .git yet: init() was not run
    snapshot_not_found,       // <catalog>/<env>/<id> does not exist
    tag_exists,               // the snapshot's tag already exists (it was recorded before)
    busy,                     // another call on the same recorder is in progress
    io_error,                 // the catalog directory or .gitignore could not be written
    git_not_found,            // the git program does not exist (options::git)
    git_timed_out,            // a git command ran past options::timeout and was stopped
    git_failed,               // a git command failed (the message has git's output)
    cancelled,                // the operation was cancelled; the git command in progress was stopped
};

const char* describe(errc e) noexcept;
core::traits traits_of(errc e) noexcept;
const boost::system::error_category& catalog_git_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), catalog_git_category()};
}

// Context for an error. `message` is one line saying what failed, followed, for a git
// failure, by git's output (its last 2 KiB); it holds no environment values.
struct error_info {
    std::string command;  // "git commit", or empty when no git command was involved
    std::string message;
};

}  // namespace tfsnap::catalog_git

template <>
struct boost::system::is_error_code_enum<tfsnap::catalog_git::errc> : std::true_type {};
