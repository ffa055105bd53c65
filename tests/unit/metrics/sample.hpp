#pragma once
// A registry filled the way tfsnapd would fill it, with awkward label values (escapes, UTF-8,
// invalid UTF-8) and special values. Shared by the parser test and tfsnap_metrics_sample (which
// tests/system/metrics_parse.sh feeds to Python's prometheus_client), so both check the same
// text.

#include "tfsnap/metrics/tfsnap_metrics.hpp"

#include <limits>

namespace test {

inline void fill_sample(tfsnap::metrics::tfsnap_metrics& m) {
    using tfsnap::metrics::result_failed;
    using tfsnap::metrics::result_ok;
    m.backup_total.with({"prod", "daily", result_ok}).inc(3);
    m.backup_total.with({"prod", "daily", result_failed}).inc();
    m.backup_total.with({"staging", "hourly", result_ok}).inc(24);
    for (const double d : {0.2, 1.5, 7.0, 400.0})
        m.backup_duration_seconds.with({"prod"}).observe(d);
    m.backup_duration_seconds.with({"staging"}).observe(0.05);
    m.last_success_timestamp_seconds.with({"prod"}).set(1764000000);
    m.last_success_timestamp_seconds.with({"staging"}).set(1764003600.5);
    m.snapshots.with({"prod"}).set(14);
    for (const double lag : {0.0002, 0.003, 0.04})
        m.event_loop_lag_seconds.with({}).observe(lag);
    m.snapshots.with({"staging"}).set(0);
    m.restore_total.with({"prod", result_ok}).inc();
    m.verify_failures.with({"prod"}).set(0);
    m.verify_failures.with({"staging"}).set(2);
    m.version_expiry_timestamp_seconds.with({"prod", "2026-01-01T03:00:00Z"}).set(1769904000);
    m.version_expiry_timestamp_seconds.with({"prod", "2026-01-02T03:00:00Z-2"}).set(1769990400);
    // an environment name is free text in the config: quotes, backslash, newline, UTF-8
    m.snapshots.with({"we\"ird\\env\nm\xC3\xBCnchen"}).set(1);
    m.s3_requests_total.with({"PutObject", "200"}).inc(17);
    m.s3_requests_total.with({"GetObject", "503"}).inc(2);
    // S3 error codes are untrusted text
    m.s3_requests_total
        .with({"GetObject",
               "Bad\xFF"
               "Code"})
        .inc();
    m.state_deleted.with({"prod"}).set(0);
    m.state_deleted.with({"staging"}).set(1);
    m.expiry_at_risk.with({"prod"}).set(2);
    m.expiry_at_risk.with({"staging"}).set(std::numeric_limits<double>::quiet_NaN());
}

}  // namespace test
