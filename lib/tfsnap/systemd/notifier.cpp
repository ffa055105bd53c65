#include "tfsnap/systemd/notifier.hpp"

#include "tfsnap/systemd/error.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace tfsnap::systemd {

namespace {

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
void truncate_utf8(std::string& s, std::size_t max) {
    if (s.size() <= max)
        return;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
        --n;
    s.resize(n);
}

}  // namespace

std::string status_message(std::string_view text) {
    std::string body;
    body.reserve(text.size());
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        body += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
    truncate_utf8(body, max_status_bytes);
    return "STATUS=" + body;
}

std::string reloading_message(std::chrono::microseconds monotonic_now) {
    return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_now.count());
}

std::string extend_timeout_message(std::chrono::microseconds usec) {
    return "EXTEND_TIMEOUT_USEC=" + std::to_string(usec.count());
}

std::chrono::microseconds monotonic_now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::microseconds(ts.tv_nsec / 1000);
}

bool notifier::enabled() const noexcept {
    const char* s = std::getenv("NOTIFY_SOCKET");
    return s != nullptr && *s != '\0';
}

boost::system::error_code notifier::notify(std::string_view state) const noexcept {
    if (state.find('\0') != std::string_view::npos)
        return errc::invalid_argument;
    try {
        const std::string s(state);
        // unset_environment = 0: later notifications (reload, watchdog, stop) need the socket.
        const int r = ::sd_pid_notify(pid_, 0, s.c_str());
        if (r < 0)
            return from_sd_result(r);
        return {};
    } catch (const std::bad_alloc&) {
        return from_sd_result(-ENOMEM);
    }
}

boost::system::error_code notifier::ready() const noexcept {
    return notify("READY=1");
}

boost::system::error_code notifier::status(std::string_view text) const noexcept {
    try {
        return notify(status_message(text));
    } catch (const std::bad_alloc&) {
        return from_sd_result(-ENOMEM);
    }
}

boost::system::error_code notifier::watchdog() const noexcept {
    return notify("WATCHDOG=1");
}

boost::system::error_code notifier::reloading() const noexcept {
    try {
        return notify(reloading_message(monotonic_now()));
    } catch (const std::bad_alloc&) {
        return from_sd_result(-ENOMEM);
    }
}

boost::system::error_code notifier::stopping() const noexcept {
    return notify("STOPPING=1");
}

boost::system::error_code notifier::extend_timeout(std::chrono::microseconds usec) const noexcept {
    if (usec.count() < 0)
        return errc::invalid_argument;
    try {
        return notify(extend_timeout_message(usec));
    } catch (const std::bad_alloc&) {
        return from_sd_result(-ENOMEM);
    }
}

std::optional<std::chrono::microseconds> notifier::watchdog_interval() const noexcept {
    boost::system::error_code ignored;
    return watchdog_interval(ignored);
}

std::optional<std::chrono::microseconds> notifier::watchdog_interval(
    boost::system::error_code& ec) const noexcept {
    ec.clear();
    std::uint64_t usec = 0;
    // unset_environment = 0: the variables describe this process for its whole life.
    const int r = ::sd_watchdog_enabled(0, &usec);
    if (r < 0) {
        ec = from_sd_result(r);
        return std::nullopt;
    }
    if (r == 0)
        return std::nullopt;
    return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(usec));
}

}  // namespace tfsnap::systemd
