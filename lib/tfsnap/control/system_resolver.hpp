#pragma once
// The name_resolver tfsnapd uses: the system's user and group databases through NSS
// (getpwnam_r, getgrnam_r, getpwuid_r, getgrouplist), asked on every call.
//
// The lookups block: with a network NSS source (LDAP, sssd) they take as long as it does. The
// control server never calls them on its event loop: it asks through name_cache.hpp, which runs
// them on threads of its own and caches the answers.
// Thread safety: safe from any thread (the reentrant calls only).

#include "tfsnap/control/authorize.hpp"

namespace tfsnap::control {

class system_name_resolver final : public name_resolver {
public:
    std::optional<std::uint32_t> user_id(std::string_view name) const override;
    std::optional<std::uint32_t> group_id(std::string_view name) const override;
    std::optional<std::string> user_name(std::uint32_t uid) const override;
    std::optional<std::vector<std::uint32_t>> user_groups(std::uint32_t uid,
                                                          std::uint32_t gid) const override;
};

}  // namespace tfsnap::control
