#include "tfsnap/process/run.hpp"

#include "tfsnap/process/detail/capture.hpp"
#include "tfsnap/process/detail/spawn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace tfsnap::process {

namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using steady = std::chrono::steady_clock;
using descriptor = asio::posix::stream_descriptor;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Cleanup after a cancellation must run to the end, whatever else is requested.
struct ignore_cancellation {
    asio::cancellation_type_t operator()(asio::cancellation_type_t) const noexcept {
        return asio::cancellation_type::none;
    }
};

// Writes without raising SIGPIPE when the child has closed its stdin: SIGPIPE is blocked in
// this thread around the write and a SIGPIPE it caused is consumed, so the process-wide
// disposition (which belongs to the program, not to this library) is left alone.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t size) noexcept {
    sigset_t pipe_set, old_mask, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
    const ssize_t n = ::write(fd, data, size);
    const int err = errno;
    if (n < 0 && err == EPIPE && !was_pending) {
        const timespec zero{};
        while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    errno = err;
    return n;
}

// One running child and the state its three tasks (reader, writer, supervisor) share.
struct session {
    session(asio::any_io_executor ex, std::size_t output_limit)
        : out(ex), in(ex), pidfd(ex), drain(ex), output(output_limit) {}
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    // Normally the supervisor has reaped the child. If the coroutine frames are destroyed
    // without completing (the executor went away), nothing can wait on the loop any more.
    ~session() {
        if (pid > 0 && !reaped) {
            detail::signal_group(pid, SIGKILL);
            while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
    }

    pid_t pid = -1;
    descriptor out;
    descriptor in;
    descriptor pidfd;
    asio::steady_timer drain;
    detail::capture output;

    bool reaped = false;
    bool reader_done = false;
    bool cancelled = false;
    bool timed_out = false;
    int exit_code = -1;
    int signal = 0;
    error_code wait_error;
};

// now + d, saturated: a "never" timeout such as milliseconds::max() must not overflow.
steady::time_point deadline_after(std::chrono::milliseconds d) {
    const auto now = steady::now();
    if (d <= std::chrono::milliseconds::zero())
        return now;
    if (d >= std::chrono::duration_cast<std::chrono::milliseconds>(steady::time_point::max() - now))
        return steady::time_point::max();
    return now + d;
}

// Takes ownership of `fd` even when it cannot be registered with the reactor.
void adopt(descriptor& d, int fd) {
    if (fd < 0)
        return;
    error_code ec;
    d.assign(fd, ec);
    if (ec) {
        ::close(fd);
        throw boost::system::system_error(ec, "process: cannot register a descriptor");
    }
}

asio::awaitable<void> read_output(session& s) {
    // the supervisor decides when reading stops, cancellation included
    co_await asio::this_coro::reset_cancellation_state(ignore_cancellation{});
    co_await asio::this_coro::throw_if_cancelled(false);
    std::array<char, 16384> buffer;
    for (;;) {
        auto [ec, n] = co_await s.out.async_read_some(asio::buffer(buffer), use_tuple);
        s.output.append(std::string_view(buffer.data(), n));
        if (ec)
            break;
    }
    s.reader_done = true;
    s.drain.cancel();
}

asio::awaitable<void> write_input(session& s, std::string_view data) {
    co_await asio::this_coro::reset_cancellation_state(ignore_cancellation{});
    co_await asio::this_coro::throw_if_cancelled(false);
    if (!s.in.is_open())
        co_return;
    std::size_t done = 0;
    while (done < data.size()) {
        const std::size_t chunk = std::min<std::size_t>(data.size() - done, 65536);
        const ssize_t n = write_no_sigpipe(s.in.native_handle(), data.data() + done, chunk);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            auto [ec] = co_await s.in.async_wait(descriptor::wait_write, use_tuple);
            if (ec)
                break;  // the supervisor stopped the writer: the child has exited
        } else {
            break;  // EPIPE: the child closed its stdin without reading everything
        }
    }
    error_code ignored;
    s.in.close(ignored);
}

// Whether the child has exited, without reaping it (the group id stays reserved).
bool child_exited(session& s) {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    if (::waitid(P_PID, static_cast<id_t>(s.pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
        if (errno == EINTR)
            return false;
        // ECHILD: something else in this process reaps children
        s.wait_error = error_code(errno, boost::system::system_category());
        return true;
    }
    return info.si_pid == s.pid;
}

void reap(session& s) {
    if (!s.wait_error) {
        siginfo_t info;
        std::memset(&info, 0, sizeof info);
        int r;
        while ((r = ::waitid(P_PID, static_cast<id_t>(s.pid), &info, WEXITED)) != 0 && errno == EINTR) {
        }
        if (r != 0) {
            s.wait_error = error_code(errno, boost::system::system_category());
        } else if (info.si_code == CLD_EXITED) {
            s.exit_code = info.si_status;
        } else {
            s.signal = info.si_status;  // CLD_KILLED or CLD_DUMPED
        }
    }
    s.reaped = true;
    error_code ignored;
    s.pidfd.close(ignored);
}

asio::awaitable<void> supervise(session& s, const spec& sp) {
    using namespace asio::experimental::awaitable_operators;
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    enum class phase { running, terminating, killing } ph = phase::running;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_at(deadline_after(sp.timeout));

    auto terminate = [&] {
        detail::signal_group(s.pid, SIGTERM);
        ph = phase::terminating;
        timer.expires_at(deadline_after(sp.kill_grace));
    };

    while (!child_exited(s)) {
        auto woke =
            co_await (s.pidfd.async_wait(descriptor::wait_read, use_tuple) || timer.async_wait(use_tuple));
        if (child_exited(s))
            break;
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (!s.cancelled && cs.cancelled() != asio::cancellation_type::none) {
            s.cancelled = true;
            co_await asio::this_coro::reset_cancellation_state(ignore_cancellation{});
            if (ph == phase::running)
                terminate();
            continue;
        }
        const auto [ec] = woke.index() == 0 ? std::get<0>(woke) : std::get<1>(woke);
        if (woke.index() == 0 && ec && ec != asio::error::operation_aborted) {
            // The pidfd cannot be waited on (which never happens in practice): stop the group
            // and fall back to a blocking reap, which SIGKILL makes short.
            detail::signal_group(s.pid, SIGKILL);
            break;
        }
        if (woke.index() == 1 && !ec) {
            if (ph == phase::running) {
                s.timed_out = true;
                terminate();
            } else if (ph == phase::terminating) {
                detail::signal_group(s.pid, SIGKILL);
                ph = phase::killing;
                timer.expires_at(steady::time_point::max());
            }
        }
    }

    // Whatever is left of the group goes before the child is reaped: until then its pid, and
    // so the group id, cannot be reused by an unrelated process. (After ECHILD someone else
    // has reaped it, and the id may already belong to another process.)
    if (!s.wait_error)
        detail::signal_group(s.pid, SIGKILL);
    reap(s);

    error_code ignored;
    s.in.cancel(ignored);
    if (!s.reader_done) {
        s.drain.expires_at(deadline_after(sp.drain_timeout));
        co_await s.drain.async_wait(use_tuple);
        if (!s.reader_done)
            s.out.cancel(ignored);
    }
    const auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none)
        s.cancelled = true;
}

asio::awaitable<result> run_in_own_thread(spec sp) {
    using namespace asio::experimental::awaitable_operators;
    // This coroutine runs as its own awaitable thread (see run()), so these settings do not
    // leak into the caller's.
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());

    result r;
    const auto start = steady::now();
    detail::child c;
    if (auto ec = detail::spawn(sp, c)) {
        r.ec = ec;
        co_return r;
    }
    r.started = true;
    session s(co_await asio::this_coro::executor, sp.output_limit);
    s.pid = c.pid;
    try {
        adopt(s.pidfd, std::exchange(c.pidfd, -1));
        adopt(s.out, std::exchange(c.out, -1));
        adopt(s.in, std::exchange(c.in, -1));
    } catch (...) {
        for (const int fd : {c.out, c.in})
            if (fd >= 0)
                ::close(fd);
        throw;  // ~session stops and reaps the child
    }

    const std::string_view input = sp.stdin_data ? std::string_view(*sp.stdin_data) : std::string_view();
    co_await (read_output(s) && write_input(s, input) && supervise(s, sp));

    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
    r.output = s.output.str();
    r.output_bytes = s.output.total();
    r.exit_code = s.exit_code;
    r.signal = s.signal;
    r.timed_out = s.timed_out;
    if (s.cancelled)
        r.ec = errc::cancelled;
    else if (s.timed_out)
        r.ec = errc::timed_out;
    else if (s.wait_error)
        r.ec = s.wait_error;
    else if (s.signal != 0)
        r.ec = errc::killed;
    else if (s.exit_code != 0)
        r.ec = errc::exit_status;
    co_return r;
}

// The last non-empty line, at most 300 bytes, with control characters replaced.
std::string last_line(std::string_view out) {
    auto is_space = [](char c) { return c == '\n' || c == '\r' || c == ' ' || c == '\t'; };
    while (!out.empty() && is_space(out.back()))
        out.remove_suffix(1);
    const std::size_t nl = out.rfind('\n');
    if (nl != std::string_view::npos)
        out.remove_prefix(nl + 1);
    while (!out.empty() && is_space(out.front()))
        out.remove_prefix(1);
    constexpr std::size_t max_bytes = 300;
    std::string line(out.substr(0, max_bytes));
    for (char& c : line)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            c = '?';
    if (out.size() > max_bytes)
        line += "...";
    return line;
}

}  // namespace

asio::awaitable<result> run(spec s) {
    // A thread of its own, so that the cancellation handling inside cannot change the
    // caller's cancellation state or throw_if_cancelled setting.
    const auto ex = co_await asio::this_coro::executor;
    co_return co_await asio::co_spawn(ex, run_in_own_thread(std::move(s)), asio::use_awaitable);
}

std::string describe(const result& r, std::string_view program) {
    std::string out(program);
    const auto& ec = r.ec;
    if (!ec) {
        out += " succeeded";
        return out;
    }
    if (!r.started) {
        out += " could not be started: ";
        out += ec.message();
        return out;
    }
    if (ec == errc::cancelled) {
        out += " was stopped because the operation was cancelled";
    } else if (ec == errc::timed_out) {
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.1f", static_cast<double>(r.elapsed.count()) / 1000.0);
        out += " timed out after ";
        out += secs;
        out += " s and was stopped";
    } else if (ec == errc::killed) {
        out += " was killed by signal " + std::to_string(r.signal);
        if (const char* abbrev = ::sigabbrev_np(r.signal))
            out += std::string(" (SIG") + abbrev + ")";
    } else if (ec == errc::exit_status) {
        out += " exited with status " + std::to_string(r.exit_code);
    } else {
        out += " ran, but its exit status could not be collected: " + ec.message();
    }
    const std::string line = last_line(r.output);
    if (!line.empty())
        out += ": " + line;
    return out;
}

}  // namespace tfsnap::process
