#pragma once
// A metric family: one metric name, help text, type and list of label names, and one series
// (a counter, gauge or histogram) per set of label values. Families are created by a registry
// (registry.hpp), which owns them; `counter_family`, `gauge_family` and `histogram_family` are
// the three kinds.
//
//     auto& backups = reg.add_counter("tfsnap_backup_total", "...", {"env", "schedule", "result"});
//     backups.with({"prod", "daily", "ok"}).inc();
//
// with() returns the series for the label values, creating it at 0 the first time. Label values
// are given in the order of the family's label names; any text is accepted (invalid UTF-8 is
// replaced by U+FFFD, so untrusted text such as an S3 error code cannot break a scrape). A
// family without label names starts with its one series already created: `with({})`.
//
// remove() drops one series and remove_where() every series with a given value of one label
// (a gauge whose subject went away: a pruned snapshot's expiry time, a removed environment);
// clear() drops them all. A series that is created again afterwards starts at 0.
//
// Errors: the wrong number of label values (in with() and remove()) and an unknown label name
// (remove_where) are programming errors: std::invalid_argument.
//
// Thread safety: every member is safe from any thread; a mutex per family guards its set of
// series (with/remove/clear/exposition), and the series themselves are safe to update
// concurrently (see counter.hpp, gauge.hpp, histogram.hpp).
//
// Lifetime: the reference returned by with() stays valid until that series is removed
// (remove, remove_where, clear) or the registry is destroyed. Removing a series while another
// thread still uses its reference is undefined behaviour: in the daemon, workers may update
// series, but only the I/O thread removes them, and not the ones a worker is using.

#include "tfsnap/metrics/counter.hpp"
#include "tfsnap/metrics/gauge.hpp"
#include "tfsnap/metrics/histogram.hpp"

#include <cstddef>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::metrics {

enum class metric_type { counter, gauge, histogram };

// "counter", "gauge", "histogram": the word on a # TYPE line.
std::string_view to_string(metric_type t) noexcept;

class registry;

namespace detail {

// What the registry needs from every family: its identity and how it renders.
class family_base {
public:
    family_base(const family_base&) = delete;
    family_base& operator=(const family_base&) = delete;
    virtual ~family_base() = default;

    const std::string& name() const noexcept { return name_; }
    const std::string& help() const noexcept { return help_; }
    metric_type type() const noexcept { return type_; }
    const std::vector<std::string>& label_names() const noexcept { return label_names_; }

    // Appends the family's # HELP and # TYPE lines and its samples, sorted by label values.
    virtual void render(std::string& out) const = 0;

protected:
    family_base(metric_type type, std::string name, std::string help, std::vector<std::string> label_names);

    // The map key for `values`: checked against the label names, invalid UTF-8 replaced.
    std::vector<std::string> key(std::span<const std::string_view> values) const;
    // The index of `label_name` among the label names; throws when it is not one.
    std::size_t label_index(std::string_view label_name) const;
    // `{a="x",b="y"` (no closing brace, so a histogram can add `le`), or nothing when there are
    // no labels and no `extra` label.
    void append_labels(std::string& out, const std::vector<std::string>& values, std::string_view extra_name,
                       std::string_view extra_value) const;

private:
    metric_type type_;
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
};

}  // namespace detail

template <class Metric>
class family final : public detail::family_base {
public:
    Metric& with(std::initializer_list<std::string_view> values) { return with_key(key(as_span(values))); }
    Metric& with(std::span<const std::string> values) { return with_key(key(views(values))); }

    // Whether the series existed.
    bool remove(std::initializer_list<std::string_view> values) { return remove_key(key(as_span(values))); }
    bool remove(std::span<const std::string> values) { return remove_key(key(views(values))); }

    // Removes every series whose label `label_name` has the value `value`; returns how many.
    std::size_t remove_where(std::string_view label_name, std::string_view value);

    void clear();

    // The number of series.
    std::size_t size() const;

    // Bucket upper bounds of a histogram family (without +Inf); empty for the others.
    std::span<const double> bounds() const noexcept { return bounds_; }

    void render(std::string& out) const override;

private:
    friend class registry;

    family(metric_type type, std::string name, std::string help, std::vector<std::string> label_names,
           std::vector<double> bounds);

    static std::span<const std::string_view> as_span(
        std::initializer_list<std::string_view> values) noexcept {
        return {values.begin(), values.size()};
    }
    static std::vector<std::string_view> views(std::span<const std::string> values) {
        return {values.begin(), values.end()};
    }
    Metric& with_key(std::vector<std::string> key);
    bool remove_key(const std::vector<std::string>& key);
    std::unique_ptr<Metric> make() const;
    void render_series(std::string& out, const std::vector<std::string>& values, const Metric& m) const;

    const std::vector<double> bounds_;
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_;
};

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

extern template class family<counter>;
extern template class family<gauge>;
extern template class family<histogram>;

}  // namespace tfsnap::metrics
