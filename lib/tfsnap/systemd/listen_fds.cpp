#include "tfsnap/systemd/listen_fds.hpp"

#include "tfsnap/systemd/error.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <memory>

namespace tfsnap::systemd {

namespace {

// sd_listen_fds_with_names() returns a malloc'ed, NULL-terminated array of malloc'ed strings.
struct names_deleter {
    void operator()(char** names) const noexcept {
        for (char** p = names; *p != nullptr; ++p)
            std::free(*p);
        std::free(names);
    }
};

std::string describe_fd(int fd) {
    int type = 0;
    socklen_t len = sizeof(type);
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
        return "not a socket";
    int domain = 0;
    len = sizeof(domain);
    std::string family = "socket";
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0) {
        switch (domain) {
            case AF_UNIX:
                family = "AF_UNIX socket";
                break;
            case AF_INET:
                family = "AF_INET socket";
                break;
            case AF_INET6:
                family = "AF_INET6 socket";
                break;
            default:
                family = "socket of family " + std::to_string(domain);
        }
    }
    const char* kind = type == SOCK_STREAM      ? "stream"
                       : type == SOCK_DGRAM     ? "datagram"
                       : type == SOCK_SEQPACKET ? "seqpacket"
                                                : "other";
    int listening = 0;
    len = sizeof(listening);
    const bool accepts = ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening != 0;
    return std::string(accepts ? "a listening " : "a non-listening ") + kind + " " + family;
}

}  // namespace

listen_fds_result listen_fds() {
    listen_fds_result out;
    char** raw_names = nullptr;
    // unset_environment = 1: children (terraform, git) must not believe the fds are theirs.
    const int n = ::sd_listen_fds_with_names(1, &raw_names);
    const std::unique_ptr<char*, names_deleter> names(raw_names);
    if (n < 0) {
        out.ec = from_sd_result(n);
        out.error.message = "$LISTEN_FDS / $LISTEN_FDNAMES: " + out.ec.message();
        return out;
    }
    out.sockets.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        listened_socket s;
        s.fd = SD_LISTEN_FDS_START + i;
        s.name = names != nullptr && names.get()[i] != nullptr ? names.get()[i] : "unknown";
        out.sockets.push_back(std::move(s));
    }
    for (const auto& s : out.sockets) {
        const int r = ::sd_is_socket_unix(s.fd, SOCK_STREAM, 1, nullptr, 0);
        if (r > 0)
            continue;
        out.ec = r < 0 ? from_sd_result(r) : make_error_code(errc::unexpected_socket);
        out.error = {s.fd, s.name,
                     "fd " + std::to_string(s.fd) + " (" + s.name + ") is " + describe_fd(s.fd)};
        break;
    }
    return out;
}

}  // namespace tfsnap::systemd
