#include "tfsnap/aws/detail/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace tfsnap::aws::detail {

namespace {

struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0)
            ::close(fd);
    }
};

boost::system::error_code errno_code(int e) {
    return {e, boost::system::generic_category()};
}

}  // namespace

file_content read_small_file(const std::string& path, std::size_t max_size) {
    file_content out;
    const fd_guard f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) {
        out.ec = errno_code(errno);
        return out;
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) {
        out.ec = errno_code(errno);
        return out;
    }
    if (S_ISDIR(st.st_mode)) {
        out.ec = errno_code(EISDIR);
        return out;
    }
    std::string buf;
    buf.reserve(st.st_size > 0 ? static_cast<std::size_t>(st.st_size) : 4096);
    char chunk[4096];
    for (;;) {
        const auto n = ::read(f.fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            out.ec = errno_code(errno);
            break;
        }
        if (n == 0)
            break;
        if (buf.size() + static_cast<std::size_t>(n) > max_size) {
            out.ec = errno_code(EFBIG);
            break;
        }
        buf.append(chunk, static_cast<std::size_t>(n));
    }
    volatile char* p = chunk;
    for (std::size_t i = 0; i < sizeof chunk; ++i)
        p[i] = 0;
    if (!out.ec)
        out.text = core::secret(std::move(buf));
    else {
        volatile char* q = buf.data();
        for (std::size_t i = 0; i < buf.size(); ++i)
            q[i] = 0;
    }
    return out;
}

std::string expand_home(const std::string& path, const std::string& home) {
    if (home.empty())
        return path;
    if (path == "~")
        return home;
    if (path.starts_with("~/"))
        return home + path.substr(1);
    return path;
}

}  // namespace tfsnap::aws::detail
