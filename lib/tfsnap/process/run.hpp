#pragma once
// Runs a child process on the calling coroutine's executor and collects its output.
//
// - The child is started with posix_spawn in a new process group (its pid is the group id),
//   with every signal at its default disposition and an empty signal mask, stdin from
//   `spec::stdin_data` (or /dev/null), and stdout and stderr on one pipe. Every descriptor
//   tfsnap opens is close-on-exec, and the child closes every descriptor above 2 before exec.
// - argv[0] without a '/' is looked up in the PATH the child will get (env_set/env_unset
//   applied; the system default path when it has none); only absolute PATH entries are
//   searched. With a '/', it is used as given (relative to `cwd` when one is set).
// - Exit is awaited through a pidfd (pidfd_open, Linux >= 5.3) on the executor: no blocking
//   waitpid on the loop, no SIGCHLD handler. Something else in the process that reaps every
//   child (waitpid(-1), SIGCHLD set to SIG_IGN) breaks this: run() then reports ECHILD.
// - The process group never outlives run(): when the child exits, whatever is left of its
//   group gets SIGKILL before the child is reaped. Descendants that left the group (setsid)
//   are not tracked.
// - Timeout: SIGTERM to the group, SIGKILL `kill_grace` later if the child is still there,
//   then reap. The result has `timed_out` and errc::timed_out.
// - Output: stdout and stderr interleaved, as written. At most `output_limit` bytes are kept:
//   the first half and the last half, joined by a "[... N bytes omitted ...]" line.
//   After the child exits, output is read until end of file or for `drain_timeout` at most
//   (a descendant outside the group may hold the pipe open).
//
// Errors: `result::ec` (error.hpp); see `result`. Only memory exhaustion throws.
// Cancellation: run() honours every cancellation type on the awaiting coroutine's slot (for
//   example from `awaitable_operators ||`): the group gets SIGTERM, then SIGKILL after
//   `kill_grace`, and the child is reaped before run() returns errc::cancelled (so a cancelled
//   run() can take up to `kill_grace` to complete; terraform needs SIGTERM to release its
//   state lock). When the awaiting coroutine is already cancelled, run() throws
//   system_error(operation_aborted) without starting anything, like any Asio operation.
// Thread safety: none; run() uses only the awaiting coroutine's executor, which must be a
//   single-threaded one (an io_context run by one thread, or a strand).
// Lifetime: if the executor is destroyed while a child runs, the child's group is killed with
//   SIGKILL and the child reaped with a blocking wait, as a last resort.
//
// Secrets: the environment is never part of a result or of describe()'s text. The output is
// whatever the program printed: treat it as untrusted text.

#include "tfsnap/process/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tfsnap::process {

struct spec {
    std::vector<std::string> argv;  // argv[0] is the program
    std::string cwd;                // empty: inherit the caller's
    // Added to (or replacing entries of) the caller's environment, after env_unset is applied.
    std::vector<std::pair<std::string, std::string>> env_set;
    std::vector<std::string> env_unset;
    std::chrono::milliseconds timeout{60000};
    std::chrono::milliseconds kill_grace{5000};       // from SIGTERM to SIGKILL
    std::chrono::milliseconds drain_timeout{1000};    // reading output after the child exited
    std::size_t output_limit = std::size_t{1} << 20;  // bytes of output kept
    std::optional<std::string> stdin_data;            // written to stdin, then closed; none: /dev/null
};

struct result {
    // Empty when the program exited with status 0 in time. Otherwise errc::not_found or a
    // system errno code (could not start), or errc::cancelled, errc::timed_out, errc::killed,
    // errc::exit_status, in this order of precedence.
    boost::system::error_code ec;
    int exit_code = -1;              // the exit status, when the program exited (-1 otherwise)
    int signal = 0;                  // the signal that ended it, when one did (0 otherwise)
    bool timed_out = false;          // the timeout expired (ec is errc::timed_out unless cancelled)
    bool started = false;            // a child process was created
    std::string output;              // stdout and stderr, bounded as described above
    std::uint64_t output_bytes = 0;  // every byte the program wrote, kept or not
    std::chrono::milliseconds elapsed{};
};

// No default arguments: GCC 12 destroys a defaulted class-type coroutine parameter twice.
boost::asio::awaitable<result> run(spec s);

// One line for a log or an error message, naming `program`:
//   "git exited with status 128: fatal: not a git repository"
//   "terraform was killed by signal 9 (SIGKILL)"
//   "git timed out after 30.0 s and was stopped: <last line of output>"
//   "git could not be started: program not found"
//   "git succeeded"
// The last non-empty line of output is appended (at most 300 bytes, control characters
// replaced). Arguments and the environment are never included.
std::string describe(const result& r, std::string_view program);

}  // namespace tfsnap::process
