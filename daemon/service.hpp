#pragma once
// `tfsnapd --config FILE`: the daemon's life on one io_context.
//
// Start-up: load and validate the configuration (exit 78 on any problem), open the catalog
// (stray temporary files removed), release what an interrupted restore left (the restore
// journal), start the scheduler, the control server (a socket passed by systemd, or
// control.socket) and the metrics, and only then tell systemd READY=1. STATUS= stays current
// ("3 envs · next: prod/daily in 4h12m · last: staging ok 02:00"); with a watchdog, WATCHDOG=1
// goes out from the event loop at half its interval.
//
// SIGHUP (or POST /v1/reload): RELOADING=1, load the file again; an invalid configuration is
// logged problem by problem and the old one stays; a valid one replaces the schedules (running
// jobs go on) and the access lists, then READY=1.
// SIGTERM/SIGINT: STOPPING=1, the control server stops accepting, running jobs get up to
// shutdown_grace (default 30 s) to finish and are then cancelled (a cancelled restore releases its
// locks on the way out, or leaves its journal for the next start); exit 0.
//
// Jobs, scheduled or asked for over the API, run through the scheduler's runner, in lanes: an
// environment's backups, prunes and restores share one lane (one at a time), its verify jobs
// another.

#include <string>

namespace tfsnap::daemon {

// Runs the daemon until SIGTERM/SIGINT. Returns the process exit status.
int run_service(const std::string& config_file);

}  // namespace tfsnap::daemon
