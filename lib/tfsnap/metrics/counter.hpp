#pragma once
// One counter series: a value that only goes up (restarting from 0 with the process). Obtained
// from a counter_family (`family.with({"prod", "daily", "ok"})`), which owns it.
//
// Errors: inc() with a negative or NaN amount is a programming error and throws
// std::invalid_argument; the value is left unchanged.
// Thread safety: inc() and value() are safe from any thread at any time (one std::atomic<double>).
// Lifetime: see family.hpp; a counter is neither copyable nor movable.

#include <atomic>

namespace tfsnap::metrics {

class counter {
public:
    counter() = default;
    counter(const counter&) = delete;
    counter& operator=(const counter&) = delete;

    void inc(double amount = 1.0);
    double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0.0};
};

}  // namespace tfsnap::metrics
