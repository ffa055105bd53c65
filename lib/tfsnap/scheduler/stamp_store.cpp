#include "tfsnap/scheduler/stamp_store.hpp"

#include "tfsnap/core/atomic_file.hpp"
#include "tfsnap/scheduler/error.hpp"

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
    if (const auto e = core::write_file_atomic(path_, temp_, serialize(stamps), 0600))
        return {make_error_code(errc::stamps_io), e.message()};
    return {};
}

}  // namespace tfsnap::scheduler
