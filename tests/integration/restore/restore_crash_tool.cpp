// A restore that stops dead: plans and executes a restore of VERSION in environment ENV of
// CONFIG, and when the step named STEP has completed, writes MARKER and waits forever, so that
// the test can SIGKILL it with its locks held. Uses the harness's servers ($TFSNAP_HARNESS_ENV).
//
//   restore_crash_tool CONFIG ENV VERSION STEP MARKER
#include "tfsnap/config/load.hpp"
#include "tfsnap/restore/restore.hpp"

#include "support/harness_env.hpp"
#include "support/run_sync.hpp"

#include <boost/asio/io_context.hpp>

#include <unistd.h>

#include <fstream>
#include <iostream>

using namespace tfsnap;
namespace asio = boost::asio;

int main(int argc, char** argv) {
    if (argc != 6) {
        std::cerr << "usage: restore_crash_tool CONFIG ENV VERSION STEP MARKER\n";
        return 64;
    }
    const std::string step = argv[4], marker = argv[5];
    std::string why;
    const auto harness = test::load_harness_env(&why);
    const auto loaded = config::load_file(argv[1]);
    if (!harness || !loaded.ok()) {
        std::cerr << "no harness or bad config: " << why << "\n";
        return 1;
    }
    const auto& cfg = *loaded.config;
    const auto* env = cfg.find(argv[2]);
    if (env == nullptr)
        return 1;
    asio::io_context io;
    core::system_wall_clock clock;
    core::stream_sink sink(std::cerr);
    http::client http(io.get_executor(), http::client_config{});
    auto creds = [key = harness->access_key(),
                  secret = harness->secret_key()]() -> asio::awaitable<http::credentials_lookup> {
        co_return http::credentials_lookup{{}, sigv4::credentials{key, core::secret(secret), {}}};
    };
    s3::client_config sc;
    sc.region = env->region;
    sc.endpoint = env->endpoint;
    sc.path_style = env->path_style;
    s3::client s3(http, sc, creds, clock);
    dynamodb::client_config dc;
    dc.endpoint = env->dynamodb_endpoint;
    dynamodb::client db(http, dc, creds, clock);
    catalog::catalog cat(cfg.state_dir);
    if (cat.open())
        return 1;
    backup::bucket_cache buckets;
    backup::job_context jobs{cat,          clock, core::logger(sink), buckets, "tfsnapd@crash", "test",
                             std::nullopt, {}};
    restore::restore_context rctx{
        jobs, cfg.state_dir, std::vector<std::byte>(32, std::byte{3}), "crash", "test", {}, {}};
    rctx.after_step = [&](std::string_view done) {
        if (done == step) {
            std::ofstream(marker) << ::getpid() << "\n";
            for (;;)
                ::pause();  // the test kills us here
        }
    };
    const backup::environment_access access{&s3, &s3, &db, nullptr};
    restore::restore_request req;
    req.version_id = argv[3];
    req.reason = "crash test";
    req.user = "crash";
    const auto p = test::run_sync(io, restore::plan(rctx, *env, access, req));
    if (!p.ok()) {
        std::cerr << "plan refused: " << p.refusals[0] << "\n";
        return 1;
    }
    const auto r = test::run_sync(io, restore::execute(rctx, *env, access, req, p.token));
    std::cerr << "the restore finished without stopping at " << step << ": " << r.message << "\n";
    return 2;
}
