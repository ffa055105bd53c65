#include "tfsnap/scheduler/job_id_store.hpp"

#include "tfsnap/core/atomic_file.hpp"

#include <algorithm>
#include <charconv>
#include <system_error>

namespace tfsnap::scheduler {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view header = "tfsnap-job-ids 1 ";
// ids stay below this, so that JSON readers that take numbers as doubles still read them exactly
constexpr std::uint64_t max_mark = std::uint64_t{1} << 53;

}  // namespace

job_id_store::job_id_store(fs::path state_dir, std::uint64_t block)
    : dir_(std::move(state_dir)),
      path_(dir_ / "job-ids"),
      temp_(dir_ / ".job-ids.tmp"),
      block_(std::max<std::uint64_t>(block, 2)) {}

std::string job_id_store::serialize(std::uint64_t mark) {
    return std::string(header) + std::to_string(mark) + "\n";
}

std::optional<std::uint64_t> job_id_store::parse(std::string_view text) {
    if (!text.starts_with(header) || !text.ends_with('\n'))
        return std::nullopt;
    const std::string_view digits = text.substr(header.size(), text.size() - header.size() - 1);
    if (digits.empty() || digits.size() > 20 || (digits.size() > 1 && digits.front() == '0'))
        return std::nullopt;
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || end != digits.data() + digits.size() || v < 1 || v >= max_mark)
        return std::nullopt;
    return v;
}

bool job_id_store::earlier_run() const {
    std::error_code ec;
    if (fs::exists(dir_ / "schedules.stamps", ec) || fs::exists(dir_ / "audit.log", ec))
        return true;
    const fs::path catalog = dir_ / "catalog";
    if (!fs::is_directory(catalog, ec))
        return false;
    for (const auto& entry : fs::directory_iterator(catalog, ec)) {
        (void)entry;
        return true;
    }
    return false;
}

std::string job_id_store::write(std::uint64_t mark) {
    if (const auto e = core::write_file_atomic(path_, temp_, serialize(mark), 0600))
        return "cannot write " + path_.string() + " (" + e.message() +
               "): job ids may repeat after the next restart";
    reserved_ = mark;
    return {};
}

job_id_store::start_result job_id_store::start(std::chrono::system_clock::time_point now) {
    start_result out;
    std::string text;
    std::error_code exists_ec;
    const bool present = fs::exists(path_, exists_ec);
    std::optional<std::uint64_t> mark;
    if (present && !core::read_file(path_, text))
        mark = parse(text);
    const auto by_time = [&] {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
        return std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::max<std::int64_t>(ms, 1)), 1,
                                         max_mark - block_ - 1);
    };
    if (mark) {
        out.first_id = std::min(*mark, max_mark - block_ - 1);
    } else if (present) {
        out.first_id = by_time();
        out.problem = path_.string() + " cannot be read or is not a job id mark; job ids start at " +
                      std::to_string(out.first_id) + " (the time), above those of earlier runs";
    } else if (earlier_run()) {
        out.first_id = by_time();
        out.problem = path_.string() + " is missing although " + dir_.string() +
                      " was used before; job ids start at " + std::to_string(out.first_id) +
                      " (the time), above those of earlier runs";
    } else {
        out.first_id = 1;
    }
    if (auto p = write(out.first_id + block_); !p.empty())
        out.problem = out.problem.empty() ? p : out.problem + "; " + p;
    else
        reserved_ = out.first_id + block_;
    if (reserved_ == 0)
        reserved_ = out.first_id + block_;  // in memory only: the write failed
    return out;
}

std::string job_id_store::used(std::uint64_t id) {
    if (id + block_ / 2 < reserved_)
        return {};
    const std::uint64_t next = std::max(reserved_, id + 1) + block_;
    const auto problem = write(next);
    if (!problem.empty())
        reserved_ = next;  // try again a block later, not at every job
    return problem;
}

}  // namespace tfsnap::scheduler
