#include "tfsnap/aws/sts.hpp"

#include "tfsnap/aws/detail/text.hpp"
#include "tfsnap/aws/detail/url.hpp"
#include "tfsnap/crypto/hash.hpp"

namespace tfsnap::aws {

namespace {

constexpr std::string_view form_content_type = "application/x-www-form-urlencoded; charset=utf-8";

struct endpoint_target {
    boost::system::error_code ec;
    error_info error;
    std::string url;
    detail::url_parts parts;
};

endpoint_target target_of(std::string_view endpoint, std::string_view provider) {
    endpoint_target t;
    t.url = detail::trim_trailing_slashes(endpoint) + "/";
    const auto parts = detail::parse_url(t.url);
    if (!parts || !parts->query.empty()) {
        t.ec = errc::invalid_endpoint;
        t.error.provider = std::string(provider);
        t.error.message = "the STS endpoint is not an http(s) URL without query";
        return t;
    }
    t.parts = *parts;
    return t;
}

}  // namespace

std::string sts_endpoint(const provider_context& ctx) {
    if (!ctx.endpoints.sts.empty())
        return ctx.endpoints.sts;
    const std::string suffix = ctx.region.starts_with("cn-") ? ".amazonaws.com.cn" : ".amazonaws.com";
    return "https://sts." + ctx.region + suffix;
}

sts_request make_assume_role_request(const assume_role_params& params, const sigv4::credentials& creds,
                                     std::string_view endpoint, std::string_view region, core::time_point now,
                                     sigv4::signer& signer, std::chrono::milliseconds timeout) {
    sts_request out;
    auto target = target_of(endpoint, "assume-role");
    if (target.ec) {
        out.ec = target.ec;
        out.error = std::move(target.error);
        return out;
    }
    sigv4::param_list form{
        {"Action", "AssumeRole"},
        {"Version", "2011-06-15"},
        {"RoleArn", params.role_arn},
        {"RoleSessionName", params.session_name},
        {"DurationSeconds", std::to_string(params.duration.count())},
    };
    if (params.external_id)
        form.emplace_back("ExternalId", *params.external_id);
    std::string body = sigv4::canonical_query_string(form);

    sigv4::request req;
    req.method = "POST";
    req.path = target.parts.path;
    req.headers = {{"content-type", std::string(form_content_type)}, {"host", target.parts.authority}};
    req.payload_hash = crypto::sha256_hex(body);
    sigv4::signing_params sp;
    sp.region = std::string(region);
    sp.service = "sts";
    sp.time = now;
    auto auth = signer.sign_headers(req, creds, sp);

    out.call.method = "POST";
    out.call.url = std::move(target.url);
    out.call.headers = std::move(req.headers);
    for (auto& h : auth)
        out.call.headers.push_back(std::move(h));
    out.call.body = std::move(body);
    out.call.timeout = timeout;
    return out;
}

sts_request make_web_identity_request(const web_identity_params& params, const core::secret& token,
                                      std::string_view endpoint, std::chrono::milliseconds timeout) {
    sts_request out;
    auto target = target_of(endpoint, "web-identity");
    if (target.ec) {
        out.ec = target.ec;
        out.error = std::move(target.error);
        return out;
    }
    sigv4::param_list form{
        {"Action", "AssumeRoleWithWebIdentity"},
        {"Version", "2011-06-15"},
        {"RoleArn", params.role_arn},
        {"RoleSessionName", params.session_name},
        {"DurationSeconds", std::to_string(params.duration.count())},
        {"WebIdentityToken", std::string(token.reveal())},
    };
    out.call.method = "POST";
    out.call.url = std::move(target.url);
    out.call.headers = {{"content-type", std::string(form_content_type)}, {"host", target.parts.authority}};
    out.call.body = sigv4::canonical_query_string(form);
    detail::wipe(form.back().second);
    out.call.timeout = timeout;
    return out;
}

parsed_credentials read_sts_reply(const http_result& result, std::string_view action, std::string_view url) {
    parsed_credentials r;
    if (result.ec) {
        r.ec = result.ec;
        r.error.provider = "sts";
        r.error.path = std::string(url);
        r.error.message = std::string(action) + " request failed";
        return r;
    }
    if (result.reply.status != 200) {
        if (auto e = parse_sts_error(result.reply.body)) {
            r.error.service_code = std::move(e->code);
            r.error.service_message = std::move(e->message);
        }
        r.ec = from_sts_code(r.error.service_code, result.reply.status);
        r.error.message = std::string(action) + " was refused";
    } else {
        r = parse_sts_credentials(result.reply.body, action);
    }
    r.error.provider = "sts";
    r.error.path = std::string(url);
    r.error.http_status = result.reply.status;
    return r;
}

}  // namespace tfsnap::aws
