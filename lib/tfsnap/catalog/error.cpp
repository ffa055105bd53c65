#include "tfsnap/catalog/error.hpp"

namespace tfsnap::catalog {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::invalid_environment:
            return "invalid environment name";
        case errc::invalid_snapshot_id:
            return "invalid snapshot id";
        case errc::not_found:
            return "no such snapshot";
        case errc::io_error:
            return "a catalog file could not be read or written";
        case errc::corrupt_manifest:
            return "a snapshot manifest is corrupt";
        case errc::corrupt_index:
            return "a catalog index is corrupt";
        case errc::manifest_mismatch:
            return "a manifest does not match its place in the catalog";
    }
    return "unknown catalog error";
}

const boost::system::error_category& catalog_category() noexcept {
    static const core::enum_category<errc> category("tfsnap.catalog", &describe);
    return category;
}

}  // namespace tfsnap::catalog
