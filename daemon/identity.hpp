#pragma once
// Who and where: the host name, a user's name, and the plan-token key shared by tfsnapd's
// commands and the daemon.

#include <sys/types.h>
#include <cstddef>
#include <string>
#include <vector>

namespace tfsnap::daemon {

std::string host_name();
// The user's name, or "uid<N>" when it has none. Blocks on NSS: for the foreground commands; the
// daemon asks through the control server's name cache (request_context::user_name).
std::string user_name(uid_t uid);

// The key plan tokens are signed with: <state_dir>/plan-token.key, 32 random bytes, mode 0600,
// made on first use, so that a plan and its execution may be two commands (or a command and the
// daemon). When the file cannot be written the key is still returned, with the reason in
// `problem` (tokens then last only as long as this process). Throws if no random bytes can be
// had.
std::vector<std::byte> plan_token_key(const std::string& state_dir, std::string& problem);

}  // namespace tfsnap::daemon
