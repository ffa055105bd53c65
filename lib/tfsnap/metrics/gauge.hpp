#pragma once
// One gauge series: a value that goes up and down (a count, a Unix timestamp, a 0/1 flag).
// Obtained from a gauge_family (`family.with({"prod"})`), which owns it. Any double is valid,
// NaN and infinities included; they are exposed as NaN, +Inf and -Inf.
//
// Errors: none.
// Thread safety: every member is safe from any thread at any time (one std::atomic<double>).
// Lifetime: see family.hpp; a gauge is neither copyable nor movable.

#include <atomic>

namespace tfsnap::metrics {

class gauge {
public:
    gauge() = default;
    gauge(const gauge&) = delete;
    gauge& operator=(const gauge&) = delete;

    void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void inc(double amount = 1.0) noexcept { value_.fetch_add(amount, std::memory_order_relaxed); }
    void dec(double amount = 1.0) noexcept { value_.fetch_sub(amount, std::memory_order_relaxed); }
    double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0.0};
};

}  // namespace tfsnap::metrics
