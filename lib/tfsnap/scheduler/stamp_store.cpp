#include "tfsnap/scheduler/stamp_store.hpp"

#include "tfsnap/scheduler/error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace tfsnap::scheduler {

namespace {

constexpr std::string_view header = "tfsnap-schedule-stamps 1";

std::string errno_detail(std::string_view what, const std::filesystem::path& p, int err) {
    return std::string(what) + " " + p.string() + ": " + std::strerror(err);
}

stamps_save_result io_failure(std::string_view what, const std::filesystem::path& p, int err) {
    return {make_error_code(errc::stamps_io), errno_detail(what, p, err)};
}

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

file_stamp_store::file_stamp_store(std::filesystem::path state_dir)
    : dir_(std::move(state_dir)), path_(dir_ / "schedules.stamps"), temp_(dir_ / "schedules.stamps.tmp") {}

std::string file_stamp_store::serialize(const stamp_map& stamps) {
    std::string out(header);
    out += '\n';
    for (const auto& [key, slot] : stamps) {
        out += key;
        out += ' ';
        out += std::to_string(slot.time_since_epoch().count());
        out += '\n';
    }
    return out;
}

stamps_load_result file_stamp_store::parse(std::string_view text) {
    stamps_load_result out;
    auto corrupt = [&](int line, std::string_view why) {
        out.stamps.clear();
        out.ec = make_error_code(errc::corrupt_stamps);
        out.detail = "line " + std::to_string(line) + ": " + std::string(why);
        return out;
    };
    int line_no = 0;
    bool seen_header = false;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        if (eol == std::string_view::npos)
            return corrupt(line_no + 1, "truncated (no final newline)");
        const std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol + 1);
        ++line_no;
        if (!seen_header) {
            if (line != header)
                return corrupt(line_no, "expected the header '" + std::string(header) + "'");
            seen_header = true;
            continue;
        }
        const auto space = line.find(' ');
        if (space == std::string_view::npos || space == 0 || line.substr(0, space).find('/') == 0)
            return corrupt(line_no, "expected '<environment>/<schedule> <seconds>'");
        const std::string_view key = line.substr(0, space);
        const std::string_view number = line.substr(space + 1);
        const auto slash = key.find('/');
        if (slash == std::string_view::npos || slash + 1 == key.size())
            return corrupt(line_no, "expected '<environment>/<schedule> <seconds>'");
        std::int64_t secs = 0;
        const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), secs);
        if (ec != std::errc{} || ptr != number.data() + number.size() || number.empty())
            return corrupt(line_no, "the slot is not a number of seconds");
        if (!out.stamps.emplace(std::string(key), sys_seconds{std::chrono::seconds{secs}}).second)
            return corrupt(line_no, "duplicate schedule '" + std::string(key) + "'");
    }
    if (!seen_header)
        return corrupt(1, "empty file");
    return out;
}

stamps_load_result file_stamp_store::load() {
    std::error_code ec;
    // A temporary file is only ever a write that did not reach its rename.
    std::filesystem::remove(temp_, ec);
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(path_, ec))
            return {};
        return {{}, make_error_code(errc::stamps_io), errno_detail("cannot open", path_, errno)};
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad())
        return {{}, make_error_code(errc::stamps_io), errno_detail("cannot read", path_, errno)};
    auto out = parse(buf.str());
    if (out.ec)
        out.detail = path_.string() + ": " + out.detail;
    return out;
}

stamps_save_result file_stamp_store::save(const stamp_map& stamps) {
    const std::string data = serialize(stamps);
    fd_guard fd(::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
    if (fd.get() < 0)
        return io_failure("cannot create", temp_, errno);
    if (!write_all(fd.get(), data))
        return io_failure("cannot write", temp_, errno);
    if (::fsync(fd.get()) != 0)
        return io_failure("cannot fsync", temp_, errno);
    if (::close(fd.release()) != 0)
        return io_failure("cannot close", temp_, errno);
    if (::rename(temp_.c_str(), path_.c_str()) != 0)
        return io_failure("cannot rename", temp_, errno);
    fd_guard dir(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0)
        return io_failure("cannot open", dir_, errno);
    if (::fsync(dir.get()) != 0)
        return io_failure("cannot fsync", dir_, errno);
    return {};
}

}  // namespace tfsnap::scheduler
