#include "service.hpp"

#include "api.hpp"
#include "jobs.hpp"
#include "notifications.hpp"
#include "runtime.hpp"
#include "task_group.hpp"

#include "tfsnap/backup/prune.hpp"
#include "tfsnap/config/load.hpp"
#include "tfsnap/config/validate.hpp"
#include "tfsnap/control/change_notifier.hpp"
#include "tfsnap/control/metrics_listener.hpp"
#include "tfsnap/control/server.hpp"
#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/metrics/registry.hpp"
#include "tfsnap/metrics/tfsnap_metrics.hpp"
#include "tfsnap/restore/plan_token.hpp"
#include "tfsnap/scheduler/job_id_store.hpp"
#include "tfsnap/scheduler/runner.hpp"
#include "tfsnap/scheduler/sleeper.hpp"
#include "tfsnap/scheduler/stamp_store.hpp"
#include "tfsnap/systemd/journal_sink.hpp"
#include "tfsnap/systemd/listen_fds.hpp"
#include "tfsnap/systemd/notifier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

namespace tfsnap::daemon {

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The task names of the daemon's task group.
constexpr const char* scheduler_task = "scheduler";
constexpr const char* server_task = "control server";
constexpr const char* metrics_task = "metrics listener";
constexpr const char* housekeeping_task = "housekeeping";
constexpr const char* lag_task = "event loop probe";

class service final : public api_backend {
public:
    explicit service(std::string file) : file_(std::move(file)) {}

    int run() {
        setup_logging();
        auto loaded = tfsnap::config::load_file(file_);
        if (!loaded.ok()) {
            for (const auto& d : loaded.diagnostics)
                std::cerr << tfsnap::config::format(d) << "\n";
            std::cerr << file_ << ": " << loaded.diagnostics.size()
                      << (loaded.diagnostics.size() == 1 ? " problem" : " problems")
                      << "; nothing was started\n";
            return exit_config;
        }
        metrics_.emplace(registry_, TFSNAP_VERSION);
        rt_.emplace(io_, clock_, log_);
        rt_->on_new_clients([this](client_set& c) {
            c.observe_s3([this](std::string_view op, unsigned status) {
                const std::string code = status == 0 ? "error" : std::to_string(status);
                metrics_->s3_requests_total.with({std::string(op), code}).inc();
            });
        });
        // One owner per state_dir: only the owner recovers journals, cleans scratch files and
        // writes the catalog. Held until the process exits, however it exits.
        open_options o;
        o.holder = "tfsnapd --config " + file_;
        if (const auto problem = rt_->open(
                std::make_shared<const tfsnap::config::daemon_config>(std::move(*loaded.config)), o)) {
            const std::string why = problem->busy
                                        ? problem->message +
                                              ": one tfsnapd per state_dir; stop that one first, or "
                                              "give this one its own state_dir"
                                        : problem->message;
            log_.error(why);
            std::cerr << "tfsnapd: " << why << "\n";
            return problem->exit_code;
        }
        rt_->restores().undo_command = "tfsnapctl restore";
        if (!rt_->token_key_problem().empty())
            log_.warning("cannot keep the plan-token key (" + rt_->token_key_problem() +
                         "): plans made by tfsnapd restore and by this daemon do not mix");
        announcer_.emplace(io_.get_executor(), clock_, log_, rt_->host());
        announcer_->configure(config().notify.webhooks);
        changes_.emplace(io_.get_executor());
        desk_.emplace(*rt_, *metrics_, *announcer_);
        api_.emplace(*this);
        tasks_.on_failure([this](const std::string& task, const std::string& what) { failed(task, what); });

        asio::co_spawn(io_, main(), [&](std::exception_ptr e) {
            if (!e)
                return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                log_.error(std::string("tfsnapd stopped on an error: ") + x.what());
            }
            rc_ = exit_software;
            // whatever still runs is stopped, so that the event loop ends
            for (const char* t : {scheduler_task, server_task, metrics_task, housekeeping_task, lag_task})
                tasks_.cancel(t, asio::cancellation_type::terminal);
        });
        io_.run();
        return rc_;
    }

    // ------------------------------------------------------------------------------ api_backend
    const tfsnap::config::daemon_config& config() const override { return rt_->config(); }

    daemon_status status() const override {
        daemon_status s;
        s.line = last_status_;
        s.running = runner_ ? runner_->in_flight() : 0;
        if (const auto* p = runner_ ? runner_->current_plan() : nullptr)
            s.next_run = p->next_due();
        s.started_at = started_at_;
        return s;
    }

    std::string host() const override { return rt_->host(); }

    submit_answer submit(job_request r) override { return desk_->submit(std::move(r)); }

    std::optional<scheduler::job_record> job(std::uint64_t id) const override { return runner_->find(id); }

    std::vector<scheduler::job_record> jobs() const override {
        std::vector<scheduler::job_record> out = runner_->active();
        for (auto it = runner_->history().rbegin(); it != runner_->history().rend(); ++it)
            out.push_back(*it);
        return out;
    }

    control::change_notifier& changes() override { return *changes_; }
    catalog::catalog& catalog() override { return rt_->catalog(); }

    asio::awaitable<s3::list_result> versions(const tfsnap::config::environment& env) override {
        auto clients = rt_->clients();
        const auto access = clients->access(env);
        if (access.s3 == nullptr) {
            s3::list_result none;
            none.ec = make_error_code(s3::errc::invalid_request);
            co_return none;
        }
        co_return co_await access.s3->list_object_versions(env.bucket, env.key);
    }

    asio::awaitable<backup::prune_report> retention(const tfsnap::config::environment& env) override {
        auto clients = rt_->clients();
        co_return co_await backup::prune(rt_->jobs(), env, clients->access(env), true);
    }

    asio::awaitable<restore::restore_plan> plan(const tfsnap::config::environment& env,
                                                restore::restore_request req) override {
        auto clients = rt_->clients();
        co_return co_await restore::plan(rt_->restores(), env, clients->access(env), std::move(req));
    }

    restore::token_result check_token(const tfsnap::config::environment& env,
                                      const restore::restore_request& req,
                                      const std::string& token) override {
        return restore::check_request_token(token, rt_->restores().token_key,
                                            std::chrono::floor<std::chrono::seconds>(clock_.now()),
                                            restore::request_claims(rt_->restores(), env, req));
    }

    // Every environment assessed at most once a second (with 1,000 environments each status
    // request would otherwise assess them all), and the ones whose job finished since, at once.
    const std::vector<environment_health>& health(core::time_point now) override {
        const auto& envs = config().environments;
        if (!health_at_ || now - *health_at_ >= std::chrono::seconds(1) || now < *health_at_ ||
            health_.size() != envs.size()) {
            health_.clear();
            for (const auto& env : envs)
                health_.push_back(desk_->health(env, now));
            health_at_ = now;
        } else if (!health_dirty_.empty()) {
            for (std::size_t i = 0; i < envs.size(); ++i)
                if (health_dirty_.count(envs[i].name))
                    health_[i] = desk_->health(envs[i], now);
        }
        health_dirty_.clear();
        return health_;
    }

    std::string metrics() override { return registry_.expose(); }

    // SIGHUP or POST /v1/reload.
    std::string reload() override {
        (void)notify_.reloading();
        auto loaded = tfsnap::config::load_file(file_);
        if (!loaded.ok()) {
            for (const auto& d : loaded.diagnostics)
                log_.error("reload: " + tfsnap::config::format(d));
            log_.error("reload: the new configuration has " + std::to_string(loaded.diagnostics.size()) +
                       " problem(s); the running one stays");
            (void)notify_.ready();
            return "invalid: " + std::to_string(loaded.diagnostics.size()) +
                   " problem(s); the running configuration stays";
        }
        auto next = std::make_shared<tfsnap::config::daemon_config>(std::move(*loaded.config));
        const auto& now = config();
        if (next->state_dir != now.state_dir || next->control.socket != now.control.socket ||
            next->metrics.listen != now.metrics.listen || next->worker_threads != now.worker_threads)
            log_.warning(
                "reload: state_dir, control.socket, metrics.listen and worker_threads take effect at the "
                "next "
                "start");
        next->state_dir = now.state_dir;
        next->control.socket = now.control.socket;
        next->metrics.listen = now.metrics.listen;
        next->worker_threads = now.worker_threads;
        for (const auto& old : now.environments)
            if (!next->find(old.name))
                metrics_->forget_environment(old.name);
        auto specs = scheduler::make_specs(*next);
        for (const auto& e : specs.errors)
            log_.error("schedule " + e.environment + "/" + e.schedule + ": " + e.message);
        // clients are rebuilt for the new settings; jobs that run keep the ones they started with
        rt_->reconfigure(next);
        desk_->reconfigured();
        health_at_.reset();
        runner_->update(std::move(specs.specs));
        server_->set_access(config().control);
        announcer_->configure(config().notify.webhooks);
        log_.notice("reloaded " + file_ + ": " + std::to_string(config().environments.size()) +
                    " environment(s)");
        update_status();
        (void)notify_.ready();
        return "reloaded";
    }

private:
    // ------------------------------------------------------------------------------ start-up
    void setup_logging() {
        if (systemd::stderr_is_journal())
            sink_ = std::make_unique<systemd::journal_sink>();
        else
            sink_ = std::make_unique<core::stream_sink>(std::cerr);
        log_ = core::logger(*sink_, core::log_level::info);
    }

    // Start-up in order, READY=1 once everything runs, then signals until SIGTERM/SIGINT.
    asio::awaitable<void> main() {
        auto ex = co_await asio::this_coro::executor;
        // 1. what an interrupted restore left behind
        const auto recovered = co_await restore::recover_journals(rt_->restores(), rt_->dir_owner(), config(),
                                                                  rt_->access_function());
        (void)recovered;  // logged and audited by recover_journals
        // 2. the catalog's git history, when asked for (a failure is logged; snapshots go on)
        (void)co_await rt_->start_history();
        // 3. the scheduler, the control server, the metrics listener
        if (!start_scheduler() || !start_server()) {
            rc_ = exit_software;
            co_return;
        }
        start_metrics_listener();
        tasks_.spawn(scheduler_task, runner_->run());
        tasks_.spawn(server_task, server_->run());
        tasks_.spawn(housekeeping_task, housekeeping());
        tasks_.spawn(lag_task, probe_lag());
        // 4. each task has taken its first step: one that failed at once means no READY=1
        co_await asio::post(ex, asio::use_awaitable);
        if (failed_) {
            co_await shutdown();
            co_return;
        }
        started_at_ = clock_.now();
        log_.notice("tfsnapd " TFSNAP_VERSION " started: " + std::to_string(config().environments.size()) +
                    " environment(s), " + std::to_string(rt_->worker_threads()) +
                    " worker thread(s), control socket " + config().control.socket);
        update_status();
        (void)notify_.ready();

        // 5. signals, or a task that failed
        asio::signal_set signals(ex, SIGTERM, SIGINT, SIGHUP);
        using namespace asio::experimental::awaitable_operators;
        for (;;) {
            stop_.expires_at(asio::steady_timer::time_point::max());
            if (failed_)
                break;
            auto r = co_await (signals.async_wait(use_tuple) || stop_.async_wait(use_tuple));
            if (r.index() == 1)
                break;  // failed(): logged there
            const auto [sec, sig] = std::get<0>(r);
            if (sec)
                break;
            if (sig == SIGHUP) {
                (void)reload();
                continue;
            }
            log_.notice(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
            break;
        }
        co_await shutdown();
    }

    // A task ended by an error: the daemon stops with a non-zero status (systemd restarts it).
    void failed(const std::string& task, const std::string& what) {
        log_.error("the " + task + " stopped: " + what + "; tfsnapd stops", {{"event", "task-failed"}});
        std::cerr << "tfsnapd: the " << task << " stopped: " << what << "\n";
        rc_ = exit_software;
        failed_ = true;
        stop_.cancel();
    }

    bool start_scheduler() {
        auto specs = scheduler::make_specs(config());
        for (const auto& e : specs.errors)
            log_.error("schedule " + e.environment + "/" + e.schedule + ": " + e.message);
        stamps_ = std::make_unique<scheduler::file_stamp_store>(config().state_dir);
        sleeper_ =
            std::make_unique<scheduler::steady_sleeper>(io_.get_executor(), clock_, std::chrono::seconds(30));
        scheduler::runner_config rc;
        rc.max_concurrent_jobs = static_cast<std::size_t>(config().max_concurrent_jobs);
        rc.history_max_age = std::chrono::duration_cast<std::chrono::seconds>(config().job_retention);
        // a sweep of every environment at once must stay visible: job_retention is the real bound
        rc.history_limit = 16384;
        // job ids unique across restarts: a client polling /v1/jobs/ID is never told of another job
        job_ids_ = std::make_unique<scheduler::job_id_store>(config().state_dir);
        const auto ids = job_ids_->start(clock_.now());
        if (!ids.problem.empty())
            log_.warning(ids.problem, {{"event", "job-ids-reset"}});
        rc.first_id = ids.first_id;
        rc.on_change = [this](const scheduler::job_record& rec) {
            if (const auto problem = job_ids_->used(rec.id); !problem.empty())
                log_.error(problem, {{"event", "job-ids-unsaved"}});
            changes_->notify_all();
            update_status();
            if (rec.finished_at) {
                announcer_->job_finished(rec);
                health_dirty_.insert(rec.what.environment);
            }
        };
        runner_ = std::make_unique<scheduler::runner>(
            io_.get_executor(), clock_, *sleeper_, std::move(specs.specs), *stamps_,
            [this](const scheduler::fire& f) { return desk_->run(f); }, rc, &log_);
        desk_->attach(*runner_);
        if (const auto problem = runner_->load(); !problem.empty()) {
            const std::string why =
                problem +
                "; nothing was started. Move the file away to start over (every schedule then "
                "runs as after a first start)";
            log_.error(why, {{"event", "start-failed"}});
            std::cerr << "tfsnapd: " << why << "\n";
            return false;
        }
        return true;
    }

    bool start_server() {
        control::server_config sc;
        sc.socket_path = config().control.socket;
        sc.access = config().control;
        server_ = std::make_unique<control::server>(
            io_.get_executor(), sc,
            [this](control::request_context rq) { return api_->handle(std::move(rq)); }, log_);
        const auto fds = systemd::listen_fds();
        if (!fds.ok()) {
            log_.error("the socket systemd passed is not usable: " + fds.error.message);
            std::cerr << "tfsnapd: the socket systemd passed is not usable: " << fds.error.message << "\n";
            return false;
        }
        boost::system::error_code ec;
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
            return false;
        }
        return true;
    }

    // metrics.listen: GET /metrics on a loopback TCP address too. A listener that cannot bind
    // is logged; the daemon goes on (the control socket serves /metrics as well).
    void start_metrics_listener() {
        if (!config().metrics.listen)
            return;
        const auto addr = tfsnap::config::parse_listen_address(*config().metrics.listen);
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
        tasks_.spawn(metrics_task, metrics_listener_->run());
        log_.notice("metrics on http://" + *config().metrics.listen + "/metrics");
    }

    // ------------------------------------------------------------------------------ life
    // SIGTERM: the control server stops accepting, running jobs get shutdown_grace to finish and
    // are then cancelled (a cancelled restore still releases its locks), the webhooks of the last
    // jobs get what is left of the grace time (at most 5 s more).
    asio::awaitable<void> shutdown() {
        (void)notify_.stopping();
        tasks_.cancel(server_task, asio::cancellation_type::total);
        tasks_.cancel(housekeeping_task, asio::cancellation_type::terminal);
        tasks_.cancel(metrics_task, asio::cancellation_type::total);
        tasks_.cancel(lag_task, asio::cancellation_type::terminal);
        const auto deadline = std::chrono::steady_clock::now() + config().shutdown_grace;
        if (runner_ && tasks_.running(scheduler_task)) {
            using namespace asio::experimental::awaitable_operators;
            asio::steady_timer grace(co_await asio::this_coro::executor, deadline);
            while (runner_->in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
                const auto gen = changes_->generation();
                auto r = co_await (changes_->wait_since(gen) || grace.async_wait(use_tuple));
                if (r.index() == 1)
                    break;
            }
        }
        tasks_.cancel(scheduler_task, asio::cancellation_type::terminal);
        co_await tasks_.wait();
        const auto now = std::chrono::steady_clock::now();
        co_await announcer_->drain(std::min(std::max(deadline, now + 1s), now + 5s));
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
                auto cfg = rt_->config_ptr();
                // named, not a temporary in the co_await expression: GCC 12 destroys those twice
                // (here a lambda holding a shared_ptr, whose count then drops twice)
                auto access_of = rt_->access_function();
                co_await restore::retry_journals(rt_->restores(), rt_->dir_owner(), *cfg,
                                                 std::move(access_of));
            }
            t.expires_after(tick);
            co_await t.async_wait(asio::use_awaitable);
        }
    }
    static constexpr std::chrono::seconds journal_retry_interval{60};

    // tfsnap_event_loop_lag_seconds: how late a timer due every 250 ms runs. The I/O thread must
    // never wait on a disk or spend long on CPU; this is what shows when it does.
    asio::awaitable<void> probe_lag() {
        asio::steady_timer t(co_await asio::this_coro::executor);
        auto& lag = metrics_->event_loop_lag_seconds.with({});
        for (;;) {
            const auto due = std::chrono::steady_clock::now() + 250ms;
            t.expires_at(due);
            co_await t.async_wait(asio::use_awaitable);
            lag.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - due).count());
        }
    }

    // "3 envs · 1 running · next in 4h12m · last: prod ok 02:00": the last job is the last one
    // that finished.
    void update_status() {
        std::string s = std::to_string(config().environments.size()) + " envs";
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
                     std::string(scheduler::to_string(last.what.kind)) + " " +
                     std::string(scheduler::to_string(last.status));
                if (last.finished_at)
                    s += " " + rfc3339_minutes(*last.finished_at);
            }
        }
        if (s != last_status_) {
            last_status_ = s;
            (void)notify_.status(s);
        }
    }

    static std::string rfc3339_minutes(core::time_point t) {
        return core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(t)).substr(11, 5);
    }

    std::string file_;
    asio::io_context io_;
    core::system_wall_clock clock_;
    std::unique_ptr<core::log_sink> sink_;
    core::memory_sink null_sink_;
    core::logger log_{*static_cast<core::log_sink*>(&null_sink_)};
    systemd::notifier notify_;
    metrics::registry registry_;
    std::optional<metrics::tfsnap_metrics> metrics_;
    std::optional<runtime> rt_;  // the state_dir, catalog, worker pool, clients, contexts
    std::optional<announcer> announcer_;
    std::optional<control::change_notifier> changes_;
    std::optional<job_desk> desk_;
    std::optional<api> api_;
    std::unique_ptr<scheduler::file_stamp_store> stamps_;
    std::unique_ptr<scheduler::job_id_store> job_ids_;
    std::unique_ptr<scheduler::steady_sleeper> sleeper_;
    std::unique_ptr<scheduler::runner> runner_;
    std::unique_ptr<control::server> server_;
    std::unique_ptr<control::metrics_listener> metrics_listener_;
    task_group tasks_{io_.get_executor()};
    asio::steady_timer stop_{io_};  // cancelled when a task fails
    bool failed_ = false;
    core::time_point started_at_ = clock_.now();
    std::string last_status_;
    std::vector<environment_health> health_;  // health(), as of health_at_
    std::optional<core::time_point> health_at_;
    std::set<std::string> health_dirty_;  // environments whose job finished since health()
    int rc_ = exit_ok;
};

}  // namespace

int run_service(const std::string& config_file) {
    service s(config_file);
    return s.run();
}

}  // namespace tfsnap::daemon
