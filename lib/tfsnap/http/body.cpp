#include "tfsnap/http/body.hpp"

#include "tfsnap/http/error.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>

namespace tfsnap::http {

boost::system::error_code string_sink::begin() {
    data_.clear();
    return {};
}

boost::system::error_code string_sink::write(std::string_view chunk) {
    if (chunk.size() > limit_ - data_.size())
        return errc::body_too_large;
    data_.append(chunk);
    return {};
}

file_sink::~file_sink() {
    if (fd_ >= 0)
        ::close(fd_);
}

boost::system::error_code file_sink::begin() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    written_ = 0;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0)
        return {errno, boost::system::system_category()};
    return {};
}

boost::system::error_code file_sink::write(std::string_view chunk) {
    if (fd_ < 0)
        return errc::body_sink_failed;
    while (!chunk.empty()) {
        const ssize_t n = ::write(fd_, chunk.data(), chunk.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return {errno, boost::system::system_category()};
        }
        chunk.remove_prefix(static_cast<std::size_t>(n));
        written_ += static_cast<std::uint64_t>(n);
    }
    return {};
}

boost::system::error_code file_sink::finish() {
    if (fd_ < 0)
        return errc::body_sink_failed;
    boost::system::error_code ec;
    if (fsync_ && ::fsync(fd_) != 0)
        ec = {errno, boost::system::system_category()};
    if (::close(fd_) != 0 && !ec)
        ec = {errno, boost::system::system_category()};
    fd_ = -1;
    return ec;
}

boost::system::error_code hashing_sink::begin() {
    md5_.final_raw();  // discards and resets
    sha256_.final_raw();
    md5_hex_.clear();
    sha256_hex_.clear();
    size_ = 0;
    return next_.begin();
}

boost::system::error_code hashing_sink::write(std::string_view chunk) {
    md5_.update(chunk);
    sha256_.update(chunk);
    size_ += chunk.size();
    return next_.write(chunk);
}

boost::system::error_code hashing_sink::finish() {
    md5_hex_ = md5_.final_hex();
    sha256_hex_ = sha256_.final_hex();
    return next_.finish();
}

}  // namespace tfsnap::http
