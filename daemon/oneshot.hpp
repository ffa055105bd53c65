#pragma once
// tfsnapd's one-shot commands, which run a job in the foreground without the daemon:
//
//   tfsnapd backup ENV --config FILE [--schedule NAME] [--force]
//   tfsnapd snapshots ENV --config FILE [--json]
//   tfsnapd restore ENV --config FILE (--snapshot ID | --version-id V | --at RFC3339 | --undelete)
//           --reason TEXT [--mode state-only|full] [--force-lineage] [--roll-forward-serial]
//           [--execute TOKEN] [--json]
//
// They use the same catalog, locks, journal and audit log as the daemon, so they are safe to
// run beside it (the catalog's writers are the backup jobs: do not run a one-shot backup of an
// environment while the daemon backs it up). A restore without --execute is a dry run: it
// prints the plan and the token that executes exactly that plan.

#include <string_view>
#include <vector>

namespace tfsnap::daemon {

int backup_command(const std::vector<std::string_view>& args);
int snapshots_command(const std::vector<std::string_view>& args);
int restore_command(const std::vector<std::string_view>& args);

}  // namespace tfsnap::daemon
