#pragma once
// One owner per state_dir: an advisory lock (flock(2), exclusive) on `<dir>/tfsnapd.lock`, held for
// as long as the `dir_owner` lives — in practice the process's life.
//
// Only the owner of a state_dir may recover restore journals, remove scratch files, write stamps
// and change the catalog: a journal found by its owner belongs to a process that is provably gone
// (the kernel drops a flock when its holder exits, however it exits, kill -9 included). A second
// process that cannot claim the directory must change nothing there.
//
// The lock file holds one line, "<pid> <what>" ("4711 tfsnapd --config /etc/tfsnap/tfsnapd.yaml"),
// written after the lock is taken, so that a refused process can say who holds the directory. The
// file is never removed (removing a lock file races with the next claimant).
//
// The descriptor is O_CLOEXEC: child processes (terraform, git) do not inherit the lock.
// Errors: `claim_result::error` for anything but "held by someone else"; no exceptions.
// Thread safety: none needed; a claim is made once, at start-up.

#include "tfsnap/core/atomic_file.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::core {

struct claim_result;

class dir_owner {
public:
    dir_owner(dir_owner&& other) noexcept;
    dir_owner& operator=(dir_owner&& other) noexcept;
    dir_owner(const dir_owner&) = delete;
    dir_owner& operator=(const dir_owner&) = delete;
    ~dir_owner();  // releases the lock

    const std::filesystem::path& dir() const noexcept { return dir_; }

    static constexpr std::string_view lock_file_name = "tfsnapd.lock";

private:
    friend claim_result claim_dir(const std::filesystem::path& dir, std::string_view what);
    dir_owner(std::filesystem::path dir, int fd) noexcept : dir_(std::move(dir)), fd_(fd) {}

    std::filesystem::path dir_;
    int fd_ = -1;
};

struct claim_result {
    std::optional<dir_owner> owner;  // set: this process owns the directory now
    bool busy = false;               // another process owns it
    std::string holder;              // busy: the holder's line, "4711 tfsnapd --config /etc/..."
    file_error error;                // the directory or lock file could not be created or locked

    // The holder's pid, 0 when the line does not start with one.
    long holder_pid() const noexcept;
};

// Creates `dir` (mode 0700) if it is missing, opens `<dir>/tfsnapd.lock` (0600) and takes the
// lock without waiting. `what` describes this process for a refused claimant.
claim_result claim_dir(const std::filesystem::path& dir, std::string_view what);

}  // namespace tfsnap::core
