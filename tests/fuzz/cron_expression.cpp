// cron::expression::parse over a schedule's `cron:` text (from the configuration, reloaded on
// SIGHUP), then the next and previous fire times in UTC and in a zone with DST. Properties:
// next is after, prev before; in UTC every fire time matches the expression.
#include "tfsnap/cron/expression.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::cron;
    const parse_result r = expression::parse(tfsnap::fuzz::as_text(data, size));
    if (!r.ok()) {
        FUZZ_CHECK(!r.error.message.empty());
        return 0;
    }
    static const date::time_zone* utc = date::locate_zone("UTC");
    static const date::time_zone* berlin = date::locate_zone("Europe/Berlin");
    // 2026-03-29 00:30 UTC: the night Berlin skips from 02:00 to 03:00
    const sys_seconds t{std::chrono::seconds{1774744200}};
    if (const auto n = r.expr->next(t, *utc)) {
        FUZZ_CHECK(*n > t);
        FUZZ_CHECK(r.expr->matches(date::local_seconds{n->time_since_epoch()}));
    }
    if (const auto p = r.expr->prev(t, *utc)) {
        FUZZ_CHECK(*p < t);
        FUZZ_CHECK(r.expr->matches(date::local_seconds{p->time_since_epoch()}));
    }
    if (const auto n = r.expr->next(t, *berlin))
        FUZZ_CHECK(*n > t);
    if (const auto p = r.expr->prev(t, *berlin))
        FUZZ_CHECK(*p < t);
    return 0;
}
