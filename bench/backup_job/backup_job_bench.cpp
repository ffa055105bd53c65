// bench/backup_job: tfsnap's backup job for N environments, one state each in one versioned
// bucket, on ONE I/O thread with at most C jobs in flight (the daemon's model when a schedule
// fires for every environment at once).
//
//   tfsnap_backup_job_bench setup  --bucket B --states DIR --count N
//       creates the versioned bucket and uploads DIR/env-NNNN.tfstate to env-NNNN/terraform.tfstate
//       (64 in flight); writes DIR/versions.tsv ("env-NNNN<TAB>version id").
//   tfsnap_backup_job_bench backup --bucket B --count N --concurrency C --state-dir DIR
//                                  --expect snapshot|unchanged
//       runs backup::run_backup for env-0000..env-(N-1), with the catalog under DIR/catalog, and
//       prints one line of JSON: envs/s, wall time, p50/p99 per-job latency, CPU time per env
//       (getrusage of this process, over the timed part only). Any outcome other than `expect`
//       is a failure: the first ones are shown and the exit status is 1.
//   tfsnap_backup_job_bench verify --catalog DIR --expected STATES_DIR --count N
//       finds every MANIFEST.json under DIR (tfsnap's catalog or the boto3 script's), parses it
//       with manifest::read and checks it against what was uploaded (STATES_DIR/expected.tsv,
//       versions.tsv): one manifest per environment, same version id, digests, serial, lineage,
//       resource count. Prints one line of JSON; exit status 1 on any difference.
//
// Endpoint and keys come from S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_DEFAULT_REGION (the harness env file).
#include "tfsnap/backup/backup_job.hpp"
#include "tfsnap/backup/bucket_cache.hpp"
#include "tfsnap/catalog/catalog.hpp"
#include "tfsnap/config/load.hpp"
#include "tfsnap/core/logger.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/manifest/manifest.hpp"
#include "tfsnap/s3/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace tfsnap;

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
    for (int i = 2; i + 1 < argc; ++i) {
        if (argv[i] == name)
            return argv[i + 1];
    }
    return fallback;
}

std::string env_name(int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "env-%04d", i);
    return buf;
}

std::string state_key(int i) {
    return env_name(i) + "/terraform.tfstate";
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream o;
    o << in.rdbuf();
    return o.str();
}

double cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return s(ru.ru_utime) + s(ru.ru_stime);
}

// The first few failures are shown; the count says how many there were.
struct failures {
    int count = 0;
    void add(const std::string& what) {
        if (++count <= 5)
            std::cerr << what << "\n";
    }
};

void run_all(asio::io_context& io, int workers, const std::function<asio::awaitable<void>()>& worker) {
    for (int w = 0; w < workers; ++w) {
        asio::co_spawn(io, worker(), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    }
    io.run();
    io.restart();
}

struct s3_setup {
    http::client http;
    core::system_wall_clock clock;
    sigv4::credentials creds;
    s3::client s3;

    s3_setup(asio::io_context& io, std::size_t connections)
        : http(io.get_executor(), config_of(connections)),
          creds{env("AWS_ACCESS_KEY_ID"), core::secret(env("AWS_SECRET_ACCESS_KEY")), {}},
          s3(
              http, s3_config(),
              [this]() -> asio::awaitable<http::credentials_lookup> {
                  co_return http::credentials_lookup{{}, creds};
              },
              clock) {}

    static http::client_config config_of(std::size_t connections) {
        http::client_config c;
        c.max_connections_per_host = connections;
        return c;
    }
    static std::string region() {
        return env("AWS_DEFAULT_REGION").empty() ? "us-east-1" : env("AWS_DEFAULT_REGION");
    }
    static s3::client_config s3_config() {
        s3::client_config cfg;
        cfg.endpoint = env("S3_ENDPOINT");
        cfg.region = region();
        cfg.path_style = true;
        return cfg;
    }
};

int setup(const std::string& bucket, const fs::path& states, int count) {
    asio::io_context io(1);
    s3_setup c(io, 64);
    failures failed;
    run_all(io, 1, [&]() -> asio::awaitable<void> {
        auto cb = co_await c.s3.create_bucket(bucket);
        if (cb.ec && cb.ec != s3::errc::bucket_exists)
            failed.add(s3::describe(cb.ec, cb.info));
        auto v = co_await c.s3.put_bucket_versioning(bucket, true);
        if (v.ec)
            failed.add(s3::describe(v.ec, v.info));
    });
    if (failed.count)
        return 1;
    std::vector<std::string> versions(static_cast<std::size_t>(count));
    int next = 0;
    const auto t0 = std::chrono::steady_clock::now();
    run_all(io, 64, [&]() -> asio::awaitable<void> {
        while (next < count) {
            const int i = next++;
            const std::string body = read_all(states / (env_name(i) + ".tfstate"));
            if (body.empty()) {
                failed.add("no state file for " + env_name(i) + " in " + states.string());
                continue;
            }
            auto p = co_await c.s3.put_object(bucket, state_key(i), http::body_source::memory(body));
            if (p.ec)
                failed.add(s3::describe(p.ec, p.info));
            versions[static_cast<std::size_t>(i)] = p.version_id;
        }
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ofstream out(states / "versions.tsv");
    for (int i = 0; i < count; ++i)
        out << env_name(i) << "\t" << versions[static_cast<std::size_t>(i)] << "\n";
    std::printf("{\"setup\":%d,\"seconds\":%.3f,\"failures\":%d}\n", count, seconds, failed.count);
    return failed.count == 0 && out ? 0 : 1;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(rank, v.size() - 1)];
}

int run_backups(const std::string& bucket, int count, int concurrency, const fs::path& state_dir,
                const std::string& expect) {
    const backup::backup_status wanted =
        expect == "unchanged" ? backup::backup_status::unchanged : backup::backup_status::snapshot;

    // not timed: the configuration (as tfsnapd loads it at start) and opening the catalog
    std::string yaml = "state_dir: " + fs::absolute(state_dir).string() +
                       "\ndefaults:\n  endpoint: " + env("S3_ENDPOINT") +
                       "\n  region: " + s3_setup::region() + "\n  path_style: true\nenvironments:\n";
    for (int i = 0; i < count; ++i)
        yaml += "  " + env_name(i) + ":\n    bucket: " + bucket + "\n    key: " + state_key(i) + "\n";
    auto loaded = config::load_string(yaml, "bench.yaml");
    if (!loaded.ok()) {
        for (const auto& d : loaded.diagnostics)
            std::cerr << config::format(d) << "\n";
        return 1;
    }
    const auto& environments = loaded.config->environments;
    fs::create_directories(state_dir);
    catalog::catalog cat(state_dir);
    if (auto s = cat.open()) {
        std::cerr << "cannot open the catalog: " << s.info.path << ": " << s.info.message << "\n";
        return 1;
    }
    // the daemon's log when not under journald: one line per job
    std::ofstream log_file(state_dir / ("tfsnapd-" + expect + ".log"), std::ios::app);
    core::stream_sink sink(log_file);

    asio::io_context io(1);
    s3_setup c(io, static_cast<std::size_t>(std::max(concurrency, 64)));
    backup::bucket_cache buckets;
    backup::job_context ctx{
        cat,          c.clock, core::logger(sink, core::log_level::info), buckets, "tfsnapd@bench", "bench",
        std::nullopt, {}};
    backup::environment_access access;
    access.s3 = &c.s3;
    access.archive = &c.s3;

    failures failed;
    int warnings = 0;
    std::vector<double> latency_ms(environments.size());
    std::size_t next = 0;
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    run_all(io, std::max(concurrency, 1), [&]() -> asio::awaitable<void> {
        while (next < environments.size()) {
            const std::size_t i = next++;
            backup::backup_request req;
            req.schedule = "bench";
            const auto start = std::chrono::steady_clock::now();
            const auto out = co_await backup::run_backup(ctx, environments[i], access, std::move(req));
            latency_ms[i] =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            warnings += static_cast<int>(out.warnings.size());
            if (out.status != wanted || !out.ok())
                failed.add(environments[i].name + ": " + std::string(backup::to_string(out.status)) +
                           " (expected " + expect + "): " + out.message);
        }
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    std::printf(
        "{\"tool\":\"tfsnap\",\"phase\":\"%s\",\"envs\":%d,\"concurrency\":%d,\"seconds\":%.3f,"
        "\"envs_per_second\":%.1f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"cpu_ms_per_env\":%.3f,"
        "\"versioning_reads\":%llu,\"warnings\":%d,\"failures\":%d}\n",
        expect == "unchanged" ? "unchanged" : "first", count, concurrency, seconds, count / seconds,
        percentile(latency_ms, 0.50), percentile(latency_ms, 0.99), 1000.0 * cpu / count,
        static_cast<unsigned long long>(buckets.reads()), warnings, failed.count);
    return failed.count == 0 ? 0 : 1;
}

struct expected_state {
    std::uint64_t serial = 0;
    std::string lineage;
    std::uint64_t resources = 0;
    std::string md5, sha256;
    std::uint64_t size = 0;
    std::string version_id;
};

int verify(const fs::path& catalog_dir, const fs::path& states, int count) {
    std::map<std::string, expected_state> want;
    {
        // env serial lineage resources md5 sha256 size
        std::ifstream in(states / "expected.tsv");
        std::string name;
        expected_state e;
        while (in >> name >> e.serial >> e.lineage >> e.resources >> e.md5 >> e.sha256 >> e.size)
            want[name] = e;
        std::ifstream v(states / "versions.tsv");
        std::string version;
        while (v >> name >> version)
            want[name].version_id = version;
    }
    failures failed;
    std::map<std::string, int> per_env;
    int manifests = 0, parsed = 0;
    std::error_code ec;
    for (const auto& f : fs::recursive_directory_iterator(catalog_dir, ec)) {
        if (f.path().filename() != "MANIFEST.json")
            continue;
        ++manifests;
        const auto r = manifest::read(read_all(f.path()));
        if (r.ec) {
            failed.add(f.path().string() + ": " + r.ec.message() + ": " + r.detail);
            continue;
        }
        ++parsed;
        const auto& m = r.value;
        ++per_env[m.environment];
        const auto it = want.find(m.environment);
        if (it == want.end()) {
            failed.add(f.path().string() + ": unknown environment " + m.environment);
            continue;
        }
        const auto& e = it->second;
        const bool same =
            m.terraform_state.version_id == e.version_id && m.terraform_state.content_length == e.size &&
            m.checksums && m.checksums->md5 == e.md5 && m.checksums->sha256 == e.sha256 && m.state &&
            m.state->serial == e.serial && m.state->lineage == e.lineage &&
            m.state->resource_count == e.resources && m.terraform_state.etag == "\"" + e.md5 + "\"" &&
            f.path().parent_path().filename() == m.snapshot_id;
        if (!same)
            failed.add(f.path().string() + ": does not describe what was uploaded for " + m.environment);
    }
    if (ec)
        failed.add(catalog_dir.string() + ": " + ec.message());
    for (int i = 0; i < count; ++i) {
        if (per_env[env_name(i)] != 1)
            failed.add(env_name(i) + ": " + std::to_string(per_env[env_name(i)]) + " manifests, expected 1");
    }
    std::printf("{\"catalog\":\"%s\",\"manifests\":%d,\"parsed\":%d,\"failures\":%d}\n", catalog_dir.c_str(),
                manifests, parsed, failed.count);
    return failed.count == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: tfsnap_backup_job_bench setup --bucket B --states DIR --count N\n"
                     "       tfsnap_backup_job_bench backup --bucket B --count N --concurrency C "
                     "--state-dir DIR --expect snapshot|unchanged\n"
                     "       tfsnap_backup_job_bench verify --catalog DIR --expected STATES_DIR --count N\n";
        return 2;
    }
    const std::string mode = argv[1];
    const std::string bucket = arg(argc, argv, "--bucket", "tfsnap-bench");
    const int count = std::stoi(arg(argc, argv, "--count", "1000"));
    if (mode == "setup")
        return setup(bucket, arg(argc, argv, "--states", "states"), count);
    if (mode == "backup")
        return run_backups(bucket, count, std::stoi(arg(argc, argv, "--concurrency", "64")),
                           arg(argc, argv, "--state-dir", "state"), arg(argc, argv, "--expect", "snapshot"));
    if (mode == "verify")
        return verify(arg(argc, argv, "--catalog", "state/catalog"), arg(argc, argv, "--expected", "states"),
                      count);
    std::cerr << "unknown mode " << mode << "\n";
    return 2;
}
