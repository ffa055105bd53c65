#include "tfsnap/scheduler/runner.hpp"
#include "tfsnap/scheduler/error.hpp"

#include "helpers.hpp"
#include "virtual_sleeper.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <set>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace tfsnap::scheduler {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using config::concurrency_policy;
using config::missed_policy;
using test::at;
using test::make_test_spec;

core::time_point tp(std::chrono::sys_seconds s) {
    return core::time_point{s.time_since_epoch()};
}

class Runner : public ::testing::Test {
protected:
    struct started {
        fire what;
        core::time_point at;
    };

    void TearDown() override {
        if (r_ && !finished_)
            stop();
    }

    void start(std::vector<schedule_spec> specs, runner_config cfg) {
        r_ = std::make_unique<runner>(io_.get_executor(), clock_, sleeper_, std::move(specs), store_, job(),
                                      cfg);
        asio::co_spawn(io_, r_->run(),
                       asio::bind_cancellation_slot(stop_.slot(), [this](std::exception_ptr e) {
                           finished_ = true;
                           error_ = e;
                       }));
    }
    void start(std::vector<schedule_spec> specs) { start(std::move(specs), runner_config{}); }

    void run_until(std::chrono::sys_seconds t) { test::run_until(io_, sleeper_, tp(t)); }

    // Cancels the runner and checks it returned with nothing left behind.
    void stop() {
        stop_.emit(asio::cancellation_type::terminal);
        io_.restart();
        io_.poll();
        ASSERT_TRUE(finished_);
        EXPECT_EQ(r_->in_flight(), 0u);
        EXPECT_TRUE(r_->active().empty());
        EXPECT_EQ(sleeper_.waiting(), 0u);
        EXPECT_EQ(in_flight_, 0u);
    }

    job_function job() {
        return [this](const fire& f) -> asio::awaitable<job_outcome> {
            starts_.push_back({f, clock_.now()});
            ++in_flight_;
            max_in_flight_ = std::max(max_in_flight_, in_flight_);
            struct guard {
                std::size_t& n;
                ~guard() { --n; }
            } g{in_flight_};
            if (job_time_ > 0s)
                co_await sleeper_.delay(job_time_);
            if (fail_)
                throw std::runtime_error("backup failed");
            co_return job_outcome{};
        };
    }

    std::size_t starts_of(std::string_view name) const {
        return static_cast<std::size_t>(std::count_if(starts_.begin(), starts_.end(),
                                                      [&](const started& s) { return s.what.name == name; }));
    }
    std::vector<std::chrono::sys_seconds> slots() const {
        std::vector<std::chrono::sys_seconds> out;
        for (const auto& s : starts_)
            out.push_back(s.what.slot);
        return out;
    }

    asio::io_context io_;
    core::fake_clock clock_{tp(at(0))};
    test::virtual_sleeper sleeper_{io_.get_executor(), clock_};
    memory_stamp_store store_;
    std::unique_ptr<runner> r_;
    asio::cancellation_signal stop_;
    bool finished_ = false;
    std::exception_ptr error_;

    std::vector<started> starts_;
    std::size_t in_flight_ = 0;
    std::size_t max_in_flight_ = 0;
    std::chrono::seconds job_time_{0};
    bool fail_ = false;
};

TEST_F(Runner, FourHundredDaysOfDailyAndWeeklyInVirtualTime) {
    const auto wall_start = std::chrono::steady_clock::now();
    start({make_test_spec("prod", "daily", "0 2 * * *"),
           make_test_spec("prod-weekly", "weekly", "0 3 * * sun")});
    run_until(at(400));
    const auto elapsed = std::chrono::steady_clock::now() - wall_start;

    // 2024-01-01 is a Monday: days 0..399 hold 400 02:00 slots and 57 Sundays (days 6, 13, ..., 398).
    EXPECT_EQ(starts_of("daily"), 400u);
    EXPECT_EQ(starts_of("weekly"), 57u);
    for (const auto& s : starts_) {
        EXPECT_EQ(s.at, s.what.due);
        EXPECT_FALSE(s.what.catch_up);
    }
    EXPECT_EQ(r_->counters().succeeded, 457u);
    EXPECT_EQ(store_.stamps().at("prod/daily"), at(399, 2));
    EXPECT_EQ(store_.stamps().at("prod-weekly/weekly"), at(398, 3));
    EXPECT_LT(elapsed, 1s);
    stop();
}

TEST_F(Runner, RestartAfterThreeDaysDown) {
    store_ = memory_stamp_store({{"prod/nightly", at(0, 2)}, {"dev/nightly", at(0, 2)}});
    clock_.set(tp(at(3, 12)));
    start({make_test_spec("prod", "nightly", "0 2 * * *", 0s, missed_policy::run_once),
           make_test_spec("dev", "nightly", "0 2 * * *", 0s, missed_policy::skip)});
    run_until(at(4, 1));
    ASSERT_EQ(starts_.size(), 1u);
    EXPECT_EQ(starts_[0].what.environment, "prod");
    EXPECT_EQ(starts_[0].what.slot, at(3, 2));
    EXPECT_TRUE(starts_[0].what.catch_up);
    EXPECT_EQ(starts_[0].at, tp(at(3, 12)));
    EXPECT_EQ(store_.stamps().at("prod/nightly"), at(3, 2));

    // Both resume normally at the next slot.
    run_until(at(4, 3));
    EXPECT_EQ(starts_of("nightly"), 3u);
    EXPECT_EQ(starts_.back().what.slot, at(4, 2));
    stop();
}

TEST_F(Runner, ForbidSkipsWhileAJobRuns) {
    job_time_ = 150s;
    start({make_test_spec("prod", "minutely", "* * * * *")});
    run_until(at(0, 0, 5));
    // 00:01 runs until 00:03:30; 00:02 and 00:03 are skipped; 00:04 runs; 00:05 is skipped.
    ASSERT_EQ(starts_.size(), 2u);
    EXPECT_EQ(starts_[0].what.slot, at(0, 0, 1));
    EXPECT_EQ(starts_[1].what.slot, at(0, 0, 4));
    EXPECT_EQ(r_->counters().skipped_running, 3u);
    EXPECT_EQ(max_in_flight_, 1u);
    std::vector<std::chrono::sys_seconds> skipped;
    for (const auto& rec : r_->history())
        if (rec.status == job_status::skipped_running)
            skipped.push_back(rec.what.slot);
    EXPECT_EQ(skipped, (std::vector<std::chrono::sys_seconds>{at(0, 0, 2), at(0, 0, 3), at(0, 0, 5)}));
    stop();
}

TEST_F(Runner, ABackupAndAVerifyOfOneEnvironmentDoNotBlockEachOther) {
    job_time_ = 150s;
    auto verify = make_test_spec("prod", "verify", "* * * * *");
    verify.kind = job_kind::verify;
    start({make_test_spec("prod", "minutely", "* * * * *"), verify});
    run_until(at(0, 0, 2));
    // 00:01: both lanes start; 00:02: both are skipped, each because of its own lane's job
    ASSERT_EQ(starts_.size(), 2u);
    EXPECT_EQ(max_in_flight_, 2u);
    EXPECT_EQ(r_->counters().skipped_running, 2u);
    std::set<std::string> lanes;
    for (const auto& s : starts_)
        lanes.insert(s.what.lane);
    EXPECT_EQ(lanes, (std::set<std::string>{"prod", "prod/@verify"}));
    stop();
}

// STATUS= and `tfsnapctl status` read history().back() when told of a finished job: it must be
// that job, not the one before it (which it was until the next job started).
TEST_F(Runner, AFinishedJobIsTheLastOfTheHistoryWhenItIsAnnounced) {
    job_time_ = 10s;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;  // finished job, history().back()
    runner_config cfg;
    cfg.on_change = [&](const job_record& rec) {
        if (rec.finished_at)
            seen.emplace_back(rec.id, r_->history().empty() ? 0 : r_->history().back().id);
    };
    start({make_test_spec("prod", "hourly", "0 * * * *")}, cfg);
    run_until(at(0, 2, 5));
    ASSERT_EQ(seen.size(), 2u);
    for (const auto& [finished, last] : seen)
        EXPECT_EQ(finished, last);
    EXPECT_NE(seen[0].first, seen[1].first);
    stop();
}

// The job knows its own id (for its progress) when it starts.
TEST_F(Runner, TheJobIsToldItsId) {
    job_time_ = 10s;
    start({make_test_spec("prod", "hourly", "0 * * * *")});
    run_until(at(0, 1, 5));
    ASSERT_EQ(starts_.size(), 1u);
    EXPECT_NE(starts_[0].what.job_id, 0u);
    ASSERT_TRUE(r_->find(starts_[0].what.job_id));
    EXPECT_EQ(r_->find(starts_[0].what.job_id)->what.environment, "prod");
    stop();
}

TEST_F(Runner, OnDemandJobsShareTheLaneWithScheduledOnes) {
    job_time_ = 150s;
    std::vector<job_record> changes;
    runner_config cfg;
    cfg.on_change = [&](const job_record& rec) { changes.push_back(rec); };
    start({make_test_spec("prod", "hourly", "0 * * * *")}, cfg);
    run_until(at(0, 0, 0, 30));
    fire backup;
    backup.environment = "prod";
    backup.name = "on-demand";
    backup.lane = "prod";
    backup.request = "{}";
    const auto first = r_->submit(backup);
    ASSERT_TRUE(first.accepted());
    run_until(at(0, 0, 0, 31));
    ASSERT_EQ(starts_.size(), 1u);
    EXPECT_EQ(starts_[0].what.request, "{}");
    // forbid: a second one while it runs is refused, naming the running job
    const auto second = r_->submit(backup);
    EXPECT_FALSE(second.accepted());
    EXPECT_EQ(second.busy_with, first.id);
    // another lane is free
    fire verify = backup;
    verify.kind = job_kind::verify;
    verify.lane = "prod/@verify";
    EXPECT_TRUE(r_->submit(verify).accepted());
    // progress shows in the record
    r_->progress(first.id, "safety snapshot", 3, 7);
    const auto rec = r_->find(first.id);
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->status, job_status::running);
    EXPECT_TRUE(rec->on_demand);
    EXPECT_EQ(rec->step, "safety snapshot");
    EXPECT_EQ(rec->done, 3);
    // the on-demand job (00:00:30 + 150 s) is over long before the scheduled 01:00 fire
    run_until(at(0, 1, 5));
    EXPECT_EQ(r_->counters().skipped_running, 0u);
    EXPECT_EQ(starts_of("hourly"), 1u);
    ASSERT_TRUE(r_->find(first.id));
    EXPECT_EQ(r_->find(first.id)->status, job_status::succeeded);
    bool saw_queued = false, saw_running = false, saw_done = false;
    for (const auto& c : changes) {
        if (c.id != first.id)
            continue;
        saw_queued |= c.status == job_status::queued;
        saw_running |= c.status == job_status::running;
        saw_done |= c.status == job_status::succeeded;
    }
    EXPECT_TRUE(saw_queued && saw_running && saw_done);
    stop();
}

TEST_F(Runner, JobIdsCountUpFromTheFirstId) {
    runner_config cfg;
    cfg.first_id = 7001;  // what tfsnapd's job_id_store hands it after a restart
    start({make_test_spec("prod", "hourly", "0 * * * *")}, cfg);
    run_until(at(0, 0, 0, 30));
    fire backup;
    backup.environment = "prod";
    backup.name = "on-demand";
    backup.lane = "prod";
    const auto first = r_->submit(backup);
    EXPECT_EQ(first.id, 7001u);
    run_until(at(0, 1, 5));  // the on-demand job, then the 01:00 fire
    ASSERT_EQ(r_->history().size(), 2u);
    EXPECT_EQ(r_->history()[1].id, 7002u);
    stop();
}

TEST_F(Runner, UpdatedSchedulesTakeEffectWithoutStoppingRunningJobs) {
    job_time_ = 30min;
    start({make_test_spec("prod", "hourly", "0 * * * *")});
    run_until(at(0, 1, 0, 1));  // prod/hourly runs 01:00-01:30
    ASSERT_EQ(starts_.size(), 1u);
    // reload: prod keeps its schedule, staging appears
    r_->update({make_test_spec("prod", "hourly", "0 * * * *"),
                make_test_spec("staging", "quarter", "*/15 * * * *")});
    run_until(at(0, 1, 20));
    EXPECT_EQ(in_flight_, 2u);  // prod's job still runs; staging's 01:15 started
    EXPECT_EQ(starts_of("quarter"), 1u);
    run_until(at(0, 2, 0, 1));
    EXPECT_EQ(starts_of("hourly"), 2u);
    // removing a schedule stops its fires
    r_->update({make_test_spec("prod", "hourly", "0 * * * *")});
    const auto before = starts_of("quarter");
    run_until(at(0, 3, 0, 1));
    EXPECT_EQ(starts_of("quarter"), before);
    stop();
}

TEST_F(Runner, FinishedRecordsAreKeptForTheirMaximumAge) {
    runner_config cfg;
    cfg.history_max_age = 3h;
    start({make_test_spec("prod", "hourly", "0 * * * *")}, cfg);
    run_until(at(0, 10, 0, 1));
    // 01:00 ... 10:00 ran; only those finished within 3 h of the last one remain
    ASSERT_EQ(starts_of("hourly"), 10u);
    ASSERT_FALSE(r_->history().empty());
    EXPECT_LE(r_->history().size(), 4u);
    EXPECT_GE(*r_->history().front().finished_at, tp(at(0, 7)));
    stop();
}

TEST_F(Runner, ReplaceCancelsTheRunningJob) {
    job_time_ = 90s;
    start({make_test_spec("prod", "minutely", "* * * * *", 0s, missed_policy::run_once,
                          concurrency_policy::replace)});
    run_until(at(0, 0, 4));
    EXPECT_EQ(slots(),
              (std::vector<std::chrono::sys_seconds>{at(0, 0, 1), at(0, 0, 2), at(0, 0, 3), at(0, 0, 4)}));
    EXPECT_EQ(r_->counters().replaced, 3u);
    EXPECT_EQ(r_->counters().succeeded, 0u);
    EXPECT_EQ(max_in_flight_, 1u);
    ASSERT_EQ(r_->history().size(), 3u);
    for (const auto& rec : r_->history())
        EXPECT_EQ(rec.status, job_status::replaced);
    stop();
    EXPECT_EQ(r_->history().back().status, job_status::cancelled);
    EXPECT_EQ(r_->counters().cancelled, 1u);
}

// An operator's restore holds Terraform's locks and may have half written the state: a
// `concurrency: replace` schedule must wait for it, never cancel it (which used to leave the locks).
TEST_F(Runner, ReplaceNeverCancelsAnOperatorsRestore) {
    job_time_ = 150s;
    start({make_test_spec("prod", "minutely", "* * * * *", 0s, missed_policy::run_once,
                          concurrency_policy::replace)});
    run_until(at(0, 0, 0, 30));
    fire restore;
    restore.environment = "prod";
    restore.name = "restore";
    restore.lane = "prod";
    restore.request = "{}";
    restore.replaceable = false;
    const auto submitted = r_->submit(restore);
    ASSERT_TRUE(submitted.accepted());
    ASSERT_EQ(r_->in_flight(), 1u);

    // 00:01 and 00:02 fire while the restore runs (until 00:03:00): they wait, the second replacing
    // the first in the queue; neither cancels the restore.
    run_until(at(0, 0, 2, 30));
    EXPECT_EQ(r_->counters().replaced, 1u);
    const auto active = r_->active();
    ASSERT_EQ(active.size(), 2u);
    EXPECT_EQ(active[0].id, submitted.id);
    EXPECT_EQ(active[0].status, job_status::running);
    EXPECT_EQ(active[1].status, job_status::queued);
    EXPECT_EQ(active[1].detail, "waiting for job " + std::to_string(submitted.id) +
                                    " (restore), which a schedule never replaces");

    // the restore finishes on its own; then the waiting scheduled job runs
    run_until(at(0, 0, 3, 30));
    const auto rec = r_->find(submitted.id);
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->status, job_status::succeeded);
    ASSERT_GE(starts_.size(), 2u);
    EXPECT_EQ(starts_[1].what.name, "minutely");
    EXPECT_EQ(starts_[1].at, tp(at(0, 0, 3)));
    EXPECT_EQ(max_in_flight_, 1u);
    stop();
}

TEST_F(Runner, GlobalCapRunsJobsTwoAtATimeInDueOrder) {
    job_time_ = 10min;
    std::vector<schedule_spec> specs;
    stamp_map stamps;
    for (int i = 0; i < 10; ++i) {
        specs.push_back(make_test_spec("env" + std::to_string(i), "nightly", "0 2 * * *", 5min));
        stamps.emplace("env" + std::to_string(i) + "/nightly", at(0, 2));
    }
    store_ = memory_stamp_store(stamps);
    clock_.set(tp(at(1, 12)));  // all ten catch up at once
    runner_config cfg;
    cfg.max_concurrent_jobs = 2;
    start(std::move(specs), cfg);
    run_until(at(1, 14));

    ASSERT_EQ(starts_.size(), 10u);
    EXPECT_EQ(max_in_flight_, 2u);
    EXPECT_EQ(r_->counters().max_in_flight, 2u);
    EXPECT_EQ(r_->counters().succeeded, 10u);
    EXPECT_TRUE(std::is_sorted(starts_.begin(), starts_.end(),
                               [](const started& a, const started& b) { return a.what.due < b.what.due; }));
    EXPECT_NE(starts_.front().what.due, starts_.back().what.due);
    for (std::size_t i = 0; i < starts_.size(); ++i)
        EXPECT_EQ(starts_[i].at, tp(at(1, 12)) + (i / 2) * 10min);
    stop();
}

TEST_F(Runner, SimultaneousFiresBeyondTheCapWait) {
    job_time_ = 10min;
    std::vector<schedule_spec> specs;
    for (int i = 0; i < 10; ++i)
        specs.push_back(make_test_spec("env" + std::to_string(i), "nightly", "0 2 * * *"));
    runner_config cfg;
    cfg.max_concurrent_jobs = 2;
    start(std::move(specs), cfg);
    run_until(at(0, 3));
    ASSERT_EQ(starts_.size(), 10u);
    EXPECT_EQ(max_in_flight_, 2u);
    for (std::size_t i = 0; i < starts_.size(); ++i) {
        EXPECT_EQ(starts_[i].what.environment, "env" + std::to_string(i));
        EXPECT_EQ(starts_[i].at, tp(at(0, 2)) + (i / 2) * 10min);
    }
    stop();
}

TEST_F(Runner, ClockStepBackDoesNotDoubleFire) {
    clock_.set(tp(at(0, 9, 30)));
    start({make_test_spec("prod", "hourly", "0 * * * *")});
    run_until(at(0, 10, 0, 30));
    ASSERT_EQ(starts_.size(), 1u);
    clock_.set(tp(at(0, 9, 0, 30)));
    run_until(at(0, 11, 30));
    EXPECT_EQ(slots(), (std::vector<std::chrono::sys_seconds>{at(0, 10), at(0, 11)}));
    stop();
}

TEST_F(Runner, ClockStepForwardDoesNotLoseTheSlot) {
    clock_.set(tp(at(0, 9, 30)));
    start({make_test_spec("prod", "hourly", "0 * * * *")});
    run_until(at(0, 10, 0, 30));
    clock_.set(tp(at(0, 11, 20)));
    run_until(at(0, 12, 30));
    EXPECT_EQ(slots(), (std::vector<std::chrono::sys_seconds>{at(0, 10), at(0, 11), at(0, 12)}));
    ASSERT_EQ(starts_.size(), 3u);
    EXPECT_EQ(starts_[1].at, tp(at(0, 11, 20)));
    stop();
}

TEST_F(Runner, FailedJobsAreRecorded) {
    fail_ = true;
    start({make_test_spec("prod", "hourly", "0 * * * *")});
    run_until(at(0, 2, 30));
    EXPECT_EQ(r_->counters().failed, 2u);
    ASSERT_EQ(r_->history().size(), 2u);
    EXPECT_EQ(r_->history()[0].status, job_status::failed);
    EXPECT_EQ(r_->history()[0].detail, "backup failed");
    EXPECT_EQ(r_->history()[0].id + 1, r_->history()[1].id);
    stop();
}

TEST_F(Runner, StopCancelsRunningJobsAndWaitsForThem) {
    job_time_ = 1h;
    start({make_test_spec("prod", "nightly", "0 2 * * *"), make_test_spec("dev", "nightly", "0 2 * * *")});
    run_until(at(0, 2, 10));
    EXPECT_EQ(r_->in_flight(), 2u);
    stop();
    EXPECT_EQ(r_->counters().cancelled, 2u);
    ASSERT_TRUE(error_);
    try {
        std::rethrow_exception(error_);
    } catch (const boost::system::system_error& e) {
        EXPECT_EQ(e.code(), asio::error::operation_aborted);
    }
}

TEST_F(Runner, HistoryIsBounded) {
    runner_config cfg;
    cfg.history_limit = 5;
    start({make_test_spec("prod", "hourly", "0 * * * *")}, cfg);
    run_until(at(1));
    EXPECT_EQ(r_->counters().succeeded, 24u);
    EXPECT_EQ(r_->history().size(), 5u);
    stop();
}

class failing_store final : public stamp_store {
public:
    stamps_load_result load() override {
        return {{}, make_error_code(errc::corrupt_stamps), "/var/lib/tfsnap/schedules.stamps: line 2: bad"};
    }
    stamps_save_result save(const stamp_map&) override { return {}; }
};

TEST(RunnerStamps, CorruptStampsStopRunWithAClearError) {
    asio::io_context io;
    core::fake_clock clock{tp(at(0))};
    test::virtual_sleeper sleeper{io.get_executor(), clock};
    failing_store store;
    runner r(
        io.get_executor(), clock, sleeper, {make_test_spec("prod", "nightly", "0 2 * * *")}, store,
        [](const fire&) -> asio::awaitable<job_outcome> { co_return job_outcome{}; }, runner_config{});
    std::exception_ptr error;
    asio::co_spawn(io, r.run(), [&](std::exception_ptr e) { error = e; });
    io.run();
    ASSERT_TRUE(error);
    try {
        std::rethrow_exception(error);
    } catch (const boost::system::system_error& e) {
        EXPECT_EQ(e.code(), make_error_code(errc::corrupt_stamps));
        EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos);
    }
}

}  // namespace
}  // namespace tfsnap::scheduler
