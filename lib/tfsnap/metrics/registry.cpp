#include "tfsnap/metrics/registry.hpp"

#include "tfsnap/metrics/detail/text.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace tfsnap::metrics {

std::vector<double> default_duration_buckets() {
    return {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

namespace {

void check_labels(std::string_view name, metric_type type, const std::vector<std::string>& label_names) {
    for (std::size_t i = 0; i < label_names.size(); ++i) {
        const std::string& l = label_names[i];
        if (!detail::valid_label_name(l))
            throw std::invalid_argument("metrics: " + std::string(name) + ": invalid label name \"" + l +
                                        "\"");
        if (type == metric_type::histogram && l == "le")
            throw std::invalid_argument("metrics: " + std::string(name) +
                                        ": \"le\" is reserved for histogram buckets");
        if (std::find(label_names.begin(), label_names.begin() + static_cast<std::ptrdiff_t>(i), l) !=
            label_names.begin() + static_cast<std::ptrdiff_t>(i))
            throw std::invalid_argument("metrics: " + std::string(name) + ": label \"" + l +
                                        "\" given twice");
    }
}

std::vector<double> checked_buckets(std::string_view name, std::vector<double> buckets) {
    if (!buckets.empty() && buckets.back() == INFINITY)
        buckets.pop_back();
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        if (!std::isfinite(buckets[i]) || (i > 0 && !(buckets[i - 1] < buckets[i])))
            throw std::invalid_argument("metrics: " + std::string(name) +
                                        ": bucket bounds must be strictly increasing finite numbers");
    }
    return buckets;
}

}  // namespace

template <class Metric>
family<Metric>& registry::add(metric_type type, std::string_view name, std::string_view help,
                              std::vector<std::string> label_names, std::vector<double> buckets) {
    if (!detail::valid_metric_name(name))
        throw std::invalid_argument("metrics: invalid metric name \"" + detail::sanitize_utf8(name) + "\"");
    check_labels(name, type, label_names);
    if (type == metric_type::histogram)
        buckets = checked_buckets(name, std::move(buckets));

    std::vector<std::string> samples{std::string(name)};
    if (type == metric_type::histogram)
        for (const char* suffix : {"_bucket", "_sum", "_count"})
            samples.push_back(std::string(name) + suffix);

    const std::lock_guard lock(mutex_);
    for (const std::string& s : samples)
        if (sample_names_.contains(s))
            throw std::invalid_argument("metrics: " + std::string(name) + ": the name " + s +
                                        " is already registered");
    // not make_unique: the constructor is private to the registry
    std::unique_ptr<family<Metric>> f(new family<Metric>(type, std::string(name), detail::sanitize_utf8(help),
                                                         std::move(label_names), std::move(buckets)));
    family<Metric>& ref = *f;
    families_.push_back(std::move(f));
    sample_names_.insert(samples.begin(), samples.end());
    return ref;
}

counter_family& registry::add_counter(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names) {
    return add<counter>(metric_type::counter, name, help, std::move(label_names), {});
}

gauge_family& registry::add_gauge(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names) {
    return add<gauge>(metric_type::gauge, name, help, std::move(label_names), {});
}

histogram_family& registry::add_histogram(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names, std::vector<double> buckets) {
    return add<histogram>(metric_type::histogram, name, help, std::move(label_names), std::move(buckets));
}

std::string registry::expose() const {
    std::string out;
    const std::lock_guard lock(mutex_);
    for (const auto& f : families_)
        f->render(out);
    return out;
}

}  // namespace tfsnap::metrics
