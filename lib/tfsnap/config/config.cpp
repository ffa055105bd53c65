#include "tfsnap/config/config.hpp"

namespace tfsnap::config {

retention_policy retention_policy::merged_with(const retention_policy& over) const {
    retention_policy r = *this;
    if (over.keep_last)
        r.keep_last = over.keep_last;
    if (over.keep_daily)
        r.keep_daily = over.keep_daily;
    if (over.keep_weekly)
        r.keep_weekly = over.keep_weekly;
    if (over.keep_monthly)
        r.keep_monthly = over.keep_monthly;
    if (over.keep_yearly)
        r.keep_yearly = over.keep_yearly;
    if (over.keep_hourly)
        r.keep_hourly = over.keep_hourly;
    if (over.keep_within)
        r.keep_within = over.keep_within;
    if (over.min_keep)
        r.min_keep = over.min_keep;
    if (over.restore_pin)
        r.restore_pin = over.restore_pin;
    return r;
}

bool retention_policy::empty() const noexcept {
    return !keep_last && !keep_hourly && !keep_daily && !keep_weekly && !keep_monthly && !keep_yearly &&
           !keep_within;
}

std::string_view to_string(missed_policy p) noexcept {
    return p == missed_policy::skip ? "skip" : "run-once";
}

std::string_view to_string(concurrency_policy p) noexcept {
    return p == concurrency_policy::replace ? "replace" : "forbid";
}

std::string_view to_string(copy_mode m) noexcept {
    switch (m) {
        case copy_mode::server_side:
            return "server-side";
        case copy_mode::local:
            return "local";
        case copy_mode::none:
            break;
    }
    return "none";
}

std::string_view to_string(expiry_action a) noexcept {
    return a == expiry_action::archive ? "archive" : "warn";
}

std::string_view to_string(source_kind k) noexcept {
    return k == source_kind::file ? "file" : "s3";
}

const environment* daemon_config::find(std::string_view name) const noexcept {
    for (const auto& e : environments) {
        if (e.name == name)
            return &e;
    }
    return nullptr;
}

}  // namespace tfsnap::config
