#pragma once
// The metrics tfsnapd exposes, registered on a registry the caller owns (so the daemon can add
// more). Every name starts with `tfsnap_`; timestamps are Unix seconds, durations seconds.
//
//   tfsnap_backup_total{env,schedule,result}             counter    backup jobs run
//   tfsnap_backup_duration_seconds{env}                  histogram  backup job durations
//   tfsnap_last_success_timestamp_seconds{env}           gauge      last successful backup
//   tfsnap_snapshots{env}                                gauge      snapshots in the catalog
//   tfsnap_restore_total{env,result}                     counter    restores run
//   tfsnap_verify_failures{env}                          gauge      problems found by the last verify
//   tfsnap_version_expiry_timestamp_seconds{env,snapshot} gauge     when S3 deletes a snapshot's version
//   tfsnap_s3_requests_total{op,code}                    counter    S3 requests by operation and outcome
//   tfsnap_state_deleted{env}                            gauge      1 while the state is a delete marker
//   tfsnap_expiry_at_risk{env}                           gauge      snapshots whose version will be lost
//   tfsnap_build_info{version}                           gauge      always 1
//   tfsnap_event_loop_lag_seconds                        histogram  how late the I/O thread ran a due timer
//
// `result` is `result_ok` or `result_failed`. A snapshot's expiry series is removed when the
// snapshot is pruned (`version_expiry_timestamp_seconds.remove({env, id})`) or its version no
// longer expires; forget_environment() drops every series of an environment that left the
// configuration.
//
// Errors: the constructor throws std::invalid_argument when the registry already holds one of
// these names (a second tfsnap_metrics on the same registry).
// Thread safety: as registry.hpp and family.hpp. The references live as long as the registry.

#include "tfsnap/metrics/registry.hpp"

#include <cstddef>
#include <string_view>

namespace tfsnap::metrics {

inline constexpr std::string_view result_ok = "ok";
inline constexpr std::string_view result_failed = "failed";

struct tfsnap_metrics {
    // Registers every family, and sets tfsnap_build_info{version=`version`} to 1.
    tfsnap_metrics(registry& reg, std::string_view version);

    counter_family& backup_total;
    histogram_family& backup_duration_seconds;
    gauge_family& last_success_timestamp_seconds;
    gauge_family& snapshots;
    counter_family& restore_total;
    gauge_family& verify_failures;
    gauge_family& version_expiry_timestamp_seconds;
    counter_family& s3_requests_total;
    gauge_family& state_deleted;
    gauge_family& expiry_at_risk;
    gauge_family& build_info;
    histogram_family& event_loop_lag_seconds;

    // Removes every series labelled env=`env`; returns how many.
    std::size_t forget_environment(std::string_view env);
};

}  // namespace tfsnap::metrics
