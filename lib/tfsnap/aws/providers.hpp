#pragma once
// The concrete credential providers. Each reads only what `provider_context` gives it (the
// environment map, the transport, the clock), so all of them run in unit tests.
//
// Each returns errc::not_configured when its source is simply not set up on this host (the
// variable is unset, the file does not exist): a chain then moves on to the next source. Any
// other error means the source is set up but broken, and a chain stops there, as the AWS SDKs
// do, so a misconfiguration is reported rather than silently bypassed. EC2 IMDS being
// unreachable (imds_unavailable) is the exception: a chain moves on, since every host that is
// not an EC2 instance is in that state.
//
// None of these providers cache; wrap them in `caching_provider` (make_provider does).
// Cancellation, thread safety and lifetime: as credentials_provider.hpp says.

#include "tfsnap/aws/credentials_provider.hpp"
#include "tfsnap/aws/role_params.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tfsnap::aws {

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (optional).
// One of the first two without the other: errc::incomplete_credentials.
provider_ptr make_environment_provider(context_ptr ctx);

// Fixed credentials (no expiry), e.g. from a parsed file; `source` labels them.
provider_ptr make_static_provider(sigv4::credentials creds, std::string source);

// A profile of the shared files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) and
// AWS_CONFIG_FILE (default ~/.aws/config), merged and resolved as profile.hpp describes; roles
// it names are assumed through STS on every refresh. With `profile` unset the name comes from
// AWS_PROFILE, else "default"; only an implicit "default" that is missing (or no file at all)
// is not_configured, a named profile that is missing is profile_not_found. The files are read
// again on every get(): cache the provider.
provider_ptr make_profile_provider(context_ptr ctx, std::optional<std::string> profile = std::nullopt);

// STS AssumeRoleWithWebIdentity (unsigned) with the token read from `params.token_file` on
// every call.
provider_ptr make_web_identity_provider(context_ptr ctx, web_identity_params params);

// Web identity from AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (+ AWS_ROLE_SESSION_NAME);
// not_configured unless both are set.
provider_ptr make_web_identity_env_provider(context_ptr ctx);

// Container credentials: http://169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or
// AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a loopback address, 169.254.170.2,
// 169.254.170.23 or fd00:ec2::23; anything else is invalid_endpoint). The Authorization header
// comes from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every call) or else
// AWS_CONTAINER_AUTHORIZATION_TOKEN.
provider_ptr make_ecs_provider(context_ptr ctx);

// EC2 IMDSv2: PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds), then
// GET /latest/meta-data/iam/security-credentials/ (the role name) and .../<role> with
// X-aws-ec2-metadata-token. AWS_EC2_METADATA_DISABLED=true: not_configured.
// AWS_EC2_METADATA_SERVICE_ENDPOINT replaces the endpoint. Timeouts and attempts:
// provider_timeouts. No IMDSv1 fallback.
provider_ptr make_imds_provider(context_ptr ctx);

// $CREDENTIALS_DIRECTORY/<name> in systemd_credential.hpp's format. CREDENTIALS_DIRECTORY
// unset, or the file absent: not_configured. An invalid name: invalid_credential_name.
provider_ptr make_systemd_credential_provider(context_ptr ctx, std::string name);

// STS AssumeRole, SigV4-signed with the credentials `base` gives, in ctx->region.
provider_ptr make_assume_role_provider(context_ptr ctx, provider_ptr base, assume_role_params params);

// Tries `providers` in order; see the header comment for when it moves on. Nothing found:
// errc::no_credentials with error_info::tried.
provider_ptr make_chain_provider(std::vector<provider_ptr> providers);

// The default chain, in the AWS SDKs' order: environment, shared files (AWS_PROFILE or
// default), web identity from the environment, container (ECS/EKS), then the systemd
// credential named "aws" when CREDENTIALS_DIRECTORY is set, and EC2 IMDS last. IMDS stays
// last, as in the SDKs, because on a host that is not an EC2 instance it only fails after its
// timeouts.
provider_ptr make_default_chain(context_ptr ctx);

}  // namespace tfsnap::aws
