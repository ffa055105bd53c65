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

std::string_view to_string(job_kind k) noexcept {
    switch (k) {
        case job_kind::backup:
            return "backup";
        case job_kind::verify:
            return "verify";
        case job_kind::prune:
            return "prune";
        case job_kind::restore:
            return "restore";
        case job_kind::undelete:
            return "undelete";
        case job_kind::plan:
            return "plan";
    }
    return "backup";
}

std::optional<schedule_spec> make_verify_spec(const config::environment& env, std::string& error) {
    if (!env.verify.enabled)
        return std::nullopt;
    config::schedule s;
    s.name = "verify";
    s.cron = env.verify.cron;
    s.timezone = env.verify.timezone;
    s.jitter = env.verify.jitter;
    auto spec = make_spec(env, s, error);
    if (spec)
        spec->kind = job_kind::verify;
    return spec;
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
    for (const auto& env : cfg.environments) {
        std::string error;
        if (auto spec = make_verify_spec(env, error))
            out.specs.push_back(std::move(*spec));
        else if (!error.empty())
            out.errors.push_back({env.name, "verify", std::move(error)});
    }
    return out;
}

}  // namespace tfsnap::scheduler
