#pragma once
// Durable file writes with POSIX calls.
//
// `write_file_atomic` replaces a file so that a reader (or a process after a crash) sees either
// the old content or the new one, never a mix: the data goes to a temporary file in the same
// directory, is fsynced, renamed over the target, and the directory is fsynced. A temporary
// file left by a crash is the caller's to remove (it never has the target's name).
//
// Errors: a `file_error` naming the failed step, the path and errno; no exceptions.
// Thread safety: none beyond what the file system gives; one writer per path.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace tfsnap::core {

struct file_error {
    int err = 0;                 // errno, 0 on success
    std::string op;              // "cannot rename"
    std::filesystem::path path;  // the path the step was acting on

    explicit operator bool() const noexcept { return err != 0; }
    // "cannot rename /x/y.tmp: No such file or directory"
    std::string message() const;
};

// Creates or truncates `path`, writes `data`, fsyncs and closes it. The directory is not synced.
file_error write_file_synced(const std::filesystem::path& path, std::string_view data, mode_t mode);

// fsync on a directory, so that renames and creations in it survive a crash.
file_error fsync_dir(const std::filesystem::path& dir);

// Writes `data` to `temp` (same directory as `path`), fsyncs it, renames it to `path`, and
// fsyncs the directory.
file_error write_file_atomic(const std::filesystem::path& path, const std::filesystem::path& temp,
                             std::string_view data, mode_t mode);

// The same replacement without its fsyncs, for a file that can be rebuilt from durable ones (the
// catalog's indexes): a reader or a killed process still sees the old content or the new one
// (rename); only a power loss may lose it, and whoever rebuilds it then must know (the catalog
// repairs every index after a start without its CLEAN marker).
file_error replace_file(const std::filesystem::path& path, const std::filesystem::path& temp,
                        std::string_view data, mode_t mode);

// Flushes the whole file system holding `path` to disk (syncfs).
file_error sync_file_system(const std::filesystem::path& path);

// Reads a whole file into `out`.
file_error read_file(const std::filesystem::path& path, std::string& out);

}  // namespace tfsnap::core
