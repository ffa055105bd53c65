#include "tfsnap/aws/make_provider.hpp"

#include "tfsnap/aws/providers.hpp"

namespace tfsnap::aws {

namespace {

provider_ptr cached(const context_ptr& ctx, provider_ptr inner) {
    return std::make_shared<caching_provider>(std::move(inner), ctx->clock, ctx->log, ctx->cache);
}

}  // namespace

provider_ptr make_provider(const config::credentials_config& cfg, const provider_context& ctx) {
    return make_provider(cfg, std::make_shared<const provider_context>(ctx));
}

provider_ptr make_provider(const config::credentials_config& cfg, context_ptr ctx) {
    provider_ptr base;
    if (cfg.profile)
        base = make_profile_provider(ctx, *cfg.profile);
    else if (cfg.systemd_credential)
        base = make_systemd_credential_provider(ctx, *cfg.systemd_credential);

    if (!cfg.role_arn)
        return cached(ctx, base ? std::move(base) : make_default_chain(ctx));

    const std::string session_name =
        cfg.role_session_name ? *cfg.role_session_name : std::string(default_session_name);
    if (cfg.web_identity_token_file) {
        if (base) {
            ctx->log.warning(
                "credentials: web_identity_token_file with role_arn is used; profile and "
                "systemd_credential are ignored",
                {{"role_arn", *cfg.role_arn}});
        }
        web_identity_params p;
        p.role_arn = *cfg.role_arn;
        p.token_file = *cfg.web_identity_token_file;
        p.session_name = session_name;
        return cached(ctx, make_web_identity_provider(ctx, std::move(p)));
    }
    assume_role_params p;
    p.role_arn = *cfg.role_arn;
    p.session_name = session_name;
    p.external_id = cfg.external_id;
    auto source = cached(ctx, base ? std::move(base) : make_default_chain(ctx));
    return cached(ctx, make_assume_role_provider(ctx, std::move(source), std::move(p)));
}

provider_ptr make_default_provider(context_ptr ctx) {
    return make_provider(config::credentials_config{}, std::move(ctx));
}

}  // namespace tfsnap::aws
