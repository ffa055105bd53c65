#pragma once
// What an STS role assumption needs besides the caller's credentials: the parameters of
// AssumeRole and of AssumeRoleWithWebIdentity. Pure data, shared by the profile resolver and the
// providers.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::aws {

// RoleSessionName when none is configured (config.hpp documents the same default).
inline constexpr std::string_view default_session_name = "tfsnap";

// STS accepts 900 s to 12 h; the role's own maximum may be lower.
inline constexpr std::chrono::seconds min_role_duration{900};
inline constexpr std::chrono::seconds max_role_duration{43200};

struct assume_role_params {
    std::string role_arn;
    std::string session_name{default_session_name};
    std::optional<std::string> external_id;
    std::chrono::seconds duration{3600};
};

struct web_identity_params {
    std::string role_arn;
    std::string token_file;  // read again on every refresh: projected tokens rotate
    std::string session_name{default_session_name};
    std::chrono::seconds duration{3600};
};

}  // namespace tfsnap::aws
