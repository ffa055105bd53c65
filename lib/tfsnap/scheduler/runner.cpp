#include "tfsnap/scheduler/runner.hpp"
#include "tfsnap/scheduler/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

namespace tfsnap::scheduler {

namespace asio = boost::asio;

std::string_view to_string(job_status s) noexcept {
    switch (s) {
        case job_status::queued:
            return "queued";
        case job_status::running:
            return "running";
        case job_status::succeeded:
            return "succeeded";
        case job_status::failed:
            return "failed";
        case job_status::skipped_running:
            return "skipped-running";
        case job_status::skipped_missed:
            return "skipped-missed";
        case job_status::replaced:
            return "replaced";
        case job_status::cancelled:
            return "cancelled";
    }
    return "unknown";
}

runner::runner(asio::any_io_executor ex, const core::wall_clock& clock, sleeper& sleep,
               std::vector<schedule_spec> specs, stamp_store& stamps, job_function job, runner_config cfg,
               const core::logger* log)
    : ex_(ex),
      clock_(clock),
      sleeper_(sleep),
      specs_(std::move(specs)),
      stamps_(stamps),
      job_(std::move(job)),
      cfg_(cfg),
      log_(log),
      children_done_(ex) {
    cfg_.max_concurrent_jobs = std::max<std::size_t>(cfg_.max_concurrent_jobs, 1);
    next_id_ = std::max<std::uint64_t>(cfg_.first_id, 1);
}

std::vector<job_record> runner::active() const {
    std::vector<job_record> out;
    out.reserve(active_.size());
    for (const auto& [id, rec] : active_)
        out.push_back(rec);
    return out;
}

std::string runner::load() {
    if (plan_)
        return {};
    auto loaded = stamps_.load();
    if (loaded.ec) {
        if (log_ != nullptr)
            log_->error(
                "cannot load schedule stamps",
                {{"event", "stamps-load-failed"}, {"error", loaded.ec.message()}, {"detail", loaded.detail}});
        return "cannot load the schedule stamps: " + loaded.detail + " (" + loaded.ec.message() + ")";
    }
    plan_.emplace(specs_, loaded.stamps, clock_.now(), cfg_.plan);
    return {};
}

asio::awaitable<void> runner::run() {
    if (const auto problem = load(); !problem.empty())
        throw boost::system::system_error(make_error_code(errc::corrupt_stamps), problem);
    stopping_ = false;

    std::exception_ptr stop;
    try {
        for (;;) {
            const auto now = clock_.now();
            const auto batch = plan_->take_due(now);
            if (!batch.empty()) {
                persist();
                take(batch, now);
            }
            const auto next = plan_->next_due();
            co_await sleeper_.sleep_until(next ? *next : now + cfg_.idle_sleep);
        }
    } catch (...) {
        stop = std::current_exception();
    }
    // The runner itself was cancelled; waiting for its jobs must not be.
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await asio::this_coro::reset_cancellation_state();
    co_await shutdown();
    std::rethrow_exception(stop);
}

asio::awaitable<void> runner::shutdown() {
    stopping_ = true;
    for (const auto id : std::vector<std::uint64_t>(queue_))
        finish(id, job_status::cancelled, "runner stopped before the job started");
    queue_.clear();
    for (auto& [env, job] : running_)
        job.signal->emit(asio::cancellation_type::terminal);
    while (!running_.empty()) {
        children_done_.expires_at(asio::steady_timer::time_point::max());
        co_await children_done_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

void runner::persist() {
    const auto r = stamps_.save(plan_->stamps());
    if (r.ec && log_ != nullptr)
        log_->error("cannot save schedule stamps",
                    {{"event", "stamps-save-failed"}, {"error", r.ec.message()}, {"detail", r.detail}});
}

void runner::take(const due_batch& batch, core::time_point now) {
    for (const auto& s : batch.skipped) {
        const auto& spec = plan_->specs().at(s.schedule);
        job_record rec;
        rec.id = next_id_++;
        rec.what =
            fire{s.schedule, spec.environment, spec.name,  s.latest, plan_->due_of(s.schedule, s.latest),
                 true,       spec.kind,        spec.lane()};
        rec.status = job_status::skipped_missed;
        rec.fired_at = now;
        rec.finished_at = now;
        rec.detail = "missed slots skipped (missed policy skip)";
        ++counters_.skipped_missed;
        log(core::log_level::notice, "missed schedule slots skipped", rec);
        record_finished(std::move(rec));
    }
    for (const auto& f : batch.fires)
        on_fire(f, now);
    start_queued();
}

void runner::on_fire(const fire& f, core::time_point now) {
    ++counters_.fired;
    const auto& spec = plan_->specs().at(f.schedule);
    job_record rec;
    rec.id = next_id_++;
    rec.what = f;
    rec.fired_at = now;

    const auto queued_same = queued_in(f.lane);
    const auto running = running_.find(f.lane);
    const bool busy = running != running_.end() || queued_same != queue_.end();

    if (spec.concurrency == config::concurrency_policy::forbid && busy) {
        rec.status = job_status::skipped_running;
        rec.finished_at = now;
        rec.detail = "a job of this environment is still queued or running";
        ++counters_.skipped_running;
        log(core::log_level::warning, "scheduled job skipped: the previous job of its lane still runs", rec);
        record_finished(std::move(rec));
        return;
    }
    if (spec.concurrency == config::concurrency_policy::replace) {
        // An operator's restore is never cancelled by a schedule: a lock it holds, a state half
        // written and an audit record are not a schedule's to decide. The new fire waits.
        const auto protected_job = [&](std::uint64_t id) { return !active_.at(id).what.replaceable; };
        std::uint64_t waits_for = 0;
        if (queued_same != queue_.end()) {
            const auto old = *queued_same;
            if (protected_job(old)) {
                waits_for = old;
            } else {
                queue_.erase(queued_same);
                finish(old, job_status::replaced,
                       "replaced by job " + std::to_string(rec.id) + " before it started");
            }
        }
        if (running != running_.end()) {
            if (protected_job(running->second.id)) {
                waits_for = running->second.id;
            } else if (!running->second.replaced) {
                running->second.replaced = true;
                active_.at(running->second.id).detail = "replaced by job " + std::to_string(rec.id);
                running->second.signal->emit(asio::cancellation_type::terminal);
            }
        }
        if (waits_for != 0) {
            const auto& other = active_.at(waits_for);
            rec.detail = "waiting for job " + std::to_string(waits_for) + " (" + other.what.name +
                         "), which a schedule never replaces";
        }
    }
    rec.status = job_status::queued;
    log(core::log_level::info, "scheduled job fired", rec);
    changed(rec);
    const auto id = rec.id;
    const auto due = rec.what.due;
    active_.emplace(id, std::move(rec));
    const auto pos = std::upper_bound(
        queue_.begin(), queue_.end(), due,
        [&](core::time_point d, std::uint64_t other) { return d < active_.at(other).what.due; });
    queue_.insert(pos, id);
}

runner::submit_result runner::submit(fire what) {
    submit_result out;
    if (const auto running = running_.find(what.lane); running != running_.end()) {
        out.busy_with = running->second.id;
        return out;
    }
    if (const auto queued = queued_in(what.lane); queued != queue_.end()) {
        out.busy_with = *queued;
        return out;
    }
    if (stopping_)
        return out;
    const auto now = clock_.now();
    job_record rec;
    rec.id = next_id_++;
    what.due = now;
    what.slot = std::chrono::floor<std::chrono::seconds>(now);
    rec.what = std::move(what);
    rec.fired_at = now;
    rec.status = job_status::queued;
    rec.on_demand = true;
    out.id = rec.id;
    log(core::log_level::info, "on-demand job queued", rec);
    active_.emplace(rec.id, rec);
    changed(rec);
    // on-demand jobs go after the ones already due (the queue is in due order)
    queue_.push_back(out.id);
    start_queued();
    return out;
}

void runner::update(std::vector<schedule_spec> specs) {
    specs_ = std::move(specs);
    if (!plan_)
        return;
    const auto stamps = plan_->stamps();
    plan_.emplace(specs_, stamps, clock_.now(), cfg_.plan);
    sleeper_.wake();
}

void runner::progress(std::uint64_t id, std::string step, int done, int total) {
    const auto it = active_.find(id);
    if (it == active_.end())
        return;
    it->second.step = std::move(step);
    it->second.done = done;
    it->second.total = total;
    changed(it->second);
}

std::optional<job_record> runner::find(std::uint64_t id) const {
    if (const auto it = active_.find(id); it != active_.end())
        return it->second;
    for (auto it = history_.rbegin(); it != history_.rend(); ++it)
        if (it->id == id)
            return *it;
    return std::nullopt;
}

void runner::changed(const job_record& rec) const {
    if (cfg_.on_change)
        cfg_.on_change(rec);
}

std::vector<std::uint64_t>::iterator runner::queued_in(const std::string& lane) {
    return std::find_if(queue_.begin(), queue_.end(),
                        [&](std::uint64_t id) { return active_.at(id).what.lane == lane; });
}

void runner::start_queued() {
    if (stopping_)
        return;
    for (auto it = queue_.begin(); it != queue_.end() && running_.size() < cfg_.max_concurrent_jobs;) {
        const auto id = *it;
        if (running_.contains(active_.at(id).what.lane)) {
            ++it;
            continue;
        }
        it = queue_.erase(it);
        start(id);
    }
}

void runner::start(std::uint64_t id) {
    auto& rec = active_.at(id);
    rec.status = job_status::running;
    rec.started_at = clock_.now();
    auto signal = std::make_unique<asio::cancellation_signal>();
    auto slot = signal->slot();
    running_.emplace(rec.what.lane, running_job{id, std::move(signal), false});
    ++counters_.started;
    counters_.max_in_flight = std::max(counters_.max_in_flight, running_.size());
    log(core::log_level::info, "job started", rec);
    changed(rec);
    fire what = rec.what;
    what.job_id = id;
    asio::co_spawn(ex_, run_job(std::move(what)),
                   asio::bind_cancellation_slot(slot, [this, id](std::exception_ptr e, job_outcome outcome) {
                       on_done(id, e, std::move(outcome));
                   }));
}

asio::awaitable<job_outcome> runner::run_job(fire f) {
    co_return co_await job_(f);
}

void runner::on_done(std::uint64_t id, std::exception_ptr e, job_outcome outcome) {
    const auto env = active_.at(id).what.lane;
    const auto running = running_.find(env);
    const bool replaced = running != running_.end() && running->second.replaced;
    job_status status = job_status::succeeded;
    std::string detail = std::move(outcome.detail);
    if (e) {
        try {
            std::rethrow_exception(e);
        } catch (const boost::system::system_error& err) {
            if (err.code() == asio::error::operation_aborted) {
                status = replaced ? job_status::replaced : job_status::cancelled;
                detail = replaced ? "replaced by a newer run (concurrency: replace)"
                                  : "cancelled: tfsnapd stopped before the job finished";
            } else {
                status = job_status::failed;
                detail = err.what();
            }
        } catch (const std::exception& err) {
            status = job_status::failed;
            detail = err.what();
        } catch (...) {
            status = job_status::failed;
            detail = "unknown exception";
        }
    } else if (!outcome.ok) {
        status = job_status::failed;
    }
    if (replaced && status == job_status::replaced)
        detail = active_.at(id).detail;
    running_.erase(env);
    finish(id, status, std::move(detail), std::move(outcome.result));
    if (stopping_) {
        if (running_.empty())
            children_done_.cancel();
        return;
    }
    start_queued();
}

void runner::finish(std::uint64_t id, job_status status, std::string detail, std::string result) {
    auto node = active_.extract(id);
    auto& rec = node.mapped();
    rec.status = status;
    rec.result = std::move(result);
    rec.finished_at = clock_.now();
    rec.detail = std::move(detail);
    switch (status) {
        case job_status::succeeded:
            ++counters_.succeeded;
            log(core::log_level::info, "job finished", rec);
            break;
        case job_status::failed:
            ++counters_.failed;
            log(core::log_level::error, "job failed", rec);
            break;
        case job_status::replaced:
            ++counters_.replaced;
            log(core::log_level::notice, "job replaced", rec);
            break;
        case job_status::cancelled:
            ++counters_.cancelled;
            log(core::log_level::notice, "job cancelled", rec);
            break;
        default:
            break;
    }
    record_finished(std::move(rec));
}

void runner::record_finished(job_record rec) {
    // In the history before anyone is told: whoever reads history().back() in on_change (the
    // daemon's STATUS=) sees this job as the last one, not the one before it.
    history_.push_back(std::move(rec));
    while (history_.size() > std::max<std::size_t>(cfg_.history_limit, 1))
        history_.pop_front();
    const auto now = clock_.now();
    while (history_.size() > 1 && history_.front().finished_at &&
           now - *history_.front().finished_at > cfg_.history_max_age)
        history_.pop_front();
    changed(history_.back());
}

void runner::log(core::log_level level, std::string_view message, const job_record& rec) const {
    if (log_ == nullptr || !log_->enabled(level))
        return;
    const auto slot = std::chrono::system_clock::to_time_t(rec.what.slot);
    log_->log(level, message,
              {{"env", rec.what.environment},
               {"schedule", rec.what.name},
               {"job", std::to_string(rec.id)},
               {"slot", std::to_string(static_cast<long long>(slot))},
               {"status", std::string(to_string(rec.status))},
               {"detail", rec.detail}});
}

}  // namespace tfsnap::scheduler
