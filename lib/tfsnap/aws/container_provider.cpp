// Container credentials (ECS task roles, EKS Pod Identity), after the AWS SDKs and Tools
// reference guide, "Container credential provider"
// (docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html).

#include "tfsnap/aws/detail/exchange.hpp"
#include "tfsnap/aws/detail/files.hpp"
#include "tfsnap/aws/detail/results.hpp"
#include "tfsnap/aws/detail/text.hpp"
#include "tfsnap/aws/detail/url.hpp"
#include "tfsnap/aws/providers.hpp"
#include "tfsnap/aws/responses.hpp"

#include <boost/asio/error.hpp>

namespace tfsnap::aws {

namespace {

constexpr std::string_view ecs_default_base = "http://169.254.170.2";

class ecs_provider final : public credentials_provider {
public:
    explicit ecs_provider(context_ptr ctx) : ctx_(std::move(ctx)) {}

    boost::asio::awaitable<credentials_result> get() override {
        const auto& env = ctx_->env;
        const auto relative = env_value(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        const auto full = env_value(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
        if (!relative && !full) {
            co_return detail::not_configured(
                "ecs",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set");
        }
        std::string url;
        if (relative) {
            const std::string base =
                ctx_->endpoints.ecs.empty() ? std::string(ecs_default_base) : ctx_->endpoints.ecs;
            url = detail::trim_trailing_slashes(base) + (relative->starts_with('/') ? "" : "/") + *relative;
        } else {
            url = *full;
        }
        const auto parts = detail::parse_url(url);
        if (!parts) {
            co_return detail::failed(errc::invalid_endpoint, "ecs",
                                     relative
                                         ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does not make an http URL"
                                         : "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL");
        }
        const std::string where = parts->scheme + "://" + parts->authority;
        // Plain http only to addresses that cannot leave the host or the task: the token and
        // the credentials would otherwise cross the network in clear.
        if (!relative && parts->scheme == "http" && !detail::is_allowed_container_host(parts->host)) {
            co_return detail::failed(
                errc::invalid_endpoint, "ecs",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI over http must name a loopback address, "
                "169.254.170.2, 169.254.170.23 or fd00:ec2::23; use https otherwise",
                where);
        }

        http_call call;
        call.method = "GET";
        call.url = url;
        call.timeout = ctx_->timeouts.ecs;
        call.headers.emplace_back("accept", "application/json");
        if (auto token_file = env_value(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
            auto file = detail::read_small_file(*token_file);
            if (file.ec) {
                co_return detail::failed(
                    errc::file_unreadable, "ecs",
                    "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: " + file.ec.message(), *token_file);
            }
            const auto token = detail::trim(file.text.reveal());
            if (token.empty() || detail::has_header_breaking_char(token)) {
                co_return detail::failed(errc::invalid_credentials_file, "ecs",
                                         "the container authorization token file is empty or spans lines",
                                         *token_file);
            }
            call.headers.emplace_back("authorization", std::string(token));
        } else if (const auto token = env.find("AWS_CONTAINER_AUTHORIZATION_TOKEN");
                   token != env.end() && !token->second.empty()) {
            if (detail::has_header_breaking_char(token->second)) {
                co_return detail::failed(errc::invalid_credentials_file, "ecs",
                                         "AWS_CONTAINER_AUTHORIZATION_TOKEN contains a line break");
            }
            call.headers.emplace_back("authorization", token->second);
        }

        auto res =
            co_await detail::exchange_with_retry(ctx_->http, std::move(call), ctx_->timeouts.ecs_attempts);
        if (res.ec) {
            auto r = detail::failed(errc::ecs_unavailable, "ecs",
                                    "the container credentials endpoint did not answer: " + res.ec.message(),
                                    where);
            if (res.ec == boost::asio::error::operation_aborted)
                r.ec = res.ec;
            co_return r;
        }
        if (res.reply.status != 200) {
            auto r = detail::failed(errc::ecs_unavailable, "ecs",
                                    "the container credentials endpoint refused", where);
            r.error.http_status = res.reply.status;
            if (auto e = parse_container_error(res.reply.body)) {
                r.error.service_code = std::move(e->code);
                r.error.service_message = std::move(e->message);
            }
            co_return r;
        }
        auto parsed = parse_container_credentials(res.reply.body, container_kind::ecs);
        detail::wipe(res.reply.body);
        if (!parsed.ok()) {
            parsed.error.path = where;
            co_return detail::failed(parsed.ec, std::move(parsed.error));
        }
        credentials_result r;
        r.creds = std::move(parsed.creds);
        r.expiration = parsed.expiration;
        r.source = "ecs " + where;
        co_return r;
    }

private:
    context_ptr ctx_;
};

}  // namespace

provider_ptr make_ecs_provider(context_ptr ctx) {
    return std::make_shared<ecs_provider>(std::move(ctx));
}

}  // namespace tfsnap::aws
