// tfsnapctl: the admin CLI over tfsnapd's control API (see --help and README, "The daemon and
// its control API").

#include "ctl_client.hpp"

#include "tfsnap/core/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using tfsnap::daemon::ctl_client;
using tfsnap::daemon::ctl_response;
using tfsnap::daemon::ctl_stage;
using namespace std::chrono_literals;

constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_refused = 3, exit_not_found = 4,
              exit_unreachable = 5;

const char* const usage_text = R"(usage: tfsnapctl [--socket PATH] [--json] COMMAND [ARGS]

Talks to tfsnapd over its control socket (default /run/tfsnap/control.sock, or $TFSNAP_SOCKET).

Commands:
  status                          the daemon: version, environments, running jobs, next run
  envs                            the environments and their last backup
  snapshots ENV                   the snapshots of ENV, newest first
  versions ENV                    the S3 versions of ENV's state
  jobs                            running and recent jobs
  job ID                          one job, with its steps and result
  audit [--env ENV] [--limit N]   the restore audit log, newest first
  reload                          reload the daemon's configuration
  metrics                         the Prometheus metrics (--json: one object per sample)
  backup ENV [--wait]             take a snapshot now (--wait: until the job is done)
  verify ENV [--wait]             verify ENV's snapshots
  prune ENV [--dry-run]           apply the retention policy (--dry-run: only show it)
  restore ENV (--snapshot ID | --version V | --at TIME) [--mode state-only|full]
          [--reason TEXT] [--force-lineage] [--no-roll-forward-serial] [--yes] [--dry-run]
                                  show the plan, ask for the environment's name, restore
                                  (the serial is rolled forward unless --no-roll-forward-serial)
  undelete ENV [--reason TEXT] [--yes] [--dry-run]
                                  remove the delete marker on top of a deleted state

Options:
  --socket PATH   the control socket
  --json          print the daemon's JSON as is (restore/undelete: the plan, then the job)
  --yes           restore/undelete without the question (needed without a terminal)
  --help, --version

Exit codes:
  0 ok   1 failed (a job failed)   2 usage (or a request the daemon calls malformed)
  3 refused (409 busy, a plan with refusals, a held lock, a stale plan, a missing role,
    an unconfirmed restore)   4 not found (environment, job)   5 tfsnapd unreachable

Colour only on a terminal, and never when NO_COLOR is set.
)";

struct usage_error {
    std::string message;
};

// ---------------------------------------------------------------------------------- output
bool use_colour() {
    const char* nc = std::getenv("NO_COLOR");
    return ::isatty(STDOUT_FILENO) && (nc == nullptr || *nc == '\0');
}

std::string paint(const std::string& s, const char* code) {
    static const bool on = use_colour();
    return on ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
}

std::string state_colour(const std::string& s) {
    if (s == "succeeded" || s == "ok" || s == "no-op" || s == "no_op")
        return paint(s, "32");
    if (s == "failed" || s == "refused")
        return paint(s, "31");
    if (s == "running" || s == "queued")
        return paint(s, "33");
    return s;
}

std::size_t visible_width(const std::string& s) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\033') {
            while (i < s.size() && s[i] != 'm')
                ++i;
            continue;
        }
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80)
            ++n;
    }
    return n;
}

void print_table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> w(head.size());
    for (std::size_t c = 0; c < head.size(); ++c)
        w[c] = head[c].size();
    for (const auto& r : rows)
        for (std::size_t c = 0; c < r.size() && c < w.size(); ++c)
            w[c] = std::max(w[c], visible_width(r[c]));
    auto line = [&](const std::vector<std::string>& r, bool bold) {
        std::string out;
        for (std::size_t c = 0; c < r.size(); ++c) {
            const std::string cell = bold ? paint(r[c], "1") : r[c];
            out += cell;
            if (c + 1 < r.size())
                out += std::string(w[c] - visible_width(r[c]) + 2, ' ');
        }
        std::cout << out << "\n";
    };
    line(head, true);
    for (const auto& r : rows)
        line(r, false);
}

// -------------------------------------------------------------------------------- JSON
using value = rapidjson::Value;

std::string str(const value& o, const char* k) {
    if (!o.IsObject())
        return "";
    const auto it = o.FindMember(k);
    if (it == o.MemberEnd() || it->value.IsNull())
        return "";
    if (it->value.IsString())
        return std::string(it->value.GetString(), it->value.GetStringLength());
    if (it->value.IsBool())
        return it->value.GetBool() ? "yes" : "no";
    if (it->value.IsInt64())
        return std::to_string(it->value.GetInt64());
    if (it->value.IsUint64())
        return std::to_string(it->value.GetUint64());
    if (it->value.IsNumber())
        return std::to_string(it->value.GetDouble());
    return "";
}

bool flag(const value& o, const char* k) {
    if (!o.IsObject())
        return false;
    const auto it = o.FindMember(k);
    return it != o.MemberEnd() && it->value.IsBool() && it->value.GetBool();
}

const value& member(const value& o, const char* k) {
    static const value null;
    if (!o.IsObject())
        return null;
    const auto it = o.FindMember(k);
    return it == o.MemberEnd() ? null : it->value;
}

const value& array(const value& o, const char* k) {
    static const value empty(rapidjson::kArrayType);
    const value& v = member(o, k);
    return v.IsArray() ? v : empty;
}

std::string or_dash(std::string s) {
    return s.empty() ? "-" : s;
}

// 3d4h, 2h13m, 5m12s, 40s
std::string span(long long seconds) {
    if (seconds < 0)
        seconds = 0;
    const long long d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60,
                    s = seconds % 60;
    if (d > 0)
        return std::to_string(d) + "d" + std::to_string(h) + "h";
    if (h > 0)
        return std::to_string(h) + "h" + std::to_string(m) + "m";
    if (m > 0)
        return std::to_string(m) + "m" + std::to_string(s) + "s";
    return std::to_string(s) + "s";
}

// ---------------------------------------------------------------------------------- the CLI
class ctl {
public:
    ctl(std::string socket, bool json) : client_(std::move(socket)), json_(json) {}

    // One request. On a transport failure or an error status prints why and returns the exit
    // code; on success parses the body into doc_ and returns nullopt. `patient`: a 429 (this
    // user has as many long polls waiting as the daemon allows) is asked again a second later.
    std::optional<int> call(const std::string& method, const std::string& target,
                            const std::string& body = "{}", std::chrono::seconds timeout = 60s,
                            bool patient = false) {
        ctl_response r;
        for (;;) {
            r = ctl_response{};
            const auto f = client_.request(method, target, method == "POST" ? body : "", timeout, r);
            if (f.ec) {
                if (f.stage == ctl_stage::connect)
                    std::cerr << "tfsnapctl: cannot reach tfsnapd at " << client_.path() << ": "
                              << f.ec.message() << "; is it running? (systemctl status tfsnapd)\n";
                else
                    std::cerr << "tfsnapctl: no answer from tfsnapd at " << client_.path() << ": "
                              << f.ec.message() << "\n";
                return exit_unreachable;
            }
            if (!patient || r.status != 429)
                break;
            std::this_thread::sleep_for(1s);
        }
        status_ = r.status;
        raw_ = r.body;
        // the answer is parsed iteratively and depth-bounded (null when it is not JSON): what a
        // socket returns must not crash the client either, and printing walks it recursively
        tfsnap::core::parse_json(doc_, r.body);
        if (r.status >= 200 && r.status < 300)
            return std::nullopt;
        return report_error();
    }

    // prints the daemon's error and returns its exit code
    int report_error() {
        const value& e = member(doc_, "error");
        std::string msg = str(e, "message");
        if (msg.empty())
            msg = "HTTP " + std::to_string(status_) + (raw_.empty() ? "" : ": " + raw_);
        if (json_)
            std::cout << raw_ << "\n";
        if (status_ == 403) {
            const std::string role = str(e, "role");
            std::cerr << "tfsnapctl: refused: " << msg;
            if (!role.empty() && msg.find(role) == std::string::npos)
                std::cerr << " (needs the " << role << " role)";
            std::cerr << "\n";
            return exit_refused;
        }
        std::cerr << "tfsnapctl: " << msg << "\n";
        switch (status_) {
            case 400:
                return exit_usage;
            case 404:
                return exit_not_found;
            case 409:
                return exit_refused;
            default:
                return exit_failed;
        }
    }

    int done_raw() {
        std::cout << raw_ << "\n";
        return exit_ok;
    }

    int status() {
        if (auto rc = call("GET", "/v1/status"))
            return *rc;
        if (json_)
            return done_raw();
        for (const char* k : {"version", "config", "environments", "running", "next_run", "status"})
            std::cout << k << ":" << std::string(14 - std::string(k).size(), ' ') << or_dash(str(doc_, k))
                      << "\n";
        const std::string up = str(doc_, "uptime_seconds");
        if (!up.empty())
            std::cout << "uptime:        " << span(std::strtoll(up.c_str(), nullptr, 10)) << " (since "
                      << or_dash(str(doc_, "started_at")) << ")\n";
        // how many environments are in each health, then the unhealthy ones, as systemctl status
        // lists failed units
        const value& counts = member(doc_, "health_counts");
        if (counts.IsObject() && counts.MemberCount() > 0) {
            std::string line;
            for (const auto& c : counts.GetObject())
                if (c.value.IsInt64())
                    line += (line.empty() ? "" : ", ") + std::to_string(c.value.GetInt64()) + " " +
                            std::string(c.name.GetString(), c.name.GetStringLength());
            std::cout << "health:        " << line << "\n";
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& h : array(doc_, "health").GetArray())
            rows.push_back({str(h, "health") == "ok" ? "ok" : "!! " + str(h, "health"), str(h, "environment"),
                            str(h, "detail")});
        std::stable_sort(rows.begin(), rows.end(),
                         [](const auto& a, const auto& b) { return (a[0] != "ok") > (b[0] != "ok"); });
        if (!rows.empty()) {
            std::cout << "\n";
            print_table({"HEALTH", "ENVIRONMENT", "DETAIL"}, rows);
        }
        return exit_ok;
    }

    // GET /metrics: the Prometheus text as is, or with --json one object per sample:
    // {"metrics":[{"name":..,"labels":{..},"value":..}]} (comment lines dropped)
    int metrics() {
        if (auto rc = call("GET", "/metrics"))
            return *rc;
        if (!json_) {
            std::cout << raw_;
            return exit_ok;
        }
        rapidjson::StringBuffer sb;
        rapidjson::Writer<rapidjson::StringBuffer> w(sb);
        w.StartObject();
        w.Key("metrics");
        w.StartArray();
        std::istringstream in(raw_);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line.front() == '#')
                continue;
            const auto brace = line.find('{');
            const auto space = line.rfind(' ');
            if (space == std::string::npos)
                continue;
            const auto name_end = brace != std::string::npos && brace < space ? brace : line.find(' ');
            w.StartObject();
            w.Key("name");
            w.String(line.substr(0, name_end));
            w.Key("labels");
            w.StartObject();
            if (brace != std::string::npos && brace < space) {
                // name="value" pairs; values escape \\, \" and \n
                std::size_t i = brace + 1;
                while (i < line.size() && line[i] != '}') {
                    const auto eq = line.find('=', i);
                    if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
                        break;
                    std::string label = line.substr(i, eq - i), v;
                    std::size_t j = eq + 2;
                    for (; j < line.size() && line[j] != '"'; ++j) {
                        if (line[j] == '\\' && j + 1 < line.size()) {
                            ++j;
                            v += line[j] == 'n' ? '\n' : line[j];
                        } else {
                            v += line[j];
                        }
                    }
                    w.Key(label.c_str(), static_cast<rapidjson::SizeType>(label.size()));
                    w.String(v);
                    i = j + 1;
                    if (i < line.size() && line[i] == ',')
                        ++i;
                }
            }
            w.EndObject();
            w.Key("value");
            const std::string v = line.substr(space + 1);
            char* end = nullptr;
            const double d = std::strtod(v.c_str(), &end);
            if (end != v.c_str() && *end == '\0' && std::isfinite(d))
                w.Double(d);
            else
                w.String(v);  // +Inf, NaN
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
        std::cout << sb.GetString() << "\n";
        return exit_ok;
    }

    int envs() {
        if (auto rc = call("GET", "/v1/environments"))
            return *rc;
        if (json_)
            return done_raw();
        std::vector<std::vector<std::string>> rows;
        for (const auto& e : array(doc_, "environments").GetArray()) {
            std::string where = str(e, "source") == "file" ? str(e, "path")
                                                           : "s3://" + str(e, "bucket") + "/" + str(e, "key");
            std::string schedules;
            for (const auto& s : array(e, "schedules").GetArray())
                schedules += (schedules.empty() ? "" : ",") + std::string(s.IsString() ? s.GetString() : "");
            const value& last = member(e, "last_backup");
            rows.push_back({str(e, "name"), where, or_dash(schedules),
                            last.IsObject() ? state_colour(str(last, "result")) : "-",
                            or_dash(str(last, "checked_at")), or_dash(str(last, "snapshot_id"))});
        }
        print_table({"ENV", "WHERE", "SCHEDULES", "LAST", "CHECKED", "SNAPSHOT"}, rows);
        return exit_ok;
    }

    int snapshots(const std::string& env) {
        if (auto rc = call("GET", "/v1/environments/" + env + "/snapshots"))
            return *rc;
        if (json_)
            return done_raw();
        std::vector<std::vector<std::string>> rows;
        for (const auto& s : array(doc_, "snapshots").GetArray())
            rows.push_back({str(s, "snapshot_id"), str(s, "created_at"), or_dash(str(s, "serial")),
                            or_dash(str(s, "version_id")), or_dash(str(s, "expires_at")),
                            or_dash(str(s, "pinned_until")), str(s, "has_copy")});
        if (rows.empty())
            std::cout << "no snapshots of " << env << "\n";
        else
            print_table({"SNAPSHOT", "CREATED", "SERIAL", "VERSION", "EXPIRES", "PINNED", "COPY"}, rows);
        return exit_ok;
    }

    int versions(const std::string& env) {
        if (auto rc = call("GET", "/v1/environments/" + env + "/versions"))
            return *rc;
        if (json_)
            return done_raw();
        std::vector<std::vector<std::string>> rows;
        for (const auto& v : array(doc_, "versions").GetArray())
            rows.push_back({str(v, "version_id"), str(v, "last_modified"), flag(v, "latest") ? "latest" : "",
                            flag(v, "delete_marker") ? paint("deleted", "31") : str(v, "size"),
                            str(v, "etag")});
        print_table({"VERSION", "MODIFIED", "LATEST", "SIZE", "ETAG"}, rows);
        return exit_ok;
    }

    static std::vector<std::string> job_row(const value& j) {
        std::string progress = str(j, "step");
        if (str(j, "total") != "0" && !str(j, "total").empty())
            progress += " " + str(j, "done") + "/" + str(j, "total");
        return {str(j, "id"),      str(j, "kind"),     str(j, "environment"), state_colour(str(j, "state")),
                or_dash(progress), str(j, "fired_at"), str(j, "detail")};
    }

    int jobs() {
        if (auto rc = call("GET", "/v1/jobs"))
            return *rc;
        if (json_)
            return done_raw();
        std::vector<std::vector<std::string>> rows;
        for (const auto& j : array(doc_, "jobs").GetArray())
            rows.push_back(job_row(j));
        if (rows.empty())
            std::cout << "no jobs\n";
        else
            print_table({"ID", "KIND", "ENV", "STATE", "STEP", "FIRED", "DETAIL"}, rows);
        return exit_ok;
    }

    void print_job(const value& j) {
        std::cout << "job " << str(j, "id") << " (" << str(j, "kind") << " " << str(j, "environment")
                  << "): " << state_colour(str(j, "state")) << "\n";
        if (!str(j, "detail").empty())
            std::cout << "  " << str(j, "detail") << "\n";
        const value& r = member(j, "result");
        if (!r.IsObject())
            return;
        for (const auto& s : array(r, "steps").GetArray())
            std::cout << "  " << (flag(s, "ok") ? paint("ok  ", "32") : paint("FAIL", "31")) << " "
                      << str(s, "name") << (str(s, "detail").empty() ? "" : ": " + str(s, "detail")) << " ("
                      << str(s, "ms") << " ms)\n";
        if (!str(r, "result").empty())
            std::cout << "  result: " << state_colour(str(r, "result"))
                      << (str(r, "message").empty() ? "" : ": " + str(r, "message")) << "\n";
        for (const char* k : {"new_version_id", "safety_snapshot", "undo"})
            if (!str(r, k).empty())
                std::cout << "  " << k << ": " << str(r, k) << "\n";
        if (member(r, "deleted").IsNumber())
            std::cout << "  deleted " << str(r, "deleted") << ", kept " << str(r, "kept") << ", failed "
                      << str(r, "failed") << "\n";
    }

    // the exit code a finished job means
    int job_exit(const value& j) {
        const std::string result = str(member(j, "result"), "result");
        if (result == "refused")
            return exit_refused;
        if (str(j, "state") == "succeeded")
            return exit_ok;
        return exit_failed;
    }

    int job(const std::string& id) {
        if (auto rc = call("GET", "/v1/jobs/" + id))
            return *rc;
        if (json_)
            return done_raw();
        print_job(doc_);
        return exit_ok;
    }

    // Polls the job until it is finished; on a terminal (when `progress`) one line in place.
    int wait_job(const std::string& id, bool progress) {
        const bool tty = progress && !json_ && ::isatty(STDERR_FILENO);
        for (;;) {
            if (auto rc = call("GET", "/v1/jobs/" + id + "?wait=60s", "", 90s, true)) {
                if (tty)
                    std::cerr << "\r\033[K";
                return *rc;
            }
            const std::string state = str(doc_, "state");
            if (state != "queued" && state != "running")
                break;
            if (tty) {
                std::string line = "job " + id + ": " + state + " " + str(doc_, "step");
                if (str(doc_, "total") != "0")
                    line += " " + str(doc_, "done") + "/" + str(doc_, "total");
                std::cerr << "\r\033[K" << line << std::flush;
            }
        }
        if (tty)
            std::cerr << "\r\033[K" << std::flush;
        if (json_)
            std::cout << raw_ << "\n";
        else
            print_job(doc_);
        return job_exit(doc_);
    }

    int submit(const std::string& env, const std::string& what, bool wait) {
        if (auto rc = call("POST", "/v1/environments/" + env + "/" + what))
            return *rc;
        const std::string id = str(doc_, "job_id");
        if (wait)
            return wait_job(id, true);
        if (json_)
            return done_raw();
        std::cout << "job " << id << " queued (tfsnapctl job " << id << ")\n";
        return exit_ok;
    }

    int prune(const std::string& env, bool dry_run) {
        if (!dry_run) {
            if (auto rc = call("POST", "/v1/environments/" + env + "/prunes"))
                return *rc;
            return wait_job(str(doc_, "job_id"), true);
        }
        if (auto rc = call("GET", "/v1/environments/" + env + "/retention?dry_run=1"))
            return *rc;
        if (json_)
            return done_raw();
        std::vector<std::vector<std::string>> rows;
        for (const auto& s : array(doc_, "snapshots").GetArray()) {
            std::string reasons;
            for (const auto& r : array(s, "reasons").GetArray())
                reasons += (reasons.empty() ? "" : ", ") + std::string(r.IsString() ? r.GetString() : "");
            rows.push_back({str(s, "snapshot_id"), str(s, "schedule"),
                            flag(s, "keep") ? paint("keep", "32") : paint("delete", "31"), reasons});
        }
        print_table({"SNAPSHOT", "SCHEDULE", "ACTION", "WHY"}, rows);
        std::cout << "would keep " << str(doc_, "kept") << ", delete " << str(doc_, "deleted")
                  << " (dry run)\n";
        return exit_ok;
    }

    int reload() {
        if (auto rc = call("POST", "/v1/reload"))
            return *rc;
        if (json_)
            return done_raw();
        std::cout << str(doc_, "result") << "\n";
        return exit_ok;
    }

    int audit(const std::optional<std::string>& env, const std::optional<std::string>& limit) {
        std::string q;
        if (env)
            q += "env=" + *env;
        if (limit)
            q += (q.empty() ? "" : "&") + std::string("limit=") + *limit;
        if (auto rc = call("GET", "/v1/audit" + (q.empty() ? "" : "?" + q)))
            return *rc;
        if (json_)
            return done_raw();
        std::vector<std::vector<std::string>> rows;
        for (const auto& e : array(doc_, "entries").GetArray())
            rows.push_back({str(e, "at"), str(e, "environment"), str(e, "action"),
                            state_colour(str(e, "result")), str(e, "requested_by"), str(e, "reason")});
        if (rows.empty())
            std::cout << "the audit log is empty\n";
        else
            print_table({"AT", "ENV", "ACTION", "RESULT", "BY", "REASON"}, rows);
        return exit_ok;
    }

    void print_plan(const value& p) {
        const bool undelete = str(p, "action") == "undelete";
        std::cout << paint(undelete ? "Undelete plan for " : "Restore plan for ", "1")
                  << str(p, "environment") << " (mode " << or_dash(str(p, "mode")) << ")\n";
        std::cout << "  current: " << or_dash(str(p, "current_version"))
                  << (flag(p, "current_deleted") ? " (a delete marker: the state is deleted)" : "") << "\n";
        std::cout << "  target:  " << or_dash(str(p, "target_version"))
                  << (str(p, "target_snapshot").empty() ? ""
                                                        : " (snapshot " + str(p, "target_snapshot") + ")")
                  << (str(p, "target_last_modified").empty() ? ""
                                                             : ", written " + str(p, "target_last_modified"))
                  << "\n";
        if (flag(p, "already_current"))
            std::cout << "  the target is already the current state: nothing to do\n";
        const value& d = member(p, "diff");
        if (d.IsObject()) {
            const value& serial = member(d, "serial");
            std::cout << "  serial:    " << str(serial, "current") << " -> " << str(serial, "target")
                      << (flag(p, "roll_forward_serial") ? " (rolled forward)" : "") << "\n";
            for (const char* k : {"lineage", "terraform_version"}) {
                const value& c = member(d, k);
                if (str(c, "current") != str(c, "target"))
                    std::cout << "  " << k << ": " << or_dash(str(c, "current")) << " -> "
                              << or_dash(str(c, "target")) << "\n";
            }
            std::map<std::string, int> counts;
            std::vector<std::string> lines;
            for (const auto& r : array(d, "resources").GetArray()) {
                const std::string c = str(r, "change");
                ++counts[c];
                const std::string sign = c == "added"     ? paint("+", "32")
                                         : c == "removed" ? paint("-", "31")
                                                          : paint("~", "33");
                lines.push_back("    " + sign + " " + str(r, "address"));
            }
            std::cout << "  resources: " << lines.size() << " change(s)";
            for (const auto& [k, n] : counts)
                std::cout << ", " << n << " " << k;
            std::cout << "\n";
            for (const auto& l : lines)
                std::cout << l << "\n";
            for (const auto& o : array(d, "outputs").GetArray())
                std::cout << "  output " << str(o, "name") << ": " << str(o, "change")
                          << (flag(o, "sensitive") ? " (sensitive)" : "") << "\n";
        }
        for (const auto& l : array(p, "locks").GetArray())
            std::cout << "  lock " << str(l, "where") << ": "
                      << (flag(l, "held") ? paint("HELD by " + str(l, "holder"), "31") : std::string("free"))
                      << "\n";
        for (const auto& w : array(p, "warnings").GetArray())
            std::cout << "  " << paint("warning:", "33") << " " << (w.IsString() ? w.GetString() : "")
                      << "\n";
        for (const auto& r : array(p, "refusals").GetArray())
            std::cout << "  " << paint("refused:", "31") << " " << (r.IsString() ? r.GetString() : "")
                      << "\n";
    }

    struct restore_options {
        std::string env;
        bool undelete = false;
        std::string snapshot, version, at, mode, reason;
        bool force_lineage = false, roll_forward_serial = true, yes = false, dry_run = false;
    };

    static std::string body_of(const restore_options& o, const std::string& token) {
        rapidjson::StringBuffer buf;
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        auto field = [&](const char* k, const std::string& v) {
            w.Key(k);
            w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
        };
        w.StartObject();
        if (!o.undelete) {
            if (!o.snapshot.empty())
                field("snapshot_id", o.snapshot);
            if (!o.version.empty())
                field("version_id", o.version);
            if (!o.at.empty())
                field("at", o.at);
            if (!o.mode.empty())
                field("mode", o.mode);
            if (o.force_lineage) {
                w.Key("force_lineage");
                w.Bool(true);
            }
            if (!o.roll_forward_serial) {
                w.Key("roll_forward_serial");
                w.Bool(false);
            }
        }
        field("reason", o.reason);
        if (!token.empty()) {
            w.Key("dry_run");
            w.Bool(false);
            field("token", token);
        }
        w.EndObject();
        return std::string(buf.GetString(), buf.GetSize());
    }

    // Waits for plan job `id` and puts its plan in doc_ and raw_ (nullopt), or reports why not.
    std::optional<int> plan_of_job(const std::string& id) {
        if (!json_)
            std::cerr << "terraform init and plan run in job " << id << " ...\n";
        for (;;) {
            if (auto rc = call("GET", "/v1/jobs/" + id + "?wait=30s", "{}", 60s, true))
                return rc;
            const std::string state = str(doc_, "state");
            if (state != "queued" && state != "running")
                break;
        }
        const value& result = member(doc_, "result");
        if (!result.IsObject() || !result.HasMember("action")) {
            std::cerr << "tfsnapctl: the plan job " << id << " ended without a plan (" << str(doc_, "state")
                      << ": " << str(doc_, "detail") << ")\n";
            return exit_failed;
        }
        rapidjson::StringBuffer buf;
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        result.Accept(w);
        raw_.assign(buf.GetString(), buf.GetSize());
        tfsnap::core::parse_json(doc_, raw_);
        return std::nullopt;
    }

    int restore(const restore_options& o) {
        const std::string target = "/v1/environments/" + o.env + (o.undelete ? "/undeletes" : "/restores");
        auto rc = call("POST", target, body_of(o, ""));
        if (!rc && status_ == 202) {
            // a full-mode dry run is a job of the environment's lane (terraform init and plan):
            // its result is the plan
            if (const auto waited = plan_of_job(str(doc_, "job_id")))
                return *waited;
            if (!array(doc_, "refusals").Empty()) {
                status_ = 409;
                rc = exit_refused;
            }
        }
        const bool is_plan = doc_.IsObject() && doc_.HasMember("action");
        if (rc && !(status_ == 409 && is_plan))
            return *rc;  // reported
        rapidjson::Document plan;
        plan.CopyFrom(doc_, plan.GetAllocator());
        if (json_)
            std::cout << raw_ << "\n";
        else
            print_plan(plan);
        if (rc || !array(plan, "refusals").Empty()) {
            std::cerr << "tfsnapctl: the daemon refuses this " << (o.undelete ? "undelete" : "restore")
                      << "\n";
            return exit_refused;
        }
        for (const auto& l : array(plan, "locks").GetArray()) {
            if (flag(l, "held")) {
                std::cerr << "tfsnapctl: refused: the state is locked (" << str(l, "where") << ": "
                          << str(l, "holder")
                          << "); tfsnap never breaks a lock: wait for it, or have its holder release it\n";
                return exit_refused;
            }
        }
        if (flag(plan, "already_current") || o.dry_run)
            return exit_ok;
        if (!o.yes) {
            if (!::isatty(STDIN_FILENO)) {
                std::cerr << "tfsnapctl: stdin is not a terminal, so the "
                          << (o.undelete ? "undelete" : "restore")
                          << " cannot be confirmed: pass --yes to go ahead without the question\n";
                return exit_usage;
            }
            std::cerr << (o.undelete ? "Undelete " : "Restore ") << o.env << " to "
                      << or_dash(str(plan, "target_snapshot").empty() ? str(plan, "target_version")
                                                                      : str(plan, "target_snapshot"))
                      << "? Type the environment name to confirm: " << std::flush;
            std::string answer;
            std::getline(std::cin, answer);
            if (answer != o.env) {
                std::cerr << "tfsnapctl: not confirmed; nothing was changed\n";
                return exit_refused;
            }
        }
        if (auto rc2 = call("POST", target, body_of(o, str(plan, "token"))))
            return *rc2;
        return wait_job(str(doc_, "job_id"), true);
    }

private:
    ctl_client client_;
    bool json_ = false;
    unsigned status_ = 0;
    std::string raw_;
    rapidjson::Document doc_;
};

// ------------------------------------------------------------------------------ arguments
struct args {
    std::vector<std::string> items;
    std::size_t i = 0;
    bool more() const { return i < items.size(); }
    std::string value_of(const std::string& opt) {
        if (!more())
            throw usage_error{opt + " needs a value"};
        return items[i++];
    }
};

int run(int argc, char** argv) {
    std::string socket = "/run/tfsnap/control.sock";
    if (const char* s = std::getenv("TFSNAP_SOCKET"); s != nullptr && *s != '\0')
        socket = s;
    bool json = false;
    args a;
    for (int k = 1; k < argc; ++k)
        a.items.emplace_back(argv[k]);

    // global options, before the command (--socket and --json are taken after it too)
    std::string command;
    std::vector<std::string> positional;
    std::map<std::string, std::string> opts;  // command options; flags map to ""
    const std::map<std::string, std::vector<std::string>> takes = {
        {"status", {}},
        {"envs", {}},
        {"snapshots", {}},
        {"versions", {}},
        {"jobs", {}},
        {"job", {}},
        {"audit", {"--env=", "--limit="}},
        {"reload", {}},
        {"metrics", {}},
        {"backup", {"--wait"}},
        {"verify", {"--wait"}},
        {"prune", {"--dry-run"}},
        {"restore",
         {"--snapshot=", "--version=", "--at=", "--mode=", "--reason=", "--force-lineage",
          "--roll-forward-serial", "--no-roll-forward-serial", "--yes", "--dry-run"}},
        {"undelete", {"--reason=", "--yes", "--dry-run"}},
    };
    while (a.more()) {
        std::string arg = a.items[a.i++];
        std::optional<std::string> inline_value;
        if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
            inline_value = arg.substr(arg.find('=') + 1);
            arg = arg.substr(0, arg.find('='));
        }
        if (arg == "--socket") {
            socket = inline_value ? *inline_value : a.value_of(arg);
        } else if (arg == "--json") {
            json = true;
        } else if (arg == "--help" || arg == "-h") {
            std::cout << usage_text;
            return exit_ok;
        } else if (arg == "--version" && command.empty()) {
            std::cout << "tfsnapctl " TFSNAP_VERSION "\n";
            return exit_ok;
        } else if (command.empty()) {
            if (arg.rfind("-", 0) == 0)
                throw usage_error{"unknown option " + arg};
            if (!takes.contains(arg))
                throw usage_error{"unknown command " + arg};
            command = arg;
        } else if (arg.rfind("--", 0) == 0) {
            const auto& allowed = takes.at(command);
            if (std::find(allowed.begin(), allowed.end(), arg) != allowed.end()) {
                if (inline_value)
                    throw usage_error{arg + " takes no value"};
                opts[arg] = "";
            } else if (std::find(allowed.begin(), allowed.end(), arg + "=") != allowed.end()) {
                opts[arg] = inline_value ? *inline_value : a.value_of(arg);
            } else {
                throw usage_error{command + " has no option " + arg};
            }
        } else {
            positional.push_back(arg);
        }
    }
    if (command.empty())
        throw usage_error{"no command"};
    auto need_args = [&](std::size_t n, const char* what) {
        if (positional.size() != n)
            throw usage_error{command + (n == 0 ? " takes no arguments" : std::string(" needs ") + what)};
    };
    auto opt = [&](const std::string& k) -> std::optional<std::string> {
        const auto it = opts.find(k);
        return it == opts.end() ? std::nullopt : std::optional<std::string>(it->second);
    };

    ctl c(socket, json);
    if (command == "status" || command == "envs" || command == "jobs" || command == "reload" ||
        command == "metrics") {
        need_args(0, "");
        return command == "status"    ? c.status()
               : command == "envs"    ? c.envs()
               : command == "jobs"    ? c.jobs()
               : command == "metrics" ? c.metrics()
                                      : c.reload();
    }
    if (command == "audit") {
        need_args(0, "");
        return c.audit(opt("--env"), opt("--limit"));
    }
    if (command == "job") {
        need_args(1, "a job id");
        return c.job(positional[0]);
    }
    need_args(1, "an environment");
    const std::string& env = positional[0];
    if (command == "snapshots")
        return c.snapshots(env);
    if (command == "versions")
        return c.versions(env);
    if (command == "backup")
        return c.submit(env, "backups", opt("--wait").has_value());
    if (command == "verify")
        return c.submit(env, "verifications", opt("--wait").has_value());
    if (command == "prune")
        return c.prune(env, opt("--dry-run").has_value());

    ctl::restore_options o;
    o.env = env;
    o.undelete = command == "undelete";
    o.snapshot = opt("--snapshot").value_or("");
    o.version = opt("--version").value_or("");
    o.at = opt("--at").value_or("");
    o.mode = opt("--mode").value_or("");
    if (!o.undelete && (!o.snapshot.empty()) + (!o.version.empty()) + (!o.at.empty()) != 1)
        throw usage_error{"restore needs exactly one of --snapshot ID, --version V, --at TIME"};
    if (!o.mode.empty() && o.mode != "state-only" && o.mode != "full")
        throw usage_error{"--mode is state-only or full"};
    const char* user = std::getenv("USER");
    o.reason = opt("--reason")
                   .value_or(std::string("tfsnapctl ") + command + " by " +
                             (user != nullptr && *user != '\0' ? user : "uid " + std::to_string(::getuid())));
    o.force_lineage = opt("--force-lineage").has_value();
    // --roll-forward-serial is the default, still accepted
    o.roll_forward_serial = !opt("--no-roll-forward-serial").has_value();
    o.yes = opt("--yes").has_value();
    o.dry_run = opt("--dry-run").has_value();
    return c.restore(o);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const usage_error& e) {
        std::cerr << "tfsnapctl: " << e.message << " (tfsnapctl --help)\n";
        return exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "tfsnapctl: " << e.what() << "\n";
        return exit_failed;
    }
}
