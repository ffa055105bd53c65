#include "tfsnap/metrics/tfsnap_metrics.hpp"

namespace tfsnap::metrics {

tfsnap_metrics::tfsnap_metrics(registry& reg, std::string_view version)
    : backup_total(reg.add_counter("tfsnap_backup_total",
                                   "Backup jobs run, by environment, schedule and result (ok or failed).",
                                   {"env", "schedule", "result"})),
      backup_duration_seconds(reg.add_histogram(
          "tfsnap_backup_duration_seconds",
          "Duration of backup jobs in seconds, from start to the snapshot being recorded or the job failing.",
          {"env"}, default_duration_buckets())),
      last_success_timestamp_seconds(reg.add_gauge(
          "tfsnap_last_success_timestamp_seconds",
          "Unix time of the environment's last successful backup. Alert on time() minus this.", {"env"})),
      snapshots(reg.add_gauge("tfsnap_snapshots",
                              "Snapshots of the environment in the catalog, after pruning.", {"env"})),
      restore_total(reg.add_counter("tfsnap_restore_total",
                                    "Restores run, by environment and result (ok or failed).",
                                    {"env", "result"})),
      verify_failures(
          reg.add_gauge("tfsnap_verify_failures",
                        "Problems found by the environment's last verify run (a missing or changed "
                        "version, a copy that does not match, a wrong DynamoDB digest); 0 when clean.",
                        {"env"})),
      version_expiry_timestamp_seconds(reg.add_gauge("tfsnap_version_expiry_timestamp_seconds",
                                                     "Unix time at which a bucket lifecycle rule deletes the "
                                                     "S3 version a snapshot pins. Only snapshots whose "
                                                     "version has a known expiry have a series.",
                                                     {"env", "snapshot"})),
      s3_requests_total(reg.add_counter("tfsnap_s3_requests_total",
                                        "S3 requests sent, by operation and response code.", {"op", "code"})),
      state_deleted(reg.add_gauge("tfsnap_state_deleted",
                                  "1 while the current version of the environment's state object is a delete "
                                  "marker (the state was deleted and Terraform would find none), else 0.",
                                  {"env"})),
      expiry_at_risk(
          reg.add_gauge("tfsnap_expiry_at_risk",
                        "Snapshots of the environment whose S3 version a bucket lifecycle rule will "
                        "delete and that have no copy.",
                        {"env"})),
      build_info(reg.add_gauge("tfsnap_build_info", "The tfsnap version running; always 1.", {"version"})),
      event_loop_lag_seconds(reg.add_histogram(
          "tfsnap_event_loop_lag_seconds",
          "How late tfsnapd's I/O thread ran a timer that was due (sampled 4 times a second): time the "
          "control socket, the scheduler and every job waited for the thread.",
          {}, {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5})) {
    build_info.with({version}).set(1);
}

std::size_t tfsnap_metrics::forget_environment(std::string_view env) {
    return backup_total.remove_where("env", env) + backup_duration_seconds.remove_where("env", env) +
           last_success_timestamp_seconds.remove_where("env", env) + snapshots.remove_where("env", env) +
           restore_total.remove_where("env", env) + verify_failures.remove_where("env", env) +
           version_expiry_timestamp_seconds.remove_where("env", env) +
           state_deleted.remove_where("env", env) + expiry_at_risk.remove_where("env", env);
}

}  // namespace tfsnap::metrics
