#pragma once
// The set of metric families a process exposes, and their rendering in the Prometheus text
// exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
// Pure: no I/O, no clock; the HTTP endpoint that serves expose() lives elsewhere.
//
//     metrics::registry reg;
//     auto& backups = reg.add_counter("tfsnap_backup_total", "Backup jobs run.", {"env", "result"});
//     backups.with({"prod", "ok"}).inc();
//     std::string body = reg.expose();  // served with Content-Type registry::content_type
//
// Each family is registered once, with its name, help text, label names and (histograms) bucket
// bounds. expose() renders the families in registration order, each as one uninterrupted group:
// `# HELP` (omitted when the help text is empty), `# TYPE`, then one line per series sorted by
// label values (a histogram series as its `_bucket` lines with cumulative counts and
// `le="+Inf"`, then `_sum` and `_count`). Label values and help text are escaped; values are
// formatted as detail/text.hpp describes (NaN, +Inf, -Inf, integers without a decimal point).
// The output is deterministic: the same updates give the same text.
//
// Errors: registration throws std::invalid_argument for programming errors: an invalid metric
// name ([a-zA-Z_:][a-zA-Z0-9_:]*) or label name ([a-zA-Z_][a-zA-Z0-9_]*, not "__..."), a
// repeated label name, "le" as a histogram label, bucket bounds that are not strictly
// increasing finite numbers (a trailing +Inf is accepted and dropped), or a name whose samples
// would collide with another family's (a histogram `x` also takes `x_bucket`, `x_sum`,
// `x_count`).
//
// Thread safety: every member is safe from any thread; registration and expose() take the
// registry's mutex, and each family has its own (see family.hpp). expose() reads each series
// atomically (a histogram's buckets, sum and count agree), not the whole registry at once.
//
// Lifetime: families, and the series they hand out, live as long as the registry; it is neither
// copyable nor movable.

#include "tfsnap/metrics/family.hpp"

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::metrics {

// Bucket bounds for job durations in seconds: 50 ms to 5 minutes.
std::vector<double> default_duration_buckets();

class registry {
public:
    static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

    registry() = default;
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    counter_family& add_counter(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names = {});
    gauge_family& add_gauge(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names = {});
    histogram_family& add_histogram(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names = {},
                                    std::vector<double> buckets = default_duration_buckets());

    std::string expose() const;

private:
    template <class Metric>
    family<Metric>& add(metric_type type, std::string_view name, std::string_view help,
                        std::vector<std::string> label_names, std::vector<double> buckets);

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<detail::family_base>> families_;
    std::set<std::string, std::less<>> sample_names_;  // every name a family's lines use
};

}  // namespace tfsnap::metrics
