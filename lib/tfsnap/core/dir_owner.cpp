#include "tfsnap/core/dir_owner.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <utility>

namespace tfsnap::core {

namespace fs = std::filesystem;

dir_owner::dir_owner(dir_owner&& other) noexcept
    : dir_(std::move(other.dir_)), fd_(std::exchange(other.fd_, -1)) {}

dir_owner& dir_owner::operator=(dir_owner&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0)
            ::close(fd_);
        dir_ = std::move(other.dir_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

dir_owner::~dir_owner() {
    if (fd_ >= 0)
        ::close(fd_);  // closing the last descriptor of the open file drops the flock
}

long claim_result::holder_pid() const noexcept {
    long pid = 0;
    const auto r = std::from_chars(holder.data(), holder.data() + holder.size(), pid);
    return r.ec == std::errc() && pid > 0 ? pid : 0;
}

claim_result claim_dir(const fs::path& dir, std::string_view what) {
    claim_result out;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        // each missing level 0700, whatever the caller's umask
        fs::path built;
        for (const auto& part : dir) {
            built /= part;
            if (::mkdir(built.c_str(), 0700) != 0 && errno != EEXIST) {
                out.error = {errno, "cannot create", built};
                return out;
            }
        }
    }
    const fs::path path = dir / std::string(dir_owner::lock_file_name);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        out.error = {errno, "cannot open", path};
        return out;
    }
    int rc = 0;
    while ((rc = ::flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
        const int err = errno;
        if (err == EWOULDBLOCK) {
            out.busy = true;
            char buf[512];
            const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
            if (n > 0) {
                out.holder.assign(buf, static_cast<std::size_t>(n));
                if (const auto nl = out.holder.find('\n'); nl != std::string::npos)
                    out.holder.resize(nl);
            }
        } else {
            out.error = {err, "cannot lock", path};
        }
        ::close(fd);
        return out;
    }
    // Who holds it, for a refused claimant. Not fsynced: it only matters while we live.
    std::string line = std::to_string(::getpid()) + " " + std::string(what) + "\n";
    if (::ftruncate(fd, 0) == 0) {
        std::string_view rest = line;
        off_t at = 0;
        while (!rest.empty()) {
            const ssize_t n = ::pwrite(fd, rest.data(), rest.size(), at);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            rest.remove_prefix(static_cast<std::size_t>(n));
            at += n;
        }
    }
    out.owner.emplace(dir_owner(dir, fd));
    return out;
}

}  // namespace tfsnap::core
