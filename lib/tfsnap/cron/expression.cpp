#include "tfsnap/cron/expression.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <utility>
#include <vector>

namespace tfsnap::cron {

namespace {

using std::chrono::seconds;
using local_seconds = date::local_seconds;

enum field_index : int { f_second = 0, f_minute, f_hour, f_dom, f_month, f_dow };

struct field_spec {
    const char* name;
    int min;
    int max;
};

constexpr std::array<field_spec, 6> field_specs{{
    {"second", 0, 59},
    {"minute", 0, 59},
    {"hour", 0, 23},
    {"day-of-month", 1, 31},
    {"month", 1, 12},
    // 7 is Sunday as well as 0 (Vixie's range), so `*/2` and `1/2` run to 7
    {"day-of-week", 0, 7},
}};

constexpr std::array<std::string_view, 12> month_names{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> dow_names{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct macro {
    std::string_view name;
    std::string_view expansion;
};
constexpr std::array<macro, 7> macros{{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t';
}
bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char to_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string at_column(std::size_t column) {
    return " at column " + std::to_string(column);
}

// A token of the expression with the 1-based column of its first character.
struct token {
    std::string_view text;
    std::size_t column;
};

struct field_parser {
    const field_spec& spec;
    int index;
    std::string_view text;  // the field
    std::size_t column;     // of text[0]
    std::size_t pos = 0;
    std::optional<parse_error> error;

    std::size_t col() const noexcept { return column + pos; }

    void fail(std::size_t at, std::string message) {
        if (!error)
            error = parse_error{at, std::move(message) + at_column(at)};
    }

    // A number or (month and day-of-week only) a three-letter name.
    std::optional<int> value() {
        const std::size_t start = pos;
        const std::size_t at = col();
        if (pos < text.size() && is_digit(text[pos])) {
            while (pos < text.size() && is_digit(text[pos]))
                ++pos;
            const std::string_view digits = text.substr(start, pos - start);
            if (digits.size() > 4) {
                fail(at, std::string(spec.name) + " " + std::string(digits) + " out of range " +
                             std::to_string(spec.min) + "-" + std::to_string(spec.max));
                return std::nullopt;
            }
            int v = 0;
            for (const char c : digits)
                v = v * 10 + (c - '0');
            if (v < spec.min || v > spec.max) {
                fail(at, std::string(spec.name) + " " + std::string(digits) + " out of range " +
                             std::to_string(spec.min) + "-" + std::to_string(spec.max));
                return std::nullopt;
            }
            return v;
        }
        if (pos < text.size() && is_alpha(text[pos])) {
            while (pos < text.size() && is_alpha(text[pos]))
                ++pos;
            const std::string_view word = text.substr(start, pos - start);
            std::string lower;
            for (const char c : word)
                lower += to_lower(c);
            if (index == f_month) {
                for (std::size_t i = 0; i < month_names.size(); ++i)
                    if (month_names[i] == lower)
                        return static_cast<int>(i + 1);
                fail(at, "unknown month name \"" + std::string(word) + "\"");
                return std::nullopt;
            }
            if (index == f_dow) {
                for (std::size_t i = 0; i < dow_names.size(); ++i)
                    if (dow_names[i] == lower)
                        return static_cast<int>(i);
                fail(at, "unknown day-of-week name \"" + std::string(word) + "\"");
                return std::nullopt;
            }
            fail(at, std::string(spec.name) + " takes numbers, not names like \"" + std::string(word) + "\"");
            return std::nullopt;
        }
        if (pos >= text.size() || text[pos] == ',')
            fail(at, std::string("empty item in ") + spec.name);
        else
            fail(at, std::string("unexpected character '") + text[pos] + "' in " + spec.name);
        return std::nullopt;
    }

    std::optional<int> step() {
        const std::size_t start = pos;
        const std::size_t at = col();
        if (pos >= text.size() || !is_digit(text[pos])) {
            if (pos >= text.size() || text[pos] == ',')
                fail(at, std::string("missing step after '/' in ") + spec.name);
            else
                fail(at, std::string("unexpected character '") + text[pos] + "' in " + spec.name + " step");
            return std::nullopt;
        }
        while (pos < text.size() && is_digit(text[pos]))
            ++pos;
        const std::string_view digits = text.substr(start, pos - start);
        const int span = spec.max - spec.min + 1;
        int v = 0;
        if (digits.size() <= 4)
            for (const char c : digits)
                v = v * 10 + (c - '0');
        if (digits.size() > 4 || v > span) {
            fail(at, std::string(spec.name) + " step " + std::string(digits) + " out of range 1-" +
                         std::to_string(span));
            return std::nullopt;
        }
        if (v == 0) {
            fail(at, std::string(spec.name) + " step 0");
            return std::nullopt;
        }
        return v;
    }

    // Parses the whole field into a bit set (bit v for value v).
    std::optional<std::uint64_t> parse() {
        std::uint64_t bits = 0;
        while (true) {
            const std::size_t item_at = col();
            int lo = 0, hi = 0;
            bool open_ended = false;
            if (pos < text.size() && text[pos] == '*') {
                ++pos;
                lo = spec.min;
                hi = spec.max;
            } else {
                const auto a = value();
                if (!a)
                    return std::nullopt;
                lo = hi = *a;
                if (pos < text.size() && text[pos] == '-') {
                    ++pos;
                    const auto b = value();
                    if (!b)
                        return std::nullopt;
                    if (*b < *a) {
                        fail(item_at,
                             std::string(spec.name) + " range " +
                                 std::string(text.substr(item_at - column, pos - (item_at - column))) +
                                 " is reversed (ranges do not wrap)");
                        return std::nullopt;
                    }
                    hi = *b;
                } else {
                    open_ended = true;
                }
            }
            int by = 1;
            if (pos < text.size() && text[pos] == '/') {
                ++pos;
                const auto s = step();
                if (!s)
                    return std::nullopt;
                by = *s;
                // "5/10" means 5-max/10
                if (open_ended)
                    hi = spec.max;
            }
            for (int v = lo; v <= hi; v += by)
                bits |= std::uint64_t{1} << v;
            if (pos >= text.size())
                return bits;
            if (text[pos] != ',') {
                fail(col(), std::string("unexpected character '") + text[pos] + "' in " + spec.name);
                return std::nullopt;
            }
            ++pos;
            if (pos >= text.size()) {
                fail(col(), std::string("empty item in ") + spec.name);
                return std::nullopt;
            }
        }
    }
};

int next_bit(std::uint64_t mask, int from) noexcept {
    if (from >= 64)
        return -1;
    const std::uint64_t m = mask & (~std::uint64_t{0} << from);
    return m == 0 ? -1 : std::countr_zero(m);
}

int prev_bit(std::uint64_t mask, int from) noexcept {
    if (from < 0)
        return -1;
    const std::uint64_t m = from >= 63 ? mask : mask & ((std::uint64_t{1} << (from + 1)) - 1);
    return m == 0 ? -1 : 63 - std::countl_zero(m);
}

int days_in_month(int y, int m) noexcept {
    static constexpr std::array<int, 12> days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && date::year{y}.is_leap())
        return 29;
    return days[static_cast<std::size_t>(m - 1)];
}

// Day of week (0 = Sunday) of the first of the month.
int first_weekday(int y, int m) noexcept {
    return static_cast<int>(
        date::weekday{date::sys_days{date::year{y} / static_cast<unsigned>(m) / 1}}.c_encoding());
}

struct civil {
    int y, mo, d, h, mi, s;
};

civil split(local_seconds t) noexcept {
    const auto dp = date::floor<date::days>(t);
    const date::year_month_day ymd{dp};
    const auto secs = (t - dp).count();
    return {static_cast<int>(ymd.year()),
            static_cast<int>(static_cast<unsigned>(ymd.month())),
            static_cast<int>(static_cast<unsigned>(ymd.day())),
            static_cast<int>(secs / 3600),
            static_cast<int>(secs / 60 % 60),
            static_cast<int>(secs % 60)};
}

local_seconds join(const civil& c) noexcept {
    return date::local_days{date::year{c.y} / static_cast<unsigned>(c.mo) / static_cast<unsigned>(c.d)} +
           std::chrono::hours{c.h} + std::chrono::minutes{c.mi} + seconds{c.s};
}

constexpr auto window = std::chrono::duration_cast<seconds>(std::chrono::years{5});

}  // namespace

parse_result expression::parse(std::string_view text) {
    parse_result result;
    auto fail = [&](std::size_t column, std::string message) {
        result.error = parse_error{column, std::move(message)};
        return result;
    };

    std::vector<token> tokens;
    for (std::size_t i = 0; i < text.size();) {
        if (is_space(text[i])) {
            ++i;
            continue;
        }
        const std::size_t start = i;
        while (i < text.size() && !is_space(text[i]))
            ++i;
        tokens.push_back({text.substr(start, i - start), start + 1});
    }

    if (!tokens.empty() && tokens.front().text.starts_with('@')) {
        const auto it = std::find_if(macros.begin(), macros.end(),
                                     [&](const macro& m) { return m.name == tokens.front().text; });
        if (it == macros.end()) {
            return fail(tokens.front().column,
                        "unknown macro \"" + std::string(tokens.front().text) + "\"" +
                            at_column(tokens.front().column) +
                            "; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly");
        }
        if (tokens.size() > 1) {
            return fail(tokens[1].column, std::string("unexpected field after ") + std::string(it->name) +
                                              at_column(tokens[1].column));
        }
        result = parse(it->expansion);
        if (result.expr)
            result.expr->text_ = std::string(text);
        return result;
    }

    if (tokens.size() != 5 && tokens.size() != 6) {
        const std::size_t column = tokens.size() > 6 ? tokens[6].column : text.size() + 1;
        return fail(column, "expected 5 or 6 fields, got " + std::to_string(tokens.size()));
    }

    expression e;
    e.text_ = std::string(text);
    e.has_seconds_ = tokens.size() == 6;
    const int first_field = e.has_seconds_ ? f_second : f_minute;
    std::array<std::uint64_t, 6> bits{};
    bits[f_second] = 1;  // 5 fields: at second 0
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const int index = first_field + static_cast<int>(i);
        field_parser p{field_specs[static_cast<std::size_t>(index)],
                       index,
                       tokens[i].text,
                       tokens[i].column,
                       0,
                       std::nullopt};
        const auto b = p.parse();
        if (!b)
            return fail(p.error->column, p.error->message);
        bits[static_cast<std::size_t>(index)] = *b;
    }
    e.seconds_ = bits[f_second];
    e.minutes_ = bits[f_minute];
    e.hours_ = static_cast<std::uint32_t>(bits[f_hour]);
    e.days_of_month_ = static_cast<std::uint32_t>(bits[f_dom]);
    e.months_ = static_cast<std::uint16_t>(bits[f_month]);
    // 7 is Sunday too
    e.days_of_week_ = static_cast<std::uint8_t>((bits[f_dow] | (bits[f_dow] >> 7)) & 0x7f);
    // Vixie cron: a field is restricted unless it starts with '*', even "*/2"
    e.dom_restricted_ = !tokens[tokens.size() - 3].text.starts_with('*');
    e.dow_restricted_ = !tokens[tokens.size() - 1].text.starts_with('*');
    result.expr = std::move(e);
    return result;
}

bool expression::day_matches(int day, int weekday) const noexcept {
    const bool dom = (days_of_month_ >> day) & 1U;
    const bool dow = (days_of_week_ >> weekday) & 1U;
    if (dom_restricted_ && dow_restricted_)
        return dom || dow;
    return dom && dow;
}

bool expression::matches(date::local_seconds t) const noexcept {
    const civil c = split(t);
    const int weekday = static_cast<int>(date::weekday{date::floor<date::days>(t)}.c_encoding());
    return ((months_ >> c.mo) & 1U) && day_matches(c.d, weekday) && ((hours_ >> c.h) & 1U) &&
           ((minutes_ >> c.mi) & 1U) && ((seconds_ >> c.s) & 1U);
}

std::optional<date::local_seconds> expression::next_local(date::local_seconds after,
                                                          date::local_seconds limit) const {
    civil c = split(after + seconds{1});
    const int limit_year = split(limit).y;
    while (true) {
        if (c.y > limit_year)
            return std::nullopt;
        const int mo = next_bit(months_, c.mo);
        if (mo < 0) {
            c = {c.y + 1, 1, 1, 0, 0, 0};
            continue;
        }
        if (mo != c.mo)
            c = {c.y, mo, 1, 0, 0, 0};

        const int last = days_in_month(c.y, c.mo);
        const int wd1 = first_weekday(c.y, c.mo);
        int d = c.d;
        while (d <= last && !day_matches(d, (wd1 + d - 1) % 7))
            ++d;
        if (d > last) {
            c = {c.y, c.mo + 1, 1, 0, 0, 0};
            continue;
        }
        if (d != c.d)
            c = {c.y, c.mo, d, 0, 0, 0};

        const int h = next_bit(hours_, c.h);
        if (h < 0) {
            c = {c.y, c.mo, c.d + 1, 0, 0, 0};
            continue;
        }
        if (h != c.h)
            c = {c.y, c.mo, c.d, h, 0, 0};

        const int mi = next_bit(minutes_, c.mi);
        if (mi < 0) {
            c = {c.y, c.mo, c.d, c.h + 1, 0, 0};
            continue;
        }
        if (mi != c.mi)
            c = {c.y, c.mo, c.d, c.h, mi, 0};

        const int s = next_bit(seconds_, c.s);
        if (s < 0) {
            c = {c.y, c.mo, c.d, c.h, c.mi + 1, 0};
            continue;
        }
        c.s = s;
        const auto t = join(c);
        if (t > limit)
            return std::nullopt;
        return t;
    }
}

std::optional<date::local_seconds> expression::prev_local(date::local_seconds before,
                                                          date::local_seconds limit) const {
    civil c = split(before - seconds{1});
    const int limit_year = split(limit).y;
    // d = 31 stands for "the last day of the month"
    while (true) {
        if (c.y < limit_year)
            return std::nullopt;
        const int mo = prev_bit(months_, c.mo);
        if (mo < 0) {
            c = {c.y - 1, 12, 31, 23, 59, 59};
            continue;
        }
        if (mo != c.mo)
            c = {c.y, mo, 31, 23, 59, 59};

        const int last = days_in_month(c.y, c.mo);
        if (c.d > last)
            c.d = last;
        const int wd1 = first_weekday(c.y, c.mo);
        int d = c.d;
        while (d >= 1 && !day_matches(d, (wd1 + d - 1) % 7))
            --d;
        if (d < 1) {
            c = c.mo == 1 ? civil{c.y - 1, 12, 31, 23, 59, 59} : civil{c.y, c.mo - 1, 31, 23, 59, 59};
            continue;
        }
        if (d != c.d)
            c = {c.y, c.mo, d, 23, 59, 59};

        const int h = prev_bit(hours_, c.h);
        if (h < 0) {
            if (c.d == 1)
                c = c.mo == 1 ? civil{c.y - 1, 12, 31, 23, 59, 59} : civil{c.y, c.mo - 1, 31, 23, 59, 59};
            else
                c = {c.y, c.mo, c.d - 1, 23, 59, 59};
            continue;
        }
        if (h != c.h)
            c = {c.y, c.mo, c.d, h, 59, 59};

        const int mi = prev_bit(minutes_, c.mi);
        if (mi < 0) {
            c = {c.y, c.mo, c.d, c.h - 1, 59, 59};
            continue;
        }
        if (mi != c.mi)
            c = {c.y, c.mo, c.d, c.h, mi, 59};

        const int s = prev_bit(seconds_, c.s);
        if (s < 0) {
            c = {c.y, c.mo, c.d, c.h, c.mi - 1, 59};
            continue;
        }
        c.s = s;
        const auto t = join(c);
        if (t < limit)
            return std::nullopt;
        return t;
    }
}

namespace {

// The DST policy, in one place: a local time in a gap fires at the transition, the first
// instant after the gap; a repeated local time fires at its first occurrence.
sys_seconds fire_instant(local_seconds local, const date::local_info& li) {
    if (li.result == date::local_info::nonexistent)
        return li.second.begin;
    return sys_seconds{local.time_since_epoch()} - li.first.offset;
}

}  // namespace

std::optional<sys_seconds> expression::next(sys_seconds after, const date::time_zone& zone) const {
    const sys_seconds horizon = after + window;
    local_seconds lower = zone.to_local(after);
    const local_seconds limit = lower + window + date::days{2};
    while (true) {
        const auto local = next_local(lower, limit);
        if (!local)
            return std::nullopt;
        const date::local_info li = zone.get_info(*local);
        const sys_seconds fire = fire_instant(*local, li);
        if (fire > after)
            return fire > horizon ? std::nullopt : std::optional<sys_seconds>{fire};
        if (li.result == date::local_info::ambiguous) {
            // `after` is in the repeated hour's second pass, whose local times already fired in
            // the first: resume at the end of the repeated hour
            lower = local_seconds{(li.second.begin + li.first.offset).time_since_epoch()} - seconds{1};
        } else {
            lower = *local;
        }
    }
}

std::optional<sys_seconds> expression::prev(sys_seconds before, const date::time_zone& zone) const {
    const sys_seconds horizon = before - window;
    const local_seconds local_before = zone.to_local(before);
    local_seconds upper = local_before;
    const date::local_info at = zone.get_info(local_before);
    if (at.result == date::local_info::ambiguous && before >= at.second.begin) {
        // `before` is in the repeated hour's second pass: the whole repeated hour fired in the
        // first pass, before it
        upper = local_seconds{(at.second.begin + at.first.offset).time_since_epoch()};
    }
    const local_seconds limit = local_before - window - date::days{2};
    while (true) {
        const auto local = prev_local(upper, limit);
        if (!local)
            return std::nullopt;
        const date::local_info li = zone.get_info(*local);
        const sys_seconds fire = fire_instant(*local, li);
        if (fire < before)
            return fire < horizon ? std::nullopt : std::optional<sys_seconds>{fire};
        if (li.result == date::local_info::nonexistent) {
            // the gap fired at `before` itself: what precedes it comes before the gap
            upper = local_seconds{(li.second.begin + li.first.offset).time_since_epoch()};
        } else {
            upper = *local;
        }
    }
}

}  // namespace tfsnap::cron
