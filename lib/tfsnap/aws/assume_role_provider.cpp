// STS AssumeRole and AssumeRoleWithWebIdentity providers (request and reply formats: sts.hpp).

#include "tfsnap/aws/detail/files.hpp"
#include "tfsnap/aws/detail/results.hpp"
#include "tfsnap/aws/detail/text.hpp"
#include "tfsnap/aws/providers.hpp"
#include "tfsnap/aws/sts.hpp"

namespace tfsnap::aws {

namespace {

credentials_result from_sts(parsed_credentials parsed, std::string provider, const std::string& what) {
    if (!parsed.ok()) {
        parsed.error.provider = std::move(provider);
        parsed.error.message = what + ": " + parsed.error.message;
        return detail::failed(parsed.ec, std::move(parsed.error));
    }
    credentials_result r;
    r.creds = std::move(parsed.creds);
    r.expiration = parsed.expiration;
    return r;
}

class assume_role_provider final : public credentials_provider {
public:
    assume_role_provider(context_ptr ctx, provider_ptr base, assume_role_params params)
        : ctx_(std::move(ctx)), base_(std::move(base)), params_(std::move(params)) {}

    boost::asio::awaitable<credentials_result> get() override {
        auto base = co_await base_->get();
        if (!base.ok()) {
            base.error.message = "the credentials to assume " + params_.role_arn + " are not available" +
                                 (base.error.message.empty() ? std::string() : ": " + base.error.message);
            co_return base;
        }
        auto req = make_assume_role_request(params_, base.creds, sts_endpoint(*ctx_), ctx_->region,
                                            ctx_->clock.now(), signer_, ctx_->timeouts.sts);
        if (req.ec)
            co_return detail::failed(req.ec, std::move(req.error));
        const std::string url = req.call.url;
        auto reply = co_await ctx_->http(std::move(req.call));
        auto r =
            from_sts(read_sts_reply(reply, "AssumeRole", url), "assume-role", "assuming " + params_.role_arn);
        detail::wipe(reply.reply.body);
        if (r.ok())
            r.source = "assume-role " + params_.role_arn + " over " + base.source;
        co_return r;
    }

private:
    context_ptr ctx_;
    provider_ptr base_;
    assume_role_params params_;
    sigv4::signer signer_;
};

boost::asio::awaitable<credentials_result> assume_role_with_web_identity(const provider_context& ctx,
                                                                         const web_identity_params& params) {
    auto file = detail::read_small_file(params.token_file);
    if (file.ec) {
        co_return detail::failed(errc::file_unreadable, "web-identity",
                                 "cannot read the web identity token file: " + file.ec.message(),
                                 params.token_file);
    }
    const core::secret token(std::string(detail::trim(file.text.reveal())));
    if (token.empty()) {
        co_return detail::failed(errc::invalid_credentials_file, "web-identity",
                                 "the web identity token file is empty", params.token_file);
    }
    auto req = make_web_identity_request(params, token, sts_endpoint(ctx), ctx.timeouts.sts);
    if (req.ec)
        co_return detail::failed(req.ec, std::move(req.error));
    const std::string url = req.call.url;
    auto reply = co_await ctx.http(std::move(req.call));
    auto r = from_sts(read_sts_reply(reply, "AssumeRoleWithWebIdentity", url), "web-identity",
                      "assuming " + params.role_arn + " with a web identity token");
    detail::wipe(reply.reply.body);
    if (r.ok())
        r.source = "web-identity " + params.role_arn + " (" + params.token_file + ")";
    co_return r;
}

class web_identity_provider final : public credentials_provider {
public:
    web_identity_provider(context_ptr ctx, web_identity_params params)
        : ctx_(std::move(ctx)), params_(std::move(params)) {}

    boost::asio::awaitable<credentials_result> get() override {
        co_return co_await assume_role_with_web_identity(*ctx_, params_);
    }

private:
    context_ptr ctx_;
    web_identity_params params_;
};

class web_identity_env_provider final : public credentials_provider {
public:
    explicit web_identity_env_provider(context_ptr ctx) : ctx_(std::move(ctx)) {}

    boost::asio::awaitable<credentials_result> get() override {
        const auto arn = env_value(ctx_->env, "AWS_ROLE_ARN");
        const auto file = env_value(ctx_->env, "AWS_WEB_IDENTITY_TOKEN_FILE");
        if (!arn || !file) {
            co_return detail::not_configured(
                "web-identity", !arn && !file ? "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are not set"
                                : !arn        ? "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not"
                                              : "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not");
        }
        web_identity_params params;
        params.role_arn = *arn;
        params.token_file = *file;
        if (auto name = env_value(ctx_->env, "AWS_ROLE_SESSION_NAME"))
            params.session_name = std::move(*name);
        co_return co_await assume_role_with_web_identity(*ctx_, params);
    }

private:
    context_ptr ctx_;
};

}  // namespace

provider_ptr make_assume_role_provider(context_ptr ctx, provider_ptr base, assume_role_params params) {
    return std::make_shared<assume_role_provider>(std::move(ctx), std::move(base), std::move(params));
}

provider_ptr make_web_identity_provider(context_ptr ctx, web_identity_params params) {
    return std::make_shared<web_identity_provider>(std::move(ctx), std::move(params));
}

provider_ptr make_web_identity_env_provider(context_ptr ctx) {
    return std::make_shared<web_identity_env_provider>(std::move(ctx));
}

}  // namespace tfsnap::aws
