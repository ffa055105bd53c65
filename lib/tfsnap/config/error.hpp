#pragma once
// Errors and diagnostics of configuration loading.
//
// Loading never stops at the first problem: every problem becomes a `diagnostic` with the
// file, line and column, the YAML path, what is wrong and what would be valid. The caller
// prints them all and fails before the daemon reports READY (or, on reload, keeps the old
// configuration).

#include "tfsnap/core/error.hpp"

#include <string>
#include <vector>

namespace tfsnap::config {

enum class errc {
    invalid = 1,  // the file was read, and one or more diagnostics were reported
    unreadable,   // the file could not be opened or read
};

const char* describe(errc e) noexcept;
const boost::system::error_category& config_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), config_category()};
}

struct diagnostic {
    std::string file;
    int line = 0;         // 1-based; 0 when the problem has no position (an unreadable file)
    int column = 0;       // 1-based
    std::string path;     // YAML path, e.g. "environments.prod.schedules[1].cron"
    std::string message;  // what is wrong
    std::string hint;     // what would be valid, or what to write instead
};

// "file:line:col: error: path: message; hint"
std::string format(const diagnostic& d);

}  // namespace tfsnap::config

template <>
struct boost::system::is_error_code_enum<tfsnap::config::errc> : std::true_type {};
