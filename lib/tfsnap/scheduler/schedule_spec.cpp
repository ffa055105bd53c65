#include "tfsnap/scheduler/schedule_spec.hpp"

#include <exception>

namespace tfsnap::scheduler {

std::optional<schedule_spec> make_spec(const config::environment& env, const config::schedule& s,
                                       std::string& error) {
    auto parsed = cron::expression::parse(s.cron);
    if (!parsed.ok()) {
        error = "cron: " + parsed.error.message;
        return std::nullopt;
    }
    const date::time_zone* zone = nullptr;
    try {
        zone = date::locate_zone(s.timezone);
    } catch (const std::exception&) {
        zone = nullptr;
    }
    if (zone == nullptr) {
        error = "unknown time zone '" + s.timezone + "'";
        return std::nullopt;
    }
    return schedule_spec{env.name, s.name, std::move(*parsed.expr), zone, s.jitter, s.missed, s.concurrency};
}

specs_result make_specs(const config::daemon_config& cfg) {
    specs_result out;
    for (const auto& env : cfg.environments) {
        for (const auto& s : env.schedules) {
            std::string error;
            if (auto spec = make_spec(env, s, error))
                out.specs.push_back(std::move(*spec));
            else
                out.errors.push_back({env.name, s.name, std::move(error)});
        }
    }
    return out;
}

}  // namespace tfsnap::scheduler
