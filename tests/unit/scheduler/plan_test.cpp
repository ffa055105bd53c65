#include "tfsnap/scheduler/plan.hpp"
#include "tfsnap/scheduler/jitter.hpp"

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <set>

namespace tfsnap::scheduler {
namespace {

using namespace std::chrono_literals;
using test::at;
using test::make_test_spec;

core::time_point tp(std::chrono::sys_seconds s) {
    return core::time_point{s.time_since_epoch()};
}

TEST(Jitter, IsDeterministicAndInRange) {
    EXPECT_EQ(jitter_offset("prod", "nightly", 300s), jitter_offset("prod", "nightly", 300s));
    EXPECT_EQ(jitter_offset("prod", "nightly", 0s), 0s);
    for (int i = 0; i < 1000; ++i) {
        const auto o = jitter_offset("env-" + std::to_string(i), "nightly", 300s);
        EXPECT_GE(o, 0s);
        EXPECT_LT(o, 300s);
    }
    // The boundary between the names matters: ("ab", "c") and ("a", "bc") differ.
    EXPECT_NE(fnv1a_64(std::string_view("ab\0c", 4)), fnv1a_64(std::string_view("a\0bc", 4)));
}

TEST(Jitter, IsStableAcrossBuilds) {
    // FNV-1a 64 reference values (draft-eastlake-fnv): "" and "a".
    EXPECT_EQ(fnv1a_64(""), 0xcbf29ce484222325ULL);
    EXPECT_EQ(fnv1a_64("a"), 0xaf63dc4c8601ec8cULL);
    EXPECT_EQ(fnv1a_64("foobar"), 0x85944171f73967e8ULL);
}

TEST(Jitter, SpreadsManyEnvironments) {
    std::vector<schedule_spec> specs;
    for (int i = 0; i < 300; ++i)
        specs.push_back(make_test_spec("env" + std::to_string(i), "nightly", "0 2 * * *", 5min));
    plan p(std::move(specs), {}, tp(at(0)));
    std::set<core::time_point> dues;
    for (std::size_t i = 0; i < 300; ++i) {
        const auto slot = p.next_slot(i);
        ASSERT_TRUE(slot);
        EXPECT_EQ(*slot, at(0, 2));
        const auto due = p.due_of(i, *slot);
        EXPECT_GE(due, tp(at(0, 2)));
        EXPECT_LT(due, tp(at(0, 2, 5)));
        dues.insert(due);
    }
    EXPECT_GE(dues.size(), 150u);  // 300 draws over 300 seconds: ~190 distinct expected
}

TEST(Plan, NewScheduleStartsFromNow) {
    plan p({make_test_spec("prod", "nightly", "0 2 * * *")}, {}, tp(at(3, 12)));
    EXPECT_TRUE(p.take_due(tp(at(3, 12))).empty());
    EXPECT_EQ(p.next_due(), tp(at(4, 2)));
    EXPECT_TRUE(p.stamps().empty());
}

TEST(Plan, RunOnceAfterDowntimeFiresOnceForTheLatestSlot) {
    const stamp_map stamps{{"prod/nightly", at(0, 2)}};
    plan p({make_test_spec("prod", "nightly", "0 2 * * *")}, stamps, tp(at(3, 12)));
    const auto batch = p.take_due(tp(at(3, 12)));
    ASSERT_EQ(batch.fires.size(), 1u);
    EXPECT_EQ(batch.fires[0].slot, at(3, 2));
    EXPECT_TRUE(batch.fires[0].catch_up);
    EXPECT_TRUE(p.take_due(tp(at(3, 12))).empty());
    EXPECT_EQ(p.next_due(), tp(at(4, 2)));
    EXPECT_EQ(p.stamps().at("prod/nightly"), at(3, 2));
}

TEST(Plan, SkipAfterDowntimeFiresNothing) {
    const stamp_map stamps{{"prod/nightly", at(0, 2)}};
    plan p({make_test_spec("prod", "nightly", "0 2 * * *", 0s, config::missed_policy::skip)}, stamps,
           tp(at(3, 12)));
    EXPECT_TRUE(p.take_due(tp(at(3, 12))).empty());
    EXPECT_EQ(p.next_due(), tp(at(4, 2)));
}

TEST(Plan, OnTimeSlotFiresOnce) {
    plan p({make_test_spec("prod", "hourly", "0 * * * *")}, {}, tp(at(0, 9, 30)));
    EXPECT_TRUE(p.take_due(tp(at(0, 9, 59, 59))).empty());
    const auto batch = p.take_due(tp(at(0, 10)));
    ASSERT_EQ(batch.fires.size(), 1u);
    EXPECT_EQ(batch.fires[0].slot, at(0, 10));
    EXPECT_FALSE(batch.fires[0].catch_up);
    EXPECT_TRUE(p.take_due(tp(at(0, 10))).empty());
}

TEST(Plan, ClockStepBackDoesNotRefire) {
    plan p({make_test_spec("prod", "hourly", "0 * * * *")}, {}, tp(at(0, 9, 30)));
    ASSERT_EQ(p.take_due(tp(at(0, 10))).fires.size(), 1u);
    EXPECT_TRUE(p.take_due(tp(at(0, 9, 0, 30))).empty());
    EXPECT_TRUE(p.take_due(tp(at(0, 10, 30))).empty());
    EXPECT_EQ(p.next_due(), tp(at(0, 11)));
}

TEST(Plan, ClockStepForwardFiresThePassedSlotOnce) {
    plan p({make_test_spec("prod", "hourly", "0 * * * *")}, {}, tp(at(0, 9, 30)));
    ASSERT_EQ(p.take_due(tp(at(0, 10))).fires.size(), 1u);
    const auto batch = p.take_due(tp(at(0, 13, 30)));
    ASSERT_EQ(batch.fires.size(), 1u);
    EXPECT_EQ(batch.fires[0].slot, at(0, 13));
    EXPECT_TRUE(p.take_due(tp(at(0, 13, 30))).empty());
}

TEST(Plan, SkipPolicyDropsLateSlotsButFiresSlightlyLateOnes) {
    plan p({make_test_spec("prod", "hourly", "0 * * * *", 0s, config::missed_policy::skip)}, {},
           tp(at(0, 9, 30)));
    const auto slightly = p.take_due(tp(at(0, 10, 0, 20)));
    ASSERT_EQ(slightly.fires.size(), 1u);
    const auto late = p.take_due(tp(at(0, 13, 30)));
    EXPECT_TRUE(late.fires.empty());
    ASSERT_EQ(late.skipped.size(), 1u);
    EXPECT_EQ(late.skipped[0].latest, at(0, 13));
}

TEST(Plan, JitterDelaysTheDueTimeNotTheSlot) {
    auto spec = make_test_spec("prod", "nightly", "0 2 * * *", 5min);
    const auto offset = jitter_offset("prod", "nightly", 5min);
    plan p({spec}, {}, tp(at(0)));
    EXPECT_EQ(p.next_due(), tp(at(0, 2) + offset));
    if (offset > 0s) {
        EXPECT_TRUE(p.take_due(tp(at(0, 2) + offset - 1s)).empty());
    }
    const auto batch = p.take_due(tp(at(0, 2) + offset));
    ASSERT_EQ(batch.fires.size(), 1u);
    EXPECT_EQ(batch.fires[0].slot, at(0, 2));
    EXPECT_EQ(batch.fires[0].due, tp(at(0, 2) + offset));
}

TEST(Specs, BuildsFromConfigAndReportsBadCron) {
    config::daemon_config cfg;
    config::environment env;
    env.name = "prod";
    config::schedule good;
    good.name = "nightly";
    good.cron = "0 2 * * *";
    good.timezone = "Europe/Paris";
    good.jitter = 5min;
    good.concurrency = config::concurrency_policy::replace;
    config::schedule bad;
    bad.name = "broken";
    bad.cron = "0 2 32 * *";
    env.schedules = {good, bad};
    env.verify.enabled = false;
    cfg.environments.push_back(env);

    const auto r = make_specs(cfg);
    ASSERT_EQ(r.specs.size(), 1u);
    EXPECT_EQ(r.specs[0].key(), "prod/nightly");
    EXPECT_EQ(r.specs[0].zone->name(), "Europe/Paris");
    EXPECT_EQ(r.specs[0].jitter, 5min);
    EXPECT_EQ(r.specs[0].concurrency, config::concurrency_policy::replace);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].schedule, "broken");
    EXPECT_NE(r.errors[0].message.find("cron"), std::string::npos);
    EXPECT_FALSE(r.ok());
}

TEST(Specs, EachEnvironmentGetsItsVerifyJobInItsOwnLane) {
    config::daemon_config cfg;
    config::environment env;
    env.name = "prod";
    config::schedule nightly;
    nightly.name = "nightly";
    nightly.cron = "0 2 * * *";
    env.schedules = {nightly};
    env.verify.cron = "0 4 * * sun";
    env.verify.timezone = "Europe/Berlin";
    cfg.environments.push_back(env);
    env.name = "dev";
    env.schedules.clear();
    env.verify.enabled = false;
    cfg.environments.push_back(env);

    const auto r = make_specs(cfg);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.specs.size(), 2u);
    EXPECT_EQ(r.specs[0].kind, job_kind::backup);
    EXPECT_EQ(r.specs[1].kind, job_kind::verify);
    EXPECT_EQ(r.specs[1].name, "verify");
    EXPECT_EQ(r.specs[1].key(), "prod/@verify");
    EXPECT_EQ(r.specs[1].zone->name(), "Europe/Berlin");
    EXPECT_EQ(r.specs[0].lane(), "prod");
    EXPECT_EQ(r.specs[1].lane(), "prod/@verify");
}

}  // namespace
}  // namespace tfsnap::scheduler
