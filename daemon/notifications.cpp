#include "notifications.hpp"

#include "tfsnap/notify/event.hpp"

namespace tfsnap::daemon {

announcer::announcer(boost::asio::any_io_executor ex, const core::wall_clock& clock, core::logger log,
                     std::string host)
    : clock_(clock) {
    // their own HTTP client: the system CA store, short deadlines per delivery
    http::client_config hc;
    hc.user_agent = "tfsnap/" TFSNAP_VERSION;
    http_ = std::make_unique<http::client>(ex, hc);
    webhooks_ = std::make_unique<notify::dispatcher>(ex, *http_, log, std::move(host));
}

announcer::~announcer() = default;

void announcer::configure(const std::vector<config::webhook_config>& hooks) {
    webhooks_->configure(hooks);
}

notify::event announcer::make_event(notify::event_kind kind, const std::string& env) const {
    notify::event e;
    e.kind = kind;
    e.environment = env;
    e.at = clock_.now();
    return e;
}

void announcer::job_finished(const scheduler::job_record& rec) {
    const bool failed =
        rec.status == scheduler::job_status::failed || rec.status == scheduler::job_status::cancelled;
    const bool succeeded = rec.status == scheduler::job_status::succeeded;
    if (!failed && !succeeded)
        return;
    if (!notified_jobs_.insert(rec.id).second)
        return;
    while (notified_jobs_.size() > 4096)
        notified_jobs_.erase(notified_jobs_.begin());
    const auto kind = rec.what.kind;
    const bool routine = kind == scheduler::job_kind::restore || kind == scheduler::job_kind::undelete ||
                         kind == scheduler::job_kind::prune;
    if (succeeded && routine)
        return;  // a restore has its own event; a prune is routine
    auto e =
        make_event(failed ? notify::event_kind::failure : notify::event_kind::success, rec.what.environment);
    e.job_id = std::to_string(rec.id);
    e.job_kind = std::string(scheduler::to_string(kind));
    e.result = std::string(scheduler::to_string(rec.status));
    e.message = e.job_kind + " " +
                (kind == scheduler::job_kind::backup ? "(" + rec.what.name + ") " : std::string()) +
                e.result + (rec.detail.empty() ? std::string() : ": " + rec.detail);
    webhooks_->publish(e);
}

void announcer::backup_finished(const config::environment& env, const backup::backup_outcome& out) {
    if (out.status == backup::backup_status::state_deleted) {
        auto& seen = deleted_notified_[env.name];
        if (seen != out.version_id || out.version_id.empty()) {
            seen = out.version_id;
            auto e = make_event(notify::event_kind::state_deleted, env.name);
            e.job_kind = "backup";
            e.result = "state-deleted";
            e.message = out.message;
            webhooks_->publish(e);
        }
    } else if (out.ok()) {
        deleted_notified_.erase(env.name);
    }
    if (out.guard) {
        auto& seen = at_risk_notified_[env.name];
        if (out.guard->at_risk > 0 && out.guard->at_risk != seen) {
            auto e = make_event(notify::event_kind::expiry, env.name);
            e.job_kind = "backup";
            e.result = "at-risk";
            e.message = std::to_string(out.guard->at_risk) +
                        " snapshot(s) will be deleted by a bucket lifecycle rule and have no copy";
            webhooks_->publish(e);
        }
        seen = out.guard->at_risk;
    }
}

void announcer::restore_finished(const config::environment& env, const restore::restore_request& req,
                                 const restore::restore_result& r) {
    auto e = make_event(notify::event_kind::restore, env.name);
    e.job_kind = req.undelete ? "undelete" : "restore";
    e.snapshot_id = req.snapshot_id;
    e.result = std::string(restore::to_string(r.result));
    e.message = e.job_kind + " by " + (req.user.empty() ? std::string("?") : req.user) + " (" + req.reason +
                "): " + e.result + (r.message.empty() ? std::string() : ": " + r.message);
    webhooks_->publish(e);
    if (r.ok())
        deleted_notified_.erase(env.name);  // the state is back: a new delete is news again
}

boost::asio::awaitable<void> announcer::drain(std::chrono::steady_clock::time_point until) {
    // (the result named first: GCC 12 miscompiles a co_await inside a condition)
    const bool idle = co_await webhooks_->drained(until);
    if (!idle) {
        webhooks_->cancel();
        (void)co_await webhooks_->drained(std::chrono::steady_clock::time_point::max());
    }
    http_->close_idle();
}

}  // namespace tfsnap::daemon
