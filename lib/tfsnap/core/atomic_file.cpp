#include "tfsnap/core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace tfsnap::core {

namespace {

class fd_guard {
public:
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }

private:
    int fd_;
};

file_error fail(std::string_view op, const std::filesystem::path& p, int err) {
    return {err != 0 ? err : EIO, std::string(op), p};
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

std::string file_error::message() const {
    return op + " " + path.string() + ": " + std::strerror(err);
}

// Creates or truncates `path` and writes `data`, fsynced when `durable`.
static file_error write_file(const std::filesystem::path& path, std::string_view data, mode_t mode,
                             bool durable) {
    fd_guard fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (fd.get() < 0)
        return fail("cannot create", path, errno);
    if (!write_all(fd.get(), data))
        return fail("cannot write", path, errno);
    if (durable && ::fsync(fd.get()) != 0)
        return fail("cannot fsync", path, errno);
    if (::close(fd.release()) != 0)
        return fail("cannot close", path, errno);
    return {};
}

file_error write_file_synced(const std::filesystem::path& path, std::string_view data, mode_t mode) {
    return write_file(path, data, mode, true);
}

file_error fsync_dir(const std::filesystem::path& dir) {
    fd_guard fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0)
        return fail("cannot open", dir, errno);
    if (::fsync(fd.get()) != 0)
        return fail("cannot fsync", dir, errno);
    return {};
}

file_error write_file_atomic(const std::filesystem::path& path, const std::filesystem::path& temp,
                             std::string_view data, mode_t mode) {
    if (auto e = write_file_synced(temp, data, mode))
        return e;
    if (::rename(temp.c_str(), path.c_str()) != 0)
        return fail("cannot rename", temp, errno);
    const auto dir = path.parent_path();
    return fsync_dir(dir.empty() ? std::filesystem::path(".") : dir);
}

file_error replace_file(const std::filesystem::path& path, const std::filesystem::path& temp,
                        std::string_view data, mode_t mode) {
    if (auto e = write_file(temp, data, mode, false))
        return e;
    if (::rename(temp.c_str(), path.c_str()) != 0)
        return fail("cannot rename", temp, errno);
    return {};
}

file_error sync_file_system(const std::filesystem::path& path) {
    fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
        return fail("cannot open", path, errno);
    if (::syncfs(fd.get()) != 0)
        return fail("cannot sync the file system of", path, errno);
    return {};
}

file_error read_file(const std::filesystem::path& path, std::string& out) {
    out.clear();
    fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
        return fail("cannot open", path, errno);
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail("cannot read", path, errno);
        }
        if (n == 0)
            break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return {};
}

}  // namespace tfsnap::core
