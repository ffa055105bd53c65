#pragma once
// `tfsnapd --check-config`: what a validated configuration will do, for a person to read.

#include "tfsnap/config/config.hpp"

#include <chrono>
#include <iosfwd>

namespace tfsnap::daemon {

// One block per environment: the state's location, the locks, the copy, and each schedule
// with its next `runs` fire times after `now` (jitter applied), in its zone and in UTC.
void describe_config(std::ostream& out, const config::daemon_config& cfg,
                     std::chrono::system_clock::time_point now, int runs = 5);

}  // namespace tfsnap::daemon
