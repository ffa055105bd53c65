#include "tfsnap/aws/error.hpp"

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

const boost::system::error_category& aws_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.aws", &describe};
    return category;
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
