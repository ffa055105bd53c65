// The registry's exposition, compared as exact text: each metric type, escaping, special
// values, ordering, removal, and the programming errors that throw.
#include "tfsnap/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace tfsnap::metrics;

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

TEST(MetricsExposition, Empty) {
    const registry reg;
    EXPECT_EQ(reg.expose(), "");
    EXPECT_EQ(registry::content_type, "text/plain; version=0.0.4; charset=utf-8");
}

TEST(MetricsExposition, Counter) {
    registry reg;
    auto& requests =
        reg.add_counter("http_requests_total", "The total number of HTTP requests.", {"method", "code"});
    requests.with({"post", "200"}).inc(1027);
    requests.with({"post", "400"}).inc(3);
    requests.with({"get", "200"}).inc();
    requests.with({"get", "200"}).inc(0.5);
    EXPECT_EQ(reg.expose(),
              "# HELP http_requests_total The total number of HTTP requests.\n"
              "# TYPE http_requests_total counter\n"
              "http_requests_total{method=\"get\",code=\"200\"} 1.5\n"
              "http_requests_total{method=\"post\",code=\"200\"} 1027\n"
              "http_requests_total{method=\"post\",code=\"400\"} 3\n");
    EXPECT_EQ(requests.with({"post", "200"}).value(), 1027);
    EXPECT_EQ(requests.size(), 3u);
}

TEST(MetricsExposition, CounterRejectsNegativeAndNaN) {
    registry reg;
    auto& c = reg.add_counter("c_total", "c").with({});
    c.inc(2);
    EXPECT_THROW(c.inc(-1), std::invalid_argument);
    EXPECT_THROW(c.inc(nan), std::invalid_argument);
    c.inc(0);
    EXPECT_EQ(c.value(), 2);
}

TEST(MetricsExposition, UnlabelledSeriesExistFromTheStart) {
    registry reg;
    reg.add_counter("c_total", "A counter.");
    reg.add_gauge("g", "A gauge.");
    reg.add_histogram("h_seconds", "A histogram.", {}, {1});
    EXPECT_EQ(reg.expose(),
              "# HELP c_total A counter.\n"
              "# TYPE c_total counter\n"
              "c_total 0\n"
              "# HELP g A gauge.\n"
              "# TYPE g gauge\n"
              "g 0\n"
              "# HELP h_seconds A histogram.\n"
              "# TYPE h_seconds histogram\n"
              "h_seconds_bucket{le=\"1\"} 0\n"
              "h_seconds_bucket{le=\"+Inf\"} 0\n"
              "h_seconds_sum 0\n"
              "h_seconds_count 0\n");
}

TEST(MetricsExposition, LabelledFamilyWithoutSeries) {
    registry reg;
    reg.add_gauge("tfsnap_snapshots", "Snapshots.", {"env"});
    EXPECT_EQ(reg.expose(), "# HELP tfsnap_snapshots Snapshots.\n# TYPE tfsnap_snapshots gauge\n");
}

TEST(MetricsExposition, Gauge) {
    registry reg;
    auto& g = reg.add_gauge("temperature_celsius", "Temperature.", {"room"});
    g.with({"kitchen"}).set(21.5);
    g.with({"cellar"}).set(12);
    g.with({"cellar"}).dec(0.5);
    g.with({"attic"}).inc();
    g.with({"attic"}).inc(2);
    g.with({"attic"}).dec();
    EXPECT_EQ(reg.expose(),
              "# HELP temperature_celsius Temperature.\n"
              "# TYPE temperature_celsius gauge\n"
              "temperature_celsius{room=\"attic\"} 2\n"
              "temperature_celsius{room=\"cellar\"} 11.5\n"
              "temperature_celsius{room=\"kitchen\"} 21.5\n");
}

TEST(MetricsExposition, SpecialValues) {
    registry reg;
    auto& g = reg.add_gauge("g", "Special values.", {"case"});
    g.with({"inf"}).set(inf);
    g.with({"minus_inf"}).set(-inf);
    g.with({"nan"}).set(nan);
    g.with({"negative"}).set(-3);
    g.with({"small"}).set(1.5e-7);
    g.with({"timestamp"}).set(1764000000);
    auto& c = reg.add_counter("c_total", "Infinite counter.");
    c.with({}).inc(inf);
    EXPECT_EQ(reg.expose(),
              "# HELP g Special values.\n"
              "# TYPE g gauge\n"
              "g{case=\"inf\"} +Inf\n"
              "g{case=\"minus_inf\"} -Inf\n"
              "g{case=\"nan\"} NaN\n"
              "g{case=\"negative\"} -3\n"
              "g{case=\"small\"} 1.5e-07\n"
              "g{case=\"timestamp\"} 1764000000\n"
              "# HELP c_total Infinite counter.\n"
              "# TYPE c_total counter\n"
              "c_total +Inf\n");
}

TEST(MetricsExposition, HistogramCumulativeBuckets) {
    registry reg;
    auto& h = reg.add_histogram("job_duration_seconds", "Job durations.", {"env"}, {0.05, 0.1, 1, 5});
    auto& prod = h.with({"prod"});
    for (const double v : {0.01, 0.05, 0.07, 0.5, 3.0, 4.0, 100.0})
        prod.observe(v);
    h.with({"dev"}).observe(0.2);
    EXPECT_EQ(reg.expose(),
              "# HELP job_duration_seconds Job durations.\n"
              "# TYPE job_duration_seconds histogram\n"
              "job_duration_seconds_bucket{env=\"dev\",le=\"0.05\"} 0\n"
              "job_duration_seconds_bucket{env=\"dev\",le=\"0.1\"} 0\n"
              "job_duration_seconds_bucket{env=\"dev\",le=\"1\"} 1\n"
              "job_duration_seconds_bucket{env=\"dev\",le=\"5\"} 1\n"
              "job_duration_seconds_bucket{env=\"dev\",le=\"+Inf\"} 1\n"
              "job_duration_seconds_sum{env=\"dev\"} 0.2\n"
              "job_duration_seconds_count{env=\"dev\"} 1\n"
              // 0.05 is counted in le="0.05": the bound is inclusive
              "job_duration_seconds_bucket{env=\"prod\",le=\"0.05\"} 2\n"
              "job_duration_seconds_bucket{env=\"prod\",le=\"0.1\"} 3\n"
              "job_duration_seconds_bucket{env=\"prod\",le=\"1\"} 4\n"
              "job_duration_seconds_bucket{env=\"prod\",le=\"5\"} 6\n"
              "job_duration_seconds_bucket{env=\"prod\",le=\"+Inf\"} 7\n"
              "job_duration_seconds_sum{env=\"prod\"} 107.63\n"
              "job_duration_seconds_count{env=\"prod\"} 7\n");
    const auto s = prod.read();
    EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 3, 4, 6, 7}));
    EXPECT_EQ(s.count, 7u);
}

TEST(MetricsExposition, HistogramEdgeObservations) {
    registry reg;
    auto& h = reg.add_histogram("h", "Edges.", {}, {-1, 0, 1, inf});  // a trailing +Inf is dropped
    EXPECT_EQ(std::vector<double>(h.bounds().begin(), h.bounds().end()), (std::vector<double>{-1, 0, 1}));
    auto& s = h.with({});
    s.observe(-inf);
    s.observe(0);
    s.observe(inf);
    EXPECT_THROW(s.observe(nan), std::invalid_argument);
    EXPECT_EQ(reg.expose(),
              "# HELP h Edges.\n"
              "# TYPE h histogram\n"
              "h_bucket{le=\"-1\"} 1\n"
              "h_bucket{le=\"0\"} 2\n"
              "h_bucket{le=\"1\"} 2\n"
              "h_bucket{le=\"+Inf\"} 3\n"
              "h_sum NaN\n"  // -Inf + +Inf
              "h_count 3\n");
}

TEST(MetricsExposition, HistogramWithoutBounds) {
    registry reg;
    reg.add_histogram("h", "Only +Inf.", {}, {}).with({}).observe(2);
    EXPECT_EQ(reg.expose(),
              "# HELP h Only +Inf.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 2\nh_count 1\n");
}

TEST(MetricsExposition, DefaultDurationBuckets) {
    const auto b = default_duration_buckets();
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(b.front(), 0.05);
    EXPECT_EQ(b.back(), 300);
    EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
    registry reg;
    EXPECT_EQ(reg.add_histogram("d_seconds", "Default buckets.").bounds().size(), b.size());
}

TEST(MetricsExposition, Escaping) {
    registry reg;
    auto& g = reg.add_gauge("msdos_file_access_time_seconds",
                            "Help with a \\ backslash,\na newline and \"quotes\".", {"path", "error"});
    g.with({R"(C:\DIR\FILE.TXT)", "Cannot find file:\n\"FILE.TXT\""}).set(1.458255915e9);
    EXPECT_EQ(
        reg.expose(),
        "# HELP msdos_file_access_time_seconds Help with a \\\\ backslash,\\na newline and \"quotes\".\n"
        "# TYPE msdos_file_access_time_seconds gauge\n"
        "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\","
        "error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1458255915\n");
}

TEST(MetricsExposition, InvalidUtf8IsReplaced) {
    registry reg;
    auto& c = reg.add_counter("s3_requests_total", "Requests.", {"code"});
    c.with({"Slow\xFF"}).inc();
    c.with({"Slow\xFE"}).inc();  // both become the same series
    EXPECT_EQ(reg.expose(),
              "# HELP s3_requests_total Requests.\n"
              "# TYPE s3_requests_total counter\n"
              "s3_requests_total{code=\"Slow\xEF\xBF\xBD\"} 2\n");
}

TEST(MetricsExposition, EmptyHelpOmitsTheHelpLine) {
    registry reg;
    reg.add_gauge("g", "");
    EXPECT_EQ(reg.expose(), "# TYPE g gauge\ng 0\n");
}

TEST(MetricsExposition, OrderingFamiliesByRegistrationSeriesByLabelValues) {
    registry reg;
    auto& z = reg.add_gauge("zeta", "Registered first.", {"a", "b"});
    auto& a = reg.add_counter("alpha_total", "Registered second.", {"x"});
    a.with({"b"}).inc();
    z.with({"y", "2"}).set(4);
    z.with({"x", "9"}).set(3);
    z.with({"y", "10"}).set(5);  // label values sort as text: "10" < "2"
    z.with({"", "1"}).set(1);
    a.with({"a"}).inc();
    const std::string expected =
        "# HELP zeta Registered first.\n"
        "# TYPE zeta gauge\n"
        "zeta{a=\"\",b=\"1\"} 1\n"
        "zeta{a=\"x\",b=\"9\"} 3\n"
        "zeta{a=\"y\",b=\"10\"} 5\n"
        "zeta{a=\"y\",b=\"2\"} 4\n"
        "# HELP alpha_total Registered second.\n"
        "# TYPE alpha_total counter\n"
        "alpha_total{x=\"a\"} 1\n"
        "alpha_total{x=\"b\"} 1\n";
    EXPECT_EQ(reg.expose(), expected);
    EXPECT_EQ(reg.expose(), expected);  // deterministic
}

TEST(MetricsExposition, WithAcceptsStrings) {
    registry reg;
    auto& g = reg.add_gauge("g", "g", {"env", "snapshot"});
    const std::vector<std::string> labels{"prod", "2026-01-01T00:00:00Z"};
    g.with(labels).set(7);
    const std::string env = "prod";
    const std::string snap = "2026-01-01T00:00:00Z";
    EXPECT_EQ(&g.with({env, snap}), &g.with(labels));
    EXPECT_TRUE(g.remove(labels));
    EXPECT_EQ(g.size(), 0u);
}

TEST(MetricsExposition, RemoveAndClear) {
    registry reg;
    auto& expiry = reg.add_gauge("expiry_timestamp_seconds", "Expiry.", {"env", "snapshot"});
    expiry.with({"prod", "s1"}).set(100);
    expiry.with({"prod", "s2"}).set(200);
    expiry.with({"dev", "s1"}).set(300);
    expiry.with({"dev", "s2"}).set(400);

    EXPECT_TRUE(expiry.remove({"prod", "s1"}));
    EXPECT_FALSE(expiry.remove({"prod", "s1"}));
    EXPECT_EQ(reg.expose(),
              "# HELP expiry_timestamp_seconds Expiry.\n"
              "# TYPE expiry_timestamp_seconds gauge\n"
              "expiry_timestamp_seconds{env=\"dev\",snapshot=\"s1\"} 300\n"
              "expiry_timestamp_seconds{env=\"dev\",snapshot=\"s2\"} 400\n"
              "expiry_timestamp_seconds{env=\"prod\",snapshot=\"s2\"} 200\n");

    EXPECT_EQ(expiry.remove_where("env", "dev"), 2u);
    EXPECT_EQ(expiry.remove_where("snapshot", "nope"), 0u);
    EXPECT_THROW(expiry.remove_where("nope", "dev"), std::invalid_argument);
    EXPECT_EQ(expiry.size(), 1u);

    expiry.clear();
    EXPECT_EQ(reg.expose(),
              "# HELP expiry_timestamp_seconds Expiry.\n# TYPE expiry_timestamp_seconds gauge\n");
    // created again, from 0
    expiry.with({"prod", "s2"}).inc();
    EXPECT_EQ(expiry.with({"prod", "s2"}).value(), 1);
}

TEST(MetricsExposition, InvalidMetricNamesThrow) {
    registry reg;
    for (const char* bad : {"", "9lives", "has-dash", "has space", "dotted.name", "brace{", "\xFF"}) {
        EXPECT_THROW(reg.add_counter(bad, "x"), std::invalid_argument) << bad;
        EXPECT_THROW(reg.add_gauge(bad, "x"), std::invalid_argument) << bad;
        EXPECT_THROW(reg.add_histogram(bad, "x"), std::invalid_argument) << bad;
    }
    EXPECT_EQ(reg.expose(), "");
    EXPECT_NO_THROW(reg.add_gauge("job:recorded_rule", "colons are valid"));
}

TEST(MetricsExposition, InvalidLabelNamesThrow) {
    registry reg;
    for (const char* bad : {"", "9a", "has-dash", "colon:", "__reserved", "__name__"})
        EXPECT_THROW(reg.add_gauge("g", "x", {"env", bad}), std::invalid_argument) << bad;
    EXPECT_THROW(reg.add_gauge("g", "x", {"env", "env"}), std::invalid_argument);
    EXPECT_THROW(reg.add_histogram("h", "x", {"le"}), std::invalid_argument);
    EXPECT_NO_THROW(reg.add_gauge("g", "le is fine outside histograms", {"le", "_private"}));
}

TEST(MetricsExposition, InvalidBucketsThrow) {
    registry reg;
    EXPECT_THROW(reg.add_histogram("h", "x", {}, {1, 1}), std::invalid_argument);
    EXPECT_THROW(reg.add_histogram("h", "x", {}, {2, 1}), std::invalid_argument);
    EXPECT_THROW(reg.add_histogram("h", "x", {}, {1, nan}), std::invalid_argument);
    EXPECT_THROW(reg.add_histogram("h", "x", {}, {-inf, 1}), std::invalid_argument);
    EXPECT_THROW(reg.add_histogram("h", "x", {}, {inf, inf}), std::invalid_argument);
    EXPECT_NO_THROW(reg.add_histogram("h", "x", {}, {1, 2}));
}

TEST(MetricsExposition, DuplicateNamesThrow) {
    registry reg;
    reg.add_counter("a_total", "x");
    EXPECT_THROW(reg.add_counter("a_total", "again"), std::invalid_argument);
    EXPECT_THROW(reg.add_gauge("a_total", "as a gauge"), std::invalid_argument);
    reg.add_histogram("d_seconds", "x");
    for (const char* clash : {"d_seconds", "d_seconds_bucket", "d_seconds_sum", "d_seconds_count"})
        EXPECT_THROW(reg.add_gauge(clash, "x"), std::invalid_argument) << clash;
    reg.add_gauge("e_count", "x");
    EXPECT_THROW(reg.add_histogram("e", "x"), std::invalid_argument);
    // a failed registration leaves nothing behind
    EXPECT_NO_THROW(reg.add_gauge("e", "x"));
    EXPECT_EQ(
        reg.expose(),
        "# HELP a_total x\n# TYPE a_total counter\na_total 0\n"
        "# HELP d_seconds x\n# TYPE d_seconds histogram\n"
        "d_seconds_bucket{le=\"0.05\"} 0\nd_seconds_bucket{le=\"0.1\"} 0\nd_seconds_bucket{le=\"0.25\"} 0\n"
        "d_seconds_bucket{le=\"0.5\"} 0\nd_seconds_bucket{le=\"1\"} 0\nd_seconds_bucket{le=\"2.5\"} 0\n"
        "d_seconds_bucket{le=\"5\"} 0\nd_seconds_bucket{le=\"10\"} 0\nd_seconds_bucket{le=\"30\"} 0\n"
        "d_seconds_bucket{le=\"60\"} 0\nd_seconds_bucket{le=\"120\"} 0\nd_seconds_bucket{le=\"300\"} 0\n"
        "d_seconds_bucket{le=\"+Inf\"} 0\nd_seconds_sum 0\nd_seconds_count 0\n"
        "# HELP e_count x\n# TYPE e_count gauge\ne_count 0\n"
        "# HELP e x\n# TYPE e gauge\ne 0\n");
}

TEST(MetricsExposition, WrongNumberOfLabelValuesThrows) {
    registry reg;
    auto& c = reg.add_counter("c_total", "x", {"env", "schedule", "result"});
    EXPECT_THROW(c.with({"prod", "daily"}), std::invalid_argument);
    EXPECT_THROW(c.with({"prod", "daily", "ok", "extra"}), std::invalid_argument);
    EXPECT_THROW(c.with({}), std::invalid_argument);
    EXPECT_THROW(c.remove({"prod"}), std::invalid_argument);
    auto& g = reg.add_gauge("g", "x");
    EXPECT_THROW(g.with({"unexpected"}), std::invalid_argument);
    EXPECT_EQ(c.size(), 0u);
}

// Series are updated from worker threads while the I/O thread renders: no update is lost and
// every rendered histogram is consistent (checked by the parser test's rules, here directly).
TEST(MetricsExposition, ConcurrentUpdates) {
    registry reg;
    auto& c = reg.add_counter("c_total", "x", {"t"});
    auto& g = reg.add_gauge("g", "x");
    auto& h = reg.add_histogram("h", "x", {}, {1, 2});
    constexpr int threads = 4;
    constexpr int per_thread = 20000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            auto& mine = c.with({std::to_string(t % 2)});
            for (int i = 0; i < per_thread; ++i) {
                mine.inc();
                g.with({}).inc(0.5);
                h.with({}).observe(i % 3);
            }
        });
    for (int i = 0; i < 50; ++i) {
        const auto s = h.with({}).read();
        EXPECT_EQ(s.cumulative.back(), s.count);
        (void)reg.expose();
    }
    for (auto& w : workers)
        w.join();
    EXPECT_EQ(c.with({"0"}).value() + c.with({"1"}).value(), threads * per_thread);
    EXPECT_EQ(g.with({}).value(), threads * per_thread * 0.5);
    EXPECT_EQ(h.with({}).read().count, static_cast<std::uint64_t>(threads * per_thread));
}

}  // namespace
