#pragma once
// Error codes of the child-process runner ("tfsnap.process").
//
// A program that could not be started at all is `not_found` (no such program in PATH, or no
// such file) or a system errno code (EACCES, ENOEXEC, EMFILE, ...). A program that ran and
// failed is `exit_status`, `killed`, `timed_out` or `cancelled`; the result says more.

#include "tfsnap/core/error.hpp"

#include <boost/system/error_code.hpp>

namespace tfsnap::process {

enum class errc {
    not_found = 1,     // the program does not exist (not in PATH, or no such file)
    invalid_argument,  // empty argv, a NUL byte in an argument, a bad environment name
    exit_status,       // the program exited with a non-zero status
    killed,            // the program was ended by a signal that run() did not send
    timed_out,         // the timeout expired; the process group was terminated
    cancelled,         // the awaiting coroutine was cancelled; the process group was terminated
};

const char* describe(errc e) noexcept;
core::traits traits_of(errc e) noexcept;
const boost::system::error_category& process_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), process_category()};
}

}  // namespace tfsnap::process

template <>
struct boost::system::is_error_code_enum<tfsnap::process::errc> : std::true_type {};
