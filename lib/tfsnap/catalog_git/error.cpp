#include "tfsnap/catalog_git/error.hpp"

namespace tfsnap::catalog_git {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::invalid_environment:
            return "invalid environment name for the catalog history";
        case errc::invalid_snapshot_id:
            return "invalid snapshot id";
        case errc::not_initialized:
            return "the catalog is not a git repository yet";
        case errc::snapshot_not_found:
            return "no such snapshot in the catalog";
        case errc::tag_exists:
            return "the snapshot is already recorded (its tag exists)";
        case errc::busy:
            return "another catalog history update is in progress";
        case errc::io_error:
            return "a catalog file could not be written";
        case errc::git_not_found:
            return "the git program was not found";
        case errc::git_timed_out:
            return "a git command timed out";
        case errc::git_failed:
            return "a git command failed";
        case errc::cancelled:
            return "the catalog history update was cancelled";
    }
    return "unknown tfsnap.catalog_git error";
}

core::traits traits_of(errc e) noexcept {
    return {.transient = e == errc::git_timed_out || e == errc::busy, .not_processed = e == errc::busy};
}

const boost::system::error_category& catalog_git_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.catalog_git", &describe, &traits_of};
    return category;
}

}  // namespace tfsnap::catalog_git
