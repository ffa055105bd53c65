#pragma once
// `tfsnapd --check-config`: what a validated configuration will do, for a person to read.

#include "tfsnap/config/config.hpp"

#include <iosfwd>

namespace tfsnap::daemon {

// One block per environment: the state's location, the locks, the copy, and each schedule.
void describe_config(std::ostream& out, const config::daemon_config& cfg);

}  // namespace tfsnap::daemon
