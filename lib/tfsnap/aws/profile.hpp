#pragma once
// Resolution of a named profile of the shared files into a plan: where the first credentials
// come from, and which roles are then assumed, in order. Pure: no I/O; the profile provider
// (providers.hpp) reads the files and carries the plan out.
//
// Rules, after the AWS SDKs and Tools reference guide ("Assume role credential provider",
// docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html):
//   - The config and credentials files are merged per profile; for a key set in both, the
//     credentials file wins.
//   - A profile with `role_arn` assumes that role. Its source is `web_identity_token_file`
//     (AssumeRoleWithWebIdentity; no further source), or `source_profile` (resolved the same
//     way, so roles chain), or `credential_source` (Environment, Ec2InstanceMetadata,
//     EcsContainer). `source_profile` and `credential_source` together are an error.
//     `role_session_name`, `external_id` and `duration_seconds` apply to that role.
//   - `role_arn` takes precedence over static keys at every level, as in the AWS CLI and the
//     Java SDK, except that a profile naming itself as `source_profile` uses its own keys as the
//     source (the documented way to assume a role from a profile's own keys).
//   - Otherwise the profile needs `aws_access_key_id` and `aws_secret_access_key`
//     (`aws_session_token` optional).
//   - A chain of source_profile that comes back to a profile already visited is an error
//     (errc::profile_cycle) whose message shows the loop: "a -> b -> a".
//   - credential_process and IAM Identity Center (sso_*) profiles are not supported; they are
//     reported as errc::invalid_profile rather than skipped.

#include "tfsnap/aws/error.hpp"
#include "tfsnap/aws/profile_file.hpp"
#include "tfsnap/aws/role_params.hpp"
#include "tfsnap/core/secret.hpp"

#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tfsnap::aws {

struct profile_set {
    std::map<std::string, profile, std::less<>> profiles;
    std::vector<std::string> files;  // the files merged, for messages

    const profile* find(std::string_view name) const;
};

// Both files already parsed without errors. Either may be empty (file absent).
profile_set merge_profile_files(const parsed_profile_file& config, std::string_view config_path,
                                const parsed_profile_file& credentials, std::string_view credentials_path);

struct static_keys {
    std::string access_key_id;
    core::secret secret_access_key;
    core::secret session_token;  // empty for long-term keys
    std::string file;            // where aws_access_key_id was found
};

enum class credential_source { environment, ec2_instance_metadata, ecs_container };

struct role_step {
    std::string profile;  // the profile that names the role
    assume_role_params params;
};

struct profile_plan {
    std::string profile;       // the profile asked for
    std::string base_profile;  // the profile the first credentials come from
    std::variant<static_keys, web_identity_params, credential_source> base;
    std::vector<role_step> roles;  // assumed in this order, each with the previous credentials
};

struct profile_resolution {
    boost::system::error_code ec;
    error_info error;
    profile_plan plan;

    bool ok() const noexcept { return !ec; }
};

profile_resolution resolve_profile(const profile_set& profiles, std::string_view name);

}  // namespace tfsnap::aws
