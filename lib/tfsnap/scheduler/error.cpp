#include "tfsnap/scheduler/error.hpp"

namespace tfsnap::scheduler {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::corrupt_stamps:
            return "the schedule stamps file is corrupt";
        case errc::stamps_io:
            return "the schedule stamps file could not be read or written";
    }
    return "unknown scheduler error";
}

const boost::system::error_category& scheduler_category() noexcept {
    static const core::enum_category<errc> category("tfsnap.scheduler", &describe);
    return category;
}

}  // namespace tfsnap::scheduler
