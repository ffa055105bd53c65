#pragma once
// Where the plan's cursors (the last slot of each schedule) persist across restarts.
//
// `file_stamp_store` keeps them in `<state_dir>/schedules.stamps`, a small text file:
//
//     tfsnap-schedule-stamps 1
//     <environment>/<schedule> <unix seconds>
//
// It is replaced atomically: written to `schedules.stamps.tmp` in the same directory, fsynced,
// renamed over the old file, then the directory is fsynced. `load` removes a temporary file
// left by a crash during a write. A missing file is an empty map; a malformed one is
// errc::corrupt_stamps with the line in `detail`, never a crash.
//
// Thread safety: none; one owner. Blocking file I/O (a few hundred bytes).

#include "tfsnap/scheduler/plan.hpp"

#include <boost/system/error_code.hpp>

#include <filesystem>
#include <string>

namespace tfsnap::scheduler {

struct stamps_load_result {
    stamp_map stamps;
    boost::system::error_code ec;
    std::string detail;  // "line 3: expected '<environment>/<schedule> <seconds>'"
};

struct stamps_save_result {
    boost::system::error_code ec;
    std::string detail;
};

class stamp_store {
public:
    virtual ~stamp_store() = default;
    virtual stamps_load_result load() = 0;
    virtual stamps_save_result save(const stamp_map& stamps) = 0;
};

class file_stamp_store final : public stamp_store {
public:
    explicit file_stamp_store(std::filesystem::path state_dir);

    stamps_load_result load() override;
    stamps_save_result save(const stamp_map& stamps) override;

    const std::filesystem::path& path() const noexcept { return path_; }
    const std::filesystem::path& temp_path() const noexcept { return temp_; }

    // The file format, exposed for tests.
    static std::string serialize(const stamp_map& stamps);
    static stamps_load_result parse(std::string_view text);

private:
    std::filesystem::path dir_;
    std::filesystem::path path_;
    std::filesystem::path temp_;
};

// In memory; for tests and for running without a state directory.
class memory_stamp_store final : public stamp_store {
public:
    memory_stamp_store() = default;
    explicit memory_stamp_store(stamp_map initial) : stamps_(std::move(initial)) {}

    stamps_load_result load() override { return {stamps_, {}, {}}; }
    stamps_save_result save(const stamp_map& stamps) override {
        stamps_ = stamps;
        ++saves_;
        return {};
    }
    const stamp_map& stamps() const noexcept { return stamps_; }
    int saves() const noexcept { return saves_; }

private:
    stamp_map stamps_;
    int saves_ = 0;
};

}  // namespace tfsnap::scheduler
