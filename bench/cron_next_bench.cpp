// expression::next() for typical schedules, in UTC and in Europe/Berlin. Each iteration is one
// next() call, continuing from the previous result (wrapping back to the start after a year).
#include "tfsnap/cron/expression.hpp"

#include <benchmark/benchmark.h>

#include <chrono>

namespace {

using tfsnap::cron::expression;
using tfsnap::cron::sys_seconds;

void next_fire(benchmark::State& state, const char* text, const char* zone_name) {
    const expression e = *expression::parse(text).expr;
    const date::time_zone& zone = *date::locate_zone(zone_name);
    // 2026-01-01 00:00:00 UTC
    const sys_seconds start{std::chrono::seconds{1767225600}};
    const sys_seconds end = start + std::chrono::days{365};
    sys_seconds t = start;
    for (auto _ : state) {
        const auto n = e.next(t, zone);
        benchmark::DoNotOptimize(n);
        t = (n && *n < end) ? *n : start;
    }
    state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(next_fire, daily_0230_utc, "30 2 * * *", "UTC");
BENCHMARK_CAPTURE(next_fire, every_15_min_utc, "*/15 * * * *", "UTC");
BENCHMARK_CAPTURE(next_fire, sunday_0300_utc, "0 3 * * sun", "UTC");
BENCHMARK_CAPTURE(next_fire, monthly_utc, "0 0 1 * *", "UTC");
BENCHMARK_CAPTURE(next_fire, daily_0230_berlin, "30 2 * * *", "Europe/Berlin");
BENCHMARK_CAPTURE(next_fire, every_15_min_berlin, "*/15 * * * *", "Europe/Berlin");
BENCHMARK_CAPTURE(next_fire, sunday_0300_berlin, "0 3 * * sun", "Europe/Berlin");
BENCHMARK_CAPTURE(next_fire, monthly_berlin, "0 0 1 * *", "Europe/Berlin");

}  // namespace

BENCHMARK_MAIN();
