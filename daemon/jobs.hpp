#pragma once
// The jobs tfsnapd runs: scheduled backups and verifies, and what the API asks for (a backup,
// verify, prune, restore or undelete, and the dry run of a full-mode restore). Each job runs through the
// scheduler's runner, in its environment's lane (backups, prunes and restores share one; verifies have their
// own), reports its progress to its record, updates the metrics, tells the webhooks, and carries its result
// (the prune report, the restore's steps) in its outcome.
//
// After a restore or undelete that succeeded, the same job checks the environment again as a
// backup would (schedule "post-restore", no pruning): the restored version is pinned by a
// snapshot, and the health surfaces (tfsnap_state_deleted, `tfsnapctl envs`) say the state is
// back.
//
// Thread safety: none; use from the I/O thread. Lifetime: everything passed by reference outlives
// it and every job it runs.

#include "health.hpp"
#include "notifications.hpp"
#include "runtime.hpp"

#include "tfsnap/metrics/tfsnap_metrics.hpp"
#include "tfsnap/restore/restore.hpp"
#include "tfsnap/scheduler/runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace tfsnap::daemon {

// A job asked for over the API.
struct job_request {
    scheduler::job_kind kind = scheduler::job_kind::backup;
    std::string environment;
    std::string schedule = "on-demand";  // a backup: the schedule its manifest records
    std::string requested_by{};          // "alice@host"
    restore::restore_request restore{};  // a restore or undelete
    std::string token{};                 // a restore or undelete: the plan token
};

struct submit_answer {
    std::uint64_t id = 0;         // the queued job
    std::uint64_t busy_with = 0;  // refused: the job of the lane (0: tfsnapd is stopping)
    bool accepted() const noexcept { return id != 0; }
};

class job_desk {
public:
    job_desk(runtime& rt, metrics::tfsnap_metrics& metrics, announcer& announce);

    // The runner the jobs run through (made after the desk: it takes run() as its job function).
    void attach(scheduler::runner& r) { runner_ = &r; }

    // The runner's job function.
    boost::asio::awaitable<scheduler::job_outcome> run(scheduler::fire f);

    // Queues `r`; accepted, or refused naming the lane's job.
    submit_answer submit(job_request r);

    // tfsnap_snapshots and tfsnap_version_expiry_timestamp_seconds of `env`, from its catalog;
    // returns the version its newest snapshot pins ("" without any; nullopt when unreadable).
    std::optional<std::string> refresh_catalog_metrics(const config::environment& env);

    // The environment's health from what its jobs last saw (read from the catalog the first time).
    environment_health health(const config::environment& env, core::time_point now);
    // A new configuration: schedule intervals are computed again.
    void reconfigured();

private:
    // What the jobs last saw of an environment.
    struct memory {
        bool seeded = false;
        std::optional<backup::backup_check> last;  // the last backup check
        std::string pinned;                        // the version its newest snapshot pins
        std::optional<std::optional<std::chrono::seconds>>
            every;  // backup_interval(), once per configuration
    };
    memory& remember(const config::environment& env);
    void saw(const config::environment& env, const std::string& schedule, const backup::backup_outcome& out,
             const std::optional<std::string>& newest_pinned);

    boost::asio::awaitable<scheduler::job_outcome> backup(const config::environment& env, client_set& clients,
                                                          backup::backup_request req, std::uint64_t job);
    boost::asio::awaitable<scheduler::job_outcome> verify(const config::environment& env,
                                                          client_set& clients);
    boost::asio::awaitable<scheduler::job_outcome> prune(const config::environment& env, client_set& clients);
    boost::asio::awaitable<scheduler::job_outcome> restore(const config::environment& env,
                                                           client_set& clients, job_request r,
                                                           std::uint64_t job);
    boost::asio::awaitable<scheduler::job_outcome> plan(const config::environment& env, client_set& clients,
                                                        job_request r);
    void backup_metrics(const config::environment& env, const std::string& schedule,
                        const backup::backup_outcome& out, double seconds);
    std::function<void(std::string_view, int, int)> progress_of(std::uint64_t job);

    runtime& rt_;
    metrics::tfsnap_metrics& metrics_;
    announcer& announce_;
    scheduler::runner* runner_ = nullptr;
    std::map<std::string, job_request> requests_;  // queued on-demand jobs, by fire::request
    std::map<std::string, memory> memory_;         // by environment
    std::uint64_t request_counter_ = 0;
};

// JSON of a prune report and of a restore's result (as GET /v1/jobs/{id} shows them).
std::string prune_json(const backup::prune_report& p);
std::string restore_result_json(const restore::restore_result& r);

}  // namespace tfsnap::daemon
