#include "tfsnap/metrics/counter.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace tfsnap::metrics {

void counter::inc(double amount) {
    if (std::isnan(amount) || amount < 0)
        throw std::invalid_argument("metrics: a counter cannot be increased by " + std::to_string(amount));
    value_.fetch_add(amount, std::memory_order_relaxed);
}

}  // namespace tfsnap::metrics
