#pragma once
// Error codes of the local snapshot catalog ("tfsnap.catalog").

#include "tfsnap/core/error.hpp"

#include <boost/system/error_code.hpp>

#include <string>

namespace tfsnap::catalog {

enum class errc {
    invalid_environment = 1,  // not a safe environment name (config::is_valid_name)
    invalid_snapshot_id,      // not of the form YYYY-MM-DDTHH-MM-SSZ[-N]
    not_found,                // no such snapshot
    io_error,                 // a file operation failed (errno text is in error_info)
    corrupt_manifest,         // a MANIFEST.json does not parse (detail in error_info)
    corrupt_index,            // an INDEX.json does not parse (it is rebuilt when needed)
    manifest_mismatch,        // a manifest names another environment or snapshot than its path
};

const char* describe(errc e) noexcept;
const boost::system::error_category& catalog_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), catalog_category()};
}

// Context for an error: the path involved and what went wrong there (errno text, or the
// manifest field at fault). Never holds state contents.
struct error_info {
    std::string path;
    std::string message;
};

}  // namespace tfsnap::catalog

template <>
struct boost::system::is_error_code_enum<tfsnap::catalog::errc> : std::true_type {};
