#include "api.hpp"

#include "json_writer.hpp"

#include "tfsnap/backup/records.hpp"
#include "tfsnap/control/body.hpp"
#include "tfsnap/restore/audit.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace tfsnap::daemon {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using control::json_response;
using scheduler::job_kind;

namespace {

bool is_finished(scheduler::job_status s) {
    return s != scheduler::job_status::queued && s != scheduler::job_status::running;
}

void write_job(json_writer& j, const scheduler::job_record& r) {
    j.begin_object();
    j.field("id", std::to_string(r.id));
    j.field("kind", scheduler::to_string(r.what.kind));
    j.field("environment", r.what.environment);
    j.field("schedule", r.what.name);
    j.key("on_demand").boolean(r.on_demand);
    j.field("state", scheduler::to_string(r.status));
    j.field("step", r.step);
    j.key("done").integer(r.done);
    j.key("total").integer(r.total);
    j.field("fired_at", rfc3339(r.fired_at));
    j.key("started_at");
    r.started_at ? j.str(rfc3339(*r.started_at)) : j.null();
    j.key("finished_at");
    r.finished_at ? j.str(rfc3339(*r.finished_at)) : j.null();
    j.field("detail", r.detail);
    j.key("result");
    r.result.empty() ? j.null() : j.raw(r.result);
    j.end_object();
}

}  // namespace

std::string job_json(const scheduler::job_record& r) {
    json_writer j;
    write_job(j, r);
    return j.take();
}

asio::awaitable<control::response> api::handle(control::request_context rq) {
    const auto& route = rq.route();
    const config::environment* env = nullptr;
    if (!route.env.empty()) {
        env = b_.config().find(route.env);
        if (env == nullptr)
            co_return control::error_reply(control::json_error(
                404, "unknown_environment", "no environment " + route.env + " in " + b_.config().file));
    }
    const std::string& body = rq.req().body();
    switch (route.route) {
        case control::route_id::status:
            co_return json_response(200, status_json());
        case control::route_id::environments:
            co_return json_response(200, environments_json());
        case control::route_id::snapshots:
            co_return json_response(200, snapshots_json(*env));
        case control::route_id::versions:
            co_return co_await versions(*env);
        case control::route_id::retention: {
            const auto p = co_await b_.retention(*env);
            co_return json_response(200, prune_json(p));
        }
        case control::route_id::backups: {
            auto parsed = control::parse_backup_body(body);
            if (!parsed.ok())
                co_return control::error_reply(*parsed.error);
            job_request r;
            r.kind = job_kind::backup;
            r.environment = env->name;
            r.schedule = parsed.value.schedule.value_or("on-demand");
            const std::string user = co_await rq.user_name();
            r.requested_by = user + "@" + b_.host();
            co_return submitted(b_.submit(std::move(r)));
        }
        case control::route_id::verifications: {
            auto parsed = control::parse_verification_body(body);
            if (!parsed.ok())
                co_return control::error_reply(*parsed.error);
            job_request r;
            r.kind = job_kind::verify;
            r.environment = env->name;
            co_return submitted(b_.submit(std::move(r)));
        }
        case control::route_id::prunes: {
            auto parsed = control::parse_empty_body(body);
            if (!parsed.ok())
                co_return control::error_reply(*parsed.error);
            job_request r;
            r.kind = job_kind::prune;
            r.environment = env->name;
            co_return submitted(b_.submit(std::move(r)));
        }
        case control::route_id::restores:
        case control::route_id::undeletes: {
            const std::string user = co_await rq.user_name();
            const std::string who = user + "@" + b_.host();
            co_return co_await restore_request(rq, *env, who);
        }
        case control::route_id::jobs:
            co_return json_response(200, jobs_json());
        case control::route_id::job:
            co_return co_await job(rq);
        case control::route_id::audit:
            co_return json_response(200, audit_json(route.query.env, route.query.limit.value_or(100)));
        case control::route_id::reload: {
            auto parsed = control::parse_empty_body(body);
            if (!parsed.ok())
                co_return control::error_reply(*parsed.error);
            const auto what = b_.reload();
            json_writer j;
            j.begin_object().field("result", what).end_object();
            co_return json_response(what == "reloaded" ? 200 : 400, j.take());
        }
        case control::route_id::metrics: {
            auto r = control::response(boost::beast::http::status::ok, 11);
            r.set(boost::beast::http::field::content_type, metrics::registry::content_type);
            r.body() = b_.metrics();
            co_return r;
        }
    }
    co_return control::error_reply(control::json_error(404, "not_found", "no such resource"));
}

// 202 with the job's id, or 409 naming the job of the lane.
control::response api::submitted(const submit_answer& a) {
    if (!a.accepted()) {
        auto e = control::json_error(409, "busy",
                                     a.busy_with != 0 ? "job " + std::to_string(a.busy_with) +
                                                            " of this environment is queued or running"
                                                      : "tfsnapd is stopping");
        json_writer j;
        j.begin_object().key("error").begin_object().field("code", e.code).field("message", e.message);
        if (a.busy_with != 0)
            j.key("job_id").str(std::to_string(a.busy_with));
        j.end_object().end_object();
        return json_response(409, j.take());
    }
    json_writer j;
    j.begin_object().field("job_id", std::to_string(a.id)).field("state", "queued").end_object();
    return json_response(202, j.take());
}

asio::awaitable<control::response> api::restore_request(control::request_context& rq,
                                                        const config::environment& env,
                                                        const std::string& who) {
    job_request r;
    r.environment = env.name;
    r.requested_by = who;
    auto& req = r.restore;
    bool dry_run = true;
    if (rq.route().route == control::route_id::undeletes) {
        auto parsed = control::parse_undelete_body(rq.req().body());
        if (!parsed.ok())
            co_return control::error_reply(*parsed.error);
        r.kind = job_kind::undelete;
        req.undelete = true;
        req.reason = parsed.value.reason;
        dry_run = parsed.value.dry_run;
        r.token = parsed.value.token;
    } else {
        auto parsed = control::parse_restore_body(rq.req().body());
        if (!parsed.ok())
            co_return control::error_reply(*parsed.error);
        r.kind = job_kind::restore;
        req.snapshot_id = parsed.value.snapshot_id.value_or("");
        req.version_id = parsed.value.version_id.value_or("");
        req.at = parsed.value.at;
        req.mode =
            parsed.value.mode == "full" ? restore::restore_mode::full : restore::restore_mode::state_only;
        req.force_lineage = parsed.value.force_lineage;
        req.roll_forward_serial = parsed.value.roll_forward_serial;
        req.reason = parsed.value.reason;
        dry_run = parsed.value.dry_run;
        r.token = parsed.value.token;
    }
    req.uid = rq.peer().uid;
    req.user = who.substr(0, who.find('@'));
    if (dry_run && req.mode == restore::restore_mode::full) {
        // terraform init and plan take minutes, and must not run beside a restore's apply: a job
        // of the lane, whose result is the plan (202, then GET /v1/jobs/ID)
        r.kind = job_kind::plan;
        co_return submitted(b_.submit(std::move(r)));
    }
    if (dry_run) {
        const auto p = co_await b_.plan(env, req);
        co_return json_response(p.ok() ? 200 : 409, restore::to_json(p));
    }
    // The token, before a job exists: a forged, expired or another request's token is refused
    // here, with no job and no webhook. The job checks it again, and the current version too.
    const auto checked = b_.check_token(env, req, r.token);
    if (!checked.ok()) {
        const bool stale = checked.ec == restore::token_errc::expired;
        co_return control::error_reply(
            control::json_error(stale ? 409 : 400, stale ? "stale_token" : "invalid_token",
                                (checked.ec == restore::token_errc::mismatch
                                     ? "the plan token was made for another request (" + checked.message + ")"
                                     : "the plan token is not valid (" + checked.message + ")") +
                                    ": plan again (a dry run) and send the new token; nothing was started"));
    }
    co_return submitted(b_.submit(std::move(r)));
}

asio::awaitable<control::response> api::job(control::request_context& rq) {
    std::uint64_t id = 0;
    try {
        id = std::stoull(rq.route().job_id);
    } catch (const std::exception&) {
        co_return control::error_reply(
            control::json_error(404, "unknown_job", "no job " + rq.route().job_id));
    }
    if (rq.route().query.wait) {
        const auto deadline = std::chrono::steady_clock::now() + *rq.route().query.wait;
        for (bool first = true;; first = false) {
            const auto rec = b_.job(id);
            if (!rec || is_finished(rec->status))
                break;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left <= 0ms)
                break;
            const auto r = co_await rq.long_poll(b_.changes(), left);
            // too many polls of this uid: 429 rather than an answer that did not wait (a client
            // would ask again at once, in a busy loop)
            if (r == control::poll_result::limited && first)
                co_return rq.too_many_long_polls();
            if (r != control::poll_result::changed)
                break;
        }
    }
    const auto rec = b_.job(id);
    if (!rec)
        co_return control::error_reply(control::json_error(
            404, "unknown_job", "no job " + rq.route().job_id + " (finished jobs are kept for a while)"));
    co_return json_response(200, job_json(*rec));
}

asio::awaitable<control::response> api::versions(const config::environment& env) {
    if (env.source != config::source_kind::s3)
        co_return control::error_reply(control::json_error(
            400, "no_versions", env.name + " is a local state file: it has no S3 versions"));
    const auto l = co_await b_.versions(env);
    if (l.ec)
        co_return control::error_reply(control::json_error(502, "s3_error", s3::describe(l.ec, l.info)));
    json_writer j;
    j.begin_object().field("environment", env.name).key("versions").begin_array();
    for (const auto& v : l.entries) {
        if (v.key != env.key)
            continue;
        j.begin_object();
        j.field("version_id", v.version_id);
        j.key("latest").boolean(v.is_latest);
        j.key("delete_marker").boolean(v.delete_marker);
        j.field("last_modified", rfc3339(v.last_modified));
        j.field("etag", v.etag);
        j.key("size").integer(static_cast<long long>(v.size));
        j.end_object();
    }
    j.end_array().end_object();
    co_return json_response(200, j.take());
}

std::string api::jobs_json() {
    json_writer j;
    j.begin_object().key("jobs").begin_array();
    for (const auto& r : b_.jobs())
        write_job(j, r);
    j.end_array().end_object();
    return j.take();
}

std::string api::status_json() {
    const auto s = b_.status();
    const auto now = core::time_point::clock::now();
    json_writer j;
    j.begin_object();
    j.field("version", TFSNAP_VERSION);
    j.field("config", b_.config().file);
    j.key("environments").integer(static_cast<long long>(b_.config().environments.size()));
    j.key("running").integer(static_cast<long long>(s.running));
    j.field("status", s.line);
    j.key("next_run");
    s.next_run ? j.str(rfc3339(*s.next_run)) : j.null();
    j.field("started_at", rfc3339(s.started_at));
    j.key("uptime_seconds")
        .integer(std::max<long long>(
            0, std::chrono::duration_cast<std::chrono::seconds>(now - s.started_at).count()));
    // every environment counted by health; the unhealthy ones listed (the first 100)
    std::map<std::string, long long> counts;
    std::vector<environment_health> unhealthy;
    for (const auto& h : b_.health(now)) {
        ++counts[h.health];
        if (h.health != "ok" && unhealthy.size() < 100)
            unhealthy.push_back(h);
    }
    j.key("health_counts").begin_object();
    for (const auto& [word, n] : counts)
        j.key(word).integer(n);
    j.end_object();
    j.key("health").begin_array();
    for (const auto& h : unhealthy)
        j.begin_object()
            .field("environment", h.name)
            .field("health", h.health)
            .field("detail", h.detail)
            .end_object();
    j.end_array();
    j.end_object();
    return j.take();
}

std::string api::environments_json() {
    json_writer j;
    j.begin_object().key("environments").begin_array();
    for (const auto& e : b_.config().environments) {
        j.begin_object();
        j.field("name", e.name);
        j.field("source", config::to_string(e.source));
        if (e.source == config::source_kind::file) {
            j.field("path", e.path);
        } else {
            j.field("bucket", e.bucket).field("key", e.key).field("region", e.region);
        }
        j.key("schedules").begin_array();
        for (const auto& s : e.schedules)
            j.str(s.name);
        j.end_array();
        j.field("copy", config::to_string(e.copy.mode));
        std::string record;
        backup::backup_check check;
        j.key("last_backup");
        if (!b_.catalog().read_record(e.name, catalog::catalog::last_backup_record, record) &&
            backup::parse(record, check)) {
            j.begin_object()
                .field("checked_at", check.checked_at)
                .field("result", check.result)
                .field("snapshot_id", check.snapshot_id)
                .field("message", check.message)
                .end_object();
        } else {
            j.null();
        }
        j.end_object();
    }
    j.end_array().end_object();
    return j.take();
}

std::string api::snapshots_json(const config::environment& env) {
    std::vector<catalog::index_entry> entries;
    json_writer j;
    j.begin_object().field("environment", env.name).key("snapshots").begin_array();
    if (!b_.catalog().list(env.name, entries)) {
        for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
            j.begin_object();
            j.field("snapshot_id", it->snapshot_id).field("created_at", it->created_at);
            j.field("version_id", it->version_id);
            j.key("serial");
            it->serial ? j.integer(static_cast<long long>(*it->serial)) : j.null();
            j.key("expires_at");
            it->expires_at ? j.str(*it->expires_at) : j.null();
            j.key("pinned_until");
            it->pinned_until ? j.str(*it->pinned_until) : j.null();
            j.key("has_copy").boolean(it->has_copy);
            j.end_object();
        }
    }
    j.end_array().end_object();
    return j.take();
}

std::string api::audit_json(const std::optional<std::string>& env, std::int64_t limit) {
    std::vector<std::string> lines;
    int torn = 0;
    (void)restore::read_audit(b_.config().state_dir, lines, &torn);
    std::vector<std::string> picked;
    for (auto it = lines.rbegin(); it != lines.rend() && static_cast<std::int64_t>(picked.size()) < limit;
         ++it) {
        if (env && it->find("\"environment\":\"" + *env + "\"") == std::string::npos)
            continue;
        picked.push_back(*it);
    }
    json_writer j;
    j.begin_object().key("entries").begin_array();
    for (const auto& l : picked)
        j.raw(l);
    j.end_array().key("torn_lines").integer(torn).end_object();
    return j.take();
}

}  // namespace tfsnap::daemon
