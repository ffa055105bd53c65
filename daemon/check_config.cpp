#include "check_config.hpp"

#include "tfsnap/cron/expression.hpp"
#include "tfsnap/scheduler/jitter.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <ostream>
#include <string>

namespace tfsnap::daemon {

namespace {

std::string describe_retention(const config::retention_policy& r) {
    if (r.empty())
        return "none (every snapshot is kept)";
    std::string out;
    const auto add = [&](const char* name, const std::optional<std::int64_t>& v) {
        if (!v)
            return;
        if (!out.empty())
            out += ", ";
        out += name;
        out += ' ';
        out += std::to_string(*v);
    };
    add("last", r.keep_last);
    add("hourly", r.keep_hourly);
    add("daily", r.keep_daily);
    add("weekly", r.keep_weekly);
    add("monthly", r.keep_monthly);
    add("yearly", r.keep_yearly);
    if (r.keep_within)
        out += (out.empty() ? "" : ", ") + std::string("within ") + config::format_duration(*r.keep_within);
    if (r.min_keep)
        out += ", never fewer than " + std::to_string(*r.min_keep);
    out += "; safety snapshots pinned for " +
           config::format_duration(r.restore_pin.value_or(config::default_restore_pin));
    return out;
}

std::string describe_locks(const config::environment& e) {
    std::string out;
    if (e.lock.dynamodb_table) {
        out = "DynamoDB table " + *e.lock.dynamodb_table + " (LockID " + e.lock_id() + ", digest " +
              e.lock_id() + "-md5)";
    }
    if (e.lock.lockfile) {
        if (!out.empty())
            out += " + ";
        out += "S3 lockfile s3://" + e.bucket + "/" + e.key + ".tflock";
    }
    return out.empty() ? "none (the Terraform backend uses no lock)" : out;
}

std::string describe_copy(const config::environment& e) {
    const auto& c = e.copy;
    const std::string sse =
        c.sse.empty() ? "" : " (sse " + c.sse + (c.kms_key_id.empty() ? "" : " " + c.kms_key_id) + ")";
    const std::string archive =
        c.on_expiry == config::expiry_action::archive && c.mode != config::copy_mode::server_side
            ? "; before a version expires: server-side to s3://" + c.bucket + "/" + c.prefix + sse
            : "";
    switch (c.mode) {
        case config::copy_mode::server_side:
            return "server-side to s3://" + c.bucket + "/" + c.prefix + sse;
        case config::copy_mode::local:
            return "local, AES-256-GCM with the key in " +
                   (c.key_file.empty() ? "systemd credential " + c.key_credential : c.key_file) + archive;
        case config::copy_mode::none:
            break;
    }
    if (e.source == config::source_kind::file)
        return "none (the catalog keeps each snapshot's bytes, mode 0600)";
    return "none (snapshots pin S3 versions only)" + archive;
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : ", ") + s;
    return out.empty() ? "(none; root only)" : out;
}

void describe_next_runs(std::ostream& out, const config::environment& e, const config::schedule& s,
                        std::chrono::system_clock::time_point now, int runs) {
    const auto parsed = cron::expression::parse(s.cron);
    if (!parsed.ok())
        return;                                                   // the loader has validated it
    const date::time_zone* zone = date::locate_zone(s.timezone);  // likewise
    const auto offset = scheduler::jitter_offset(e.name, s.name, s.jitter);
    out << "    next runs" << (offset.count() > 0 ? " (jitter +" + config::format_duration(offset) + ")" : "")
        << ":\n";
    auto t = std::chrono::floor<std::chrono::seconds>(now);
    for (int i = 0; i < runs; ++i) {
        const auto slot = parsed.expr->next(t, *zone);
        if (!slot) {
            out << "      (no run within 5 years)\n";
            break;
        }
        t = *slot;
        const auto due = *slot + offset;
        out << "      " << date::format("%F %T %Z", date::zoned_seconds{zone, due}) << "  =  "
            << date::format("%FT%TZ", due) << "\n";
    }
}

}  // namespace

void describe_config(std::ostream& out, const config::daemon_config& cfg,
                     std::chrono::system_clock::time_point now, int runs) {
    out << cfg.file << ": OK, " << cfg.environments.size()
        << (cfg.environments.size() == 1 ? " environment\n" : " environments\n");
    out << "state_dir: " << cfg.state_dir << "\n";
    out << "max_concurrent_jobs: " << cfg.max_concurrent_jobs << "\n";
    out << "catalog: " << cfg.state_dir << "/catalog"
        << (cfg.catalog.git ? ", a git repository (commit + tag per snapshot)" : "") << "\n";
    out << "control socket: " << cfg.control.socket << "\n";
    out << "  readers:   " << join(cfg.control.readers) << "\n";
    out << "  operators: " << join(cfg.control.operators) << "\n";
    for (const auto& e : cfg.environments) {
        out << "\nenvironment " << e.name << "\n";
        if (e.source == config::source_kind::file) {
            out << "  state:     file " << e.path << " (local backend)\n";
        } else {
            out << "  state:     s3://" << e.bucket << "/" << e.key
                << (e.workspace && *e.workspace != "default" ? " (workspace " + *e.workspace + ")"
                                                             : std::string())
                << "\n";
            out << "  region:    " << e.region;
            if (e.endpoint)
                out << ", endpoint " << *e.endpoint << (e.path_style ? " (path-style)" : "");
            out << "\n";
            if (e.dynamodb_endpoint)
                out << "  dynamodb:  " << *e.dynamodb_endpoint << "\n";
            out << "  tls:       verified against "
                << (e.ca_file ? *e.ca_file : std::string("the system CA store")) << "\n";
            out << "  locks:     " << describe_locks(e) << "\n";
        }
        out << "  copy:      " << describe_copy(e) << "\n";
        out << "  snapshots: "
            << (e.always_snapshot ? "every run, even when the state is unchanged"
                                  : "when the state changed (an unchanged state is recorded as a check)")
            << "\n";
        if (e.verify.enabled) {
            out << "  verify:    cron \"" << e.verify.cron << "\" in " << e.verify.timezone << "\n";
        } else {
            out << "  verify:    on demand only\n";
        }
        if (e.terraform_dir)
            out << "  terraform: " << *e.terraform_dir << "\n";
        if (e.schedules.empty())
            out << "  schedules: none (backed up on demand only)\n";
        for (const auto& s : e.schedules) {
            out << "  schedule " << s.name << ": cron \"" << s.cron << "\" in " << s.timezone << ", jitter "
                << config::format_duration(s.jitter) << ", missed runs: " << config::to_string(s.missed)
                << ", concurrency: " << config::to_string(s.concurrency) << "\n";
            out << "    retention: " << describe_retention(s.retention) << "\n";
            describe_next_runs(out, e, s, now, runs);
        }
    }
}

}  // namespace tfsnap::daemon
