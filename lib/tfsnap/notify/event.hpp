#pragma once
// What tfsnapd tells webhooks about: a job failed or succeeded, a restore ran, a state object
// was deleted, or a snapshot's S3 version is about to expire. Pure.

#include "tfsnap/config/config.hpp"
#include "tfsnap/core/clock.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::notify {

enum class event_kind { failure, success, restore, state_deleted, expiry };

// "failure", "success", "restore", "state-deleted", "expiry": the names `events` lists in the
// configuration (config::webhook_events).
std::string_view to_string(event_kind k) noexcept;
std::optional<event_kind> parse_event_kind(std::string_view name) noexcept;

struct event {
    event_kind kind = event_kind::failure;
    std::string environment;
    std::string job_id;       // may be empty
    std::string job_kind;     // "backup", "verify", "restore", "undelete", "prune", ... may be empty
    std::string snapshot_id;  // may be empty
    std::string result;       // e.g. "snapshot", "unchanged", "failed", "ok", "refused"
    std::string message;      // one human line
    core::time_point at;
};

// Whether `hook` subscribed to events of `kind`.
bool subscribes(const config::webhook_config& hook, event_kind kind) noexcept;

}  // namespace tfsnap::notify
