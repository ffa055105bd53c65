// EC2 instance metadata service, version 2 only. Flow and headers after the EC2 User Guide,
// "Use the Instance Metadata Service to access instance metadata" and "Retrieve security
// credentials from instance metadata", and the AWS SDKs and Tools reference guide, "IMDS
// credential provider" (AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_SERVICE_ENDPOINT).

#include "tfsnap/aws/detail/exchange.hpp"
#include "tfsnap/aws/detail/results.hpp"
#include "tfsnap/aws/detail/text.hpp"
#include "tfsnap/aws/detail/url.hpp"
#include "tfsnap/aws/providers.hpp"
#include "tfsnap/aws/responses.hpp"

#include <boost/asio/error.hpp>

namespace tfsnap::aws {

namespace {

constexpr std::string_view imds_default_base = "http://169.254.169.254";
constexpr std::string_view token_path = "/latest/api/token";
constexpr std::string_view credentials_path = "/latest/meta-data/iam/security-credentials/";

// IAM role names: [\w+=,.@-]{1,64}. Anything else would change the URL path we build from it.
bool is_valid_role_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64)
        return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '_' || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

class imds_provider final : public credentials_provider {
public:
    explicit imds_provider(context_ptr ctx) : ctx_(std::move(ctx)) {}

    boost::asio::awaitable<credentials_result> get() override {
        const auto& env = ctx_->env;
        if (const auto disabled = env_value(env, "AWS_EC2_METADATA_DISABLED");
            disabled && detail::iequals(detail::trim(*disabled), "true")) {
            co_return detail::not_configured("imds", "disabled by AWS_EC2_METADATA_DISABLED");
        }
        std::string base;
        if (auto e = env_value(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT"))
            base = std::move(*e);
        else if (!ctx_->endpoints.imds.empty())
            base = ctx_->endpoints.imds;
        else
            base = std::string(imds_default_base);
        base = detail::trim_trailing_slashes(base);
        const auto parts = detail::parse_url(base);
        if (!parts || !parts->query.empty())
            co_return detail::failed(errc::invalid_endpoint, "imds",
                                     "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL");
        base_ = base;

        // A token rejected with 401 between the token request and its use (it expired, or the
        // service restarted) is fetched once more.
        credentials_result r;
        for (int round = 0; round < 2; ++round) {
            bool token_rejected = false;
            r = co_await fetch(token_rejected);
            if (!token_rejected)
                break;
        }
        co_return r;
    }

private:
    credentials_result unavailable(std::string message, unsigned status = 0) const {
        auto r = detail::failed(errc::imds_unavailable, "imds", std::move(message), base_);
        r.error.http_status = status;
        return r;
    }

    credentials_result transport_failure(const http_result& res, std::string_view step) const {
        auto r = unavailable("no answer to " + std::string(step) + " at " + base_ + ": " + res.ec.message());
        if (res.ec == boost::asio::error::operation_aborted)
            r.ec = res.ec;
        return r;
    }

    boost::asio::awaitable<credentials_result> fetch(bool& token_rejected) {
        const int attempts = ctx_->timeouts.imds_attempts;

        http_call put;
        put.method = "PUT";
        put.url = base_ + std::string(token_path);
        put.timeout = ctx_->timeouts.imds;
        put.headers.emplace_back("x-aws-ec2-metadata-token-ttl-seconds",
                                 std::to_string(ctx_->timeouts.imds_token_ttl.count()));
        auto token_res = co_await detail::exchange_with_retry(ctx_->http, std::move(put), attempts);
        if (token_res.ec)
            co_return transport_failure(token_res, "the session token request");
        if (token_res.reply.status == 403)
            co_return unavailable(
                "the session token request was refused (403): IMDS is disabled on this instance", 403);
        if (token_res.reply.status != 200)
            co_return unavailable("the session token request failed", token_res.reply.status);
        const core::secret token(std::string(detail::trim(token_res.reply.body)));
        detail::wipe(token_res.reply.body);
        if (token.empty() || detail::has_header_breaking_char(token.reveal())) {
            auto r = detail::failed(errc::invalid_response, "imds",
                                    "the session token is empty or spans lines", base_);
            co_return r;
        }

        http_call list;
        list.method = "GET";
        list.url = base_ + std::string(credentials_path);
        list.timeout = ctx_->timeouts.imds;
        list.headers.emplace_back("x-aws-ec2-metadata-token", std::string(token.reveal()));
        auto list_res = co_await detail::exchange_with_retry(ctx_->http, list, attempts);
        if (list_res.ec)
            co_return transport_failure(list_res, "the role name request");
        if (list_res.reply.status == 401) {
            token_rejected = true;
            co_return unavailable("the session token was rejected", 401);
        }
        if (list_res.reply.status == 404)
            co_return unavailable("no IAM role (instance profile) is attached to this instance", 404);
        if (list_res.reply.status != 200)
            co_return unavailable("the role name request failed", list_res.reply.status);
        const auto body = detail::trim(list_res.reply.body);
        const auto role = std::string(detail::trim(body.substr(0, body.find('\n'))));
        if (role.empty())
            co_return unavailable("no IAM role (instance profile) is attached to this instance", 200);
        if (!is_valid_role_name(role))
            co_return detail::failed(errc::invalid_response, "imds",
                                     "the role name is not a valid IAM role name", base_);

        http_call creds = list;
        creds.url += role;
        auto creds_res = co_await detail::exchange_with_retry(ctx_->http, std::move(creds), attempts);
        detail::wipe(list.headers.back().second);
        if (creds_res.ec)
            co_return transport_failure(creds_res, "the credentials request");
        if (creds_res.reply.status == 401) {
            token_rejected = true;
            co_return unavailable("the session token was rejected", 401);
        }
        if (creds_res.reply.status != 200)
            co_return unavailable("the credentials request for role " + role + " failed",
                                  creds_res.reply.status);
        auto parsed = parse_container_credentials(creds_res.reply.body, container_kind::imds);
        detail::wipe(creds_res.reply.body);
        if (!parsed.ok()) {
            parsed.error.path = base_;
            co_return detail::failed(parsed.ec, std::move(parsed.error));
        }
        credentials_result r;
        r.creds = std::move(parsed.creds);
        r.expiration = parsed.expiration;
        r.source = "imds role " + role;
        co_return r;
    }

    context_ptr ctx_;
    std::string base_;
};

}  // namespace

provider_ptr make_imds_provider(context_ptr ctx) {
    return std::make_shared<imds_provider>(std::move(ctx));
}

}  // namespace tfsnap::aws
