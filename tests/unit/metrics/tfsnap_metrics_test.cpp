// The daemon's metric set: names, types, labels, build info, forgetting an environment.
#include "tfsnap/metrics/tfsnap_metrics.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

using namespace tfsnap::metrics;

TEST(TfsnapMetrics, NamesTypesAndLabels) {
    registry reg;
    const tfsnap_metrics m(reg, "0.9.0");
    const auto check = [](const detail::family_base& f, const char* name, metric_type type,
                          std::vector<std::string> labels) {
        EXPECT_EQ(f.name(), name);
        EXPECT_EQ(f.type(), type) << name;
        EXPECT_EQ(f.label_names(), labels) << name;
        EXPECT_FALSE(f.help().empty()) << name;
    };
    check(m.backup_total, "tfsnap_backup_total", metric_type::counter, {"env", "schedule", "result"});
    check(m.backup_duration_seconds, "tfsnap_backup_duration_seconds", metric_type::histogram, {"env"});
    check(m.last_success_timestamp_seconds, "tfsnap_last_success_timestamp_seconds", metric_type::gauge,
          {"env"});
    check(m.snapshots, "tfsnap_snapshots", metric_type::gauge, {"env"});
    check(m.restore_total, "tfsnap_restore_total", metric_type::counter, {"env", "result"});
    check(m.verify_failures, "tfsnap_verify_failures", metric_type::gauge, {"env"});
    check(m.version_expiry_timestamp_seconds, "tfsnap_version_expiry_timestamp_seconds", metric_type::gauge,
          {"env", "snapshot"});
    check(m.s3_requests_total, "tfsnap_s3_requests_total", metric_type::counter, {"op", "code"});
    check(m.state_deleted, "tfsnap_state_deleted", metric_type::gauge, {"env"});
    check(m.expiry_at_risk, "tfsnap_expiry_at_risk", metric_type::gauge, {"env"});
    check(m.build_info, "tfsnap_build_info", metric_type::gauge, {"version"});
    check(m.event_loop_lag_seconds, "tfsnap_event_loop_lag_seconds", metric_type::histogram, {});
    EXPECT_EQ(std::vector<double>(m.backup_duration_seconds.bounds().begin(),
                                  m.backup_duration_seconds.bounds().end()),
              default_duration_buckets());
}

TEST(TfsnapMetrics, FreshExposition) {
    registry reg;
    const tfsnap_metrics m(reg, "0.9.0");
    const std::string text = reg.expose();
    // before anything happens: build info, and the event loop's lag histogram (no labels: its one
    // series exists from the start) with nothing observed
    EXPECT_NE(text.find("# TYPE tfsnap_build_info gauge\ntfsnap_build_info{version=\"0.9.0\"} 1\n"),
              std::string::npos)
        << text;
    EXPECT_TRUE(
        text.ends_with("tfsnap_event_loop_lag_seconds_sum 0\ntfsnap_event_loop_lag_seconds_count 0\n"))
        << text;
    EXPECT_NE(text.find("# HELP tfsnap_state_deleted 1 while the current version"), std::string::npos);
    std::size_t samples = 0;
    std::size_t pos = 0;
    while ((pos = text.find('\n', pos)) != std::string::npos) {
        ++pos;
        if (pos < text.size() && text[pos] != '#')
            ++samples;
    }
    EXPECT_EQ(samples, 1u + 11u + 1u + 2u) << text;  // build info; 11 buckets, +Inf, sum and count
}

TEST(TfsnapMetrics, SecondSetOnTheSameRegistryThrows) {
    registry reg;
    const tfsnap_metrics m(reg, "0.9.0");
    EXPECT_THROW(tfsnap_metrics(reg, "0.9.0"), std::invalid_argument);
}

TEST(TfsnapMetrics, ForgetEnvironment) {
    registry reg;
    tfsnap_metrics m(reg, "0.9.0");
    for (const char* env : {"prod", "dev"}) {
        m.backup_total.with({env, "daily", result_ok}).inc();
        m.backup_total.with({env, "weekly", result_failed}).inc();
        m.backup_duration_seconds.with({env}).observe(1);
        m.last_success_timestamp_seconds.with({env}).set(1);
        m.snapshots.with({env}).set(1);
        m.restore_total.with({env, result_ok}).inc();
        m.verify_failures.with({env}).set(0);
        m.version_expiry_timestamp_seconds.with({env, "s1"}).set(1);
        m.version_expiry_timestamp_seconds.with({env, "s2"}).set(1);
        m.state_deleted.with({env}).set(0);
        m.expiry_at_risk.with({env}).set(0);
    }
    m.s3_requests_total.with({"GetObject", "200"}).inc();
    EXPECT_EQ(m.forget_environment("dev"), 11u);
    EXPECT_EQ(m.forget_environment("dev"), 0u);
    const std::string text = reg.expose();
    EXPECT_EQ(text.find("\"dev\""), std::string::npos) << text;
    EXPECT_NE(text.find("tfsnap_snapshots{env=\"prod\"} 1\n"), std::string::npos);
    EXPECT_EQ(m.s3_requests_total.size(), 1u);
    EXPECT_EQ(m.build_info.size(), 1u);
}

}  // namespace
