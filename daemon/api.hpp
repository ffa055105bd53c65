#pragma once
// The control API of tfsnapd: each routed, authorized request (control::server does the routing,
// the peer's credentials and the body limits) becomes one action here, answered in JSON. See
// tfsnapctl(1) and the README's "Control API" for the resources.
//
// What the actions need from the daemon comes through `api_backend`, so that the routes can be
// tested against a fake runner (tests/unit/daemon) as well as against the running daemon.
//
// Thread safety: none; use from the I/O thread.

#include "health.hpp"
#include "jobs.hpp"

#include "tfsnap/backup/prune.hpp"
#include "tfsnap/catalog/catalog.hpp"
#include "tfsnap/config/config.hpp"
#include "tfsnap/control/change_notifier.hpp"
#include "tfsnap/control/server.hpp"
#include "tfsnap/restore/plan_token.hpp"
#include "tfsnap/restore/restore.hpp"
#include "tfsnap/s3/client.hpp"
#include "tfsnap/scheduler/runner.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tfsnap::daemon {

struct daemon_status {
    std::string line;  // as systemd's STATUS= shows it
    std::size_t running = 0;
    std::optional<core::time_point> next_run;
    core::time_point started_at;
};

class api_backend {
public:
    virtual ~api_backend() = default;

    virtual const config::daemon_config& config() const = 0;
    virtual daemon_status status() const = 0;
    virtual std::string host() const = 0;

    virtual submit_answer submit(job_request r) = 0;
    virtual std::optional<scheduler::job_record> job(std::uint64_t id) const = 0;
    // queued and running jobs, then finished ones, newest first
    virtual std::vector<scheduler::job_record> jobs() const = 0;
    virtual control::change_notifier& changes() = 0;

    virtual catalog::catalog& catalog() = 0;
    virtual boost::asio::awaitable<s3::list_result> versions(const config::environment& env) = 0;
    virtual boost::asio::awaitable<backup::prune_report> retention(const config::environment& env) = 0;
    virtual boost::asio::awaitable<restore::restore_plan> plan(const config::environment& env,
                                                               restore::restore_request req) = 0;
    // check_request_token() of `token` for `req`, with the daemon's key and clock.
    virtual restore::token_result check_token(const config::environment& env,
                                              const restore::restore_request& req,
                                              const std::string& token) = 0;

    // Every environment's health (health.hpp), from what the jobs last saw; may be up to a second
    // old (it is asked for by every status request).
    virtual const std::vector<environment_health>& health(core::time_point now) = 0;

    virtual std::string reload() = 0;  // "reloaded", or "invalid: ..." (the running configuration stays)
    virtual std::string metrics() = 0;
};

class api {
public:
    explicit api(api_backend& backend) : b_(backend) {}

    // The control server's handler.
    boost::asio::awaitable<control::response> handle(control::request_context rq);

private:
    boost::asio::awaitable<control::response> restore_request(control::request_context& rq,
                                                              const config::environment& env,
                                                              const std::string& who);
    boost::asio::awaitable<control::response> job(control::request_context& rq);
    boost::asio::awaitable<control::response> versions(const config::environment& env);
    control::response submitted(const submit_answer& a);
    std::string status_json();
    std::string environments_json();
    std::string snapshots_json(const config::environment& env);
    std::string jobs_json();
    std::string audit_json(const std::optional<std::string>& env, std::int64_t limit);

    api_backend& b_;
};

// GET /v1/jobs/{id}'s object.
std::string job_json(const scheduler::job_record& r);

}  // namespace tfsnap::daemon
