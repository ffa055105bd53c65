#pragma once
// A schedule ready to be planned: the parsed cron expression, the resolved time zone and the
// policies of one `config::schedule`, with the name of its environment.
//
// Lifetime: `zone` points into the process-wide tz database, which lives for the process.

#include "tfsnap/config/config.hpp"
#include "tfsnap/cron/expression.hpp"

#include <date/tz.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::scheduler {

// What a schedule runs: the environment's backup (its `schedules`), or its verify job
// (`verify`, weekly by default).
// What a job does. Schedules fire backups and verifies; the rest are asked for over the API
// (`plan`: the dry run of a full-mode restore, which runs terraform init and plan).
enum class job_kind { backup, verify, prune, restore, undelete, plan };
std::string_view to_string(job_kind k) noexcept;

struct schedule_spec {
    std::string environment;
    std::string name;
    cron::expression expr;
    const date::time_zone* zone = nullptr;
    std::chrono::seconds jitter{0};
    config::missed_policy missed = config::missed_policy::run_once;
    config::concurrency_policy concurrency = config::concurrency_policy::forbid;
    job_kind kind = job_kind::backup;

    // "<environment>/<schedule>" ("<environment>/@verify" for the verify job): unique, since
    // names never contain '/' or '@'.
    std::string key() const { return environment + "/" + (kind == job_kind::verify ? "@verify" : name); }
    // Jobs of one lane never overlap (the concurrency policy applies within a lane): an
    // environment's backups share one, its verify jobs another.
    std::string lane() const { return kind == job_kind::verify ? environment + "/@verify" : environment; }
};

struct spec_error {
    std::string environment;
    std::string schedule;
    std::string message;  // "cron: day-of-month 32 out of range 1-31 at column 7"
};

struct specs_result {
    std::vector<schedule_spec> specs;  // in config order; the schedules without errors
    std::vector<spec_error> errors;    // one per schedule that could not be built
    bool ok() const noexcept { return errors.empty(); }
};

// The verify job's spec of `env` (nullopt when verify is disabled), named "verify".
std::optional<schedule_spec> make_verify_spec(const config::environment& env, std::string& error);

// One spec per schedule of every environment, then each environment's verify job. A cron that does not parse
// or an unknown time zone gives an error for that schedule; the others are still built.
specs_result make_specs(const config::daemon_config& cfg);

// The same for one schedule; on error, `error` is set and the result is empty.
std::optional<schedule_spec> make_spec(const config::environment& env, const config::schedule& s,
                                       std::string& error);

}  // namespace tfsnap::scheduler
