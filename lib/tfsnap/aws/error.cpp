#include "tfsnap/aws/error.hpp"

#include <array>
#include <utility>

namespace tfsnap::aws {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::no_credentials:
            return "no AWS credentials found";
        case errc::not_configured:
            return "credentials source not configured";
        case errc::profile_not_found:
            return "AWS profile not found";
        case errc::profile_cycle:
            return "AWS profiles reference each other in a cycle";
        case errc::invalid_profile:
            return "AWS profile does not describe usable credentials";
        case errc::incomplete_credentials:
            return "incomplete AWS credentials";
        case errc::invalid_credentials_file:
            return "invalid AWS credentials file";
        case errc::invalid_credential_name:
            return "invalid systemd credential name";
        case errc::file_unreadable:
            return "credentials file cannot be read";
        case errc::sts_error:
            return "AWS STS returned an error";
        case errc::sts_throttled:
            return "AWS STS throttled the request";
        case errc::sts_unavailable:
            return "AWS STS is temporarily unavailable";
        case errc::imds_unavailable:
            return "EC2 instance metadata service unavailable";
        case errc::ecs_unavailable:
            return "container credentials endpoint unavailable";
        case errc::invalid_endpoint:
            return "invalid credentials endpoint";
        case errc::invalid_response:
            return "invalid response from a credentials service";
        case errc::expired:
            return "AWS credentials already expired";
    }
    return "unknown tfsnap.aws error";
}

core::traits traits_of(errc e) noexcept {
    switch (e) {
        case errc::sts_throttled:
            return {.transient = true, .not_processed = true};  // refused before any work
        case errc::imds_unavailable:
        case errc::ecs_unavailable:
        case errc::sts_unavailable:
            return {.transient = true, .not_processed = false};
        default:
            return {};
    }
}

const boost::system::error_category& aws_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.aws", &describe, &traits_of};
    return category;
}

errc from_sts_code(std::string_view code, unsigned http_status) noexcept {
    static constexpr std::array<std::pair<std::string_view, errc>, 6> table{{
        {"Throttling", errc::sts_throttled},
        {"ThrottlingException", errc::sts_throttled},
        {"RequestLimitExceeded", errc::sts_throttled},
        {"ServiceUnavailable", errc::sts_unavailable},
        {"InternalFailure", errc::sts_unavailable},
        {"IDPCommunicationError", errc::sts_unavailable},
    }};
    for (const auto& [name, e] : table) {
        if (code == name)
            return e;
    }
    switch (http_status) {
        case 429:
            return errc::sts_throttled;
        case 500:
        case 502:
        case 503:
        case 504:
            return errc::sts_unavailable;
        default:
            return errc::sts_error;
    }
}

std::string sanitise_service_text(std::string_view text, std::size_t max) {
    std::string out;
    for (const char c : text) {
        if (out.size() >= max)
            break;
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f)
            out += c;
        else if (c == '\n' || c == '\r' || c == '\t')
            out += ' ';
        else
            out += '?';
    }
    return out;
}

std::string format(const boost::system::error_code& ec, const error_info& info) {
    std::string out = ec ? ec.message() : std::string("ok");
    if (!info.message.empty()) {
        out += ": ";
        out += info.message;
    }
    std::string ctx;
    const auto add = [&ctx](std::string_view key, const std::string& value) {
        if (value.empty())
            return;
        if (!ctx.empty())
            ctx += ", ";
        ctx += key;
        ctx += '=';
        ctx += value;
    };
    add("provider", info.provider);
    add("path", info.path);
    if (info.line > 0)
        add("line", std::to_string(info.line));
    if (info.http_status != 0)
        add("http_status", std::to_string(info.http_status));
    add("code", info.service_code);
    if (!ctx.empty())
        out += " [" + ctx + "]";
    if (!info.service_message.empty())
        out += ": " + info.service_message;
    if (!info.tried.empty()) {
        out += "; tried:";
        for (const auto& t : info.tried)
            out += " " + t + ";";
        out.pop_back();
    }
    return out;
}

}  // namespace tfsnap::aws
