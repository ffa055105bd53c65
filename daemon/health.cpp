#include "health.hpp"

#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/cron/expression.hpp"

#include <date/tz.h>

namespace tfsnap::daemon {

using namespace std::chrono_literals;

std::optional<std::chrono::seconds> backup_interval(const config::environment& env, core::time_point now) {
    std::optional<std::chrono::seconds> shortest;
    const auto from = std::chrono::floor<std::chrono::seconds>(now);
    for (const auto& s : env.schedules) {
        const auto parsed = cron::expression::parse(s.cron);
        if (!parsed.expr)
            continue;
        const date::time_zone* zone = nullptr;
        try {
            zone = date::locate_zone(s.timezone);
        } catch (const std::exception&) {
            continue;
        }
        const auto first = parsed.expr->next(from, *zone);
        const auto second = first ? parsed.expr->next(*first, *zone) : std::nullopt;
        if (!second)
            continue;
        const auto gap = std::chrono::duration_cast<std::chrono::seconds>(*second - *first);
        if (!shortest || gap < *shortest)
            shortest = gap;
    }
    return shortest;
}

namespace {

std::string span(std::chrono::seconds s) {
    if (s < 120s)
        return std::to_string(s.count()) + "s";
    if (s < 120min)
        return std::to_string(std::chrono::duration_cast<std::chrono::minutes>(s).count()) + "min";
    if (s < 48h)
        return std::to_string(std::chrono::duration_cast<std::chrono::hours>(s).count()) + "h";
    return std::to_string(std::chrono::duration_cast<std::chrono::hours>(s).count() / 24) + "d";
}

}  // namespace

environment_health assess(const config::environment& env, const std::optional<backup::backup_check>& last,
                          const std::string& pinned_version, std::optional<std::chrono::seconds> every,
                          core::time_point now) {
    environment_health h{env.name, "ok", ""};
    if (!last) {
        h.health = "never-backed-up";
        h.detail = "no backup has run yet";
        return h;
    }
    const auto& check = *last;
    const auto checked = core::parse_rfc3339(check.checked_at);
    const auto age =
        checked ? std::max(0s, std::chrono::duration_cast<std::chrono::seconds>(now - *checked)) : 0s;
    h.detail = "last check " + check.result + (checked ? " " + span(age) + " ago" : std::string()) +
               (check.snapshot_id.empty() ? std::string() : " (snapshot " + check.snapshot_id + ")");
    if (check.result == "failed") {
        const bool changed = !check.version_id.empty() && check.version_id != pinned_version;
        h.health = changed ? "unsnapshotted" : "failing";
        h.detail += changed
                        ? ": the current version " + check.version_id + " has no snapshot: " + check.message
                        : ": " + check.message;
    } else if (check.result == "state-deleted") {
        h.health = "deleted";
        h.detail += ": the state is a delete marker (tfsnapctl undelete " + env.name + ")";
    } else if (every && checked && age > *every + *every / 4 + 60s) {
        h.health = "stale";
        h.detail += ", and its schedules run every " + span(*every);
    }
    return h;
}

}  // namespace tfsnap::daemon
