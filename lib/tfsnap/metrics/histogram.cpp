#include "tfsnap/metrics/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tfsnap::metrics {

histogram::histogram(std::span<const double> bounds) : bounds_(bounds), counts_(bounds.size() + 1, 0) {}

void histogram::observe(double v) {
    if (std::isnan(v))
        throw std::invalid_argument("metrics: a histogram cannot observe NaN");
    // `le` is inclusive: the first bound >= v
    const auto bucket =
        static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    const std::lock_guard lock(mutex_);
    ++counts_[bucket];
    sum_ += v;
    ++count_;
}

histogram::snapshot histogram::read() const {
    snapshot s;
    s.bounds.assign(bounds_.begin(), bounds_.end());
    s.cumulative.reserve(counts_.size());
    const std::lock_guard lock(mutex_);
    std::uint64_t running = 0;
    for (const std::uint64_t c : counts_) {
        running += c;
        s.cumulative.push_back(running);
    }
    s.sum = sum_;
    s.count = count_;
    return s;
}

}  // namespace tfsnap::metrics
