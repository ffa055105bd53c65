#pragma once
// The service manager's notification protocol (sd_notify(3)): READY=1, STATUS=, WATCHDOG=1,
// RELOADING=1, STOPPING=1, EXTEND_TIMEOUT_USEC=, sent as datagrams to $NOTIFY_SOCKET.
//
// Outside systemd ($NOTIFY_SOCKET unset) every call is a successful no-op, so the daemon needs
// no "am I under systemd?" branches; enabled() says which case applies.
//
// Protocol:
// - ready() only once every service has started (STYLE.md: Shutdown), stopping() as the first
//   step of shutdown.
// - reloading() on SIGHUP, then ready() once the new config is in force (or refused).
//   It sends "RELOADING=1\nMONOTONIC_USEC=<CLOCK_MONOTONIC in µs>": systemd >= 253 requires the
//   timestamp for Type=notify-reload to match the reload to the request; older versions and
//   Type=notify ignore the extra field.
// - watchdog() at half of watchdog_interval() (the interval systemd kills the service after).
//
// Errors: a failed send returns the errno libsystemd reports (ENOENT: no such socket,
// ECONNREFUSED, EAGAIN: the manager's queue is full, ...); nothing throws. A notification that
// cannot be sent is never fatal to the daemon: log it and go on.
//
// Thread safety: all members are const and may be called from any thread. They read the
// environment, so nothing may call setenv()/unsetenv() concurrently (tfsnapd does so only at
// startup, in listen_fds()).

#include <sys/types.h>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::systemd {

class notifier {
public:
    // Notifications about the calling process.
    notifier() noexcept = default;
    // Notifications on behalf of `pid` (sd_pid_notify: the datagram carries that pid in its
    // credentials, which needs privileges unless it is the caller's). 0 means the caller.
    explicit notifier(pid_t pid) noexcept : pid_(pid) {}

    // $NOTIFY_SOCKET is set: notifications go somewhere.
    bool enabled() const noexcept;

    boost::system::error_code ready() const noexcept;
    // STATUS=<text>, shown by systemctl status. Control characters (a newline would start a
    // new assignment) become spaces, and the text is cut to max_status_bytes.
    boost::system::error_code status(std::string_view text) const noexcept;
    boost::system::error_code watchdog() const noexcept;
    boost::system::error_code reloading() const noexcept;
    boost::system::error_code stopping() const noexcept;
    // EXTEND_TIMEOUT_USEC: the current start/stop/reload may take `usec` longer from now.
    // errc::invalid_argument when negative.
    boost::system::error_code extend_timeout(std::chrono::microseconds usec) const noexcept;

    // Any assignment list ("A=1\nB=2"); errc::invalid_argument when it holds a NUL byte.
    boost::system::error_code notify(std::string_view state) const noexcept;

    // The watchdog interval ($WATCHDOG_USEC, when $WATCHDOG_PID is unset or names this
    // process); ping at half of it. nullopt when there is no watchdog, or $WATCHDOG_USEC is
    // malformed: the second form reports that as EINVAL.
    std::optional<std::chrono::microseconds> watchdog_interval() const noexcept;
    std::optional<std::chrono::microseconds> watchdog_interval(boost::system::error_code& ec) const noexcept;

private:
    pid_t pid_ = 0;
};

inline constexpr std::size_t max_status_bytes = 1024;

// The messages, for tests and for callers that batch assignments. Pure.
std::string status_message(std::string_view text);
std::string reloading_message(std::chrono::microseconds monotonic_now);
std::string extend_timeout_message(std::chrono::microseconds usec);

// CLOCK_MONOTONIC, the clock MONOTONIC_USEC is measured on.
std::chrono::microseconds monotonic_now() noexcept;

}  // namespace tfsnap::systemd
