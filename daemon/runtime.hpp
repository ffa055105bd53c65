#pragma once
// What `tfsnapd --config` and the foreground commands (`tfsnapd backup`, `restore`, `snapshots`)
// set up the same way from a loaded configuration, so that the two can no longer drift:
//
// - the state_dir's ownership (core::claim_dir): held for the runtime's life; without it the
//   runtime is read-only (only `snapshots` accepts that);
// - the catalog, opened (stray scratch files removed) by the owner only, and closed cleanly when
//   the runtime ends (the next start then trusts its indexes: catalog.hpp);
// - the worker pool (`worker_threads`, default one per core): hashing, parsing and sealing of
//   every job run there, never on the I/O thread; joined when the runtime ends;
// - the AWS clients of every environment (rebuilt on reload; a job keeps the set it started with);
// - the jobs' context, with the catalog.git hooks when `catalog.git` is on (a commit and a tag per
//   snapshot, a commit per prune);
// - the restores' context: the plan-token key, and the environment's AWS credentials and
//   endpoints for a full restore's Terraform run.
//
// Thread safety: none; use from the I/O thread. Lifetime: the io_context, clock and log sink
// outlive it.

#include "clients.hpp"

#include "tfsnap/backup/context.hpp"
#include "tfsnap/catalog/catalog.hpp"
#include "tfsnap/catalog_git/recorder.hpp"
#include "tfsnap/config/config.hpp"
#include "tfsnap/core/dir_owner.hpp"
#include "tfsnap/restore/restore.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace tfsnap::daemon {

// sysexits.h values, which systemd and ops tooling understand
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_usage = 64;
inline constexpr int exit_software = 70;
inline constexpr int exit_in_use = 75;  // EX_TEMPFAIL: another process owns the state_dir
inline constexpr int exit_config = 78;

struct open_options {
    std::string holder;         // what the lock file says holds the state_dir ("tfsnapd --config F")
    bool read_only_ok = false;  // go on without owning the state_dir (the command only reads)
};

// Why open() did not get a usable runtime: the exit status, and one message for the user.
struct open_problem {
    int exit_code = exit_software;
    std::string message;
    bool busy = false;         // another process owns the state_dir
    std::string holder_pid{};  // its pid, when the lock file names it
};

class runtime {
public:
    runtime(boost::asio::io_context& io, const core::wall_clock& clock, core::logger log);
    ~runtime();

    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    // Claims the state_dir, opens the catalog, starts the worker pool and builds the contexts.
    std::optional<open_problem> open(std::shared_ptr<const config::daemon_config> cfg, open_options o);

    // Makes the catalog a git repository when `catalog.git` is on (git init on first use; a
    // stale index lock removed). A failure is logged and returned; snapshots go on without it.
    boost::asio::awaitable<std::string> start_history();

    // A reloaded configuration: new clients for it (running jobs keep theirs).
    void reconfigure(std::shared_ptr<const config::daemon_config> cfg);

    // Called with every client set built from now on (the daemon counts S3 requests there).
    void on_new_clients(std::function<void(client_set&)> f) { on_new_clients_ = std::move(f); }

    bool owner() const noexcept { return owner_.has_value(); }
    const core::dir_owner& dir_owner() const { return *owner_; }
    const config::daemon_config& config() const noexcept { return *cfg_; }
    std::shared_ptr<const config::daemon_config> config_ptr() const noexcept { return cfg_; }
    catalog::catalog& catalog() noexcept { return *catalog_; }
    std::shared_ptr<client_set> clients() const noexcept { return clients_; }
    backup::job_context& jobs() noexcept { return *jobs_; }
    restore::restore_context& restores() noexcept { return *restores_; }
    std::size_t worker_threads() const noexcept { return workers_; }
    const std::string& host() const noexcept { return host_; }
    // A problem with the plan-token key (tokens then last only as long as this process).
    const std::string& token_key_problem() const noexcept { return key_problem_; }

    // How an environment reaches its clients, through the current set.
    std::function<backup::environment_access(const config::environment&)> access_function();

private:
    std::shared_ptr<client_set> make_clients();

    boost::asio::io_context& io_;
    const core::wall_clock& clock_;
    core::logger log_;
    std::shared_ptr<const config::daemon_config> cfg_;
    std::optional<core::dir_owner> owner_;
    std::unique_ptr<catalog::catalog> catalog_;
    std::unique_ptr<boost::asio::thread_pool> pool_;
    std::size_t workers_ = 0;
    std::unique_ptr<catalog_git::recorder> git_;
    std::function<void(client_set&)> on_new_clients_;
    std::shared_ptr<client_set> clients_;
    backup::bucket_cache buckets_;
    std::optional<backup::job_context> jobs_;
    std::optional<restore::restore_context> restores_;
    std::string host_;
    std::string key_problem_;
};

}  // namespace tfsnap::daemon
