#pragma once
// The POSIX half of run(): checks a spec, builds the child's environment, finds the program and
// starts it with posix_spawn. No Asio.
//
// Errors: error codes as documented in run.hpp; no exceptions except bad_alloc.
// Thread safety: reads `environ`; do not call concurrently with setenv/putenv.

#include "tfsnap/process/run.hpp"

#include <sys/types.h>

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::process::detail {

// The environment the child gets: `parent` ("NAME=value" entries, as `environ`) without the
// names in env_unset or env_set, then env_set in order.
std::vector<std::string> child_environment(const char* const* parent, const spec& s);

// The value of NAME in an environment built by child_environment, or nullptr.
const std::string* find_variable(const std::vector<std::string>& env, std::string_view name);

// Looks `name` up in the ':'-separated `path_var`, skipping relative and empty entries. The
// first executable regular file wins. Otherwise the error is EACCES when some entry held a
// file that is not executable, else ENOENT.
struct lookup {
    std::string path;
    int err = 0;
};
lookup find_program(std::string_view name, std::string_view path_var);

// Descriptors and ids of a started child. Every descriptor is close-on-exec and owned by
// the caller; `in` is -1 without stdin data and non-blocking otherwise.
struct child {
    pid_t pid = -1;
    int pidfd = -1;
    int out = -1;  // read end of the stdout+stderr pipe
    int in = -1;   // write end of the stdin pipe
};

// Checks `s`, then starts the child in its own process group. On error nothing is left
// running and no descriptor is left open.
boost::system::error_code spawn(const spec& s, child& out);

// Sends `sig` to the process group `pgid`; ESRCH (the group is gone) is not an error.
void signal_group(pid_t pgid, int sig) noexcept;

}  // namespace tfsnap::process::detail
