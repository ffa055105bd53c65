#pragma once
// What the daemon tells the webhooks (`notify:`): a failed or cancelled job, a backup or verify
// that succeeded, a deleted state (once per delete marker), snapshots a lifecycle rule will
// delete without a copy (when their number changes), and every restore or undelete.
//
// Deliveries run on their own (notify::dispatcher, with its own HTTP client and deadlines); a
// slow or failing webhook never holds a job.
// Thread safety: none; use from the I/O thread.

#include "tfsnap/backup/backup_job.hpp"
#include "tfsnap/config/config.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/notify/dispatcher.hpp"
#include "tfsnap/restore/restore.hpp"
#include "tfsnap/scheduler/runner.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace tfsnap::daemon {

class announcer {
public:
    announcer(boost::asio::any_io_executor ex, const core::wall_clock& clock, core::logger log,
              std::string host);
    ~announcer();

    void configure(const std::vector<config::webhook_config>& hooks);

    // A finished job: `failure` for a failed or cancelled one, `success` for a backup or verify
    // that succeeded. Each job once.
    void job_finished(const scheduler::job_record& rec);
    void backup_finished(const config::environment& env, const backup::backup_outcome& out);
    void restore_finished(const config::environment& env, const restore::restore_request& req,
                          const restore::restore_result& r);

    // At shutdown: the deliveries in flight get until `until`, then are cancelled; returns once
    // none is left.
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point until);

private:
    notify::event make_event(notify::event_kind kind, const std::string& env) const;

    const core::wall_clock& clock_;
    std::unique_ptr<http::client> http_;
    std::unique_ptr<notify::dispatcher> webhooks_;
    std::set<std::uint64_t> notified_jobs_;                // finished jobs already announced
    std::map<std::string, std::string> deleted_notified_;  // env -> the delete marker announced
    std::map<std::string, std::size_t> at_risk_notified_;  // env -> the at-risk count announced
};

}  // namespace tfsnap::daemon
