// tfsnapd: the tfsnap daemon.

#include "check_config.hpp"
#include "cron_next.hpp"
#include "decrypt.hpp"
#include "oneshot.hpp"
#include "service.hpp"
#include "tfsnap/config/load.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

// sysexits.h values, which systemd and ops tooling understand
constexpr int exit_ok = 0;
constexpr int exit_usage = 64;
constexpr int exit_config = 78;

constexpr std::string_view usage_text =
    "Usage: tfsnapd --config FILE        run the daemon\n"
    "       tfsnapd --check-config FILE  validate FILE and print what it configures\n"
    "       tfsnapd cron-next --expr EXPR [--tz ZONE] [--from RFC3339] [--count N] [--json]\n"
    "                                    print when a cron expression fires\n"
    "       tfsnapd decrypt FILE (--key KEYFILE | --key-credential NAME) [--output OUT|-] [--force]\n"
    "                                    decrypt an encrypted local copy (to stdout by default)\n"
    "       tfsnapd keygen --output FILE  create a key for encrypted local copies (mode 0600)\n"
    "       tfsnapd backup ENV --config FILE [--schedule NAME] [--force]\n"
    "                                    back up one environment now, in the foreground\n"
    "       tfsnapd snapshots ENV --config FILE [--json]\n"
    "                                    list an environment's snapshots, newest first\n"
    "       tfsnapd restore ENV --config FILE (--snapshot ID | --version-id V | --at TIME | --undelete)\n"
    "               --reason TEXT [--mode state-only|full] [--force-lineage] [--no-roll-forward-serial]\n"
    "               [--execute TOKEN] [--json]\n"
    "                                    plan a restore (dry run); with --execute TOKEN, do it\n"
    "       tfsnapd --version\n"
    "       tfsnapd --help\n"
    "\n"
    "Exit status: 0 ok, 64 usage error, 78 invalid configuration (cron-next: 2 on invalid input).\n"
    "decrypt/keygen: 65 corrupt file or wrong key, 66 missing input or key, 73 output exists.\n"
    "backup/restore: 1 when the job failed or the restore was refused.\n"
    "Documentation: tfsnapd(8), tfsnapd.yaml(5), tfsnapctl(1), and /usr/share/doc/tfsnap/example.yaml\n"
    "(config/example.yaml in the source tree) for every option.\n";

int check_config(const std::string& file) {
    const auto result = tfsnap::config::load_file(file);
    if (!result.ok()) {
        for (const auto& d : result.diagnostics)
            std::cerr << tfsnap::config::format(d) << "\n";
        std::cerr << file << ": " << result.diagnostics.size()
                  << (result.diagnostics.size() == 1 ? " problem" : " problems") << "; nothing was started\n";
        return exit_config;
    }
    tfsnap::daemon::describe_config(std::cout, *result.config, std::chrono::system_clock::now());
    return exit_ok;
}

int usage_error(std::string_view message) {
    std::cerr << "tfsnapd: " << message << "\n\n" << usage_text;
    return exit_usage;
}

}  // namespace

// What tfsnapd holds — AWS keys, the plan-token key, copy keys, state bytes — must never reach a
// core file, and what it writes under state_dir is nobody else's business: no core dumps (also
// LimitCORE=0 in the unit), not dumpable (no core, no ptrace by other processes of the same
// user), and files 0600 / directories 0700 whatever umask the caller had.
void harden_process() {
    const rlimit no_core{0, 0};
    (void)::setrlimit(RLIMIT_CORE, &no_core);
    (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    ::umask(077);
}

int main(int argc, char** argv) {
    harden_process();
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.empty())
        return usage_error("no command given");
    const auto need_file = [&](std::size_t i) { return i + 1 < args.size() && !args[i + 1].empty(); };

    if (args[0] == "--help" || args[0] == "-h") {
        std::cout << usage_text;
        return exit_ok;
    }
    if (args[0] == "--version") {
        std::cout << "tfsnapd " << TFSNAP_VERSION << "\n";
        return exit_ok;
    }
    if (args[0] == "cron-next") {
        return tfsnap::daemon::cron_next_main({args.begin() + 1, args.end()},
                                              std::chrono::system_clock::now(), std::cout, std::cerr);
    }
    if (args[0] == "decrypt") {
        const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
        return tfsnap::daemon::decrypt_main({args.begin() + 1, args.end()}, credentials ? credentials : "",
                                            std::cout, std::cerr);
    }
    if (args[0] == "backup")
        return tfsnap::daemon::backup_command({args.begin() + 1, args.end()});
    if (args[0] == "snapshots")
        return tfsnap::daemon::snapshots_command({args.begin() + 1, args.end()});
    if (args[0] == "restore")
        return tfsnap::daemon::restore_command({args.begin() + 1, args.end()});
    if (args[0] == "keygen")
        return tfsnap::daemon::keygen_main({args.begin() + 1, args.end()}, std::cout, std::cerr);
    if (args[0] == "--check-config") {
        if (!need_file(0) || args.size() > 2)
            return usage_error("--check-config takes exactly one FILE");
        return check_config(std::string(args[1]));
    }
    if (args[0] == "--config") {
        if (!need_file(0) || args.size() > 2)
            return usage_error("--config takes exactly one FILE");
        return tfsnap::daemon::run_service(std::string(args[1]));
    }
    return usage_error("unknown option '" + std::string(args[0]) + "'");
}
