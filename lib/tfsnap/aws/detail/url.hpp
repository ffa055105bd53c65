#pragma once
// Just enough URL handling for the credential endpoints: split "scheme://authority/path?query"
// and classify hosts for the container provider's allow list. Pure.

#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::aws::detail {

struct url_parts {
    std::string scheme;     // lower-case "http" or "https"
    std::string authority;  // "host[:port]" as written (the Host header)
    std::string host;       // without brackets for IPv6 literals
    std::string path;       // "/..." ("/" when empty), without the query
    std::string query;      // after '?', may be empty
};

// nullopt for anything but http(s)://authority[/path][?query] without user info or fragment.
std::optional<url_parts> parse_url(std::string_view url);

// "http://host/path" without the query, for messages (queries may carry tokens).
std::string redact_url(const url_parts& u);

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host) noexcept;

// Hosts the container provider may reach over plain http: loopback, the ECS task metadata
// address 169.254.170.2 and the EKS Pod Identity agent 169.254.170.23 / fd00:ec2::23.
bool is_allowed_container_host(std::string_view host) noexcept;

// Strips trailing '/' from an endpoint base ("http://169.254.169.254/" -> "http://169.254.169.254").
std::string trim_trailing_slashes(std::string_view base);

}  // namespace tfsnap::aws::detail
