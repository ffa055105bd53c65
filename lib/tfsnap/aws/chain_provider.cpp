// The default chain's order follows the AWS SDKs and Tools reference guide, "Understand the
// credential provider chain" (docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html)
// and the AWS SDK for Rust's DefaultCredentialsChain (environment, shared files, web identity,
// container, IMDS).

#include "tfsnap/aws/detail/results.hpp"
#include "tfsnap/aws/providers.hpp"
#include "tfsnap/aws/systemd_credential.hpp"

namespace tfsnap::aws {

namespace {

bool chain_moves_on(const boost::system::error_code& ec) noexcept {
    return ec == errc::not_configured || ec == errc::imds_unavailable;
}

class chain_provider final : public credentials_provider {
public:
    explicit chain_provider(std::vector<provider_ptr> providers) : providers_(std::move(providers)) {}

    boost::asio::awaitable<credentials_result> get() override {
        std::vector<std::string> tried;
        for (const auto& p : providers_) {
            auto r = co_await p->get();
            if (r.ok())
                co_return r;
            if (!chain_moves_on(r.ec)) {
                r.error.tried = std::move(tried);
                co_return r;
            }
            tried.push_back((r.error.provider.empty() ? std::string("?") : r.error.provider) + ": " +
                            (r.error.message.empty() ? r.ec.message() : r.error.message));
        }
        auto r = detail::failed(errc::no_credentials, "chain",
                                "set credentials in the environment, a shared profile, a systemd credential, "
                                "or run with an instance or task role");
        r.error.tried = std::move(tried);
        co_return r;
    }

private:
    std::vector<provider_ptr> providers_;
};

}  // namespace

provider_ptr make_chain_provider(std::vector<provider_ptr> providers) {
    return std::make_shared<chain_provider>(std::move(providers));
}

provider_ptr make_default_chain(context_ptr ctx) {
    std::vector<provider_ptr> chain;
    chain.push_back(make_environment_provider(ctx));
    chain.push_back(make_profile_provider(ctx));
    chain.push_back(make_web_identity_env_provider(ctx));
    chain.push_back(make_ecs_provider(ctx));
    chain.push_back(make_systemd_credential_provider(ctx, std::string(default_systemd_credential_name)));
    chain.push_back(make_imds_provider(ctx));
    return make_chain_provider(std::move(chain));
}

}  // namespace tfsnap::aws
