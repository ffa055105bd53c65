#pragma once
// Error codes of the control server ("tfsnap.control"). What a code is about (the socket
// path, the errno of a failed system call) is in `server::error_detail()`.

#include "tfsnap/core/error.hpp"

#include <boost/system/error_code.hpp>

namespace tfsnap::control {

enum class errc {
    already_listening = 1,  // another process accepts connections on the socket path
    not_a_socket,           // the socket path exists and is not a socket: never removed
    path_too_long,          // the path does not fit in sockaddr_un::sun_path
    bad_socket,             // an adopted descriptor is not a listening AF_UNIX stream socket
    no_acceptor,            // run() was called before listen() or adopt() succeeded
};

const char* describe(errc e) noexcept;
const boost::system::error_category& control_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), control_category()};
}

}  // namespace tfsnap::control

template <>
struct boost::system::is_error_code_enum<tfsnap::control::errc> : std::true_type {};
