#pragma once
// The health of an environment, as `tfsnapctl status` and GET /v1/status show it, in the manner
// of `systemctl status`: one word and one line of detail, from the environment's last backup
// check and its schedules.
//
//   never-backed-up  no check yet
//   failing          the last check failed
//   unsnapshotted    the last check failed on a current version that no snapshot pins (the
//                    state changed and the change is not protected)
//   deleted          the state is a delete marker
//   stale            the last check is older than 1.25 times the shortest schedule interval
//                    (plus a minute): the daemon was down, or its jobs wait behind others
//   ok

#include "tfsnap/backup/records.hpp"
#include "tfsnap/config/config.hpp"
#include "tfsnap/core/clock.hpp"

#include <optional>
#include <string>

namespace tfsnap::daemon {

struct environment_health {
    std::string name;
    std::string health;
    std::string detail;
};

// The shortest time between two runs of the environment's backup schedules (nullopt without
// any): cron arithmetic, so callers keep it rather than ask per request.
std::optional<std::chrono::seconds> backup_interval(const config::environment& env, core::time_point now);

// `pinned_version`: the version the environment's newest snapshot (or last successful check)
// pins, "" when unknown; `every`: backup_interval().
environment_health assess(const config::environment& env, const std::optional<backup::backup_check>& last,
                          const std::string& pinned_version, std::optional<std::chrono::seconds> every,
                          core::time_point now);

}  // namespace tfsnap::daemon
