#pragma once
// The bodies a webhook receives. Pure.
//
// Both are JSON with every string escaped (quotes, backslashes, control characters); bytes
// that are not valid UTF-8 become U+FFFD, so the body is valid JSON whatever a message holds.

#include "tfsnap/notify/event.hpp"

#include <string>
#include <string_view>

namespace tfsnap::notify {

// tfsnap's own document, every key always present ("" for an empty field):
// {"source":"tfsnap","host":..,"event":..,"environment":..,"job_id":..,"job_kind":..,
//  "snapshot_id":..,"result":..,"message":..,"at":"2026-11-22T02:30:26Z"}
std::string render_json(const event& e, std::string_view host);

// Slack's incoming-webhook body {"text":"..."}: `tmpl` with {event} {env} {job} {job_kind}
// {snapshot} {result} {message} {host} {at} replaced; other {names} stay as written. The
// substituted values have Slack's control characters escaped (& < > as &amp; &lt; &gt;), so a
// message cannot mention @channel or forge a link; the template's own text is kept as written.
std::string render_slack(std::string_view tmpl, const event& e, std::string_view host);

}  // namespace tfsnap::notify
