#include "tfsnap/http/url.hpp"

#include <charconv>

namespace tfsnap::http {

std::string url::origin() const {
    std::string out = tls ? "https://" : "http://";
    out += host_header();
    return out;
}

std::string url::host_header() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    std::string h = ipv6 ? "[" + host + "]" : host;
    if (port != (tls ? 443 : 80))
        h += ":" + std::to_string(port);
    return h;
}

std::optional<url> parse_url(std::string_view text) {
    url u;
    if (text.starts_with("https://")) {
        text.remove_prefix(8);
    } else if (text.starts_with("http://")) {
        u.tls = false;
        u.port = 80;
        text.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    const auto path_at = text.find_first_of("/?");
    std::string_view authority = text.substr(0, path_at);
    if (path_at != std::string_view::npos) {
        u.path = std::string(text.substr(path_at));
        if (u.path.front() == '?')
            u.path.insert(0, "/");
    }
    if (authority.empty() || authority.find('@') != std::string_view::npos)
        return std::nullopt;
    std::string_view port_text;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        u.host = std::string(authority.substr(1, close - 1));
        const auto rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return std::nullopt;
            port_text = rest.substr(1);
            if (port_text.empty())
                return std::nullopt;
        }
    } else {
        const auto colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty())
                return std::nullopt;
        }
    }
    if (u.host.empty())
        return std::nullopt;
    if (!port_text.empty()) {
        unsigned p = 0;
        const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || p == 0 || p > 65535) {
            return std::nullopt;
        }
        u.port = static_cast<std::uint16_t>(p);
    }
    return u;
}

}  // namespace tfsnap::http
