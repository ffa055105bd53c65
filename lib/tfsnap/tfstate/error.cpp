#include "tfsnap/tfstate/error.hpp"

namespace tfsnap::tfstate {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::legacy_format:
            return "state format version 3 or older predates Terraform 0.12; tfsnap reads version 4";
        case errc::unsupported_version:
            return "state format version is newer than 4; tfsnap reads version 4";
        case errc::malformed:
            return "state declares format version 4 but its resources or outputs are malformed";
        case errc::encrypted:
            return "state is encrypted (OpenTofu client-side encryption) and cannot be read";
        case errc::not_a_state:
            return "not a Terraform state (not JSON, or not a state object)";
        case errc::no_serial:
            return "the state has no top-level \"serial\"";
        case errc::bad_serial:
            return "the state's top-level \"serial\" is not a non-negative integer";
        case errc::ambiguous_serial:
            return "the state has more than one top-level key that Terraform reads as \"serial\"";
        case errc::too_deep:
            return "the state nests deeper than 10000 levels, deeper than Terraform itself reads";
    }
    return "unknown tfsnap.tfstate error";
}

const boost::system::error_category& tfstate_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.tfstate", &describe};
    return category;
}

}  // namespace tfsnap::tfstate
