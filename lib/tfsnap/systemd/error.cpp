#include "tfsnap/systemd/error.hpp"

namespace tfsnap::systemd {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::unexpected_socket:
            return "a passed file descriptor is not a listening Unix stream socket";
        case errc::invalid_argument:
            return "invalid argument";
    }
    return "unknown systemd error";
}

const boost::system::error_category& systemd_category() noexcept {
    static const core::enum_category<errc> category("tfsnap.systemd", &describe);
    return category;
}

}  // namespace tfsnap::systemd
