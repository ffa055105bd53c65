#pragma once
// The local catalog of snapshots, under `<state_dir>/catalog`:
//
//     <env>/<snapshot_id>/MANIFEST.json
//     <env>/<snapshot_id>/state          (optional local copy, mode 0600)
//     <env>/INDEX.json                   (for listing; always rebuildable from the manifests)
//
// Every change is crash-safe. A new snapshot is assembled in a temporary directory
// (".tmp-..."), fsynced and renamed into place without replacing anything, so a reader never
// sees half an entry. Files are replaced by write-to-temp, fsync, rename, fsync-dir; the index,
// which is rebuilt from the manifests after any start without the CLEAN marker, by
// write-to-temp and rename only (no fsync: a power loss can only leave it behind). A deleted
// snapshot is first renamed to ".del-..." and then removed. The index is rewritten
// atomically after each change; a crash between a change and its index write leaves the
// index one step behind, which `open()` repairs: it removes every temporary and half-deleted
// entry, then checks each environment's index against its manifests and rewrites it when it
// differs, is missing or does not parse.
//
// A clean close (`close()`, when every writer has ended) leaves the marker file CLEAN; the next
// open() finds it, removes it (durably, before anything is written) and trusts the indexes as
// they are: a start costs a listing of each environment's directory (scratch files there are
// still removed), not a read of every manifest. A kill, a crash, or a change that failed part
// way leaves no marker, and the next open() repairs everything as above.
//
// Environment names and snapshot ids are validated before they reach a path
// (config::is_valid_name, manifest::is_valid_snapshot_id).
//
// Errors: a `status` with a catalog::errc and error_info{path, message}; no exceptions for
// expected failures.
// Thread safety: none; one owner per catalog directory. Blocking file I/O.

#include "tfsnap/catalog/error.hpp"
#include "tfsnap/manifest/manifest.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::catalog {

struct status {
    boost::system::error_code ec;
    error_info info;

    explicit operator bool() const noexcept { return static_cast<bool>(ec); }
};

// One line of an environment's index.
struct index_entry {
    std::string snapshot_id;
    std::string created_at;
    std::string version_id;
    std::optional<std::uint64_t> serial;
    std::optional<std::string> expires_at;
    std::optional<std::string> pinned_until;
    bool has_copy = false;

    bool operator==(const index_entry&) const = default;
};

index_entry entry_of(const manifest::manifest& m);

class catalog {
public:
    explicit catalog(std::filesystem::path state_dir);

    // Creates the catalog directory if needed, removes stray temporary files and directories,
    // and repairs each environment's index. `repaired` (optional) counts the indexes rewritten.
    // After a clean close() it only removes the marker (see above); trusted() then says so.
    status open(int* repaired = nullptr);
    // Leaves the CLEAN marker: call it when no write can follow (the process is ending).
    status close();
    bool trusted() const noexcept { return trusted_; }
    static constexpr std::string_view clean_marker = "CLEAN";

    // Stores `m` as a new snapshot of `m.environment` taken at `taken`. Sets m.snapshot_id
    // (the time's id, or the first free "-2", "-3", ...). With `state_copy`, also stores those
    // bytes as the `state` file (mode 0600) and records it in m.copy (mode "local").
    status add(manifest::manifest& m, std::chrono::sys_seconds taken,
               std::optional<std::string_view> state_copy = std::nullopt);

    // The same, with a prepared file (complete and fsynced, on the catalog's file system, e.g. at
    // a `scratch_path`) moved into the snapshot as `name` ("state", "state.enc"). The caller
    // describes it in m.copy. After a failure the file may remain; open() removes scratch files.
    status add(manifest::manifest& m, std::chrono::sys_seconds taken, const std::filesystem::path& file,
               std::string_view name);

    // The id `add` would give a snapshot of `env` taken at `taken` (for naming an archive copy
    // before the manifest is written).
    std::string next_id(std::string_view env, std::chrono::sys_seconds taken) const;

    // A fresh path inside the environment's directory for work in progress (downloads, sealing);
    // `open()` removes what a crash leaves there. Creates the environment directory.
    status scratch_path(std::string_view env, std::string_view what, std::filesystem::path& out);

    // Rewrites one manifest atomically after `change` edits it (expires_at, copy, pins), and
    // updates the index. The id and environment cannot change.
    status update(std::string_view env, std::string_view id,
                  const std::function<void(manifest::manifest&)>& change);

    // Small per-environment JSON records beside the snapshots (the last backup check, the last
    // verify, state events), replaced atomically (write-to-temp, rename; not fsynced: a power
    // loss may leave the one before). `name` is one of the names below.
    status write_record(std::string_view env, std::string_view name, std::string_view json);
    // errc::not_found when there is none yet.
    status read_record(std::string_view env, std::string_view name, std::string& out);
    static constexpr std::string_view last_backup_record = "LAST_BACKUP.json";
    static constexpr std::string_view verify_record = "VERIFY.json";
    static constexpr std::string_view events_record = "EVENTS.json";

    // The index, oldest first; rebuilt from the manifests when missing or unreadable.
    status list(std::string_view env, std::vector<index_entry>& out);
    status read_manifest(std::string_view env, std::string_view id, manifest::manifest& out);
    status remove(std::string_view env, std::string_view id);
    status set_pin(std::string_view env, std::string_view id, std::optional<std::string> pinned_until);

    // Reads every manifest of `env` and rewrites its index from them.
    status rebuild_index(std::string_view env, std::vector<index_entry>* out = nullptr);
    // The index `rebuild_index` would write, without writing it.
    status scan(std::string_view env, std::vector<index_entry>& out);
    // Environments present in the catalog, sorted.
    status environments(std::vector<std::string>& out);

    const std::filesystem::path& root() const noexcept { return root_; }

    // The index format, exposed for tests.
    static std::string serialize_index(std::string_view env, const std::vector<index_entry>& entries);
    static bool parse_index(std::string_view text, std::vector<index_entry>& out);

    static constexpr std::string_view temp_prefix = ".tmp-";
    static constexpr std::string_view deleted_prefix = ".del-";

private:
    std::filesystem::path env_dir(std::string_view env) const { return root_ / std::string(env); }
    std::filesystem::path temp_name(const std::filesystem::path& dir, std::string_view what);
    status ensure_env_dir(std::string_view env);
    status add_entry(manifest::manifest& m, std::chrono::sys_seconds taken,
                     const std::function<status(const std::filesystem::path&)>& fill);
    status add_entry_unguarded(manifest::manifest& m, std::chrono::sys_seconds taken,
                               const std::function<status(const std::filesystem::path&)>& fill);
    status remove_unguarded(std::string_view env, std::string_view id);
    status set_pin_unguarded(std::string_view env, std::string_view id,
                             std::optional<std::string> pinned_until);
    status update_unguarded(std::string_view env, std::string_view id,
                            const std::function<void(manifest::manifest&)>& change);
    status guarded(status s);
    status load_index(std::string_view env, std::vector<index_entry>& out);
    status write_index(std::string_view env, const std::vector<index_entry>& entries);
    status update_index(std::string_view env, const index_entry* upsert, std::string_view erase_id);
    status write_manifest_file(const std::filesystem::path& snapshot_dir, const manifest::manifest& m,
                               bool atomic);

    std::filesystem::path root_;
    unsigned long counter_ = 0;
    bool trusted_ = false;
    bool dirty_ = false;  // an index write failed: close() leaves no marker
};

}  // namespace tfsnap::catalog
