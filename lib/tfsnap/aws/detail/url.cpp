#include "tfsnap/aws/detail/url.hpp"

#include "tfsnap/aws/detail/text.hpp"

namespace tfsnap::aws::detail {

std::optional<url_parts> parse_url(std::string_view url) {
    const auto sep = url.find("://");
    if (sep == std::string_view::npos)
        return std::nullopt;
    url_parts u;
    u.scheme = to_lower(url.substr(0, sep));
    if (u.scheme != "http" && u.scheme != "https")
        return std::nullopt;
    std::string_view rest = url.substr(sep + 3);
    if (rest.find('#') != std::string_view::npos)
        return std::nullopt;
    const auto path_start = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, path_start);
    if (authority.empty() || authority.find('@') != std::string_view::npos)
        return std::nullopt;
    for (const char c : authority) {
        if (is_space(c) || static_cast<unsigned char>(c) < 0x20)
            return std::nullopt;
    }
    u.authority = std::string(authority);
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        u.host = std::string(authority.substr(1, close - 1));
        const auto after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':')
            return std::nullopt;
    } else {
        const auto colon = authority.find(':');
        u.host = std::string(authority.substr(0, colon));
    }
    if (u.host.empty())
        return std::nullopt;
    std::string_view tail =
        path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
    const auto q = tail.find('?');
    u.path = std::string(tail.substr(0, q));
    if (u.path.empty())
        u.path = "/";
    if (q != std::string_view::npos)
        u.query = std::string(tail.substr(q + 1));
    return u;
}

std::string redact_url(const url_parts& u) {
    return u.scheme + "://" + u.authority + u.path;
}

bool is_loopback_host(std::string_view host) noexcept {
    if (iequals(host, "localhost") || host == "::1" || host == "0:0:0:0:0:0:0:1")
        return true;
    // 127.x.y.z, dotted decimal only
    if (!host.starts_with("127."))
        return false;
    int dots = 0;
    int digits = 0;
    for (const char c : host) {
        if (c == '.') {
            if (digits == 0)
                return false;
            ++dots;
            digits = 0;
        } else if (c >= '0' && c <= '9') {
            if (++digits > 3)
                return false;
        } else {
            return false;
        }
    }
    return dots == 3 && digits > 0;
}

bool is_allowed_container_host(std::string_view host) noexcept {
    return is_loopback_host(host) || host == "169.254.170.2" || host == "169.254.170.23" ||
           iequals(host, "fd00:ec2::23");
}

std::string trim_trailing_slashes(std::string_view base) {
    while (!base.empty() && base.back() == '/')
        base.remove_suffix(1);
    return std::string(base);
}

}  // namespace tfsnap::aws::detail
