#pragma once
// Cron expressions evaluated in an IANA time zone. Pure: no I/O, no clock (callers pass the
// instant to start from), only the OS tz database through Howard Hinnant's date/tz.
//
// Syntax: 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds
// field; `*`, lists, ranges, steps (`*/15`, `10-50/5`, `5/10`), month and day names (jan-dec,
// sun-sat, any case), day-of-week 0 and 7 both Sunday; macros @yearly @annually @monthly
// @weekly @daily @midnight @hourly. When both day-of-month and day-of-week are restricted, a
// day matches if either does (Vixie cron).
//
// Time zones and DST (the policy tfsnap documents):
// - a local time that falls in a gap (spring forward) fires once, at the first instant after
//   the gap (the transition itself);
// - a local time that occurs twice (fall back) fires once, at its first occurrence.
//
// `next` jumps field by field (no per-minute stepping).
//
// Thread safety: an expression is immutable after parsing; share it freely.

#include <date/tz.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::cron {

using sys_seconds = std::chrono::sys_seconds;

struct parse_error {
    std::size_t column = 0;  // 1-based column of the offending field or character
    std::string message;     // "day-of-month 32 out of range 1-31 at column 7"
};

// Defined after `expression`: std::optional needs the complete type.
struct parse_result;

class expression {
public:
    static parse_result parse(std::string_view text);

    // The first fire time strictly after `after`, in `zone`; nullopt if there is none within
    // the next 5 years (e.g. "0 0 30 2 *", February 30th).
    std::optional<sys_seconds> next(sys_seconds after, const date::time_zone& zone) const;
    // The last fire time strictly before `before`; nullopt if none within the last 5 years.
    std::optional<sys_seconds> prev(sys_seconds before, const date::time_zone& zone) const;

    // Whether the local date and time `t` matches every field (the time zone plays no part:
    // `next` may also return the instant after a gap, whose local time need not match).
    bool matches(date::local_seconds t) const noexcept;

    const std::string& text() const noexcept { return text_; }
    bool has_seconds_field() const noexcept { return has_seconds_; }

private:
    expression() = default;
    bool day_matches(int day, int weekday) const noexcept;
    // The first matching local time strictly after `after` (the last strictly before `before`),
    // or nullopt past `limit`.
    std::optional<date::local_seconds> next_local(date::local_seconds after, date::local_seconds limit) const;
    std::optional<date::local_seconds> prev_local(date::local_seconds before,
                                                  date::local_seconds limit) const;

    std::string text_;
    bool has_seconds_ = false;
    // one bit per allowed value
    std::uint64_t seconds_ = 0, minutes_ = 0;
    std::uint32_t hours_ = 0, days_of_month_ = 0;  // bit d for day d (1-31)
    std::uint16_t months_ = 0;                     // bit m for month m (1-12)
    std::uint8_t days_of_week_ = 0;                // bit w for weekday w (0 = Sunday)
    bool dom_restricted_ = false, dow_restricted_ = false;
};

struct parse_result {
    std::optional<expression> expr;  // set on success
    parse_error error;               // set on failure
    bool ok() const noexcept { return expr.has_value(); }
};

}  // namespace tfsnap::cron
