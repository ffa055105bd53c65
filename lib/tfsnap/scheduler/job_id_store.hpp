#pragma once
// Job ids that stay unique across restarts, so that a client polling /v1/jobs/ID after a restart
// is never told about another job.
//
// `<state_dir>/job-ids` holds one line, `tfsnap-job-ids 1 <N>`: every id an earlier process
// handed out is below N. start() reads N, which becomes this process's first id, and at once
// writes N + block, reserving a block of ids; used() writes the next block when fewer than half
// of the current one is left, so a job costs no file write (one write per block/2 jobs).
// Writes are atomic (core::write_file_atomic; `.job-ids.tmp`, fsynced, renamed) and 0600.
//
// A file that cannot be read or parsed never stops the daemon: start() then begins at the time
// (unix milliseconds, above anything a process that counted from a file handed out, unless it
// handed out more than one id per millisecond since), and says so in `problem`. A missing file
// in a state_dir with no sign of an earlier run (no schedules.stamps, audit.log or catalog
// entries) is a first start: ids begin at 1.
//
// Thread safety: none; one owner. Blocking file I/O (a few bytes, once per block/2 jobs).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::scheduler {

class job_id_store {
public:
    explicit job_id_store(std::filesystem::path state_dir, std::uint64_t block = 1000);

    struct start_result {
        std::uint64_t first_id = 1;
        std::string problem;  // set: what was wrong with the file and what was done (for the log)
    };
    start_result start(std::chrono::system_clock::time_point now);

    // Job `id` was handed out. Returns a problem (a failed write: ids may repeat after a restart)
    // or "".
    std::string used(std::uint64_t id);

    std::uint64_t reserved() const noexcept { return reserved_; }  // the mark on disk
    const std::filesystem::path& path() const noexcept { return path_; }

    // The file format, exposed for tests: nullopt when `text` is not one.
    static std::string serialize(std::uint64_t mark);
    static std::optional<std::uint64_t> parse(std::string_view text);

private:
    std::string write(std::uint64_t mark);
    bool earlier_run() const;

    std::filesystem::path dir_;
    std::filesystem::path path_;
    std::filesystem::path temp_;
    std::uint64_t block_;
    std::uint64_t reserved_ = 0;
};

}  // namespace tfsnap::scheduler
