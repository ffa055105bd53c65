#pragma once
// Runs the schedule plan: sleeps until the next due time, turns due slots into jobs, applies
// the per-environment concurrency policy and the global cap, and persists the cursors.
//
// - forbid: a fire for a lane (an environment's backups, or its verify jobs) with a job queued
//   or running is skipped (recorded).
// - replace: the running job gets a terminal cancellation on its own signal and the new fire
//   starts once it has finished; a queued fire of the same environment is replaced. A job whose
//   fire is not `replaceable` (an operator's restore or undelete) is never cancelled or dropped:
//   the new fire waits in the queue behind it, and its record says so.
// - at most `max_concurrent_jobs` jobs run; the rest wait in due order.
// Each fire gets a job id and a record; finished records stay in a bounded history.
//
// Cursors are saved through the stamp store every time slots are taken, before their jobs
// start (a slot counts as handled once fired, like systemd's Persistent=).
//
// run(): loads the stamps (a load error throws system_error with the store's detail), then
// loops until cancelled. On cancellation it cancels every running job, drops the queue,
// waits for all jobs to finish and rethrows. Jobs are child coroutines on the same executor,
// each with its own cancellation signal; none outlives run().
//
// Thread safety: none; the runner and its jobs run on one executor (one I/O thread).
// Lifetime: everything passed by reference must outlive run().

#include "tfsnap/core/clock.hpp"
#include "tfsnap/core/logger.hpp"
#include "tfsnap/scheduler/plan.hpp"
#include "tfsnap/scheduler/schedule_spec.hpp"
#include "tfsnap/scheduler/sleeper.hpp"
#include "tfsnap/scheduler/stamp_store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::scheduler {

struct job_outcome {
    bool ok = true;
    std::string detail;
    std::string result{};  // what the job produced, as a JSON object (a restore's steps); may be empty
};

// The job a fire runs. It is cancelled through its coroutine's cancellation slot (replace,
// shutdown); throwing fails the job.
using job_function = std::function<boost::asio::awaitable<job_outcome>(const fire&)>;

enum class job_status {
    queued,           // waiting for the global cap or for a replaced job to finish
    running,          //
    succeeded,        //
    failed,           // the job said so or threw
    skipped_running,  // forbid: the environment already had a job
    skipped_missed,   // missed_policy::skip: slots passed over
    replaced,         // replace: cancelled (running) or dropped (queued) for a newer fire
    cancelled,        // the runner stopped
};

std::string_view to_string(job_status s) noexcept;

struct job_record {
    std::uint64_t id = 0;
    fire what;
    job_status status = job_status::queued;
    core::time_point fired_at;  // wall clock when the slot was taken
    std::optional<core::time_point> started_at;
    std::optional<core::time_point> finished_at;
    std::string detail;
    bool on_demand = false;
    std::string step{};  // progress of a running job
    int done = 0;
    int total = 0;
    std::string result{};  // job_outcome::result of a finished job
};

struct runner_counters {
    std::uint64_t fired = 0;  // fires taken from the plan
    std::uint64_t started = 0;
    std::uint64_t succeeded = 0;
    std::uint64_t failed = 0;
    std::uint64_t skipped_running = 0;
    std::uint64_t skipped_missed = 0;
    std::uint64_t replaced = 0;
    std::uint64_t cancelled = 0;
    std::size_t max_in_flight = 0;
};

struct runner_config {
    std::size_t max_concurrent_jobs = 4;
    // Called whenever a job record changes (queued, started, finished), for status pages and
    // long polls. Runs on the runner's executor.
    std::function<void(const job_record&)> on_change{};
    std::size_t history_limit = 256;  // finished records kept
    // Finished records older than this are dropped too (tfsnapd's job_retention).
    std::chrono::seconds history_max_age{std::chrono::hours{24}};
    plan_options plan;
    // How long to sleep when no schedule has a next slot.
    std::chrono::seconds idle_sleep{std::chrono::hours{1}};
    // The first job's id; the next ones count up from it (tfsnapd: job_id_store.hpp, so that ids
    // stay unique across restarts).
    std::uint64_t first_id = 1;
};

class runner {
public:
    runner(boost::asio::any_io_executor ex, const core::wall_clock& clock, sleeper& sleep,
           std::vector<schedule_spec> specs, stamp_store& stamps, job_function job, runner_config cfg,
           const core::logger* log = nullptr);

    runner(const runner&) = delete;
    runner& operator=(const runner&) = delete;

    // Loads the stamps and builds the plan (run() does it when nobody did): "" or what is wrong,
    // so that a daemon can refuse to start (and not tell systemd it is ready) before running.
    std::string load();

    boost::asio::awaitable<void> run();

    // An on-demand job (a backup, verify, restore, ... asked for over the API) for `what.lane`.
    // The lane's `forbid` applies: when a job of the lane is queued or running, nothing is
    // queued and `busy_with` names that job. Otherwise the job is queued (the global cap
    // applies) and `id` names it. `what.schedule` is ignored; `what.name` and `what.request`
    // tell the job function what to do.
    struct submit_result {
        std::uint64_t id = 0;
        std::uint64_t busy_with = 0;
        bool accepted() const noexcept { return id != 0; }
    };
    submit_result submit(fire what);

    // New schedules (a reloaded configuration): the plan is rebuilt from the stamps taken so
    // far; queued and running jobs go on. Before run() has started, it simply replaces them.
    void update(std::vector<schedule_spec> specs);

    // A running job's progress, shown in its record ("safety snapshot", 3 of 7).
    void progress(std::uint64_t id, std::string step, int done, int total);

    // The record of job `id`, queued, running or finished (while it is in the history).
    std::optional<job_record> find(std::uint64_t id) const;
    // Finished records, oldest first (at most history_limit).
    const std::deque<job_record>& history() const noexcept { return history_; }
    // Queued and running records, by id.
    std::vector<job_record> active() const;
    const runner_counters& counters() const noexcept { return counters_; }
    std::size_t in_flight() const noexcept { return running_.size(); }
    // Set once run() has loaded the stamps.
    const plan* current_plan() const noexcept { return plan_ ? &*plan_ : nullptr; }

private:
    struct running_job {
        std::uint64_t id = 0;
        std::unique_ptr<boost::asio::cancellation_signal> signal;
        bool replaced = false;
    };

    void take(const due_batch& batch, core::time_point now);
    void on_fire(const fire& f, core::time_point now);
    void start_queued();
    void start(std::uint64_t id);
    void on_done(std::uint64_t id, std::exception_ptr e, job_outcome outcome);
    void finish(std::uint64_t id, job_status status, std::string detail, std::string result = {});
    void record_finished(job_record rec);
    void changed(const job_record& rec) const;
    // The queued job of `lane`, or queue_.end().
    std::vector<std::uint64_t>::iterator queued_in(const std::string& lane);
    void persist();
    boost::asio::awaitable<job_outcome> run_job(fire f);
    boost::asio::awaitable<void> shutdown();
    void log(core::log_level level, std::string_view message, const job_record& rec) const;

    boost::asio::any_io_executor ex_;
    const core::wall_clock& clock_;
    sleeper& sleeper_;
    std::vector<schedule_spec> specs_;
    stamp_store& stamps_;
    job_function job_;
    runner_config cfg_;
    const core::logger* log_;

    std::optional<plan> plan_;
    std::uint64_t next_id_ = 1;
    std::map<std::uint64_t, job_record> active_;
    std::vector<std::uint64_t> queue_;            // ids, in (due, id) order
    std::map<std::string, running_job> running_;  // by lane (fire::lane)
    std::deque<job_record> history_;
    runner_counters counters_;
    bool stopping_ = false;
    boost::asio::steady_timer children_done_;
};

}  // namespace tfsnap::scheduler
