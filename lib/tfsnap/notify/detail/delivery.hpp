#pragma once
// The rules of one webhook delivery, apart from the I/O: what a status means, and where a
// url_credential's URL comes from. Used by dispatcher.cpp.

#include "tfsnap/core/secret.hpp"
#include "tfsnap/notify/error.hpp"

#include <string>
#include <string_view>

namespace tfsnap::notify::detail {

// 2xx: delivered (no error). 408, 429 and 5xx: errc::unavailable, which is retried. Anything
// else (a redirect, another 4xx): errc::rejected, never retried.
boost::system::error_code status_outcome(unsigned status) noexcept;

// `text` without its trailing white space (the newline an editor or `echo` leaves).
std::string_view trim_trailing_space(std::string_view text) noexcept;

struct credential_url {
    boost::system::error_code ec;  // errc::credential_unavailable or errc::invalid_url
    std::string detail;            // what went wrong; never the URL
    core::secret url;              // valid when !ec
};

// The URL in `directory`/`name` (a systemd credential), trimmed and checked like a configured
// URL. `name` must already be a valid credential name (the configuration checked it).
// `directory` empty: CREDENTIALS_DIRECTORY is not set.
credential_url read_credential_url(std::string_view directory, std::string_view name);

}  // namespace tfsnap::notify::detail
