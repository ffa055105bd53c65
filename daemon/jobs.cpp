#include "jobs.hpp"

#include "json_writer.hpp"

#include "tfsnap/backup/backup_job.hpp"
#include "tfsnap/backup/prune.hpp"
#include "tfsnap/backup/records.hpp"
#include "tfsnap/backup/verify_job.hpp"
#include "tfsnap/core/rfc3339.hpp"

#include <chrono>

namespace tfsnap::daemon {

namespace asio = boost::asio;
using scheduler::job_kind;
using scheduler::job_outcome;

job_desk::job_desk(runtime& rt, metrics::tfsnap_metrics& metrics, announcer& announce)
    : rt_(rt), metrics_(metrics), announce_(announce) {}

std::function<void(std::string_view, int, int)> job_desk::progress_of(std::uint64_t job) {
    scheduler::runner* r = runner_;
    if (r == nullptr || job == 0)
        return {};
    return [r, job](std::string_view step, int done, int total) {
        r->progress(job, std::string(step), done, total);
    };
}

asio::awaitable<job_outcome> job_desk::run(scheduler::fire f) {
    auto cfg = rt_.config_ptr();   // the configuration and clients the job started with
    auto clients = rt_.clients();  // live as long as the job
    const config::environment* found = cfg->find(f.environment);
    if (found == nullptr)
        co_return job_outcome{false, "environment " + f.environment + " is no longer configured"};
    const config::environment& env = *found;
    if (f.request.empty()) {  // a schedule fired
        if (f.kind == job_kind::verify)
            co_return co_await verify(env, *clients);
        backup::backup_request b;
        b.schedule = f.name;
        co_return co_await backup(env, *clients, std::move(b), f.job_id);
    }
    const auto it = requests_.find(f.request);
    if (it == requests_.end())
        co_return job_outcome{false, "lost request"};
    job_request r = std::move(it->second);
    requests_.erase(it);
    switch (r.kind) {
        case job_kind::backup: {
            backup::backup_request b;
            b.schedule = r.schedule;
            b.requested_by = r.requested_by;
            co_return co_await backup(env, *clients, std::move(b), f.job_id);
        }
        case job_kind::verify:
            co_return co_await verify(env, *clients);
        case job_kind::prune:
            co_return co_await prune(env, *clients);
        case job_kind::restore:
        case job_kind::undelete:
            co_return co_await restore(env, *clients, std::move(r), f.job_id);
        case job_kind::plan:
            co_return co_await plan(env, *clients, std::move(r));
    }
    co_return job_outcome{false, "unknown job kind"};
}

submit_answer job_desk::submit(job_request r) {
    const config::environment* env = rt_.config().find(r.environment);
    if (env == nullptr || runner_ == nullptr)
        return {};
    const std::string key = std::to_string(++request_counter_);
    scheduler::fire f;
    f.environment = env->name;
    f.name = r.kind == job_kind::backup ? r.schedule : std::string(scheduler::to_string(r.kind));
    f.kind = r.kind;
    f.lane = r.kind == job_kind::verify ? env->name + "/@verify" : env->name;
    f.request = key;
    // an operator's restore or undelete: a `concurrency: replace` schedule waits for it instead of
    // cancelling it
    f.replaceable = r.kind != job_kind::restore && r.kind != job_kind::undelete && r.kind != job_kind::plan;
    requests_.emplace(key, std::move(r));
    const auto s = runner_->submit(f);
    if (!s.accepted()) {
        requests_.erase(key);
        return submit_answer{0, s.busy_with};
    }
    return submit_answer{s.id, 0};
}

job_desk::memory& job_desk::remember(const config::environment& env) {
    auto& m = memory_[env.name];
    if (m.seeded)
        return m;
    m.seeded = true;
    std::string record;
    backup::backup_check check;
    if (!rt_.catalog().read_record(env.name, catalog::catalog::last_backup_record, record) &&
        backup::parse(record, check))
        m.last = std::move(check);
    std::vector<catalog::index_entry> entries;
    if (!rt_.catalog().list(env.name, entries) && !entries.empty())
        m.pinned = entries.back().version_id;
    return m;
}

// What a backup saw replaces what the catalog would say: nothing is read back from disk, and the
// pinned version is the job's, or the newest snapshot's that refresh_catalog_metrics just listed.
void job_desk::saw(const config::environment& env, const std::string& schedule,
                   const backup::backup_outcome& out, const std::optional<std::string>& newest_pinned) {
    auto& m = memory_[env.name];
    m.seeded = true;
    if (newest_pinned)
        m.pinned = *newest_pinned;
    m.last = backup::backup_check{
        core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(rt_.jobs().clock.now())),
        std::string(backup::to_string(out.status)),
        schedule,
        out.version_id,
        out.snapshot_id,
        out.message};
    if ((out.status == backup::backup_status::snapshot || out.status == backup::backup_status::unchanged) &&
        !out.version_id.empty())
        m.pinned = out.version_id;
}

environment_health job_desk::health(const config::environment& env, core::time_point now) {
    auto& m = remember(env);
    if (!m.every)
        m.every = backup_interval(env, now);
    return assess(env, m.last, m.pinned, *m.every, now);
}

void job_desk::reconfigured() {
    for (auto& [name, m] : memory_)
        m.every.reset();
}

void job_desk::backup_metrics(const config::environment& env, const std::string& schedule,
                              const backup::backup_outcome& out, double seconds) {
    const auto newest = refresh_catalog_metrics(env);
    saw(env, schedule, out, newest);
    metrics_.backup_total.with({env.name, schedule, std::string(backup::to_string(out.status))}).inc();
    metrics_.backup_duration_seconds.with({env.name}).observe(seconds);
    if (out.ok())
        metrics_.last_success_timestamp_seconds.with({env.name})
            .set(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    if (out.status != backup::backup_status::failed)
        metrics_.state_deleted.with({env.name})
            .set(out.status == backup::backup_status::state_deleted ? 1 : 0);
    if (out.guard)
        metrics_.expiry_at_risk.with({env.name}).set(static_cast<double>(out.guard->at_risk));
}

asio::awaitable<job_outcome> job_desk::backup(const config::environment& env, client_set& clients,
                                              backup::backup_request req, std::uint64_t job) {
    const auto started = std::chrono::steady_clock::now();
    const std::string schedule = req.schedule;
    req.on_progress = progress_of(job);
    // started outside the co_await expression: GCC 12 destroys some of its temporaries twice
    auto running = backup::run_backup(rt_.jobs(), env, clients.access(env), std::move(req));
    auto out = co_await std::move(running);
    backup_metrics(env, schedule, out,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    announce_.backup_finished(env, out);
    co_return job_outcome{out.ok(), std::string(backup::to_string(out.status)) + ": " + out.message};
}

asio::awaitable<job_outcome> job_desk::verify(const config::environment& env, client_set& clients) {
    auto r = co_await backup::run_verify(rt_.jobs(), env, clients.access(env));
    metrics_.verify_failures.with({env.name}).set(static_cast<double>(r.problems));
    co_return job_outcome{r.ok(), std::to_string(r.snapshots) + " snapshot(s) checked, " +
                                      std::to_string(r.problems) + " problem(s)" +
                                      (r.error.empty() ? "" : ": " + r.error)};
}

asio::awaitable<job_outcome> job_desk::prune(const config::environment& env, client_set& clients) {
    const auto p = co_await backup::prune(rt_.jobs(), env, clients.access(env), false);
    refresh_catalog_metrics(env);
    co_return job_outcome{p.ok(), "deleted " + std::to_string(p.deleted) + ", kept " + std::to_string(p.kept),
                          prune_json(p)};
}

asio::awaitable<job_outcome> job_desk::restore(const config::environment& env, client_set& clients,
                                               job_request r, std::uint64_t job) {
    r.restore.on_progress = progress_of(job);
    auto running = restore::execute(rt_.restores(), env, clients.access(env), r.restore, r.token);
    const auto result = co_await std::move(running);
    metrics_.restore_total.with({env.name, std::string(restore::to_string(result.result))}).inc();
    announce_.restore_finished(env, r.restore, result);
    refresh_catalog_metrics(env);  // the safety snapshot
    job_outcome out{result.ok(), std::string(restore::to_string(result.result)) + ": " + result.message,
                    restore_result_json(result)};
    if (result.result != restore::outcome::ok)
        co_return out;
    // The state is back: check it as a backup would, so that the restored version is pinned and
    // the deleted-state signals clear. Its failure does not undo the restore; the detail says so.
    backup::backup_request b;
    b.schedule = "post-restore";
    b.requested_by = r.requested_by;
    b.prune = false;
    const auto started = std::chrono::steady_clock::now();
    auto checking = backup::run_backup(rt_.jobs(), env, clients.access(env), std::move(b));
    const auto after = co_await std::move(checking);
    backup_metrics(env, "post-restore", after,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    announce_.backup_finished(env, after);
    out.detail += after.ok() ? "; the restored version is snapshot " + after.snapshot_id
                             : "; the check after it failed (" + after.message + ")";
    co_return out;
}

// A full-mode dry run: terraform init and plan run in the environment's lane, never beside a
// restore's terraform apply in the same directory, and never inside an API request.
asio::awaitable<job_outcome> job_desk::plan(const config::environment& env, client_set& clients,
                                            job_request r) {
    auto planning = restore::plan(rt_.restores(), env, clients.access(env), std::move(r.restore));
    const auto p = co_await std::move(planning);
    co_return job_outcome{
        p.ok(),
        p.ok() ? "planned" + std::string(p.terraform && !p.terraform->ok ? " (terraform plan failed)" : "")
               : "refused: " + (p.refusals.empty() ? std::string() : p.refusals.front()),
        restore::to_json(p)};
}

std::optional<std::string> job_desk::refresh_catalog_metrics(const config::environment& env) {
    std::vector<catalog::index_entry> entries;
    if (rt_.catalog().list(env.name, entries))
        return std::nullopt;
    metrics_.snapshots.with({env.name}).set(static_cast<double>(entries.size()));
    for (const auto& e : entries) {
        if (e.expires_at) {
            if (const auto t = core::parse_rfc3339(*e.expires_at))
                metrics_.version_expiry_timestamp_seconds.with({env.name, e.snapshot_id})
                    .set(static_cast<double>(t->time_since_epoch().count()));
        }
    }
    return entries.empty() ? std::string() : entries.back().version_id;
}

std::string prune_json(const backup::prune_report& p) {
    json_writer j;
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

std::string restore_result_json(const restore::restore_result& r) {
    json_writer j;
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

}  // namespace tfsnap::daemon
