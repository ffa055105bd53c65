#pragma once
// Error codes of the scheduler ("tfsnap.scheduler").

#include "tfsnap/core/error.hpp"

#include <boost/system/error_code.hpp>

namespace tfsnap::scheduler {

enum class errc {
    corrupt_stamps = 1,  // the stamps file is not in the expected format
    stamps_io,           // reading or writing the stamps file failed (errno is in the detail)
};

const char* describe(errc e) noexcept;
const boost::system::error_category& scheduler_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), scheduler_category()};
}

}  // namespace tfsnap::scheduler

template <>
struct boost::system::is_error_code_enum<tfsnap::scheduler::errc> : std::true_type {};
