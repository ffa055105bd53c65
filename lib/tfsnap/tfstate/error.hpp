#pragma once
// Errors of the tfstate module: the cases where tfsnap refuses to summarise, diff or rewrite a
// state.
// Messages are fixed; they never contain any part of the state (which is user data).

#include "tfsnap/core/error.hpp"

namespace tfsnap::tfstate {

enum class errc {
    legacy_format = 1,    // format version 3 or older (before Terraform 0.12)
    unsupported_version,  // format version newer than 4
    malformed,            // declares version 4 but its resources or outputs have the wrong shape
    encrypted,            // OpenTofu client-side encrypted state: opaque, cannot be diffed
    not_a_state,          // not JSON, or not a state object: opaque, cannot be diffed
    no_serial,            // rewrite.hpp: the object has no top-level "serial"
    bad_serial,           // rewrite.hpp: the top-level "serial" is not a non-negative integer
    ambiguous_serial,     // rewrite.hpp: more than one top-level key that Terraform reads as "serial"
    too_deep,             // nests deeper than limits.hpp's max_nesting (deeper than Terraform reads)
};

const char* describe(errc e) noexcept;
const boost::system::error_category& tfstate_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), tfstate_category()};
}

}  // namespace tfsnap::tfstate

template <>
struct boost::system::is_error_code_enum<tfsnap::tfstate::errc> : std::true_type {};
