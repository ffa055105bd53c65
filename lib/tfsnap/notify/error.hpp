#pragma once
// Error codes of webhook deliveries ("tfsnap.notify").

#include "tfsnap/core/error.hpp"

#include <boost/system/error_code.hpp>

namespace tfsnap::notify {

enum class errc {
    rejected = 1,            // the endpoint answered a status that is not 2xx, 408, 429 or 5xx
    unavailable,             // the endpoint answered 408, 429 or 5xx (retried)
    deadline_exceeded,       // the delivery's deadline passed before a 2xx
    credential_unavailable,  // url_credential: no CREDENTIALS_DIRECTORY, or the file cannot be read
    invalid_url,             // the URL in the credential is not a valid webhook URL
};

const char* describe(errc e) noexcept;
core::traits traits_of(errc e) noexcept;
const boost::system::error_category& notify_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), notify_category()};
}

}  // namespace tfsnap::notify

template <>
struct boost::system::is_error_code_enum<tfsnap::notify::errc> : std::true_type {};
