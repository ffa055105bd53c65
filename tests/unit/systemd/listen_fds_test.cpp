// listen_fds() with real sockets dup'ed to fd 3 (and 4) and $LISTEN_PID/$LISTEN_FDS set as
// systemd sets them. Whatever the test process had at fd 3 and 4 is put back afterwards.

#include "tfsnap/systemd/listen_fds.hpp"

#include "tfsnap/systemd/error.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

using tfsnap::systemd::listen_fds;

class ListenFdsTest : public ::testing::Test {
protected:
    void SetUp() override {
        for (int fd : {3, 4}) {
            saved_[fd - 3] = ::fcntl(fd, F_GETFD) >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 10) : -1;
        }
        for (const char* v : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"}) {
            if (const char* s = std::getenv(v))
                env_.emplace_back(v, std::string(s));
            ::unsetenv(v);
        }
        char tmpl[] = "/tmp/tfsnap-lfd-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
        dir_ = tmpl;
    }
    void TearDown() override {
        for (int fd : {3, 4}) {
            ::close(fd);
            if (const int s = saved_[fd - 3]; s >= 0) {
                ::dup2(s, fd);
                ::close(s);
            }
        }
        for (const char* v : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"})
            ::unsetenv(v);
        for (const auto& [k, v] : env_)
            ::setenv(k.c_str(), v.c_str(), 1);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    // Moves `fd` to `target` (as systemd passes it: without close-on-exec).
    static void place(int fd, int target) {
        ASSERT_GE(fd, 0) << std::strerror(errno);
        if (fd == target)  // socket() took the lowest free number, which was the target
            return;
        ASSERT_EQ(::dup2(fd, target), target) << std::strerror(errno);
        ::close(fd);
    }

    int listening_unix_socket(const std::string& name) const {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        const std::string path = dir_ + "/" + name;
        std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(fd, 8) != 0)
            return -1;
        return fd;
    }

    static void pass(int count, const char* names = nullptr, std::optional<pid_t> pid = std::nullopt) {
        ::setenv("LISTEN_PID", std::to_string(pid.value_or(::getpid())).c_str(), 1);
        ::setenv("LISTEN_FDS", std::to_string(count).c_str(), 1);
        if (names != nullptr)
            ::setenv("LISTEN_FDNAMES", names, 1);
    }

    static bool environment_cleared() {
        return std::getenv("LISTEN_PID") == nullptr && std::getenv("LISTEN_FDS") == nullptr &&
               std::getenv("LISTEN_FDNAMES") == nullptr;
    }

    int saved_[2] = {-1, -1};
    std::vector<std::pair<std::string, std::string>> env_;
    std::string dir_;
};

TEST_F(ListenFdsTest, NothingPassed) {
    const auto r = listen_fds();
    EXPECT_TRUE(r.ok()) << r.ec.message();
    EXPECT_TRUE(r.sockets.empty());
}

TEST_F(ListenFdsTest, OneNamedListeningUnixSocket) {
    place(listening_unix_socket("control.sock"), 3);
    pass(1, "tfsnapd.socket");

    const auto r = listen_fds();
    ASSERT_TRUE(r.ok()) << r.ec.message() << ": " << r.error.message;
    ASSERT_EQ(r.sockets.size(), 1u);
    EXPECT_EQ(r.sockets[0].fd, 3);
    EXPECT_EQ(r.sockets[0].name, "tfsnapd.socket");
    // children (terraform, git) inherit neither the descriptor nor the variables
    EXPECT_NE(::fcntl(3, F_GETFD) & FD_CLOEXEC, 0);
    EXPECT_TRUE(environment_cleared());
    // and a second call finds nothing
    EXPECT_TRUE(listen_fds().sockets.empty());
}

TEST_F(ListenFdsTest, UnnamedSocketsAreUnknown) {
    place(listening_unix_socket("a.sock"), 3);
    place(listening_unix_socket("b.sock"), 4);
    pass(2);

    const auto r = listen_fds();
    ASSERT_TRUE(r.ok()) << r.error.message;
    ASSERT_EQ(r.sockets.size(), 2u);
    EXPECT_EQ(r.sockets[0].fd, 3);
    EXPECT_EQ(r.sockets[0].name, "unknown");
    EXPECT_EQ(r.sockets[1].fd, 4);
    EXPECT_EQ(r.sockets[1].name, "unknown");
}

TEST_F(ListenFdsTest, ForAnotherProcess) {
    place(listening_unix_socket("control.sock"), 3);
    pass(1, "control", ::getpid() + 1);

    const auto r = listen_fds();
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.sockets.empty());
    // not ours: fd 3 is left alone
    EXPECT_EQ(::fcntl(3, F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(ListenFdsTest, ConnectedSocketPairIsRejected) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    place(sv[0], 3);
    pass(1, "control");

    const auto r = listen_fds();
    EXPECT_EQ(r.ec, tfsnap::systemd::errc::unexpected_socket);
    EXPECT_EQ(r.error.fd, 3);
    EXPECT_EQ(r.error.name, "control");
    EXPECT_EQ(r.error.message, "fd 3 (control) is a non-listening stream AF_UNIX socket");
    // the caller still learns every descriptor, to close them
    ASSERT_EQ(r.sockets.size(), 1u);
    EXPECT_EQ(r.sockets[0].fd, 3);
    ::close(sv[1]);
}

TEST_F(ListenFdsTest, DatagramSocketIsRejected) {
    place(listening_unix_socket("ok.sock"), 3);
    place(::socket(AF_UNIX, SOCK_DGRAM, 0), 4);
    pass(2, "control:extra");

    const auto r = listen_fds();
    EXPECT_EQ(r.ec, tfsnap::systemd::errc::unexpected_socket);
    EXPECT_EQ(r.error.fd, 4);
    EXPECT_EQ(r.error.name, "extra");
    EXPECT_EQ(r.error.message, "fd 4 (extra) is a non-listening datagram AF_UNIX socket");
    EXPECT_EQ(r.sockets.size(), 2u);
}

TEST_F(ListenFdsTest, TcpSocketIsRejected) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    place(fd, 3);
    pass(1);

    const auto r = listen_fds();
    EXPECT_EQ(r.ec, tfsnap::systemd::errc::unexpected_socket);
    EXPECT_EQ(r.error.message, "fd 3 (unknown) is a listening stream AF_INET socket");
}

TEST_F(ListenFdsTest, RegularFileIsRejected) {
    place(::open((dir_ + "/file").c_str(), O_CREAT | O_RDWR, 0600), 3);
    pass(1);

    const auto r = listen_fds();
    EXPECT_EQ(r.ec, tfsnap::systemd::errc::unexpected_socket);
    EXPECT_EQ(r.error.message, "fd 3 (unknown) is not a socket");
}

TEST_F(ListenFdsTest, MalformedVariablesAreErrnoCodes) {
    place(listening_unix_socket("control.sock"), 3);
    ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    ::setenv("LISTEN_FDS", "one", 1);
    auto r = listen_fds();
    EXPECT_EQ(r.ec, boost::system::errc::invalid_argument) << r.ec.message();
    EXPECT_EQ(r.error.message, "$LISTEN_FDS / $LISTEN_FDNAMES: Invalid argument");
    EXPECT_TRUE(r.sockets.empty());
    EXPECT_TRUE(environment_cleared());

    // as many names as descriptors, or it is a misconfiguration
    pass(1, "a:b");
    r = listen_fds();
    EXPECT_EQ(r.ec, boost::system::errc::invalid_argument) << r.ec.message();
}

}  // namespace
