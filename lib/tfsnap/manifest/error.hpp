#pragma once
// Error codes of the manifest reader ("tfsnap.manifest").

#include "tfsnap/core/error.hpp"

#include <boost/system/error_code.hpp>

namespace tfsnap::manifest {

enum class errc {
    not_json = 1,         // the text is not a JSON object
    missing_field,        // a required field is absent
    wrong_type,           // a field has the wrong JSON type
    invalid_value,        // a field has the right type but a value outside its domain
    unsupported_version,  // the manifest's major version is not one this build knows
};

const char* describe(errc e) noexcept;
const boost::system::error_category& manifest_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), manifest_category()};
}

}  // namespace tfsnap::manifest

template <>
struct boost::system::is_error_code_enum<tfsnap::manifest::errc> : std::true_type {};
