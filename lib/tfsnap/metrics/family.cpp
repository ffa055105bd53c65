#include "tfsnap/metrics/family.hpp"

#include "tfsnap/metrics/detail/text.hpp"

#include <stdexcept>
#include <type_traits>
#include <utility>

namespace tfsnap::metrics {

std::string_view to_string(metric_type t) noexcept {
    switch (t) {
        case metric_type::counter:
            return "counter";
        case metric_type::gauge:
            return "gauge";
        case metric_type::histogram:
            return "histogram";
    }
    return "untyped";
}

namespace detail {

family_base::family_base(metric_type type, std::string name, std::string help,
                         std::vector<std::string> label_names)
    : type_(type), name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

std::vector<std::string> family_base::key(std::span<const std::string_view> values) const {
    if (values.size() != label_names_.size())
        throw std::invalid_argument("metrics: " + name_ + " has " + std::to_string(label_names_.size()) +
                                    " labels, given " + std::to_string(values.size()) + " values");
    std::vector<std::string> k;
    k.reserve(values.size());
    for (const std::string_view v : values)
        k.push_back(sanitize_utf8(v));
    return k;
}

std::size_t family_base::label_index(std::string_view label_name) const {
    for (std::size_t i = 0; i < label_names_.size(); ++i)
        if (label_names_[i] == label_name)
            return i;
    throw std::invalid_argument("metrics: " + name_ + " has no label " + std::string(label_name));
}

void family_base::append_labels(std::string& out, const std::vector<std::string>& values,
                                std::string_view extra_name, std::string_view extra_value) const {
    if (values.empty() && extra_name.empty())
        return;
    char sep = '{';
    for (std::size_t i = 0; i < values.size(); ++i) {
        out += sep;
        out += label_names_[i];
        out += "=\"";
        append_label_value(out, values[i]);
        out += '"';
        sep = ',';
    }
    if (!extra_name.empty()) {
        out += sep;
        out += extra_name;
        out += "=\"";
        append_label_value(out, extra_value);
        out += '"';
    }
    out += '}';
}

}  // namespace detail

template <class Metric>
family<Metric>::family(metric_type type, std::string name, std::string help,
                       std::vector<std::string> label_names, std::vector<double> bounds)
    : family_base(type, std::move(name), std::move(help), std::move(label_names)),
      bounds_(std::move(bounds)) {
    // A series without labels exists from the start, so a scrape shows its 0.
    if (this->label_names().empty())
        series_.emplace(std::vector<std::string>{}, make());
}

template <class Metric>
std::unique_ptr<Metric> family<Metric>::make() const {
    if constexpr (std::is_same_v<Metric, histogram>)
        return std::make_unique<histogram>(std::span<const double>(bounds_));
    else
        return std::make_unique<Metric>();
}

template <class Metric>
Metric& family<Metric>::with_key(std::vector<std::string> key) {
    const std::lock_guard lock(mutex_);
    auto it = series_.find(key);
    if (it == series_.end())
        it = series_.emplace(std::move(key), make()).first;
    return *it->second;
}

template <class Metric>
bool family<Metric>::remove_key(const std::vector<std::string>& key) {
    const std::lock_guard lock(mutex_);
    return series_.erase(key) > 0;
}

template <class Metric>
std::size_t family<Metric>::remove_where(std::string_view label_name, std::string_view value) {
    const std::size_t i = label_index(label_name);
    const std::string v = detail::sanitize_utf8(value);
    const std::lock_guard lock(mutex_);
    return std::erase_if(series_, [&](const auto& s) { return s.first[i] == v; });
}

template <class Metric>
void family<Metric>::clear() {
    const std::lock_guard lock(mutex_);
    series_.clear();
}

template <class Metric>
std::size_t family<Metric>::size() const {
    const std::lock_guard lock(mutex_);
    return series_.size();
}

template <class Metric>
void family<Metric>::render_series(std::string& out, const std::vector<std::string>& values,
                                   const Metric& m) const {
    if constexpr (std::is_same_v<Metric, histogram>) {
        const histogram::snapshot s = m.read();
        std::string le;
        for (std::size_t b = 0; b < s.cumulative.size(); ++b) {
            le.clear();
            if (b < s.bounds.size())
                detail::append_value(le, s.bounds[b]);
            else
                le = "+Inf";
            out += name();
            out += "_bucket";
            append_labels(out, values, "le", le);
            out += ' ';
            out += std::to_string(s.cumulative[b]);
            out += '\n';
        }
        out += name();
        out += "_sum";
        append_labels(out, values, {}, {});
        out += ' ';
        detail::append_value(out, s.sum);
        out += '\n';
        out += name();
        out += "_count";
        append_labels(out, values, {}, {});
        out += ' ';
        out += std::to_string(s.count);
        out += '\n';
    } else {
        out += name();
        append_labels(out, values, {}, {});
        out += ' ';
        detail::append_value(out, m.value());
        out += '\n';
    }
}

template <class Metric>
void family<Metric>::render(std::string& out) const {
    if (!help().empty()) {
        out += "# HELP ";
        out += name();
        out += ' ';
        detail::append_help(out, help());
        out += '\n';
    }
    out += "# TYPE ";
    out += name();
    out += ' ';
    out += to_string(type());
    out += '\n';
    const std::lock_guard lock(mutex_);
    for (const auto& [values, m] : series_)
        render_series(out, values, *m);
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

}  // namespace tfsnap::metrics
