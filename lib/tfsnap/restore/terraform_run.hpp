#pragma once
// A full restore's Terraform run: `init -input=false`, then `apply -input=false -auto-approve`
// (or, for a dry run, `plan -input=false -detailed-exitcode`), with the environment's
// terraform_bin in its terraform_dir.
//
// The child gets a clean environment: everything of tfsnapd's is removed, then PATH, HOME,
// LANG, TF_IN_AUTOMATION=1, TF_INPUT=0, the AWS settings tfsnapd itself uses for the
// environment (AWS_REGION, endpoints), the credentials passed in (as AWS_ACCESS_KEY_ID, ...:
// never on the command line, where other users could read them), and AWS_* / TF_* variables
// named in `passthrough` from tfsnapd's own environment. Each step has the environment's
// terraform_timeout. The output of every step goes to `log_path` (mode 0600); the result keeps
// its last lines.
//
// A failed step stops the run. Nothing is rolled back: the state restore stands (the caller
// says how to undo it).

#include "tfsnap/config/config.hpp"

#include <boost/asio/awaitable.hpp>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tfsnap::restore {

struct terraform_options {
    bool dry_run = false;
    std::filesystem::path log_path;
    std::vector<std::pair<std::string, std::string>> credentials{};  // AWS_ACCESS_KEY_ID, ... (secret)
    std::vector<std::string> passthrough{
        "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE",     "HTTPS_PROXY",
        "HTTP_PROXY",  "NO_PROXY",        "TF_PLUGIN_CACHE_DIR",         "TF_CLI_CONFIG_FILE"};
};

struct terraform_result {
    bool ok = false;
    std::string failed_step;  // "init", "apply", "plan"
    int exit_code = -1;
    bool changes = false;  // plan: exit code 2 (changes present)
    std::string message;   // one line
    std::string tail;      // the last lines of output
    std::string log_path;
    long long ms = 0;
};

boost::asio::awaitable<terraform_result> run_terraform(const config::environment& env,
                                                       terraform_options opts);

// The last `lines` lines of `text`.
std::string tail_of(std::string_view text, int lines);

}  // namespace tfsnap::restore
