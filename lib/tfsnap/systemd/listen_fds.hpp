#pragma once
// Sockets passed by socket activation (sd_listen_fds(3)): tfsnapd.socket hands tfsnapd the
// listening control socket as fd 3 ($LISTEN_FDS, $LISTEN_PID, $LISTEN_FDNAMES).
//
// listen_fds() takes the descriptors ($LISTEN_PID must name this process, else there are
// none), marks them close-on-exec (so `terraform` and `git` never inherit them), removes the
// three variables from the environment, and checks that each is a listening AF_UNIX stream
// socket: the control server accepts on it, and anything else is a unit misconfiguration
// (Accept=yes, ListenDatagram=, a TCP port) better reported at startup than at first accept.
//
// Errors: the errno libsystemd reports for malformed variables (EINVAL, also for a name count
// that differs from the descriptor count); or errc::unexpected_socket for the first descriptor
// that is not a listening Unix stream socket, with its fd and name. `error.message` always says
// what went wrong, in one line fit for the log.
//
// Lifetime: the descriptors belong to the caller from this call on, also on error: `sockets`
// lists every descriptor that was passed, so the caller can close them.
//
// Thread safety: changes the environment. Call once, at startup, before other threads exist.

#include <boost/system/error_code.hpp>

#include <string>
#include <vector>

namespace tfsnap::systemd {

struct listened_socket {
    int fd = -1;
    std::string name;  // FileDescriptorName= (default: the socket unit's name); "unknown" if unnamed
};

struct listen_fds_error {
    int fd = -1;          // the descriptor at fault (-1: the variables themselves)
    std::string name;     // its name
    std::string message;  // "fd 3 (tfsnapd.socket) is a non-listening stream AF_UNIX socket"
};

struct listen_fds_result {
    boost::system::error_code ec;
    listen_fds_error error;
    std::vector<listened_socket> sockets;  // in order, from SD_LISTEN_FDS_START (3)

    bool ok() const noexcept { return !ec; }
};

listen_fds_result listen_fds();

}  // namespace tfsnap::systemd
