#include "tfsnap/process/error.hpp"

namespace tfsnap::process {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::not_found:
            return "program not found";
        case errc::invalid_argument:
            return "invalid process argument or environment";
        case errc::exit_status:
            return "the program exited with a non-zero status";
        case errc::killed:
            return "the program was killed by a signal";
        case errc::timed_out:
            return "the program ran past its timeout and was stopped";
        case errc::cancelled:
            return "the program was stopped because the operation was cancelled";
    }
    return "unknown tfsnap.process error";
}

core::traits traits_of(errc e) noexcept {
    return {.transient = e == errc::timed_out, .not_processed = false};
}

const boost::system::error_category& process_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.process", &describe, &traits_of};
    return category;
}

}  // namespace tfsnap::process
