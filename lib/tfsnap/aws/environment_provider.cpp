// Environment variables and fixed credentials.
// Variables as the AWS SDKs and Tools reference guide lists them ("AWS access keys",
// docs.aws.amazon.com/sdkref/latest/guide/feature-static-credentials.html).

#include "tfsnap/aws/detail/results.hpp"
#include "tfsnap/aws/providers.hpp"

#include <cstring>

namespace tfsnap::aws {

environment capture_environment(const char* const* envp) {
    environment env;
    if (!envp)
        return env;
    for (auto p = envp; *p; ++p) {
        const char* eq = std::strchr(*p, '=');
        if (!eq)
            continue;
        env.insert_or_assign(std::string(*p, eq), std::string(eq + 1));
    }
    return env;
}

std::optional<std::string> env_value(const environment& env, std::string_view name) {
    const auto it = env.find(name);
    if (it == env.end() || it->second.empty())
        return std::nullopt;
    return it->second;
}

namespace {

class environment_provider final : public credentials_provider {
public:
    explicit environment_provider(context_ptr ctx) : ctx_(std::move(ctx)) {}

    boost::asio::awaitable<credentials_result> get() override {
        const auto& env = ctx_->env;
        auto akid = env_value(env, "AWS_ACCESS_KEY_ID");
        const auto secret = env.find("AWS_SECRET_ACCESS_KEY");
        const bool has_secret = secret != env.end() && !secret->second.empty();
        if (!akid && !has_secret)
            co_return detail::not_configured("environment", "AWS_ACCESS_KEY_ID is not set");
        if (!akid)
            co_return detail::failed(errc::incomplete_credentials, "environment",
                                     "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
        if (!has_secret)
            co_return detail::failed(errc::incomplete_credentials, "environment",
                                     "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
        credentials_result r;
        r.creds.access_key_id = std::move(*akid);
        r.creds.secret_access_key = core::secret(secret->second);
        if (const auto token = env.find("AWS_SESSION_TOKEN"); token != env.end() && !token->second.empty())
            r.creds.session_token = core::secret(token->second);
        r.source = "environment";
        co_return r;
    }

private:
    context_ptr ctx_;
};

class static_provider final : public credentials_provider {
public:
    static_provider(sigv4::credentials creds, std::string source)
        : creds_(std::move(creds)), source_(std::move(source)) {}

    boost::asio::awaitable<credentials_result> get() override {
        credentials_result r;
        r.creds = creds_;
        r.source = source_;
        co_return r;
    }

private:
    sigv4::credentials creds_;
    std::string source_;
};

}  // namespace

provider_ptr make_environment_provider(context_ptr ctx) {
    return std::make_shared<environment_provider>(std::move(ctx));
}

provider_ptr make_static_provider(sigv4::credentials creds, std::string source) {
    return std::make_shared<static_provider>(std::move(creds), std::move(source));
}

}  // namespace tfsnap::aws
