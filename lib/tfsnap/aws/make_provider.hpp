#pragma once
// The provider an environment's `credentials:` section (config::credentials_config) asks for,
// with caching and refresh ahead of expiry.
//
//   profile: NAME               the shared files' profile NAME (roles it names are assumed)
//   systemd_credential: NAME    $CREDENTIALS_DIRECTORY/NAME (systemd_credential.hpp)
//   role_arn + web_identity_token_file
//                               STS AssumeRoleWithWebIdentity with that token file
//   role_arn (+ external_id, role_session_name)
//                               STS AssumeRole in ctx.region, signed with the credentials of
//                               the rest of the section (profile or systemd_credential), or of
//                               the default chain when the section names no other source
//   nothing                     the default chain (providers.hpp, make_default_chain)
//
// The result is a caching_provider; when a role is assumed over a base, the base is cached too,
// so refreshing the role does not re-read files or IMDS each time.
//
// Errors: none at construction (the configuration was validated by config::load); every
// problem (missing profile, unreadable file, refused role) is reported by get().
// Lifetime: the provider keeps a copy of `ctx` (environment, transport, timeouts); ctx.clock and
// the logger's sink must outlive it.

#include "tfsnap/aws/caching_provider.hpp"
#include "tfsnap/aws/credentials_provider.hpp"
#include "tfsnap/config/config.hpp"

namespace tfsnap::aws {

provider_ptr make_provider(const config::credentials_config& cfg, const provider_context& ctx);
provider_ptr make_provider(const config::credentials_config& cfg, context_ptr ctx);

// The default chain with caching: make_provider with an empty credentials section.
provider_ptr make_default_provider(context_ptr ctx);

}  // namespace tfsnap::aws
