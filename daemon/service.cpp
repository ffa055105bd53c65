#include "service.hpp"

#include "clients.hpp"
#include "identity.hpp"

#include "tfsnap/backup/backup_job.hpp"
#include "tfsnap/backup/records.hpp"
#include "tfsnap/backup/verify_job.hpp"
#include "tfsnap/config/load.hpp"
#include "tfsnap/config/validate.hpp"
#include "tfsnap/control/body.hpp"
#include "tfsnap/control/change_notifier.hpp"
#include "tfsnap/control/metrics_listener.hpp"
#include "tfsnap/control/server.hpp"
#include "tfsnap/core/atomic_file.hpp"
#include "tfsnap/core/dir_owner.hpp"
#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/metrics/registry.hpp"
#include "tfsnap/metrics/tfsnap_metrics.hpp"
#include "tfsnap/notify/dispatcher.hpp"
#include "tfsnap/notify/event.hpp"
#include "tfsnap/restore/audit.hpp"
#include "tfsnap/restore/plan_token.hpp"
#include "tfsnap/restore/restore.hpp"
#include "tfsnap/scheduler/job_id_store.hpp"
#include "tfsnap/scheduler/runner.hpp"
#include "tfsnap/scheduler/sleeper.hpp"
#include "tfsnap/scheduler/stamp_store.hpp"
#include "tfsnap/systemd/journal_sink.hpp"
#include "tfsnap/systemd/listen_fds.hpp"
#include "tfsnap/systemd/notifier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <pwd.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <memory>
#include <set>

extern char** environ;

namespace tfsnap::daemon {

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using control::json_response;

constexpr int exit_ok = 0;
constexpr int exit_software = 70;
constexpr int exit_config = 78;
constexpr int exit_in_use = 75;  // EX_TEMPFAIL: another process owns the state_dir

// A small JSON writer over RapidJSON for the API's answers.
class json {
public:
    json& key(std::string_view k) {
        w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        return *this;
    }
    json& str(std::string_view v) {
        w_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
        return *this;
    }
    json& num(double v) {
        w_.Double(v);
        return *this;
    }
    json& integer(long long v) {
        w_.Int64(v);
        return *this;
    }
    json& boolean(bool v) {
        w_.Bool(v);
        return *this;
    }
    json& null() {
        w_.Null();
        return *this;
    }
    json& raw(std::string_view v) {
        w_.RawValue(v.data(), v.size(), rapidjson::kObjectType);
        return *this;
    }
    json& begin_object() {
        w_.StartObject();
        return *this;
    }
    json& end_object() {
        w_.EndObject();
        return *this;
    }
    json& begin_array() {
        w_.StartArray();
        return *this;
    }
    json& end_array() {
        w_.EndArray();
        return *this;
    }
    json& field(std::string_view k, std::string_view v) { return key(k).str(v); }
    std::string take() { return std::string(buf_.GetString(), buf_.GetSize()); }

private:
    rapidjson::StringBuffer buf_;
    rapidjson::Writer<rapidjson::StringBuffer> w_{buf_};
};

std::string rfc3339(core::time_point t) {
    return core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(t));
}

class service {
public:
    explicit service(std::string file) : file_(std::move(file)) {}

    int run() {
        setup_logging();
        auto loaded = config::load_file(file_);
        if (!loaded.ok()) {
            for (const auto& d : loaded.diagnostics)
                std::cerr << config::format(d) << "\n";
            std::cerr << file_ << ": " << loaded.diagnostics.size()
                      << (loaded.diagnostics.size() == 1 ? " problem" : " problems")
                      << "; nothing was started\n";
            return exit_config;
        }
        cfg_ = std::make_shared<config::daemon_config>(std::move(*loaded.config));
        // One owner per state_dir: only the owner recovers journals, cleans scratch files and
        // writes the catalog. Held until the process exits, however it exits.
        auto claim = core::claim_dir(cfg_->state_dir, "tfsnapd --config " + file_);
        if (!claim.owner) {
            const std::string why =
                claim.busy
                    ? cfg_->state_dir + " is in use by another tfsnap process (" +
                          (claim.holder.empty() ? std::string("pid unknown") : "pid " + claim.holder) +
                          "): one tfsnapd per state_dir; stop that one first, or give this one its own "
                          "state_dir"
                    : "cannot own " + cfg_->state_dir + ": " + claim.error.message();
            log_.error(why);
            std::cerr << "tfsnapd: " << why << "\n";
            return claim.busy ? exit_in_use : exit_software;
        }
        owner_.emplace(std::move(*claim.owner));
        catalog_ = std::make_unique<catalog::catalog>(cfg_->state_dir);
        if (auto s = catalog_->open()) {
            log_.error("cannot open the catalog: " + s.info.path + ": " + s.info.message);
            return exit_software;
        }
        clients_ = make_clients();
        jobs_.emplace(backup::job_context{
            *catalog_, clock_, log_, buckets_, "tfsnapd@" + host_name(), TFSNAP_VERSION, std::nullopt, {}});
        std::string key_problem;
        rctx_.emplace(restore::restore_context{*jobs_,
                                               cfg_->state_dir,
                                               plan_token_key(cfg_->state_dir, key_problem),
                                               host_name(),
                                               "tfsnap " TFSNAP_VERSION,
                                               {},
                                               {}});
        rctx_->undo_command = "tfsnapctl restore";
        if (!key_problem.empty())
            log_.warning("cannot keep the plan-token key (" + key_problem +
                         "): plans made by tfsnapd restore and by this daemon do not mix");
        metrics_.emplace(registry_, TFSNAP_VERSION);
        // webhooks: their own HTTP client (system CA store, short deadlines per delivery)
        http::client_config hc;
        hc.user_agent = "tfsnap/" TFSNAP_VERSION;
        webhook_http_ = std::make_unique<http::client>(io_.get_executor(), hc);
        webhooks_ =
            std::make_unique<notify::dispatcher>(io_.get_executor(), *webhook_http_, log_, host_name());
        webhooks_->configure(cfg_->notify.webhooks);
        changes_.emplace(io_.get_executor());

        int rc = exit_ok;
        asio::co_spawn(io_, main(), [&](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& x) {
                    log_.error(std::string("tfsnapd stopped on an error: ") + x.what());
                }
                rc = exit_software;
            }
        });
        io_.run();
        return rc_ != exit_ok ? rc_ : rc;
    }

private:
    // ------------------------------------------------------------------------------ life
    void setup_logging() {
        if (systemd::stderr_is_journal())
            sink_ = std::make_unique<systemd::journal_sink>();
        else
            sink_ = std::make_unique<core::stream_sink>(std::cerr);
        log_ = core::logger(*sink_, core::log_level::info);
    }

    asio::awaitable<void> main() {
        // 1. what an interrupted restore left behind
        const auto recovered = co_await restore::recover_journals(
            *rctx_, *owner_, *cfg_, [this](const config::environment& e) { return clients_->access(e); });
        (void)recovered;  // logged and audited by recover_journals

        // 2. the scheduler
        auto specs = scheduler::make_specs(*cfg_);
        for (const auto& e : specs.errors)
            log_.error("schedule " + e.environment + "/" + e.schedule + ": " + e.message);
        stamps_ = std::make_unique<scheduler::file_stamp_store>(cfg_->state_dir);
        sleeper_ =
            std::make_unique<scheduler::steady_sleeper>(io_.get_executor(), clock_, std::chrono::seconds(30));
        scheduler::runner_config rc;
        rc.max_concurrent_jobs = static_cast<std::size_t>(cfg_->max_concurrent_jobs);
        rc.history_max_age = std::chrono::duration_cast<std::chrono::seconds>(cfg_->job_retention);
        // a sweep of every environment at once must stay visible: job_retention is the real bound
        rc.history_limit = 16384;
        // job ids unique across restarts: a client polling /v1/jobs/ID is never told of another job
        job_ids_ = std::make_unique<scheduler::job_id_store>(cfg_->state_dir);
        const auto ids = job_ids_->start(clock_.now());
        if (!ids.problem.empty())
            log_.warning(ids.problem, {{"event", "job-ids-reset"}});
        rc.first_id = ids.first_id;
        rc.on_change = [this](const scheduler::job_record& rec) {
            if (const auto problem = job_ids_->used(rec.id); !problem.empty())
                log_.error(problem, {{"event", "job-ids-unsaved"}});
            changes_->notify_all();
            update_status();
            notify_job(rec);
        };
        runner_ = std::make_unique<scheduler::runner>(
            io_.get_executor(), clock_, *sleeper_, std::move(specs.specs), *stamps_,
            [this](const scheduler::fire& f) { return run_job(f); }, rc, &log_);

        // 3. the control server
        control::server_config sc;
        sc.socket_path = cfg_->control.socket;
        sc.access = cfg_->control;
        server_ = std::make_unique<control::server>(
            io_.get_executor(), sc, [this](control::request_context rq) { return handle(std::move(rq)); },
            log_);
        const auto fds = systemd::listen_fds();
        boost::system::error_code ec;
        if (!fds.ok()) {
            log_.error("the socket systemd passed is not usable: " + fds.error.message);
            rc_ = exit_software;
            co_return;
        }
        if (!fds.sockets.empty()) {
            ec = server_->adopt(fds.sockets.front().fd);
        } else {
            // The socket's directory must let the socket's group through (the socket itself is
            // 0660): under tfsnapd's umask 077 a directory it makes would be 0700.
            std::error_code mk;
            const fs::path dir = fs::path(sc.socket_path).parent_path();
            if (!dir.empty() && !fs::exists(dir, mk) && fs::create_directories(dir, mk))
                fs::permissions(dir,
                                fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec,
                                mk);
            ec = server_->listen();
        }
        if (ec) {
            log_.error("control socket: " + server_->error_detail());
            std::cerr << "tfsnapd: control socket: " << server_->error_detail() << "\n";
            rc_ = exit_software;
            co_return;
        }

        // 4. run everything; READY=1 once all of it runs
        auto ex = co_await asio::this_coro::executor;
        start_metrics_listener();
        asio::co_spawn(ex, runner_->run(),
                       asio::bind_cancellation_slot(stop_runner_.slot(), [this](std::exception_ptr) {
                           runner_done_ = true;
                           wake_.cancel();
                       }));
        asio::co_spawn(ex, server_->run(),
                       asio::bind_cancellation_slot(stop_server_.slot(), [this](std::exception_ptr) {
                           server_done_ = true;
                           wake_.cancel();
                       }));
        asio::co_spawn(ex, housekeeping(),
                       asio::bind_cancellation_slot(stop_housekeeping_.slot(), [this](std::exception_ptr) {
                           housekeeping_done_ = true;
                           wake_.cancel();
                       }));
        log_.notice("tfsnapd " TFSNAP_VERSION " started: " + std::to_string(cfg_->environments.size()) +
                    " environment(s), control socket " + sc.socket_path);
        update_status();
        (void)notify_.ready();

        // 5. signals
        asio::signal_set signals(ex, SIGTERM, SIGINT, SIGHUP);
        for (;;) {
            auto [sec, sig] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
            if (sec)
                break;
            if (sig == SIGHUP) {
                reload();
                continue;
            }
            log_.notice(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
            break;
        }
        co_await shutdown();
    }

    // metrics.listen: GET /metrics on a loopback TCP address too. A listener that cannot bind
    // is logged; the daemon goes on (the control socket serves /metrics as well).
    void start_metrics_listener() {
        if (!cfg_->metrics.listen)
            return;
        const auto addr = config::parse_listen_address(*cfg_->metrics.listen);
        if (!addr)
            return;  // validated at load
        control::metrics_listener_config mc;
        mc.host = addr->host;
        mc.port = addr->port;
        metrics_listener_ = std::make_unique<control::metrics_listener>(
            io_.get_executor(), mc, [this] { return registry_.expose(); }, log_);
        if (const auto ec = metrics_listener_->listen()) {
            log_.error(metrics_listener_->error_detail() + "; metrics stay on the control socket only",
                       {{"event", "metrics-listen-failed"}});
            metrics_listener_.reset();
            return;
        }
        metrics_done_ = false;
        asio::co_spawn(io_, metrics_listener_->run(),
                       asio::bind_cancellation_slot(stop_metrics_.slot(), [this](std::exception_ptr) {
                           metrics_done_ = true;
                           wake_.cancel();
                       }));
        log_.notice("metrics on http://" + *cfg_->metrics.listen + "/metrics");
    }

    asio::awaitable<void> shutdown() {
        (void)notify_.stopping();
        stop_server_.emit(asio::cancellation_type::total);
        stop_housekeeping_.emit(asio::cancellation_type::terminal);
        stop_metrics_.emit(asio::cancellation_type::total);
        // running jobs may finish within the grace time; then the runner cancels them
        const auto deadline = std::chrono::steady_clock::now() + cfg_->shutdown_grace;
        asio::steady_timer t(co_await asio::this_coro::executor);
        while (runner_->in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
            t.expires_after(200ms);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        stop_runner_.emit(asio::cancellation_type::terminal);
        while (!(runner_done_ && server_done_ && housekeeping_done_ && metrics_done_)) {
            wake_.expires_after(1s);
            co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        // notifications of the last jobs: what is left of the grace time, at most 5 s more
        const auto webhooks_until = std::min(std::max(deadline, std::chrono::steady_clock::now() + 1s),
                                             std::chrono::steady_clock::now() + 5s);
        while (webhooks_->in_flight() > 0 && std::chrono::steady_clock::now() < webhooks_until) {
            t.expires_after(100ms);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        webhooks_->cancel();
        while (webhooks_->in_flight() > 0) {
            t.expires_after(10ms);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        webhook_http_->close_idle();
        log_.notice("tfsnapd stopped");
    }

    // STATUS= every 30 s, WATCHDOG=1 at half the watchdog interval; every minute, the journals of
    // restores that ended without releasing everything (S3 or DynamoDB failing past their retries)
    // are tried again, so that no lock of tfsnap's waits for the next start.
    asio::awaitable<void> housekeeping() {
        asio::steady_timer t(co_await asio::this_coro::executor);
        const auto wd = notify_.watchdog_interval();
        const auto tick = wd ? std::min<std::chrono::microseconds>(*wd / 2, std::chrono::seconds(30))
                             : std::chrono::microseconds(std::chrono::seconds(30));
        auto next_retry = std::chrono::steady_clock::now() + journal_retry_interval;
        for (;;) {
            if (wd)
                (void)notify_.watchdog();
            update_status();
            if (std::chrono::steady_clock::now() >= next_retry) {
                next_retry = std::chrono::steady_clock::now() + journal_retry_interval;
                auto cfg = cfg_;
                auto clients = clients_;
                co_await restore::retry_journals(
                    *rctx_, *owner_, *cfg,
                    [clients](const config::environment& e) { return clients->access(e); });
            }
            t.expires_after(tick);
            co_await t.async_wait(asio::use_awaitable);
        }
    }
    static constexpr std::chrono::seconds journal_retry_interval{60};

    void update_status() {
        std::string s = std::to_string(cfg_->environments.size()) + " envs";
        if (runner_) {
            s += " · " + std::to_string(runner_->in_flight()) + " running";
            if (const auto* p = runner_->current_plan()) {
                if (const auto next = p->next_due()) {
                    const auto in = std::chrono::duration_cast<std::chrono::minutes>(*next - clock_.now());
                    s += " · next in " + std::to_string(in.count() / 60) + "h" +
                         std::to_string(in.count() % 60) + "m";
                }
            }
            if (!runner_->history().empty()) {
                const auto& last = runner_->history().back();
                s += " · last: " + last.what.environment + " " +
                     std::string(scheduler::to_string(last.status));
                if (last.finished_at)
                    s += " " + rfc3339(*last.finished_at).substr(11, 5);
            }
        }
        if (s != last_status_) {
            last_status_ = s;
            (void)notify_.status(s);
        }
    }

    // ------------------------------------------------------------------------------ reload
    std::string reload() {
        (void)notify_.reloading();
        auto loaded = config::load_file(file_);
        if (!loaded.ok()) {
            for (const auto& d : loaded.diagnostics)
                log_.error("reload: " + config::format(d));
            log_.error("reload: the new configuration has " + std::to_string(loaded.diagnostics.size()) +
                       " problem(s); the running one stays");
            (void)notify_.ready();
            return "invalid: " + std::to_string(loaded.diagnostics.size()) +
                   " problem(s); the running configuration stays";
        }
        auto next = std::make_shared<config::daemon_config>(std::move(*loaded.config));
        if (next->state_dir != cfg_->state_dir || next->control.socket != cfg_->control.socket ||
            next->metrics.listen != cfg_->metrics.listen)
            log_.warning(
                "reload: state_dir, control.socket and metrics.listen take effect at the next start");
        next->state_dir = cfg_->state_dir;
        next->control.socket = cfg_->control.socket;
        next->metrics.listen = cfg_->metrics.listen;
        for (const auto& old : cfg_->environments)
            if (!next->find(old.name))
                metrics_->forget_environment(old.name);
        auto specs = scheduler::make_specs(*next);
        for (const auto& e : specs.errors)
            log_.error("schedule " + e.environment + "/" + e.schedule + ": " + e.message);
        cfg_ = next;
        // clients are rebuilt for the new settings; jobs that run keep the ones they started with
        clients_ = make_clients();
        runner_->update(std::move(specs.specs));
        server_->set_access(cfg_->control);
        webhooks_->configure(cfg_->notify.webhooks);
        log_.notice("reloaded " + file_ + ": " + std::to_string(cfg_->environments.size()) +
                    " environment(s)");
        update_status();
        (void)notify_.ready();
        return "reloaded";
    }

    // ------------------------------------------------------------------------------ webhooks
    notify::event make_event(notify::event_kind kind, const std::string& env) const {
        notify::event e;
        e.kind = kind;
        e.environment = env;
        e.at = clock_.now();
        return e;
    }

    // A finished job: `failure` for a failed or cancelled one, `success` for a backup or verify
    // that succeeded. Each job once.
    void notify_job(const scheduler::job_record& rec) {
        const bool failed =
            rec.status == scheduler::job_status::failed || rec.status == scheduler::job_status::cancelled;
        const bool succeeded = rec.status == scheduler::job_status::succeeded;
        if (!failed && !succeeded)
            return;
        if (!notified_jobs_.insert(rec.id).second)
            return;
        while (notified_jobs_.size() > 4096)
            notified_jobs_.erase(notified_jobs_.begin());
        const std::string& name = rec.what.name;
        const bool restore_like = name == "restore" || name == "undelete";
        const std::string kind = rec.what.kind == scheduler::job_kind::verify ? "verify"
                                 : restore_like || name == "prune"            ? name
                                                                              : "backup";
        if (succeeded && (restore_like || name == "prune"))
            return;  // a restore has its own event; a prune is routine
        auto e = make_event(failed ? notify::event_kind::failure : notify::event_kind::success,
                            rec.what.environment);
        e.job_id = std::to_string(rec.id);
        e.job_kind = kind;
        e.result = std::string(scheduler::to_string(rec.status));
        e.message = kind + " " + (kind == "backup" ? "(" + name + ") " : std::string()) + e.result +
                    (rec.detail.empty() ? std::string() : ": " + rec.detail);
        webhooks_->publish(e);
    }

    // What a backup found that someone must act on: a deleted state (once per delete marker) and
    // snapshots a lifecycle rule will delete without a copy (when their number changes).
    void notify_backup(const config::environment& env, const backup::backup_outcome& out) {
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
        } else {
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

    void notify_restore(const config::environment& env, const restore::restore_request& req,
                        const restore::restore_result& r) {
        auto e = make_event(notify::event_kind::restore, env.name);
        e.job_kind = req.undelete ? "undelete" : "restore";
        e.snapshot_id = req.snapshot_id;
        e.result = std::string(restore::to_string(r.result));
        e.message = e.job_kind + " by " + (req.user.empty() ? std::string("?") : req.user) + " (" +
                    req.reason + "): " + e.result + (r.message.empty() ? std::string() : ": " + r.message);
        webhooks_->publish(e);
    }

    std::shared_ptr<client_set> make_clients() {
        auto c =
            std::make_shared<client_set>(io_.get_executor(), clock_, log_, aws::capture_environment(environ));
        c->observe_s3([this](std::string_view op, unsigned status) {
            const std::string code = status == 0 ? "error" : std::to_string(status);
            metrics_->s3_requests_total.with({std::string(op), code}).inc();
        });
        return c;
    }

    // ------------------------------------------------------------------------------ jobs
    struct on_demand {
        std::function<asio::awaitable<scheduler::job_outcome>(std::uint64_t)> run;
    };

    asio::awaitable<scheduler::job_outcome> run_job(scheduler::fire f) {
        auto cfg = cfg_;          // the configuration and clients the job started with
        auto clients = clients_;  // live as long as the job
        const config::environment* env = cfg->find(f.environment);
        if (env == nullptr)
            co_return scheduler::job_outcome{false,
                                             "environment " + f.environment + " is no longer configured"};
        if (!f.request.empty()) {
            const auto it = requests_.find(f.request);
            if (it == requests_.end())
                co_return scheduler::job_outcome{false, "lost request"};
            auto req = std::move(it->second);
            requests_.erase(it);
            // the job may start before submit() returns (co_spawn dispatches): results are
            // filed under the request's number, which the job's id is mapped to
            co_return co_await req.run(std::stoull(f.request));
        }
        if (f.kind == scheduler::job_kind::verify)
            co_return co_await verify(*env, *clients);
        backup::backup_request b;
        b.schedule = f.name;
        co_return co_await backup(*env, *clients, std::move(b));
    }

    asio::awaitable<scheduler::job_outcome> backup(const config::environment& env, client_set& clients,
                                                   backup::backup_request req) {
        const auto started = std::chrono::steady_clock::now();
        const std::string schedule = req.schedule;
        auto out = co_await backup::run_backup(*jobs_, env, clients.access(env), std::move(req));
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        metrics_->backup_total.with({env.name, schedule, backup::to_string(out.status)}).inc();
        metrics_->backup_duration_seconds.with({env.name}).observe(secs);
        if (out.ok())
            metrics_->last_success_timestamp_seconds.with({env.name})
                .set(std::chrono::duration<double>(clock_.now().time_since_epoch()).count());
        metrics_->state_deleted.with({env.name})
            .set(out.status == backup::backup_status::state_deleted ? 1 : 0);
        if (out.guard)
            metrics_->expiry_at_risk.with({env.name}).set(static_cast<double>(out.guard->at_risk));
        refresh_catalog_metrics(env);
        notify_backup(env, out);
        co_return scheduler::job_outcome{out.ok(),
                                         std::string(backup::to_string(out.status)) + ": " + out.message};
    }

    asio::awaitable<scheduler::job_outcome> verify(const config::environment& env, client_set& clients) {
        auto r = co_await backup::run_verify(*jobs_, env, clients.access(env));
        metrics_->verify_failures.with({env.name}).set(static_cast<double>(r.problems));
        co_return scheduler::job_outcome{r.ok(), std::to_string(r.snapshots) + " snapshot(s) checked, " +
                                                     std::to_string(r.problems) + " problem(s)" +
                                                     (r.error.empty() ? "" : ": " + r.error)};
    }

    void refresh_catalog_metrics(const config::environment& env) {
        std::vector<catalog::index_entry> entries;
        if (catalog_->list(env.name, entries))
            return;
        metrics_->snapshots.with({env.name}).set(static_cast<double>(entries.size()));
        for (const auto& e : entries) {
            if (e.expires_at) {
                if (const auto t = core::parse_rfc3339(*e.expires_at))
                    metrics_->version_expiry_timestamp_seconds.with({env.name, e.snapshot_id})
                        .set(static_cast<double>(t->time_since_epoch().count()));
            }
        }
    }

    // Queues an on-demand job; 202 with its id, or 409 naming the job of the lane.
    // `replaceable` false: a `concurrency: replace` schedule waits for the job instead of cancelling it
    // (an operator's restore or undelete).
    control::response submit(const config::environment& env, scheduler::job_kind kind, std::string name,
                             on_demand what, bool replaceable = true) {
        const std::uint64_t number = ++request_counter_;
        const std::string key = std::to_string(number);
        scheduler::fire f;
        f.environment = env.name;
        f.name = std::move(name);
        f.kind = kind;
        f.lane = kind == scheduler::job_kind::verify ? env.name + "/@verify" : env.name;
        f.request = key;
        f.replaceable = replaceable;
        requests_.emplace(key, std::move(what));
        const auto r = runner_->submit(f);
        if (!r.accepted()) {
            requests_.erase(key);
            auto e = control::json_error(409, "busy",
                                         r.busy_with != 0 ? "job " + std::to_string(r.busy_with) +
                                                                " of this environment is queued or running"
                                                          : "tfsnapd is stopping");
            json j;
            j.begin_object().key("error").begin_object().field("code", e.code).field("message", e.message);
            if (r.busy_with != 0)
                j.key("job_id").str(std::to_string(r.busy_with));
            j.end_object().end_object();
            return json_response(409, j.take());
        }
        request_of_job_[r.id] = number;
        while (request_of_job_.size() > 16384)  // as many as the runner keeps
            request_of_job_.erase(request_of_job_.begin());
        while (results_.size() > 1024)
            results_.erase(results_.begin());
        json j;
        j.begin_object().field("job_id", std::to_string(r.id)).field("state", "queued").end_object();
        return json_response(202, j.take());
    }

    // ------------------------------------------------------------------------------ API
    asio::awaitable<control::response> handle(control::request_context rq) {
        const auto& route = rq.route();
        const config::environment* env = nullptr;
        if (!route.env.empty()) {
            env = cfg_->find(route.env);
            if (env == nullptr)
                co_return control::error_reply(control::json_error(
                    404, "unknown_environment", "no environment " + route.env + " in " + file_));
        }
        const std::string& body = rq.req().body();
        switch (route.route) {
            case control::route_id::status:
                co_return json_response(200, status_json());
            case control::route_id::environments:
                co_return json_response(200, environments_json());
            case control::route_id::snapshots:
                co_return json_response(200, snapshots_json(*env));
            case control::route_id::versions:
                co_return co_await versions(*env);
            case control::route_id::retention: {
                auto clients = clients_;
                const auto p = co_await backup::prune(*jobs_, *env, clients->access(*env), true);
                co_return json_response(200, prune_json(p));
            }
            case control::route_id::backups: {
                auto b = control::parse_backup_body(body);
                if (!b.ok())
                    co_return control::error_reply(*b.error);
                backup::backup_request req;
                req.schedule = b.value.schedule.value_or("on-demand");
                const std::string user = co_await rq.user_name();
                req.requested_by = user + "@" + host_name();
                const config::environment e = *env;
                co_return submit(*env, scheduler::job_kind::backup, req.schedule,
                                 {[this, e, req](std::uint64_t) -> asio::awaitable<scheduler::job_outcome> {
                                     auto clients = clients_;
                                     co_return co_await backup(e, *clients, req);
                                 }});
            }
            case control::route_id::verifications: {
                auto b = control::parse_verification_body(body);
                if (!b.ok())
                    co_return control::error_reply(*b.error);
                const config::environment e = *env;
                co_return submit(*env, scheduler::job_kind::verify, "verify",
                                 {[this, e](std::uint64_t) -> asio::awaitable<scheduler::job_outcome> {
                                     auto clients = clients_;
                                     co_return co_await verify(e, *clients);
                                 }});
            }
            case control::route_id::prunes: {
                auto b = control::parse_empty_body(body);
                if (!b.ok())
                    co_return control::error_reply(*b.error);
                const config::environment e = *env;
                co_return submit(
                    *env, scheduler::job_kind::backup, "prune",
                    {[this, e](std::uint64_t id) -> asio::awaitable<scheduler::job_outcome> {
                        auto clients = clients_;
                        const auto p = co_await backup::prune(*jobs_, e, clients->access(e), false);
                        results_[id] = prune_json(p);
                        co_return scheduler::job_outcome{p.ok(), "deleted " + std::to_string(p.deleted) +
                                                                     ", kept " + std::to_string(p.kept)};
                    }});
            }
            case control::route_id::restores:
            case control::route_id::undeletes: {
                const std::string user = co_await rq.user_name();
                const std::string who = user + "@" + host_name();
                co_return co_await restore_request(rq, *env, who);
            }
            case control::route_id::jobs:
                co_return json_response(200, jobs_json());
            case control::route_id::job:
                co_return co_await job(rq);
            case control::route_id::audit:
                co_return json_response(200, audit_json(route.query.env, route.query.limit.value_or(100)));
            case control::route_id::reload: {
                auto b = control::parse_empty_body(body);
                if (!b.ok())
                    co_return control::error_reply(*b.error);
                const auto what = reload();
                json j;
                j.begin_object().field("result", what).end_object();
                co_return json_response(what == "reloaded" ? 200 : 400, j.take());
            }
            case control::route_id::metrics: {
                auto r = control::response(boost::beast::http::status::ok, 11);
                r.set(boost::beast::http::field::content_type, metrics::registry::content_type);
                r.body() = registry_.expose();
                co_return r;
            }
        }
        co_return control::error_reply(control::json_error(404, "not_found", "no such resource"));
    }

    asio::awaitable<control::response> restore_request(control::request_context& rq,
                                                       const config::environment& env,
                                                       const std::string& who) {
        restore::restore_request req;
        std::string token;
        bool dry_run = true;
        if (rq.route().route == control::route_id::undeletes) {
            auto b = control::parse_undelete_body(rq.req().body());
            if (!b.ok())
                co_return control::error_reply(*b.error);
            req.undelete = true;
            req.reason = b.value.reason;
            dry_run = b.value.dry_run;
            token = b.value.token;
        } else {
            auto b = control::parse_restore_body(rq.req().body());
            if (!b.ok())
                co_return control::error_reply(*b.error);
            req.snapshot_id = b.value.snapshot_id.value_or("");
            req.version_id = b.value.version_id.value_or("");
            req.at = b.value.at;
            req.mode = b.value.mode;
            req.force_lineage = b.value.force_lineage;
            req.roll_forward_serial = b.value.roll_forward_serial;
            req.reason = b.value.reason;
            dry_run = b.value.dry_run;
            token = b.value.token;
        }
        req.uid = rq.peer().uid;
        req.user = who.substr(0, who.find('@'));
        auto clients = clients_;
        if (dry_run) {
            const auto p = co_await restore::plan(*rctx_, env, clients->access(env), req);
            co_return json_response(p.ok() ? 200 : 409, restore::to_json(p));
        }
        // The token, before a job exists: a forged, expired or another request's token is refused
        // here, with no job and no webhook. The job checks it again, and the current version too.
        const auto checked = restore::check_request_token(
            token, rctx_->token_key, std::chrono::floor<std::chrono::seconds>(clock_.now()),
            restore::request_claims(*rctx_, env, req));
        if (!checked.ok()) {
            const bool stale = checked.ec == restore::token_errc::expired;
            co_return control::error_reply(control::json_error(
                stale ? 409 : 400, stale ? "stale_token" : "invalid_token",
                (checked.ec == restore::token_errc::mismatch
                     ? "the plan token was made for another request (" + checked.message + ")"
                     : "the plan token is not valid (" + checked.message + ")") +
                    ": plan again (a dry run) and send the new token; nothing was started"));
        }
        const config::environment e = env;
        co_return submit(env, scheduler::job_kind::backup, req.undelete ? "undelete" : "restore",
                         {[this, e, req, token](std::uint64_t id) -> asio::awaitable<scheduler::job_outcome> {
                             auto clients = clients_;
                             const auto r =
                                 co_await restore::execute(*rctx_, e, clients->access(e), req, token);
                             metrics_->restore_total.with({e.name, restore::to_string(r.result)}).inc();
                             notify_restore(e, req, r);
                             refresh_catalog_metrics(e);  // the safety snapshot
                             results_[id] = restore_result_json(r);
                             co_return scheduler::job_outcome{
                                 r.ok(), std::string(restore::to_string(r.result)) + ": " + r.message};
                         }},
                         false);
    }

    asio::awaitable<control::response> job(control::request_context& rq) {
        std::uint64_t id = 0;
        try {
            id = std::stoull(rq.route().job_id);
        } catch (const std::exception&) {
            co_return control::error_reply(
                control::json_error(404, "unknown_job", "no job " + rq.route().job_id));
        }
        if (rq.route().query.wait) {
            const auto deadline = std::chrono::steady_clock::now() + *rq.route().query.wait;
            for (bool first = true;; first = false) {
                const auto rec = runner_->find(id);
                if (!rec || is_finished(rec->status))
                    break;
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now());
                if (left <= 0ms)
                    break;
                const auto r = co_await rq.long_poll(*changes_, left);
                // too many polls of this uid: 429 rather than an answer that did not wait (a
                // client would ask again at once, in a busy loop)
                if (r == control::poll_result::limited && first)
                    co_return rq.too_many_long_polls();
                if (r != control::poll_result::changed)
                    break;
            }
        }
        const auto rec = runner_->find(id);
        if (!rec)
            co_return control::error_reply(control::json_error(
                404, "unknown_job", "no job " + rq.route().job_id + " (finished jobs are kept for a while)"));
        co_return json_response(200, job_json(*rec));
    }

    static bool is_finished(scheduler::job_status s) {
        return s != scheduler::job_status::queued && s != scheduler::job_status::running;
    }

    std::string job_json(const scheduler::job_record& r) {
        json j;
        write_job(j, r);
        return j.take();
    }

    void write_job(json& j, const scheduler::job_record& r) {
        j.begin_object();
        j.field("id", std::to_string(r.id));
        j.field("kind", r.what.name == "restore" || r.what.name == "undelete" || r.what.name == "prune"
                            ? r.what.name
                            : std::string(scheduler::to_string(r.what.kind)));
        j.field("environment", r.what.environment);
        j.field("schedule", r.what.name);
        j.key("on_demand").boolean(r.on_demand);
        j.field("state", scheduler::to_string(r.status));
        j.field("step", r.step);
        j.key("done").integer(r.done);
        j.key("total").integer(r.total);
        j.field("fired_at", rfc3339(r.fired_at));
        j.key("started_at");
        r.started_at ? j.str(rfc3339(*r.started_at)) : j.null();
        j.key("finished_at");
        r.finished_at ? j.str(rfc3339(*r.finished_at)) : j.null();
        j.field("detail", r.detail);
        j.key("result");
        const auto req = request_of_job_.find(r.id);
        const auto it = req == request_of_job_.end() ? results_.end() : results_.find(req->second);
        if (it != results_.end())
            j.raw(it->second);
        else
            j.null();
        j.end_object();
    }

    std::string jobs_json() {
        json j;
        j.begin_object().key("jobs").begin_array();
        for (const auto& r : runner_->active())
            write_job(j, r);
        for (auto it = runner_->history().rbegin(); it != runner_->history().rend(); ++it)
            write_job(j, *it);
        j.end_array().end_object();
        return j.take();
    }

    std::string status_json() {
        json j;
        j.begin_object();
        j.field("version", TFSNAP_VERSION);
        j.field("config", file_);
        j.key("environments").integer(static_cast<long long>(cfg_->environments.size()));
        j.key("running").integer(static_cast<long long>(runner_->in_flight()));
        j.field("status", last_status_);
        j.key("next_run");
        const auto* p = runner_->current_plan();
        const auto next = p ? p->next_due() : std::nullopt;
        next ? j.str(rfc3339(*next)) : j.null();
        j.end_object();
        return j.take();
    }

    std::string environments_json() {
        json j;
        j.begin_object().key("environments").begin_array();
        for (const auto& e : cfg_->environments) {
            j.begin_object();
            j.field("name", e.name);
            j.field("source", config::to_string(e.source));
            if (e.source == config::source_kind::file) {
                j.field("path", e.path);
            } else {
                j.field("bucket", e.bucket).field("key", e.key).field("region", e.region);
            }
            j.key("schedules").begin_array();
            for (const auto& s : e.schedules)
                j.str(s.name);
            j.end_array();
            j.field("copy", config::to_string(e.copy.mode));
            std::string record;
            backup::backup_check check;
            j.key("last_backup");
            if (!catalog_->read_record(e.name, catalog::catalog::last_backup_record, record) &&
                backup::parse(record, check)) {
                j.begin_object()
                    .field("checked_at", check.checked_at)
                    .field("result", check.result)
                    .field("snapshot_id", check.snapshot_id)
                    .field("message", check.message)
                    .end_object();
            } else {
                j.null();
            }
            j.end_object();
        }
        j.end_array().end_object();
        return j.take();
    }

    std::string snapshots_json(const config::environment& env) {
        std::vector<catalog::index_entry> entries;
        json j;
        j.begin_object().field("environment", env.name).key("snapshots").begin_array();
        if (!catalog_->list(env.name, entries)) {
            for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
                j.begin_object();
                j.field("snapshot_id", it->snapshot_id).field("created_at", it->created_at);
                j.field("version_id", it->version_id);
                j.key("serial");
                it->serial ? j.integer(static_cast<long long>(*it->serial)) : j.null();
                j.key("expires_at");
                it->expires_at ? j.str(*it->expires_at) : j.null();
                j.key("pinned_until");
                it->pinned_until ? j.str(*it->pinned_until) : j.null();
                j.key("has_copy").boolean(it->has_copy);
                j.end_object();
            }
        }
        j.end_array().end_object();
        return j.take();
    }

    asio::awaitable<control::response> versions(const config::environment& env) {
        auto clients = clients_;
        const auto access = clients->access(env);
        if (access.s3 == nullptr)
            co_return control::error_reply(control::json_error(
                400, "no_versions", env.name + " is a local state file: it has no S3 versions"));
        const auto l = co_await access.s3->list_object_versions(env.bucket, env.key);
        if (l.ec)
            co_return control::error_reply(control::json_error(502, "s3_error", s3::describe(l.ec, l.info)));
        json j;
        j.begin_object().field("environment", env.name).key("versions").begin_array();
        for (const auto& v : l.entries) {
            if (v.key != env.key)
                continue;
            j.begin_object();
            j.field("version_id", v.version_id);
            j.key("latest").boolean(v.is_latest);
            j.key("delete_marker").boolean(v.delete_marker);
            j.field("last_modified", rfc3339(v.last_modified));
            j.field("etag", v.etag);
            j.key("size").integer(static_cast<long long>(v.size));
            j.end_object();
        }
        j.end_array().end_object();
        co_return json_response(200, j.take());
    }

    static std::string prune_json(const backup::prune_report& p) {
        json j;
        j.begin_object();
        j.key("dry_run").boolean(p.dry_run);
        j.key("kept").integer(static_cast<long long>(p.kept));
        j.key("deleted").integer(static_cast<long long>(p.deleted));
        j.key("failed").integer(static_cast<long long>(p.failed));
        j.field("error", p.error);
        j.key("snapshots").begin_array();
        for (const auto& i : p.items) {
            j.begin_object().field("snapshot_id", i.snapshot_id).field("schedule", i.schedule);
            j.key("keep").boolean(i.keep);
            j.key("reasons").begin_array();
            for (const auto& r : i.reasons)
                j.str(r);
            j.end_array();
            j.key("deleted").boolean(i.deleted);
            j.field("error", i.error);
            j.end_object();
        }
        j.end_array().end_object();
        return j.take();
    }

    static std::string restore_result_json(const restore::restore_result& r) {
        json j;
        j.begin_object();
        j.field("result", restore::to_string(r.result));
        j.field("restore_id", r.restore_id);
        j.field("message", r.message);
        j.field("new_version_id", r.new_version_id);
        j.field("safety_snapshot", r.safety_snapshot);
        j.field("undo", r.undo);
        j.key("steps").begin_array();
        for (const auto& s : r.steps) {
            j.begin_object().field("name", s.name).key("ok").boolean(s.ok).field("detail", s.detail);
            j.key("ms").integer(s.ms).end_object();
        }
        j.end_array();
        if (r.terraform) {
            j.key("terraform").begin_object();
            j.key("ok").boolean(r.terraform->ok).field("message", r.terraform->message);
            j.field("tail", r.terraform->tail).field("log", r.terraform->log_path).end_object();
        }
        j.end_object();
        return j.take();
    }

    std::string audit_json(const std::optional<std::string>& env, std::int64_t limit) {
        std::vector<std::string> lines;
        int torn = 0;
        (void)restore::read_audit(cfg_->state_dir, lines, &torn);
        std::vector<std::string> picked;
        for (auto it = lines.rbegin(); it != lines.rend() && static_cast<std::int64_t>(picked.size()) < limit;
             ++it) {
            if (env && it->find("\"environment\":\"" + *env + "\"") == std::string::npos)
                continue;
            picked.push_back(*it);
        }
        json j;
        j.begin_object().key("entries").begin_array();
        for (const auto& l : picked)
            j.raw(l);
        j.end_array().key("torn_lines").integer(torn).end_object();
        return j.take();
    }

    std::string file_;
    asio::io_context io_;
    core::system_wall_clock clock_;
    std::unique_ptr<core::log_sink> sink_;
    core::logger log_{*static_cast<core::log_sink*>(&null_sink_)};
    core::memory_sink null_sink_;
    systemd::notifier notify_;
    std::shared_ptr<config::daemon_config> cfg_;
    std::optional<core::dir_owner> owner_;  // the state_dir, for the process's life
    std::unique_ptr<catalog::catalog> catalog_;
    std::shared_ptr<client_set> clients_;
    backup::bucket_cache buckets_;
    std::optional<backup::job_context> jobs_;
    std::optional<restore::restore_context> rctx_;
    std::unique_ptr<http::client> webhook_http_;
    std::unique_ptr<notify::dispatcher> webhooks_;
    std::set<std::uint64_t> notified_jobs_;                // finished jobs already announced
    std::map<std::string, std::string> deleted_notified_;  // env -> the delete marker announced
    std::map<std::string, std::size_t> at_risk_notified_;  // env -> the at-risk count announced
    metrics::registry registry_;
    std::unique_ptr<control::metrics_listener> metrics_listener_;
    asio::cancellation_signal stop_metrics_;
    bool metrics_done_ = true;
    std::optional<metrics::tfsnap_metrics> metrics_;
    std::optional<control::change_notifier> changes_;
    std::unique_ptr<scheduler::file_stamp_store> stamps_;
    std::unique_ptr<scheduler::job_id_store> job_ids_;
    std::unique_ptr<scheduler::steady_sleeper> sleeper_;
    std::unique_ptr<scheduler::runner> runner_;
    std::unique_ptr<control::server> server_;
    asio::cancellation_signal stop_runner_, stop_server_, stop_housekeeping_;
    asio::steady_timer wake_{io_};
    bool runner_done_ = false, server_done_ = false, housekeeping_done_ = false;
    std::map<std::string, on_demand> requests_;
    std::map<std::uint64_t, std::uint64_t> request_of_job_;  // job id -> request number
    std::map<std::uint64_t, std::string> results_;
    std::uint64_t request_counter_ = 0;
    std::string last_status_;
    int rc_ = exit_ok;
};

}  // namespace

int run_service(const std::string& config_file) {
    service s(config_file);
    return s.run();
}

}  // namespace tfsnap::daemon
