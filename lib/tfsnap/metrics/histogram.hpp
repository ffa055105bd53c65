#pragma once
// One histogram series: counts of observations in cumulative buckets, their sum and count.
// Obtained from a histogram_family (`family.with({"prod"})`), which owns it and its bucket
// bounds.
//
// An observation v counts in every bucket whose upper bound `le` is >= v, and always in the
// implicit +Inf bucket. +Inf and -Inf are valid observations (the sum becomes infinite).
//
// Errors: observe(NaN) is a programming error and throws std::invalid_argument; nothing is
// recorded.
// Thread safety: observe() and read() are safe from any thread at any time; a mutex per series
// keeps the buckets, sum and count consistent with each other in every read().
// Lifetime: see family.hpp. `bounds` must outlive the histogram.

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace tfsnap::metrics {

class histogram {
public:
    struct snapshot {
        std::vector<double> bounds;             // finite upper bounds, increasing
        std::vector<std::uint64_t> cumulative;  // one per bound, then the +Inf bucket (== count)
        double sum = 0;
        std::uint64_t count = 0;
    };

    // `bounds`: strictly increasing finite upper bounds, without +Inf (checked by the family).
    explicit histogram(std::span<const double> bounds);
    histogram(const histogram&) = delete;
    histogram& operator=(const histogram&) = delete;

    void observe(double v);
    snapshot read() const;

private:
    std::span<const double> bounds_;
    mutable std::mutex mutex_;
    std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; the last one is +Inf
    double sum_ = 0;
    std::uint64_t count_ = 0;
};

}  // namespace tfsnap::metrics
