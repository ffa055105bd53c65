#pragma once
// The name_resolver tfsnapd uses: the system's user and group databases through NSS
// (getpwnam_r, getgrnam_r), asked on every call, so that changes apply without a reload.
//
// The lookups block: with a network NSS source (LDAP, sssd) they take as long as it does.
// Thread safety: safe from any thread (the reentrant calls only).

#include "tfsnap/control/authorize.hpp"

namespace tfsnap::control {

class system_name_resolver final : public name_resolver {
public:
    std::optional<std::uint32_t> user_id(std::string_view name) const override;
    std::optional<std::uint32_t> group_id(std::string_view name) const override;
};

}  // namespace tfsnap::control
