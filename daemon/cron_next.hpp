#pragma once
// `tfsnapd cron-next`: when a cron expression fires, like `systemd-analyze calendar`.
//
//   tfsnapd cron-next --expr EXPR [--tz ZONE] [--from RFC3339] [--count N] [--json]
//
// --from is exclusive (default: now); --tz defaults to UTC; --count to 5 (1-1000).
// Prints one line per fire time (local time in the zone, and UTC), or with --json an array
// of RFC 3339 UTC strings. Invalid input: exit 2 with the reason on stderr.

#include <chrono>
#include <iosfwd>
#include <string_view>
#include <vector>

namespace tfsnap::daemon {

int cron_next_main(const std::vector<std::string_view>& args, std::chrono::system_clock::time_point now,
                   std::ostream& out, std::ostream& err);

}  // namespace tfsnap::daemon
