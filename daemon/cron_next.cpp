#include "cron_next.hpp"

#include "tfsnap/cron/expression.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <charconv>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>

namespace tfsnap::daemon {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_invalid = 2;

// "2026-03-28T00:00:00Z", "2026-03-28T01:00:00+01:00", fractions of a second allowed.
std::optional<std::chrono::sys_seconds> parse_rfc3339(std::string_view text) {
    for (const char* fmt : {"%FT%TZ", "%FT%T%Ez"}) {
        std::istringstream in{std::string(text)};
        date::sys_time<std::chrono::milliseconds> tp;
        in >> date::parse(fmt, tp);
        if (!in.fail() && in.peek() == std::char_traits<char>::eof()) {
            return std::chrono::floor<std::chrono::seconds>(tp);
        }
    }
    return std::nullopt;
}

}  // namespace

int cron_next_main(const std::vector<std::string_view>& args, std::chrono::system_clock::time_point now,
                   std::ostream& out, std::ostream& err) {
    std::string expr, tz = "UTC";
    std::optional<std::chrono::sys_seconds> from;
    int count = 5;
    bool json = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto a = args[i];
        const bool has_value = i + 1 < args.size();
        if (a == "--json") {
            json = true;
        } else if ((a == "--expr" || a == "--tz" || a == "--from" || a == "--count") && !has_value) {
            err << "tfsnapd cron-next: " << a << " needs a value\n";
            return exit_invalid;
        } else if (a == "--expr") {
            expr = args[++i];
        } else if (a == "--tz") {
            tz = args[++i];
        } else if (a == "--from") {
            from = parse_rfc3339(args[++i]);
            if (!from) {
                err << "tfsnapd cron-next: --from \"" << args[i]
                    << "\" is not an RFC 3339 time; write for example 2026-03-28T00:00:00Z\n";
                return exit_invalid;
            }
        } else if (a == "--count") {
            const auto v = args[++i];
            const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), count);
            if (ec != std::errc{} || end != v.data() + v.size() || count < 1 || count > 1000) {
                err << "tfsnapd cron-next: --count takes a whole number from 1 to 1000\n";
                return exit_invalid;
            }
        } else {
            err << "tfsnapd cron-next: unknown option '" << a
                << "'\nusage: tfsnapd cron-next --expr EXPR [--tz ZONE] [--from RFC3339] [--count N] "
                   "[--json]\n";
            return exit_invalid;
        }
    }
    if (expr.empty()) {
        err << "tfsnapd cron-next: --expr is required, e.g. --expr \"30 2 * * *\"\n";
        return exit_invalid;
    }
    const auto parsed = cron::expression::parse(expr);
    if (!parsed.ok()) {
        err << "tfsnapd cron-next: " << parsed.error.message << "\n";
        return exit_invalid;
    }
    const date::time_zone* zone = nullptr;
    try {
        zone = date::locate_zone(tz);
    } catch (const std::runtime_error&) {
        err << "tfsnapd cron-next: unknown time zone \"" << tz
            << "\"; write an IANA zone such as Europe/Berlin\n";
        return exit_invalid;
    }
    auto t = from.value_or(std::chrono::floor<std::chrono::seconds>(now));
    if (json)
        out << "[";
    for (int i = 0; i < count; ++i) {
        const auto next = parsed.expr->next(t, *zone);
        if (!next)
            break;  // no fire time within the search window (e.g. February 30th)
        t = *next;
        if (json) {
            out << (i ? "," : "") << "\"" << date::format("%FT%TZ", t) << "\"";
        } else {
            const date::zoned_seconds local{zone, t};
            out << date::format("%F %T %Z (%Ez)", local) << "  =  " << date::format("%FT%TZ", t) << "\n";
        }
    }
    if (json)
        out << "]\n";
    return exit_ok;
}

}  // namespace tfsnap::daemon
