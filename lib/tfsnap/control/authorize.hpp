#pragma once
// Who may use the control API: the peer's credentials (from SO_PEERCRED and SO_PEERGROUPS,
// read by the server) against the configured principals. Pure: names are resolved through an
// injected `name_resolver` (NSS in tfsnapd, see system_resolver.hpp; a map in tests).
//
// - uid 0 is always an operator.
// - "user:NAME" matches a peer whose uid is NAME's; "group:NAME" one whose primary group or one
//   of whose supplementary groups is NAME's (the groups of the connecting process, as for file
//   permissions, not the group database).
// - Operators may do everything readers may.
// - A principal that does not resolve matches nobody.
// A denial is a 403 error_response ("forbidden") naming the role needed and the principals
// that have it.

#include "tfsnap/config/config.hpp"
#include "tfsnap/control/router.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::control {

struct peer_credentials {
    std::int32_t pid = 0;  // 0: unknown (the process may have exited since it connected)
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::vector<std::uint32_t> groups;  // supplementary groups

    bool in_group(std::uint32_t g) const noexcept;
};

// Names to ids, and what the server needs to know of a peer's uid. authorize() asks only
// user_id and group_id. nullopt: not found (or not known).
class name_resolver {
public:
    virtual ~name_resolver() = default;
    virtual std::optional<std::uint32_t> user_id(std::string_view name) const = 0;
    virtual std::optional<std::uint32_t> group_id(std::string_view name) const = 0;
    // The name of the user `uid` (for job records and the audit log).
    virtual std::optional<std::string> user_name(std::uint32_t) const { return std::nullopt; }
    // The groups of `uid`'s user in the group database, its primary group `gid` included (for
    // kernels without SO_PEERGROUPS).
    virtual std::optional<std::vector<std::uint32_t>> user_groups(std::uint32_t, std::uint32_t) const {
        return std::nullopt;
    }
};

struct authorization {
    bool allowed = false;
    role granted = role::reader;           // when allowed: the role the peer was allowed as
    std::string principal;                 // when allowed: "uid 0", "user:alice", "group:tfsnap"
    std::optional<error_response> denial;  // when not allowed: the 403
};

authorization authorize(const peer_credentials& peer, role needed, const config::control_config& access,
                        const name_resolver& names);

}  // namespace tfsnap::control
