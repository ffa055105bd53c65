// The exposition read back by an independent parser (text_parser.hpp): it is valid text format
// 0.0.4 and carries the values that were set.
#include "sample.hpp"
#include "text_parser.hpp"

#include "tfsnap/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace {

using namespace tfsnap::metrics;

// The parser itself rejects what the format forbids, so a pass below means something.
TEST(MetricsParser, RejectsInvalidText) {
    const char* bad[] = {
        "a 1",                                                             // no final line feed
        "a{b=\"c} 1\n",                                                    // unterminated value
        "a{b=\"\\t\"} 1\n",                                                // unknown escape
        "a{__b=\"c\"} 1\n",                                                // reserved label name
        "a{b=\"1\",b=\"2\"} 1\n",                                          // repeated label
        "9a 1\n",                                                          // metric name
        "a one\n",                                                         // value
        "a 1\nb 1\na 2\n",                                                 // not grouped
        "a 1\na 2\n",                                                      // repeated sample
        "a 1\n# TYPE a gauge\n",                                           // TYPE after samples
        "# TYPE a gauge\n# TYPE a gauge\n",                                // two TYPEs
        "# HELP a x\n# HELP a y\n",                                        // two HELPs
        "# TYPE a nonsense\n",                                             // unknown type
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",  // no +Inf
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n",
    };
    for (const char* text : bad)
        EXPECT_THROW(test::parse(text), std::runtime_error) << text;
    EXPECT_NO_THROW(
        test::parse("# HELP a x\n# TYPE a gauge\na{b=\"\\\\\\\"\\n\",} 1 1395066363000\n\n# c\n"));
}

TEST(MetricsParser, SampleExpositionParses) {
    registry reg;
    tfsnap_metrics m(reg, "1.2.3");
    test::fill_sample(m);
    const std::string text = reg.expose();
    test::exposition e;
    ASSERT_NO_THROW(e = test::parse(text)) << text;

    // every family, in registration order, typed and documented
    const std::vector<std::pair<std::string, std::string>> families = {
        {"tfsnap_backup_total", "counter"},
        {"tfsnap_backup_duration_seconds", "histogram"},
        {"tfsnap_last_success_timestamp_seconds", "gauge"},
        {"tfsnap_snapshots", "gauge"},
        {"tfsnap_restore_total", "counter"},
        {"tfsnap_verify_failures", "gauge"},
        {"tfsnap_version_expiry_timestamp_seconds", "gauge"},
        {"tfsnap_s3_requests_total", "counter"},
        {"tfsnap_state_deleted", "gauge"},
        {"tfsnap_expiry_at_risk", "gauge"},
        {"tfsnap_build_info", "gauge"},
        {"tfsnap_event_loop_lag_seconds", "histogram"},
    };
    ASSERT_EQ(e.families.size(), families.size());
    for (std::size_t i = 0; i < families.size(); ++i) {
        EXPECT_EQ(e.families[i].name, families[i].first);
        EXPECT_EQ(e.families[i].type, families[i].second) << families[i].first;
        ASSERT_TRUE(e.families[i].help.has_value()) << families[i].first;
        EXPECT_GT(e.families[i].help->size(), 20u) << families[i].first;
    }

    EXPECT_EQ(e.value("tfsnap_backup_total", {{"env", "prod"}, {"schedule", "daily"}, {"result", "ok"}}), 3);
    EXPECT_EQ(e.value("tfsnap_backup_total", {{"env", "prod"}, {"schedule", "daily"}, {"result", "failed"}}),
              1);
    EXPECT_EQ(e.value("tfsnap_backup_total", {{"env", "staging"}, {"schedule", "hourly"}, {"result", "ok"}}),
              24);
    EXPECT_EQ(e.value("tfsnap_backup_duration_seconds_count", {{"env", "prod"}}), 4);
    EXPECT_EQ(e.value("tfsnap_backup_duration_seconds_sum", {{"env", "prod"}}), 408.7);
    EXPECT_EQ(e.value("tfsnap_backup_duration_seconds_bucket", {{"env", "prod"}, {"le", "5"}}), 2);
    EXPECT_EQ(e.value("tfsnap_backup_duration_seconds_bucket", {{"env", "prod"}, {"le", "300"}}), 3);
    EXPECT_EQ(e.value("tfsnap_backup_duration_seconds_bucket", {{"env", "prod"}, {"le", "+Inf"}}), 4);
    EXPECT_EQ(e.value("tfsnap_backup_duration_seconds_bucket", {{"env", "staging"}, {"le", "0.05"}}), 1);
    EXPECT_EQ(e.value("tfsnap_last_success_timestamp_seconds", {{"env", "prod"}}), 1764000000);
    EXPECT_EQ(e.value("tfsnap_last_success_timestamp_seconds", {{"env", "staging"}}), 1764003600.5);
    EXPECT_EQ(e.value("tfsnap_snapshots", {{"env", "we\"ird\\env\nm\xC3\xBCnchen"}}), 1);
    EXPECT_EQ(e.value("tfsnap_version_expiry_timestamp_seconds",
                      {{"env", "prod"}, {"snapshot", "2026-01-02T03:00:00Z-2"}}),
              1769990400);
    EXPECT_EQ(e.value("tfsnap_s3_requests_total", {{"op", "GetObject"},
                                                   {"code",
                                                    "Bad\xEF\xBF\xBD"
                                                    "Code"}}),
              1);
    EXPECT_EQ(e.value("tfsnap_state_deleted", {{"env", "staging"}}), 1);
    const auto at_risk = e.value("tfsnap_expiry_at_risk", {{"env", "staging"}});
    ASSERT_TRUE(at_risk.has_value());
    EXPECT_TRUE(std::isnan(*at_risk));
    EXPECT_EQ(e.value("tfsnap_build_info", {{"version", "1.2.3"}}), 1);
}

TEST(MetricsParser, ExpositionOfEveryTypeParses) {
    registry reg;
    auto& c = reg.add_counter("c_total", "help \\ with\nnewline", {"a"});
    auto& g = reg.add_gauge("g", "gauge");
    auto& h = reg.add_histogram("h_seconds", "histogram", {"a", "b"}, {0.001, 0.5, 1e6});
    c.with({"x"}).inc(1e20);
    g.with({}).set(-std::numeric_limits<double>::infinity());
    h.with({"1", "2"}).observe(0.3);
    h.with({"1", "2"}).observe(2e6);
    h.with({"", "\""}).observe(1e-9);
    const auto e = test::parse(reg.expose());
    EXPECT_EQ(e.find("c_total")->help, "help \\ with\nnewline");
    EXPECT_EQ(e.value("c_total", {{"a", "x"}}), 1e20);
    EXPECT_EQ(e.value("g"), -std::numeric_limits<double>::infinity());
    EXPECT_EQ(e.value("h_seconds_bucket", {{"a", "1"}, {"b", "2"}, {"le", "1000000"}}), 1);
    EXPECT_EQ(e.value("h_seconds_bucket", {{"a", "1"}, {"b", "2"}, {"le", "+Inf"}}), 2);
    EXPECT_EQ(e.value("h_seconds_bucket", {{"a", ""}, {"b", "\""}, {"le", "0.001"}}), 1);
    EXPECT_EQ(e.find("h_seconds")->samples.size(), 2u * (3 + 1 + 2));
}

}  // namespace
