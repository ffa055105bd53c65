#include "tfsnap/control/error.hpp"

namespace tfsnap::control {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::already_listening:
            return "another process is listening on the control socket";
        case errc::not_a_socket:
            return "the control socket path exists and is not a socket";
        case errc::path_too_long:
            return "the control socket path is too long";
        case errc::bad_socket:
            return "the descriptor is not a listening Unix stream socket";
        case errc::no_acceptor:
            return "the control server has no listening socket";
    }
    return "unknown control error";
}

const boost::system::error_category& control_category() noexcept {
    static const core::enum_category<errc> category("tfsnap.control", &describe);
    return category;
}

}  // namespace tfsnap::control
