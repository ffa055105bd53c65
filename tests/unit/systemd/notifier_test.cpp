// notifier against a real AF_UNIX datagram socket that the test binds and names in
// $NOTIFY_SOCKET: the exact payloads systemd would receive. No sleeps: a datagram sent on a
// Unix socket is queued at the receiver before sendmsg() returns.

#include "tfsnap/systemd/notifier.hpp"

#include "tfsnap/systemd/error.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

namespace {

using namespace std::chrono_literals;
using tfsnap::systemd::notifier;

// Restores an environment variable when the test ends.
class scoped_env {
public:
    explicit scoped_env(const char* name) : name_(name) {
        if (const char* v = std::getenv(name))
            old_ = v;
    }
    ~scoped_env() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    void set(const std::string& v) const { ::setenv(name_, v.c_str(), 1); }
    void unset() const { ::unsetenv(name_); }

private:
    const char* name_;
    std::optional<std::string> old_;
};

class NotifierTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/tfsnap-sd-XXXXXX";  // short: sun_path holds 108 bytes
        ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
        dir_ = tmpl;
        path_ = dir_ + "/notify.sock";
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(fd_, 0) << std::strerror(errno);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::strncpy(sa.sun_path, path_.c_str(), sizeof(sa.sun_path) - 1);
        ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0) << std::strerror(errno);
        notify_socket_.set(path_);
    }
    void TearDown() override {
        if (fd_ >= 0)
            ::close(fd_);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    // The next datagram, or nullopt when none is queued.
    std::optional<std::string> receive() const {
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0)
            return std::nullopt;
        return std::string(buf, static_cast<std::size_t>(n));
    }

    scoped_env notify_socket_{"NOTIFY_SOCKET"};
    std::string dir_;
    std::string path_;
    int fd_ = -1;
};

TEST_F(NotifierTest, SendsTheExactAssignments) {
    const notifier n;
    EXPECT_TRUE(n.enabled());

    EXPECT_FALSE(n.ready());
    EXPECT_EQ(receive(), "READY=1");
    EXPECT_FALSE(n.watchdog());
    EXPECT_EQ(receive(), "WATCHDOG=1");
    EXPECT_FALSE(n.stopping());
    EXPECT_EQ(receive(), "STOPPING=1");
    EXPECT_FALSE(n.status("backing up myorg (2 of 3)"));
    EXPECT_EQ(receive(), "STATUS=backing up myorg (2 of 3)");
    EXPECT_FALSE(n.extend_timeout(90s));
    EXPECT_EQ(receive(), "EXTEND_TIMEOUT_USEC=90000000");
    EXPECT_FALSE(n.notify("STATUS=x\nERRNO=5"));
    EXPECT_EQ(receive(), "STATUS=x\nERRNO=5");
    EXPECT_EQ(receive(), std::nullopt);
}

TEST_F(NotifierTest, ReloadingCarriesTheMonotonicTimestamp) {
    const notifier n;
    const auto before = tfsnap::systemd::monotonic_now();
    ASSERT_FALSE(n.reloading());
    const auto after = tfsnap::systemd::monotonic_now();

    const auto msg = receive();
    ASSERT_TRUE(msg);
    const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
    ASSERT_EQ(msg->substr(0, prefix.size()), prefix) << *msg;
    const std::string digits = msg->substr(prefix.size());
    ASSERT_FALSE(digits.empty());
    ASSERT_EQ(digits.find_first_not_of("0123456789"), std::string::npos) << "decimal µs only: " << *msg;
    const auto usec = std::stoll(digits);
    EXPECT_GE(usec, before.count());
    EXPECT_LE(usec, after.count());
}

TEST(NotifierMessages, ReloadingFormat) {
    EXPECT_EQ(tfsnap::systemd::reloading_message(std::chrono::microseconds(1234567890123)),
              "RELOADING=1\nMONOTONIC_USEC=1234567890123");
}

TEST(NotifierMessages, MonotonicClockIsClockMonotonic) {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto now = tfsnap::systemd::monotonic_now();
    const auto ref = std::chrono::seconds(ts.tv_sec) + std::chrono::microseconds(ts.tv_nsec / 1000);
    EXPECT_GE(now, ref);
    EXPECT_LT(now - ref, 5s);
}

TEST(NotifierMessages, StatusIsOneLineAndBounded) {
    using tfsnap::systemd::status_message;
    EXPECT_EQ(status_message("a\nREADY=1\r\tb"), "STATUS=a READY=1  b");
    EXPECT_EQ(status_message(std::string("x\0y", 3)), "STATUS=x y");
    EXPECT_EQ(status_message(""), "STATUS=");

    const std::string long_text(5000, 'a');
    EXPECT_EQ(status_message(long_text).size(), 7 + tfsnap::systemd::max_status_bytes);

    // never cut inside a UTF-8 sequence: 1023 ASCII bytes then "é" (2 bytes) -> the é goes
    std::string utf8(tfsnap::systemd::max_status_bytes - 1, 'a');
    utf8 += "\xc3\xa9";
    EXPECT_EQ(status_message(utf8), "STATUS=" + std::string(tfsnap::systemd::max_status_bytes - 1, 'a'));
}

TEST_F(NotifierTest, StatusWithANewlineCannotInjectAnAssignment) {
    const notifier n;
    ASSERT_FALSE(n.status("done\nREADY=1"));
    EXPECT_EQ(receive(), "STATUS=done READY=1");
}

TEST_F(NotifierTest, RejectsBadArguments) {
    const notifier n;
    EXPECT_EQ(n.extend_timeout(-1s), tfsnap::systemd::errc::invalid_argument);
    EXPECT_EQ(n.notify(std::string_view("READY=1\0X=1", 11)), tfsnap::systemd::errc::invalid_argument);
    EXPECT_EQ(receive(), std::nullopt);
}

TEST_F(NotifierTest, AbstractSocketAddress) {
    // '@' names a socket in the abstract namespace, as systemd may pass.
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    const std::string name = "tfsnap-notify-test-" + std::to_string(::getpid());
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path + 1, name.data(), name.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), len), 0) << std::strerror(errno);
    notify_socket_.set("@" + name);

    EXPECT_FALSE(notifier().ready());
    char buf[64];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    ::close(fd);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "READY=1");
}

TEST_F(NotifierTest, ExplicitPidOfSelfSendsTheSame) {
    const notifier n(::getpid());
    EXPECT_FALSE(n.ready());
    EXPECT_EQ(receive(), "READY=1");
}

TEST_F(NotifierTest, UnreachableSocketIsAnErrnoCode) {
    notify_socket_.set(dir_ + "/missing.sock");
    const notifier n;
    EXPECT_TRUE(n.enabled());
    const auto ec = n.ready();
    EXPECT_EQ(ec, boost::system::errc::no_such_file_or_directory) << ec.message();
}

TEST_F(NotifierTest, WithoutNotifySocketEverythingIsANoOp) {
    notify_socket_.unset();
    const notifier n;
    EXPECT_FALSE(n.enabled());
    EXPECT_FALSE(n.ready());
    EXPECT_FALSE(n.status("x"));
    EXPECT_FALSE(n.watchdog());
    EXPECT_FALSE(n.reloading());
    EXPECT_FALSE(n.stopping());
    EXPECT_FALSE(n.extend_timeout(1s));
    EXPECT_EQ(receive(), std::nullopt);

    notify_socket_.set("");
    EXPECT_FALSE(n.enabled());
}

TEST_F(NotifierTest, TheSocketStaysInTheEnvironment) {
    const notifier n;
    ASSERT_FALSE(n.ready());
    ASSERT_NE(std::getenv("NOTIFY_SOCKET"), nullptr);
    ASSERT_FALSE(n.watchdog());
    EXPECT_EQ(receive(), "READY=1");
    EXPECT_EQ(receive(), "WATCHDOG=1");
}

// $WATCHDOG_USEC / $WATCHDOG_PID, as systemd sets them for WatchdogSec=.
class WatchdogTest : public ::testing::Test {
protected:
    scoped_env usec_{"WATCHDOG_USEC"};
    scoped_env pid_{"WATCHDOG_PID"};
};

TEST_F(WatchdogTest, NoWatchdog) {
    usec_.unset();
    pid_.unset();
    boost::system::error_code ec;
    EXPECT_EQ(notifier().watchdog_interval(ec), std::nullopt);
    EXPECT_FALSE(ec);
}

TEST_F(WatchdogTest, IntervalWithoutPid) {
    usec_.set("30000000");
    pid_.unset();
    boost::system::error_code ec;
    EXPECT_EQ(notifier().watchdog_interval(ec), std::chrono::microseconds(30s));
    EXPECT_FALSE(ec);
}

TEST_F(WatchdogTest, IntervalForThisPid) {
    usec_.set("30000000");
    pid_.set(std::to_string(::getpid()));
    EXPECT_EQ(notifier().watchdog_interval(), std::chrono::microseconds(30s));
    // the variables stay: the interval is asked again after a reload
    EXPECT_NE(std::getenv("WATCHDOG_USEC"), nullptr);
    EXPECT_NE(std::getenv("WATCHDOG_PID"), nullptr);
}

TEST_F(WatchdogTest, IntervalForAnotherProcessIsNotOurs) {
    usec_.set("30000000");
    pid_.set(std::to_string(::getpid() + 1));
    boost::system::error_code ec;
    EXPECT_EQ(notifier().watchdog_interval(ec), std::nullopt);
    EXPECT_FALSE(ec);
}

TEST_F(WatchdogTest, MalformedValuesAreErrors) {
    pid_.unset();
    for (const char* bad : {"thirty", "", "0", "-5", "30s"}) {
        usec_.set(bad);
        boost::system::error_code ec;
        EXPECT_EQ(notifier().watchdog_interval(ec), std::nullopt) << bad;
        EXPECT_TRUE(ec) << "WATCHDOG_USEC=\"" << bad << "\"";
        EXPECT_EQ(notifier().watchdog_interval(), std::nullopt) << bad;
    }
    usec_.set("30000000");
    pid_.set("not-a-pid");
    boost::system::error_code ec;
    EXPECT_EQ(notifier().watchdog_interval(ec), std::nullopt);
    EXPECT_TRUE(ec);
}

}  // namespace
