#pragma once
// URLs of the endpoints tfsnap talks to: "http(s)://host[:port][/path]". Pure.

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::http {

struct url {
    bool tls = true;   // https
    std::string host;  // "s3.eu-central-1.amazonaws.com", "127.0.0.1", "::1" (no brackets)
    std::uint16_t port = 443;
    std::string path = "/";  // the rest, starting with '/' (path and query as given)

    // "https://host" or "http://host:8080": the origin, for pooling and messages.
    std::string origin() const;
    // The Host header value: the host, with ":port" when it is not the scheme's default.
    std::string host_header() const;
};

// nullopt when `text` is not an http or https URL with a host.
std::optional<url> parse_url(std::string_view text);

}  // namespace tfsnap::http
