// run() against real programs: exit statuses, output, stdin, cwd, environment, timeouts,
// cancellation, and no zombie or descriptor left behind.
#include "tfsnap/process/run.hpp"

#include "support/run_sync.hpp"

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace tfsnap::process {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

result run_now(spec s) {
    asio::io_context io;
    return tfsnap::test::run_sync(io, run(std::move(s)));
}

spec sh(std::string script) {
    spec s;
    s.argv = {"/bin/sh", "-c", std::move(script)};
    return s;
}

std::vector<pid_t> pids_in(std::string_view text) {
    std::vector<pid_t> out;
    std::istringstream in{std::string(text)};
    for (long p; in >> p;)
        out.push_back(static_cast<pid_t>(p));
    return out;
}

// Gone, or a zombie waiting for its (new) parent: either way it no longer runs. Waits up to a
// second for the reaper of a reparented process.
bool has_ended(pid_t pid) {
    for (int i = 0; i < 100; ++i) {
        if (::kill(pid, 0) != 0 && errno == ESRCH)
            return true;
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        std::getline(stat, line);
        const auto close = line.rfind(')');
        if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z')
            return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

// No child of this process exists, running or zombie.
bool no_children() {
    int st = 0;
    return ::waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD;
}

std::size_t open_fds() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd"))
        ++n;
    return n;
}

class ProcessRun : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tfsnap-process-run-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        fs::remove_all(dir_);
        EXPECT_TRUE(no_children());
    }
    fs::path dir_;
};

TEST_F(ProcessRun, TrueSucceeds) {
    spec s;
    s.argv = {"true"};
    const auto r = run_now(s);
    EXPECT_FALSE(r.ec) << r.ec.message();
    EXPECT_TRUE(r.started);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.signal, 0);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(describe(r, "true"), "true succeeded");
}

TEST_F(ProcessRun, FalseIsANonZeroExitStatus) {
    spec s;
    s.argv = {"false"};
    const auto r = run_now(s);
    EXPECT_EQ(r.ec, errc::exit_status);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(describe(r, "false"), "false exited with status 1");
}

TEST_F(ProcessRun, ExitStatusAndLastLineInDescription) {
    const auto r = run_now(sh("echo first; echo 'fatal: not a git repository' >&2; echo; exit 128"));
    EXPECT_EQ(r.ec, errc::exit_status);
    EXPECT_EQ(r.exit_code, 128);
    EXPECT_EQ(describe(r, "git"), "git exited with status 128: fatal: not a git repository");
}

TEST_F(ProcessRun, MissingProgramIsNotFound) {
    spec s;
    s.argv = {"tfsnap-no-such-program-xyz"};
    auto r = run_now(s);
    EXPECT_EQ(r.ec, errc::not_found);
    EXPECT_FALSE(r.started);
    EXPECT_EQ(describe(r, "tfsnap-no-such-program-xyz"),
              "tfsnap-no-such-program-xyz could not be started: program not found");

    s.argv = {"/nonexistent/git", "status"};
    r = run_now(s);
    EXPECT_EQ(r.ec, errc::not_found);
}

TEST_F(ProcessRun, PathComesFromTheChildEnvironment) {
    spec s;
    s.argv = {"true"};
    s.env_set = {{"PATH", (dir_ / "empty").string()}};
    EXPECT_EQ(run_now(s).ec, errc::not_found);
}

TEST_F(ProcessRun, NotExecutableIsAccessDenied) {
    const fs::path file = dir_ / "script";
    std::ofstream(file) << "#!/bin/sh\n";
    ::chmod(file.c_str(), 0644);
    spec s;
    s.argv = {file.string()};
    const auto r = run_now(s);
    if (::geteuid() != 0 || ::access(file.c_str(), X_OK) != 0) {
        EXPECT_EQ(r.ec, boost::system::error_code(EACCES, boost::system::system_category()));
        EXPECT_FALSE(r.started);
    }
}

TEST_F(ProcessRun, InvalidArgumentsStartNothing) {
    spec s;
    EXPECT_EQ(run_now(s).ec, errc::invalid_argument);
    s.argv = {"true", std::string("a\0b", 3)};
    EXPECT_EQ(run_now(s).ec, errc::invalid_argument);
    s.argv = {"true"};
    s.env_set = {{"A=B", "c"}};
    EXPECT_EQ(run_now(s).ec, errc::invalid_argument);
}

TEST_F(ProcessRun, CapturesStdoutAndStderrInterleaved) {
    const auto r = run_now(sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2"));
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.output, "out1\nerr1\nout2\nerr2\n");
    EXPECT_EQ(r.output_bytes, r.output.size());
}

TEST_F(ProcessRun, OutputBeyondTheLimitKeepsHeadAndTail) {
    auto s =
        sh("printf BEGIN; i=0; while [ $i -lt 2000 ]; do printf 0123456789; i=$((i+1)); done; printf END");
    s.output_limit = 100;
    const auto r = run_now(s);
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.output_bytes, 20008u);
    EXPECT_EQ(r.output.substr(0, 5), "BEGIN");
    EXPECT_EQ(r.output.substr(r.output.size() - 3), "END");
    EXPECT_NE(r.output.find("\n[... 19908 bytes omitted ...]\n"), std::string::npos) << r.output;
}

TEST_F(ProcessRun, LargeOutputIsReadWhileTheChildRuns) {
    auto s = sh("head -c 3000000 /dev/zero");
    s.output_limit = 1000;
    const auto r = run_now(s);
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.output_bytes, 3000000u);
}

TEST_F(ProcessRun, StdinDataIsWrittenThenClosed) {
    spec s;
    s.argv = {"cat"};
    s.stdin_data = "hello\nworld";
    const auto r = run_now(s);
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.output, "hello\nworld");
}

TEST_F(ProcessRun, LargeStdinAndOutputAtOnce) {
    spec s;
    s.argv = {"cat"};
    s.stdin_data = std::string(2 << 20, 'x');
    s.output_limit = 4 << 20;
    const auto r = run_now(s);
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.output, *s.stdin_data);
}

TEST_F(ProcessRun, StdinIsDevNullByDefault) {
    spec s;
    s.argv = {"cat"};
    const auto r = run_now(s);
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.output, "");
}

TEST_F(ProcessRun, UnreadStdinIsNotAnError) {
    auto s = sh("exit 0");
    s.stdin_data = std::string(1 << 20, 'x');
    const auto r = run_now(s);
    EXPECT_FALSE(r.ec) << r.ec.message();
}

TEST_F(ProcessRun, RunsInCwd) {
    spec s;
    s.argv = {"pwd"};
    s.cwd = dir_.string();
    const auto r = run_now(s);
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.output, fs::canonical(dir_).string() + "\n");

    s.cwd = (dir_ / "missing").string();
    const auto missing = run_now(s);
    EXPECT_EQ(missing.ec, boost::system::error_code(ENOENT, boost::system::system_category()));
    EXPECT_FALSE(missing.started);
}

TEST_F(ProcessRun, EnvironmentSetAndUnset) {
    ::setenv("TFSNAP_TEST_INHERITED", "inherited", 1);
    ::setenv("TFSNAP_TEST_UNSET", "visible", 1);
    auto s = sh("echo \"$TFSNAP_TEST_INHERITED|${TFSNAP_TEST_UNSET-unset}|$TFSNAP_TEST_NEW\"");
    s.env_set = {{"TFSNAP_TEST_NEW", "new value"}};
    s.env_unset = {"TFSNAP_TEST_UNSET"};
    const auto r = run_now(s);
    ::unsetenv("TFSNAP_TEST_INHERITED");
    ::unsetenv("TFSNAP_TEST_UNSET");
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.output, "inherited|unset|new value\n");
    EXPECT_EQ(describe(r, "sh").find("new value"), std::string::npos);
}

TEST_F(ProcessRun, SignalsAreAtTheirDefaults) {
    // an ignored SIGPIPE in the parent must not reach the child, nor a blocked signal
    struct sigaction ignore {
    }, old{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &old);
    sigset_t block, old_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);
    const auto r = run_now(sh("grep -E '^Sig(Blk|Ign)' /proc/self/status"));
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    ::sigaction(SIGPIPE, &old, nullptr);
    ASSERT_FALSE(r.ec);
    unsigned long long blocked = 1, ignored = 1;
    ASSERT_EQ(std::sscanf(r.output.c_str(), "SigBlk: %llx SigIgn: %llx", &blocked, &ignored), 2) << r.output;
    EXPECT_EQ(blocked, 0u);
    // glibc's posix_spawn leaves its two internal signals (32 and 33, which glibc programs
    // set up again at startup) ignored; every other signal is at its default
    EXPECT_EQ(ignored & ~0x180000000ull, 0u) << r.output;
}

TEST_F(ProcessRun, RunsInItsOwnProcessGroup) {
    const auto r = run_now(sh("echo $$; ps -o pgid= -p $$"));
    ASSERT_FALSE(r.ec) << r.output;
    const auto ids = pids_in(r.output);
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_EQ(ids[0], ids[1]);
    EXPECT_NE(ids[1], ::getpgrp());
}

TEST_F(ProcessRun, NoInheritedDescriptors) {
    const auto r = run_now(sh("ls /proc/self/fd"));
    ASSERT_FALSE(r.ec);
    // 0, 1, 2, and the descriptor ls opens to read the directory
    EXPECT_EQ(pids_in(r.output), (std::vector<pid_t>{0, 1, 2, 3}));
}

TEST_F(ProcessRun, KilledBySignal) {
    const auto r = run_now(sh("kill -9 $$"));
    EXPECT_EQ(r.ec, errc::killed);
    EXPECT_EQ(r.signal, SIGKILL);
    EXPECT_EQ(r.exit_code, -1);
    EXPECT_EQ(describe(r, "sh"), "sh was killed by signal 9 (SIGKILL)");
}

TEST_F(ProcessRun, TimeoutTerminatesTheWholeGroup) {
    auto s = sh("sleep 30 & echo $!; sleep 30 & echo $!; wait");
    s.timeout = 300ms;
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_now(s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(r.ec, errc::timed_out);
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.signal, SIGTERM);
    const auto pids = pids_in(r.output);
    ASSERT_EQ(pids.size(), 2u) << r.output;
    for (const pid_t p : pids)
        EXPECT_TRUE(has_ended(p)) << p;
    EXPECT_NE(describe(r, "sh").find("sh timed out after 0."), std::string::npos) << describe(r, "sh");
}

TEST_F(ProcessRun, TimeoutEscalatesToSigkill) {
    auto s = sh("trap '' TERM; echo ready; sleep 30 & echo $!; wait");
    s.timeout = 200ms;
    s.kill_grace = 200ms;
    const auto r = run_now(s);
    EXPECT_EQ(r.ec, errc::timed_out);
    EXPECT_EQ(r.signal, SIGKILL);
    EXPECT_GE(r.elapsed, 400ms);
    EXPECT_LT(r.elapsed, 1500ms);
    const auto pids = pids_in(r.output.substr(r.output.find('\n') + 1));
    ASSERT_EQ(pids.size(), 1u) << r.output;
    EXPECT_TRUE(has_ended(pids[0]));
}

TEST_F(ProcessRun, LeftoverGroupMembersDoNotOutliveTheChild) {
    // the shell exits at once; its background sleep still holds the output pipe
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_now(sh("sleep 30 & echo $!"));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_FALSE(r.ec);
    const auto pids = pids_in(r.output);
    ASSERT_EQ(pids.size(), 1u);
    EXPECT_TRUE(has_ended(pids[0]));
}

TEST_F(ProcessRun, DrainStopsWhenAnEscapedDescendantHoldsThePipe) {
    // setsid takes the sleep out of the group, where the final SIGKILL cannot reach it
    const fs::path pid_file = dir_ / "pid";
    auto s = sh("setsid sleep 30 & echo $! > '" + pid_file.string() + "'; echo started");
    s.drain_timeout = 200ms;
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_now(s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(r.output, "started\n");
    std::ifstream in(pid_file);
    long escaped = 0;
    in >> escaped;
    ASSERT_GT(escaped, 1);
    ::kill(static_cast<pid_t>(escaped), SIGKILL);
}

asio::awaitable<std::optional<result>> run_or_timer(spec s, asio::steady_timer::duration after) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer t(co_await asio::this_coro::executor, after);
    auto v = co_await (run(std::move(s)) || t.async_wait(asio::use_awaitable));
    if (v.index() == 0)
        co_return std::get<0>(std::move(v));
    co_return std::nullopt;
}

TEST_F(ProcessRun, CancellationByOrOperatorKillsAndReaps) {
    const fs::path pid_file = dir_ / "pids";
    auto s =
        sh("echo $$ > '" + pid_file.string() + "'; sleep 30 & echo $! >> '" + pid_file.string() + "'; wait");
    asio::io_context io;
    const auto start = std::chrono::steady_clock::now();
    const auto r = tfsnap::test::run_sync(io, run_or_timer(s, 300ms));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_FALSE(r.has_value());
    std::ifstream in(pid_file);
    std::stringstream text;
    text << in.rdbuf();
    const auto pids = pids_in(text.str());
    ASSERT_EQ(pids.size(), 2u) << text.str();
    // the shell was ours: reaped, so not even a zombie is left
    EXPECT_NE(::kill(pids[0], 0), 0);
    EXPECT_TRUE(has_ended(pids[1]));
}

TEST_F(ProcessRun, CancellationAtAnyMomentLeavesNothingBehind) {
    // the cancellation lands before, during and after the child's exit and the final drain
    const std::size_t fds_before = open_fds();
    int finished = 0;
    {
        asio::io_context io;
        for (int delay_us = 0; delay_us < 3000; delay_us += 100) {
            const auto r = tfsnap::test::run_sync(
                io, run_or_timer(sh("echo x; exit 3"), std::chrono::microseconds(delay_us)));
            if (r) {
                ++finished;
                EXPECT_EQ(r->ec, errc::exit_status);
                EXPECT_EQ(r->output, "x\n");
            }
            EXPECT_TRUE(no_children()) << delay_us;
        }
    }
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_LT(finished, 30);  // some runs were cancelled
}

TEST_F(ProcessRun, CancellationThroughTheSlotReturnsCancelled) {
    asio::io_context io;
    asio::cancellation_signal signal;
    std::optional<result> got;
    std::exception_ptr error;
    auto s = sh("echo $$; exec sleep 30");
    asio::co_spawn(io, run(s),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, result r) {
                       error = e;
                       got = std::move(r);
                   }));
    asio::steady_timer t(io, 200ms);
    // a coroutine passes on terminal cancellation only, unless it resets its cancellation state
    t.async_wait([&](boost::system::error_code) { signal.emit(asio::cancellation_type::terminal); });
    io.run();
    ASSERT_FALSE(error);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->ec, errc::cancelled);
    EXPECT_EQ(got->signal, SIGTERM);
    EXPECT_LT(got->elapsed, 2s);
    const auto pids = pids_in(got->output);
    ASSERT_EQ(pids.size(), 1u);
    EXPECT_NE(::kill(pids[0], 0), 0);
    EXPECT_EQ(describe(*got, "sleep").rfind("sleep was stopped because the operation was cancelled", 0), 0u);
}

TEST_F(ProcessRun, ManyProcessesLeaveNoZombieAndNoDescriptor) {
    const std::size_t fds_before = open_fds();
    int done = 0, failed = 0;
    {
        asio::io_context io;
        for (int worker = 0; worker < 10; ++worker) {
            asio::co_spawn(
                io,
                [&]() -> asio::awaitable<void> {
                    for (int i = 0; i < 20; ++i) {
                        spec s;
                        s.argv = {"true"};
                        if (i % 2 == 1)
                            s.stdin_data = "x";
                        const auto r = co_await run(std::move(s));
                        ++(r.ec ? failed : done);
                    }
                },
                [&](std::exception_ptr e) {
                    if (e)
                        ++failed;
                });
        }
        io.run();
        EXPECT_TRUE(no_children());
    }
    EXPECT_EQ(done, 200);
    EXPECT_EQ(failed, 0);
    // counted without the io_context's own descriptors (epoll, eventfd, timerfd)
    EXPECT_EQ(open_fds(), fds_before);
}

}  // namespace
}  // namespace tfsnap::process
