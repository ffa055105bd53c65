#include "tfsnap/core/error.hpp"

namespace tfsnap::core {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::invalid_argument:
            return "invalid argument";
        case errc::io_error:
            return "input/output error";
        case errc::timeout:
            return "deadline expired";
        case errc::cancelled:
            return "operation cancelled";
        case errc::not_found:
            return "not found";
    }
    return "unknown tfsnap.core error";
}

const boost::system::error_category& core_category() noexcept {
    static const enum_category<errc> category{"tfsnap.core", &describe};
    return category;
}

}  // namespace tfsnap::core
