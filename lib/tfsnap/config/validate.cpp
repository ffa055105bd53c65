#include "tfsnap/config/validate.hpp"

#include <date/tz.h>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <vector>

namespace tfsnap::config {

namespace {

bool is_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
// A port written in decimal digits only, 1 to 65535.
std::optional<unsigned> parse_port(std::string_view s) noexcept {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 65535)
        return std::nullopt;
    return v;
}
bool is_lower_or_digit(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            const auto ca = static_cast<char>(std::tolower(static_cast<unsigned char>(a[i - 1])));
            const auto cb = static_cast<char>(std::tolower(static_cast<unsigned char>(b[j - 1])));
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (ca == cb ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

bool is_valid_name(std::string_view name) noexcept {
    // no leading '.': names become directories beside the catalog's own (.git, .tmp-*)
    if (name.empty() || name.size() > 64 || name.front() == '.')
        return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates) {
    std::optional<std::string> best;
    std::size_t best_distance = 0;
    for (const auto c : candidates) {
        const std::size_t d = edit_distance(word, c);
        if (!best || d < best_distance) {
            best = std::string(c);
            best_distance = d;
        }
    }
    // a typo is at most a third of the word, and at least 1-2 edits for short words
    const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
    if (best && best_distance <= limit && best_distance < word.size())
        return best;
    return std::nullopt;
}

bool is_valid_timezone(std::string_view zone) {
    if (zone.empty())
        return false;
    try {
        return date::locate_zone(zone) != nullptr;
    } catch (const std::runtime_error&) {
        return false;
    }
}

std::optional<std::string> closest_timezone(std::string_view zone) {
    std::vector<std::string_view> names;
    try {
        const auto& db = date::get_tzdb();
        // with the OS database, links (US/Eastern, ...) are files and so are listed as zones
        names.reserve(db.zones.size());
        for (const auto& z : db.zones)
            names.push_back(z.name());
    } catch (const std::runtime_error&) {
        return std::nullopt;
    }
    return closest_match(zone, names);
}

bool is_valid_bucket_name(std::string_view b) noexcept {
    if (b.size() < 3 || b.size() > 63)
        return false;
    if (!is_lower_or_digit(b.front()) || !is_lower_or_digit(b.back()))
        return false;
    return std::all_of(b.begin(), b.end(),
                       [](char c) { return is_lower_or_digit(c) || c == '.' || c == '-'; });
}

bool is_valid_dynamodb_table(std::string_view t) noexcept {
    if (t.size() < 3 || t.size() > 255)
        return false;
    return std::all_of(t.begin(), t.end(),
                       [](char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; });
}

bool is_valid_region(std::string_view r) noexcept {
    if (r.empty() || r.size() > 32 || r.front() == '-' || r.back() == '-')
        return false;
    return std::all_of(r.begin(), r.end(), [](char c) { return is_lower_or_digit(c) || c == '-'; });
}

std::optional<std::string> check_state_key(std::string_view key) {
    if (key.empty())
        return "the key is empty";
    if (key.size() > 1024)
        return "the key is longer than S3's limit of 1024 bytes";
    if (key.front() == '/')
        return "the key starts with '/', which Terraform's S3 backend rejects";
    if (key.back() == '/')
        return "the key ends with '/', which Terraform's S3 backend rejects";
    for (const char c : key) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            return "the key contains a control character";
    }
    return std::nullopt;
}

std::optional<std::string> check_endpoint(std::string_view url) {
    std::string_view rest;
    if (url.starts_with("https://")) {
        rest = url.substr(8);
    } else if (url.starts_with("http://")) {
        rest = url.substr(7);
    } else {
        return "the endpoint must start with https:// or http://";
    }
    const auto host_end = rest.find('/');
    const auto authority = rest.substr(0, host_end);
    if (authority.find('@') != std::string_view::npos) {
        return "the endpoint contains user information; credentials never belong in a URL";
    }
    if (authority.empty() || authority.front() == ':')
        return "the endpoint has no host name";
    if (url.find_first_of("?#") != std::string_view::npos)
        return "the endpoint has a query or fragment";
    if (const auto colon = authority.rfind(':');
        colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
        const auto port = authority.substr(colon + 1);
        if (port.size() > 5 || !parse_port(port)) {
            return "the endpoint's port is not a number from 1 to 65535";
        }
    }
    return std::nullopt;
}

bool is_aws_endpoint(std::string_view url) noexcept {
    if (url.starts_with("https://"))
        url.remove_prefix(8);
    else if (url.starts_with("http://"))
        url.remove_prefix(7);
    else
        return false;
    auto host = url.substr(0, url.find_first_of("/:?#"));
    std::string lower(host);
    for (auto& c : lower)
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    const std::string_view h = lower;
    return h == "amazonaws.com" || h.ends_with(".amazonaws.com") || h.ends_with(".amazonaws.com.cn");
}

bool is_canned_acl(std::string_view acl) noexcept {
    for (const std::string_view known :
         {"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
          "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"})
        if (acl == known)
            return true;
    return false;
}

namespace {

// The pieces of "scheme://[userinfo@]host[:port][/path][?query][#fragment]", as written.
struct url_parts {
    std::string_view scheme;     // "https" or "http"
    bool has_userinfo = false;   // an '@' before the host
    std::string_view host_port;  // "host", "host:8080", "[::1]:8080"
    std::string_view host;       // without brackets
    std::string_view port;       // empty when absent
    bool well_formed = true;     // brackets and the port separator are where they belong
};

std::optional<url_parts> split_url(std::string_view url) noexcept {
    url_parts p;
    if (url.starts_with("https://")) {
        p.scheme = url.substr(0, 5);
        url.remove_prefix(8);
    } else if (url.starts_with("http://")) {
        p.scheme = url.substr(0, 4);
        url.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    const auto authority = url.substr(0, url.find_first_of("/?#"));
    const auto at = authority.rfind('@');
    p.has_userinfo = at != std::string_view::npos;
    p.host_port = at == std::string_view::npos ? authority : authority.substr(at + 1);
    if (p.host_port.starts_with('[')) {
        const auto close = p.host_port.find(']');
        if (close == std::string_view::npos) {
            p.well_formed = false;
            return p;
        }
        p.host = p.host_port.substr(1, close - 1);
        const auto rest = p.host_port.substr(close + 1);
        if (!rest.empty()) {
            p.well_formed = rest.front() == ':';
            p.port = rest.substr(1);
        }
        return p;
    }
    const auto colon = p.host_port.rfind(':');
    p.host = p.host_port.substr(0, colon);
    if (colon != std::string_view::npos)
        p.port = p.host_port.substr(colon + 1);
    return p;
}

}  // namespace

std::optional<std::string> check_webhook_url(std::string_view url) {
    const auto p = split_url(url);
    if (!p)
        return "the webhook URL must start with https:// or http://";
    if (std::any_of(url.begin(), url.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u <= 0x20 || u >= 0x7f;
        })) {
        return "the webhook URL contains a space, a control character or a non-ASCII character";
    }
    if (p->has_userinfo) {
        return "the webhook URL contains user information (NAME@host), which tfsnap never sends";
    }
    if (url.find('#') != std::string_view::npos)
        return "the webhook URL has a fragment (#...), which is never sent to the server";
    if (p->host.empty() || !p->well_formed)
        return "the webhook URL has no valid host name";
    const bool bracketed = p->host_port.starts_with('[');
    if (!std::all_of(p->host.begin(), p->host.end(), [bracketed](char c) {
            if (bracketed)
                return is_alnum(c) || c == ':' || c == '.';
            return is_alnum(c) || c == '.' || c == '-' || c == '_';
        })) {
        return "the webhook URL has no valid host name";
    }
    if (!p->host_port.empty() && p->host_port.back() == ':' && p->port.empty())
        return "the webhook URL's port is not a number from 1 to 65535";
    if (!p->port.empty() && !parse_port(p->port))
        return "the webhook URL's port is not a number from 1 to 65535";
    return std::nullopt;
}

std::string url_origin(std::string_view url) {
    const auto p = split_url(url);
    if (!p || p->host.empty() || !p->well_formed)
        return {};
    std::string out(p->scheme);
    out += "://";
    out += p->host_port;
    return out;
}

bool is_valid_principal(std::string_view p) noexcept {
    std::string_view name;
    if (p.starts_with("user:")) {
        name = p.substr(5);
    } else if (p.starts_with("group:")) {
        name = p.substr(6);
    } else {
        return false;
    }
    if (name.empty() || name.size() > 32 || name.front() == '-')
        return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; });
}

std::optional<listen_address> parse_listen_address(std::string_view s) {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        return std::nullopt;
    std::string_view host = s.substr(0, colon);
    const std::string_view port = s.substr(colon + 1);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']')
            return std::nullopt;
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return std::nullopt;  // an IPv6 address needs brackets
    }
    const auto p = parse_port(port);
    if (!p)
        return std::nullopt;
    return listen_address{std::string(host), static_cast<std::uint16_t>(*p)};
}

std::string check_loopback_listen(std::string_view s) {
    const auto a = parse_listen_address(s);
    if (!a)
        return "\"" + std::string(s) + "\" is not HOST:PORT";
    if (a->host == "localhost")
        return {};
    unsigned char v4[4];
    unsigned char v6[16];
    if (inet_pton(AF_INET, a->host.c_str(), v4) == 1)
        return v4[0] == 127
                   ? std::string()
                   : a->host + " is not a loopback address: the metrics listener serves this host only";
    if (inet_pton(AF_INET6, a->host.c_str(), v6) == 1) {
        const bool loopback = std::all_of(v6, v6 + 15, [](unsigned char b) { return b == 0; }) && v6[15] == 1;
        return loopback ? std::string()
                        : a->host + " is not a loopback address: the metrics listener serves this host only";
    }
    return "\"" + a->host + "\" is not an IP address";
}

}  // namespace tfsnap::config
