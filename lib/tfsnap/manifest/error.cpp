#include "tfsnap/manifest/error.hpp"

namespace tfsnap::manifest {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::not_json:
            return "the manifest is not a JSON object";
        case errc::missing_field:
            return "the manifest lacks a required field";
        case errc::wrong_type:
            return "a manifest field has the wrong type";
        case errc::invalid_value:
            return "a manifest field has an invalid value";
        case errc::unsupported_version:
            return "the manifest version is not supported";
    }
    return "unknown manifest error";
}

const boost::system::error_category& manifest_category() noexcept {
    static const core::enum_category<errc> category("tfsnap.manifest", &describe);
    return category;
}

}  // namespace tfsnap::manifest
