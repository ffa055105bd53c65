#pragma once
// Error codes of the systemd integration ("tfsnap.systemd").
//
// A failure inside libsystemd (sd_notify, sd_listen_fds, sd_journal_sendv, ...) is reported as
// the system errno code libsystemd returned (ECONNREFUSED, ENOENT, EINVAL for a malformed
// $LISTEN_FDS or $WATCHDOG_USEC, ...): those say exactly what went wrong. The codes below are
// the outcomes that are tfsnap's own judgement.

#include "tfsnap/core/error.hpp"

#include <boost/system/error_code.hpp>

namespace tfsnap::systemd {

enum class errc {
    unexpected_socket = 1,  // a passed descriptor is not a listening AF_UNIX stream socket
    invalid_argument,       // a negative timeout, or the like
};

const char* describe(errc e) noexcept;
const boost::system::error_category& systemd_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), systemd_category()};
}

// A negative return value of an sd_* function (-errno) as an error code.
inline boost::system::error_code from_sd_result(int r) noexcept {
    return {-r, boost::system::system_category()};
}

}  // namespace tfsnap::systemd

template <>
struct boost::system::is_error_code_enum<tfsnap::systemd::errc> : std::true_type {};
