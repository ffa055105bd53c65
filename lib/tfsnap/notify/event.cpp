#include "tfsnap/notify/event.hpp"

#include <algorithm>

namespace tfsnap::notify {

std::string_view to_string(event_kind k) noexcept {
    switch (k) {
        case event_kind::failure:
            return "failure";
        case event_kind::success:
            return "success";
        case event_kind::restore:
            return "restore";
        case event_kind::state_deleted:
            return "state-deleted";
        case event_kind::expiry:
            return "expiry";
    }
    return "failure";
}

std::optional<event_kind> parse_event_kind(std::string_view name) noexcept {
    for (const auto k : {event_kind::failure, event_kind::success, event_kind::restore,
                         event_kind::state_deleted, event_kind::expiry}) {
        if (to_string(k) == name)
            return k;
    }
    return std::nullopt;
}

bool subscribes(const config::webhook_config& hook, event_kind kind) noexcept {
    const auto name = to_string(kind);
    return std::any_of(hook.events.begin(), hook.events.end(),
                       [name](const std::string& e) { return e == name; });
}

}  // namespace tfsnap::notify
