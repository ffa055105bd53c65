#include "oneshot.hpp"

#include "identity.hpp"
#include "runtime.hpp"

#include "tfsnap/backup/backup_job.hpp"
#include "tfsnap/config/load.hpp"
#include "tfsnap/core/atomic_file.hpp"
#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/restore/restore.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>

extern char** environ;

namespace tfsnap::daemon {

namespace {

namespace fs = std::filesystem;

// --name VALUE options, --flag switches, one positional ENV.
struct parsed_args {
    std::string env;
    std::map<std::string, std::string> options;
    std::string error;
};

parsed_args parse(const std::vector<std::string_view>& args,
                  std::initializer_list<std::string_view> with_value,
                  std::initializer_list<std::string_view> flags) {
    parsed_args p;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto a = args[i];
        if (a.starts_with("--")) {
            const std::string name(a.substr(2));
            if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
                if (i + 1 >= args.size()) {
                    p.error = "--" + name + " needs a value";
                    return p;
                }
                p.options[name] = std::string(args[++i]);
            } else if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
                p.options[name] = "1";
            } else {
                p.error = "unknown option " + std::string(a);
                return p;
            }
        } else if (p.env.empty()) {
            p.env = std::string(a);
        } else {
            p.error = "unexpected argument " + std::string(a);
            return p;
        }
    }
    if (p.env.empty())
        p.error = "name the environment";
    else if (!p.options.count("config"))
        p.error = "--config FILE is required";
    return p;
}

// What every one-shot command sets up: the configuration, then the runtime the daemon uses too
// (the state_dir's ownership, the catalog, the worker pool, the clients, the jobs' hooks).
struct session {
    boost::asio::io_context io;
    core::system_wall_clock clock;
    core::stream_sink sink{std::cerr};
    core::logger log{sink, core::log_level::warning};
    std::shared_ptr<const config::daemon_config> cfg;
    const config::environment* env = nullptr;
    std::optional<runtime> rt;

    // `command` ("backup", "restore") names what the user ran, for the message when the state_dir is
    // owned by another process (the daemon): then nothing under it is touched and the command exits
    // 75, unless `read_only_ok`, where it goes on without owning (and must only read).
    int open(const parsed_args& a, std::string_view command, bool read_only_ok = false) {
        auto loaded = config::load_file(a.options.at("config"));
        if (!loaded.ok()) {
            for (const auto& d : loaded.diagnostics)
                std::cerr << config::format(d) << "\n";
            return exit_config;
        }
        cfg = std::make_shared<const config::daemon_config>(std::move(*loaded.config));
        env = cfg->find(a.env);
        if (env == nullptr) {
            std::cerr << "tfsnapd: no environment " << a.env << " in " << cfg->file << "\n";
            return exit_usage;
        }
        rt.emplace(io, clock, log);
        open_options o;
        o.holder = "tfsnapd " + std::string(command) + " " + env->name;
        o.read_only_ok = read_only_ok;
        if (const auto problem = rt->open(cfg, o)) {
            if (problem->busy)
                std::cerr << "tfsnapd " << command << ": " << problem->message
                          << "; nothing was changed.\n  Ask the running daemon instead: tfsnapctl " << command
                          << " " << env->name << " ...  (see tfsnapctl(1)), or stop it first.\n";
            else
                std::cerr << "tfsnapd " << command << ": " << problem->message << "\n";
            return problem->exit_code == exit_software ? exit_failed : problem->exit_code;
        }
        if (rt->owner())
            (void)run(rt->start_history());  // logged; the snapshot does not depend on it
        for (const auto& p : rt->clients()->problems(*env))
            std::cerr << "tfsnapd: " << env->name << ": " << p << "\n";
        return exit_ok;
    }

    template <class T>
    T run(boost::asio::awaitable<T> a) {
        std::optional<T> out;
        std::exception_ptr error;
        boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
            error = e;
            if (!e)
                out.emplace(std::move(v));
        });
        io.run();
        io.restart();
        if (error)
            std::rethrow_exception(error);
        return std::move(*out);
    }
};

void print_plan(const restore::restore_plan& p, const config::environment& env) {
    std::cout << (p.action == restore::restore_action::undelete ? "Undelete" : "Restore") << " plan for "
              << p.environment << " (s3://" << env.bucket << "/" << env.key << ")\n";
    std::cout << "  current:   "
              << (p.current_deleted ? "DELETED (delete marker " + p.current_version + ")"
                                    : "version " + p.current_version + " " + p.current_etag)
              << "\n";
    std::cout << "  target:    version " << p.target_version
              << (p.target_snapshot.empty() ? "" : ", snapshot " + p.target_snapshot)
              << (p.target_last_modified.empty() ? "" : ", written " + p.target_last_modified) << "\n";
    if (p.diff) {
        const auto& d = *p.diff;
        std::cout << "  serial:    " << d.serial.before << " -> " << d.serial.after
                  << (p.roll_forward_serial ? " (rolled forward: written with this serial)" : "") << "\n";
        std::cout << "  lineage:   "
                  << (d.lineage.changed ? d.lineage.before + " -> " + d.lineage.after : "unchanged") << "\n";
        std::cout << "  terraform: "
                  << (d.terraform_version.changed
                          ? d.terraform_version.before + " -> " + d.terraform_version.after
                          : "unchanged")
                  << "\n";
        std::cout << "  resources: " << d.resources.size() << " differ\n";
        for (const auto& r : d.resources) {
            const char* sign = r.kind == tfstate::change_kind::added     ? "+"
                               : r.kind == tfstate::change_kind::removed ? "-"
                                                                         : "~";
            std::cout << "    " << sign << " " << r.address << "\n";
        }
        for (const auto& o : d.outputs)
            std::cout << "    output " << o.name << ": " << tfstate::to_string(o.kind)
                      << (o.sensitive ? " (sensitive)" : "") << "\n";
    }
    for (const auto& l : p.locks)
        std::cout << "  lock:      " << l.where << ": " << (l.held ? l.holder : "free") << "\n";
    if (p.terraform)
        std::cout << "  terraform plan: " << p.terraform->message << " (output: " << p.terraform->log_path
                  << ")\n";
    for (const auto& w : p.warnings)
        std::cout << "  warning:   " << w << "\n";
    for (const auto& r : p.refusals)
        std::cout << "  REFUSED:   " << r << "\n";
}

}  // namespace

int backup_command(const std::vector<std::string_view>& args) {
    const auto a = parse(args, {"config", "schedule"}, {"force"});
    if (!a.error.empty()) {
        std::cerr << "tfsnapd backup: " << a.error << "\n";
        return exit_usage;
    }
    session s;
    if (const int rc = s.open(a, "backup"))
        return rc;
    backup::backup_request req;
    req.schedule = a.options.count("schedule") ? a.options.at("schedule") : "on-demand";
    req.requested_by = user_name(::getuid()) + "@" + s.rt->host();
    req.force_snapshot = a.options.count("force") != 0;
    const auto out = s.run(backup::run_backup(s.rt->jobs(), *s.env, s.rt->clients()->access(*s.env), req));
    std::cout << s.env->name << ": " << backup::to_string(out.status) << ": " << out.message << "\n";
    for (const auto& w : out.warnings)
        std::cout << "  warning: " << w << "\n";
    return out.ok() ? exit_ok : exit_failed;
}

int snapshots_command(const std::vector<std::string_view>& args) {
    const auto a = parse(args, {"config"}, {"json"});
    if (!a.error.empty()) {
        std::cerr << "tfsnapd snapshots: " << a.error << "\n";
        return exit_usage;
    }
    session s;
    if (const int rc = s.open(a, "snapshots", true))
        return rc;
    std::vector<catalog::index_entry> entries;
    // without owning the state_dir, read the manifests themselves: list() may rewrite the index
    if (auto st = s.rt->owner() ? s.rt->catalog().list(s.env->name, entries)
                                : s.rt->catalog().scan(s.env->name, entries)) {
        std::cerr << "tfsnapd: " << st.info.path << ": " << st.info.message << "\n";
        return exit_failed;
    }
    if (a.options.count("json")) {
        // newest first, like the table and GET /v1/environments/{env}/snapshots
        rapidjson::StringBuffer sb;
        rapidjson::Writer<rapidjson::StringBuffer> w(sb);
        w.StartObject();
        w.Key("environment");
        w.String(s.env->name);
        w.Key("snapshots");
        w.StartArray();
        for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
            w.StartObject();
            w.Key("snapshot_id");
            w.String(it->snapshot_id);
            w.Key("serial");
            it->serial ? w.Uint64(*it->serial) : w.Null();
            w.Key("version_id");
            w.String(it->version_id);
            w.Key("has_copy");
            w.Bool(it->has_copy);
            w.Key("pinned_until");
            it->pinned_until ? w.String(*it->pinned_until) : w.Null();
            w.Key("expires_at");
            it->expires_at ? w.String(*it->expires_at) : w.Null();
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
        std::cout << sb.GetString() << "\n";
        return exit_ok;
    }
    std::cout << "SNAPSHOT                  SERIAL  VERSION                           COPY  PINNED/EXPIRES\n";
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        std::string serial = it->serial ? std::to_string(*it->serial) : "-";
        std::string note = it->pinned_until ? "pinned until " + *it->pinned_until
                                            : (it->expires_at ? "version expires " + *it->expires_at : "");
        std::printf("%-25s %6s  %-33s %-5s %s\n", it->snapshot_id.c_str(), serial.c_str(),
                    it->version_id.c_str(), it->has_copy ? "yes" : "no", note.c_str());
    }
    std::fflush(stdout);
    return exit_ok;
}

int restore_command(const std::vector<std::string_view>& args) {
    const auto a =
        parse(args, {"config", "snapshot", "version-id", "at", "reason", "mode", "execute"},
              {"undelete", "force-lineage", "roll-forward-serial", "no-roll-forward-serial", "json"});
    if (!a.error.empty()) {
        std::cerr << "tfsnapd restore: " << a.error << "\n";
        return exit_usage;
    }
    if (!a.options.count("reason")) {
        std::cerr << "tfsnapd restore: --reason TEXT is required (it goes into the lock and the audit log)\n";
        return exit_usage;
    }
    session s;
    if (const int rc = s.open(a, "restore"))
        return rc;
    restore::restore_request req;
    if (a.options.count("snapshot"))
        req.snapshot_id = a.options.at("snapshot");
    if (a.options.count("version-id"))
        req.version_id = a.options.at("version-id");
    if (a.options.count("at")) {
        const auto t = core::parse_rfc3339(a.options.at("at"));
        if (!t) {
            std::cerr << "tfsnapd restore: --at needs an RFC 3339 time such as 2026-11-21T17:00:00Z\n";
            return exit_usage;
        }
        req.at = *t;
    }
    req.undelete = a.options.count("undelete") != 0;
    if (a.options.count("mode")) {
        const auto mode = restore::parse_restore_mode(a.options.at("mode"));
        if (!mode) {
            std::cerr << "tfsnapd restore: --mode is state-only or full, not " << a.options.at("mode")
                      << "\n";
            return exit_usage;
        }
        req.mode = *mode;
    }
    req.force_lineage = a.options.count("force-lineage") != 0;
    // rolled forward by default (--roll-forward-serial is still accepted)
    req.roll_forward_serial = a.options.count("no-roll-forward-serial") == 0;
    req.reason = a.options.at("reason");
    req.uid = static_cast<long long>(::getuid());
    req.user = user_name(::getuid());

    if (!s.rt->token_key_problem().empty()) {
        std::cerr << "tfsnapd restore: cannot keep the plan-token key: " << s.rt->token_key_problem() << "\n";
        return exit_failed;
    }
    auto& rctx = s.rt->restores();
    const auto access = s.rt->clients()->access(*s.env);

    // a restore that was killed left its journal: release what it still holds (only locks that
    // carry its own IDs) before anything else, as the daemon does when it starts
    const auto recovered =
        s.run(restore::recover_journals(rctx, s.rt->dir_owner(), *s.cfg, s.rt->access_function()));
    for (const auto& r : recovered) {
        std::cerr << "tfsnapd: an interrupted restore " << r.restore_id << " of " << r.environment
                  << " was found";
        for (const auto& l : r.released)
            std::cerr << "; released its lock " << l;
        for (const auto& l : r.left)
            std::cerr << "; left " << l;
        if (!r.error.empty())
            std::cerr << "; " << r.error;
        std::cerr << " (see the audit log)\n";
    }

    if (!a.options.count("execute")) {
        const auto p = s.run(restore::plan(rctx, *s.env, access, req));
        if (a.options.count("json")) {
            std::cout << restore::to_json(p) << "\n";
        } else {
            print_plan(p, *s.env);
            if (p.ok()) {
                std::cout << "\nDry run: nothing was changed. To execute exactly this plan (valid until "
                          << p.token_expires_at << "), run the same command with:\n  --execute " << p.token
                          << "\n";
            }
        }
        return p.ok() ? exit_ok : exit_failed;
    }
    const auto r = s.run(restore::execute(rctx, *s.env, access, req, a.options.at("execute")));
    for (const auto& st : r.steps)
        std::cout << (st.ok ? "  ok    " : "  FAIL  ") << st.name << ": " << st.detail << " (" << st.ms
                  << " ms)\n";
    std::cout << restore::to_string(r.result) << ": " << r.message << "\n";
    if (!r.undo.empty() && r.result == restore::outcome::ok)
        std::cout << "To undo: plan a restore of the safety snapshot " << r.safety_snapshot << " (--snapshot "
                  << r.safety_snapshot << ")\n";
    if (r.terraform)
        std::cout << "terraform: " << r.terraform->message << "\n" << r.terraform->tail << "\n";
    return r.ok() ? exit_ok : exit_failed;
}

}  // namespace tfsnap::daemon
