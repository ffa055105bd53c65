// bench/restore: one state-only restore of a ~1 MiB state in a versioned bucket with a DynamoDB
// lock table, by tfsnap (in this process, and as the admin runs it: two tfsnapd processes),
// by the minimal request chain, and (timed from outside) by the boto3 script ops use today.
// Every mode prints one line of JSON; bench/restore/run drives them.
//
//   restore_bench setup --bucket B --table T --v1 FILE --v2 FILE --keys K1,K2,...
//       creates the versioned bucket and the lock table (waits until ACTIVE), then for each key
//       PUTs FILE v1, then FILE v2 on top (current). Prints {"KEY":{"v1":ID,"v2":ID},...}.
//   restore_bench tfsnap --config FILE --env ENV --version-id V [--reason R]
//       restore::plan, then restore::execute with the plan's token, of version V of ENV (as in
//       the config, with its lock table): check, journal, DynamoDB lock, pinned safety snapshot,
//       CopyObject, digest, verify (HEAD + GET), unlock, audit. Timed: plan, execute, each
//       step of execute (from the after_step hook), and the whole; plus HTTP requests sent.
//   restore_bench raw --bucket B --key K --table T --version-id V
//       the least a correct restore sends: PutItem lock (attribute_not_exists(LockID)),
//       CopyObject of version V onto K (on radosgw the client HEADs to learn the new version,
//       since radosgw does not return x-amz-version-id), PutItem digest (the copy's ETag, the
//       MD5 of the bytes), HEAD verify (ETag), DeleteItem unlock (conditional on our Info).
//       No plan, no safety snapshot, no journal, no audit, no GET of the bytes.
//   restore_bench check --bucket B --key K --table T --expect-md5 M
//       not timed: the current bytes have MD5 M (GET), the digest item <B>/<K>-md5 says M, and
//       no lock item <B>/<K> is left. Exit status 1 otherwise.
//   restore_bench cli --tfsnapd PATH --config FILE --env ENV --version-id V [--reason R]
//       runs `tfsnapd restore ENV --config FILE --version-id V --reason R` (the dry run), takes
//       the token from its output, then the same with `--execute TOKEN`; times both processes
//       (wall, and their CPU from wait4) and the whole.
//   restore_bench process -- CMD ARGS...
//       runs CMD, times it (wall, CPU from wait4), and prints CMD's last stdout line (a JSON
//       object) with "process_ms" and "process_cpu_ms" added.
//   restore_bench get --bucket B --key K --version-id V [--count N]
//       diagnostic, not used by run: N GETs of one version in a row, each timed.
//
// Timings in this process start after the configuration is loaded and the clients are built
// (neither sends anything), so they include opening the HTTP connections (plain HTTP on
// loopback): each run is a fresh process, as a restore by an admin is. Building the clients is
// timed apart ("clients_ms"): the HTTP client loads the system CA store when it is made.
//
// Endpoint and keys come from S3_ENDPOINT, DYNAMODB_ENDPOINT, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION (the harness env file).
#include "tfsnap/backup/bucket_cache.hpp"
#include "tfsnap/backup/context.hpp"
#include "tfsnap/catalog/catalog.hpp"
#include "tfsnap/config/load.hpp"
#include "tfsnap/core/logger.hpp"
#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/dynamodb/client.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/restore/restore.hpp"
#include "tfsnap/s3/client.hpp"
#include "tfsnap/tfstate/lock_info.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace asio = boost::asio;
using namespace tfsnap;
using steady = std::chrono::steady_clock;

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback = {}) {
    for (int i = 2; i + 1 < argc; ++i) {
        if (argv[i] == name)
            return argv[i + 1];
    }
    return fallback;
}

double ms_since(steady::time_point t0) {
    return std::chrono::duration<double, std::milli>(steady::now() - t0).count();
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream o;
    o << in.rdbuf();
    return o.str();
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string unquote(std::string etag) {
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
        etag = etag.substr(1, etag.size() - 2);
    return etag;
}

template <class T>
T run(asio::io_context& io, asio::awaitable<T> a) {
    std::optional<T> out;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e)
            out.emplace(std::move(v));
    });
    io.restart();
    io.run();
    if (error)
        std::rethrow_exception(error);
    return std::move(*out);
}

// The clients, built as the integration tests build them (static keys from the environment).
struct clients {
    asio::io_context io{1};
    core::system_wall_clock clock;
    http::client http{io.get_executor(), http::client_config{}};
    std::unique_ptr<s3::client> s3;
    std::unique_ptr<dynamodb::client> db;

    explicit clients(std::optional<std::string> s3_endpoint = {},
                     std::optional<std::string> dynamodb_endpoint = {}) {
        auto creds = [key = env("AWS_ACCESS_KEY_ID"),
                      secret = env("AWS_SECRET_ACCESS_KEY")]() -> asio::awaitable<http::credentials_lookup> {
            co_return http::credentials_lookup{{}, sigv4::credentials{key, core::secret(secret), {}}};
        };
        s3::client_config sc;
        sc.endpoint = s3_endpoint.value_or(env("S3_ENDPOINT"));
        sc.region = region();
        sc.path_style = true;
        s3 = std::make_unique<s3::client>(http, sc, creds, clock);
        dynamodb::client_config dc;
        dc.endpoint = dynamodb_endpoint.value_or(env("DYNAMODB_ENDPOINT"));
        dc.region = region();
        db = std::make_unique<dynamodb::client>(http, dc, creds, clock);
    }
    static std::string region() {
        return env("AWS_DEFAULT_REGION").empty() ? "us-east-1" : env("AWS_DEFAULT_REGION");
    }
    template <class T>
    T operator()(asio::awaitable<T> a) {
        return run(io, std::move(a));
    }
};

dynamodb::item key_item(const std::string& lock_id) {
    dynamodb::item k;
    k.emplace("LockID", dynamodb::attribute_value::string(lock_id));
    return k;
}

// ---------------------------------------------------------------------------------- setup

int setup(int argc, char** argv) {
    const std::string bucket = arg(argc, argv, "--bucket"), table = arg(argc, argv, "--table");
    const std::string v1 = read_all(arg(argc, argv, "--v1")), v2 = read_all(arg(argc, argv, "--v2"));
    if (v1.empty() || v2.empty() || bucket.empty() || table.empty()) {
        std::cerr << "setup: --bucket, --table, --v1 FILE and --v2 FILE are required\n";
        return 2;
    }
    std::vector<std::string> keys;
    {
        std::stringstream ks(arg(argc, argv, "--keys"));
        for (std::string k; std::getline(ks, k, ',');)
            keys.push_back(k);
    }
    clients c;
    auto cb = c(c.s3->create_bucket(bucket));
    if (cb.ec && cb.ec != s3::errc::bucket_exists) {
        std::cerr << "create bucket: " << s3::describe(cb.ec, cb.info) << "\n";
        return 1;
    }
    if (auto v = c(c.s3->put_bucket_versioning(bucket, true)); v.ec) {
        std::cerr << "versioning: " << s3::describe(v.ec, v.info) << "\n";
        return 1;
    }
    if (auto t = c(c.db->create_table(table, "LockID")); t.ec) {
        std::cerr << "create table: " << dynamodb::describe(t.ec, t.info) << "\n";
        return 1;
    }
    bool active = false;
    for (int i = 0; i < 200 && !active; ++i) {
        active = c(c.db->describe_table(table)).status == "ACTIVE";
        if (!active)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!active) {
        std::cerr << "table " << table << " did not become ACTIVE\n";
        return 1;
    }
    std::string out = "{";
    for (const auto& k : keys) {
        std::string ids[2];
        for (int i = 0; i < 2; ++i) {
            const auto p = c(c.s3->put_object(bucket, k, http::body_source::memory(i == 0 ? v1 : v2)));
            if (p.ec) {
                std::cerr << "put " << k << ": " << s3::describe(p.ec, p.info) << "\n";
                return 1;
            }
            ids[i] = p.version_id;
        }
        out += (out.size() > 1 ? "," : "") + json_string(k) + ":{\"v1\":" + json_string(ids[0]) +
               ",\"v2\":" + json_string(ids[1]) + "}";
    }
    std::printf("%s}\n", out.c_str());
    return 0;
}

// ---------------------------------------------------------------------------------- tfsnap

int tfsnap_restore(int argc, char** argv) {
    auto loaded = config::load_file(arg(argc, argv, "--config"));
    if (!loaded.ok()) {
        for (const auto& d : loaded.diagnostics)
            std::cerr << config::format(d) << "\n";
        return 2;
    }
    const auto& cfg = *loaded.config;
    const config::environment* envp = cfg.find(arg(argc, argv, "--env"));
    if (envp == nullptr) {
        std::cerr << "no environment " << arg(argc, argv, "--env") << "\n";
        return 2;
    }
    const auto& e = *envp;
    // not timed: what tfsnapd does before it sends anything
    catalog::catalog cat(cfg.state_dir);
    if (auto s = cat.open()) {
        std::cerr << "cannot open the catalog: " << s.info.message << "\n";
        return 1;
    }
    std::ofstream log_file(std::filesystem::path(cfg.state_dir) / "restore-bench.log", std::ios::app);
    core::stream_sink sink(log_file);
    const auto t_clients = steady::now();
    clients c(e.endpoint, e.dynamodb_endpoint);
    const double clients_ms = ms_since(t_clients);
    backup::bucket_cache buckets;
    backup::job_context jobs{
        cat,          c.clock, core::logger(sink, core::log_level::info), buckets, "tfsnapd@bench", "bench",
        std::nullopt, {}};
    std::vector<std::byte> key(32);
    std::random_device rd;
    for (auto& b : key)
        b = static_cast<std::byte>(rd());
    restore::restore_context rctx{jobs, cfg.state_dir, std::move(key), "bench-host", "tfsnap-bench", {}, {}};
    std::vector<std::pair<std::string, steady::time_point>> marks;
    rctx.after_step = [&](std::string_view step) { marks.emplace_back(std::string(step), steady::now()); };
    backup::environment_access access;
    access.s3 = c.s3.get();
    access.archive = c.s3.get();
    access.dynamodb = c.db.get();

    restore::restore_request req;
    req.version_id = arg(argc, argv, "--version-id");
    req.reason = arg(argc, argv, "--reason", "restore bench");
    req.user = "bench";
    req.roll_forward_serial = false;  // the target's bytes as they are, like the boto3 script

    const auto t0 = steady::now();
    const auto p = c(restore::plan(rctx, e, access, req));
    const double plan_ms = ms_since(t0);
    const auto plan_requests = c.http.counters().requests;
    if (!p.ok() || p.already_current) {
        std::cerr << "plan: " << (p.refusals.empty() ? "already current" : p.refusals[0]) << "\n";
        return 1;
    }
    const auto t1 = steady::now();
    const auto r = c(restore::execute(rctx, e, access, req, p.token));
    const auto t2 = steady::now();
    const double execute_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    const double total_ms = std::chrono::duration<double, std::milli>(t2 - t0).count();
    const auto requests = c.http.counters().requests;

    std::string steps;
    auto prev = t1;
    for (const auto& [name, at] : marks) {
        if (!steps.empty())
            steps += ',';
        steps += json_string(name) + ":" +
                 std::to_string(std::chrono::duration<double, std::milli>(at - prev).count());
        prev = at;
    }
    // after the last step: the journal removed, the audit record appended, the log line
    const double tail_ms = std::chrono::duration<double, std::milli>(t2 - prev).count();
    std::vector<std::string> want = {"check",  "lock dynamodb", "safety snapshot", "write",
                                     "digest", "verify",        "unlock dynamodb"};
    bool steps_ok = marks.size() == want.size();
    for (std::size_t i = 0; steps_ok && i < want.size(); ++i)
        steps_ok = marks[i].first == want[i];
    const bool ok = r.result == restore::outcome::ok && steps_ok && !r.safety_snapshot.empty();
    if (!ok) {
        std::cerr << "execute: " << restore::to_string(r.result) << ": " << r.message << "\n";
        for (const auto& s : r.steps)
            std::cerr << "  " << (s.ok ? "ok   " : "FAIL ") << s.name << ": " << s.detail << "\n";
    }
    std::printf(
        "{\"tool\":\"tfsnap\",\"ok\":%s,\"total_ms\":%.3f,\"plan_ms\":%.3f,\"execute_ms\":%.3f,"
        "\"steps_ms\":{%s},\"after_steps_ms\":%.3f,\"plan_requests\":%llu,\"execute_requests\":%llu,"
        "\"connections\":%llu,\"clients_ms\":%.3f,\"new_version\":%s,\"safety_snapshot\":%s,\"warnings\":%zu}"
        "\n",
        ok ? "true" : "false", total_ms, plan_ms, execute_ms, steps.c_str(), tail_ms,
        static_cast<unsigned long long>(plan_requests),
        static_cast<unsigned long long>(requests - plan_requests),
        static_cast<unsigned long long>(c.http.counters().connections_opened), clients_ms,
        json_string(r.new_version_id).c_str(), json_string(r.safety_snapshot).c_str(), p.warnings.size());
    return ok ? 0 : 1;
}

// ---------------------------------------------------------------------------------- raw

struct raw_result {
    std::string error;
    std::string new_version, md5;
    std::vector<std::pair<const char*, double>> steps;
};

asio::awaitable<raw_result> raw_chain(clients& c, std::string bucket, std::string key, std::string table,
                                      std::string version) {
    // No `[&]` lambda over this coroutine's locals here: with one (a `step(name)` helper that
    // recorded the time), GCC 12.2 at -O3 produced code that aborted with "free(): invalid
    // pointer" after the second PutItem; the Debug + ASan build of the same code ran clean.
    raw_result out;
    const std::string lock_id = bucket + "/" + key;
    auto t = steady::now();
    tfstate::lock_info li;
    li.id = tfstate::new_lock_id();
    li.operation = "restore";
    li.who = "bench@bench-host";
    li.version = "raw";
    li.created = tfstate::format_lock_created(c.clock.now());
    li.path = lock_id;
    const std::string info = tfstate::to_json(li);
    {
        auto item = key_item(lock_id);
        item.emplace("Info", dynamodb::attribute_value::string(info));
        dynamodb::expression cond;
        cond.text = "attribute_not_exists(LockID)";
        const auto r = co_await c.db->put_item(table, std::move(item), std::move(cond));
        if (r.ec) {
            out.error = "lock: " + dynamodb::describe(r.ec, r.info);
            co_return out;
        }
    }
    out.steps.emplace_back("lock", ms_since(t));
    t = steady::now();
    {
        const auto r = co_await c.s3->copy_object(bucket, key, version, bucket, key);
        if (r.ec)
            out.error = "copy: " + s3::describe(r.ec, r.info);
        out.new_version = r.version_id;
        out.md5 = unquote(r.etag);
    }
    out.steps.emplace_back("copy", ms_since(t));
    t = steady::now();
    if (out.error.empty()) {
        auto item = key_item(lock_id + "-md5");
        item.emplace("Digest", dynamodb::attribute_value::string(out.md5));
        dynamodb::expression none;
        const auto r = co_await c.db->put_item(table, std::move(item), std::move(none));
        if (r.ec)
            out.error = "digest: " + dynamodb::describe(r.ec, r.info);
        out.steps.emplace_back("digest", ms_since(t));
        t = steady::now();
    }
    if (out.error.empty()) {
        const auto h = co_await c.s3->head_object(bucket, key);
        if (h.ec)
            out.error = "verify: " + s3::describe(h.ec, h.info);
        else if (h.object.version_id != out.new_version || unquote(h.object.etag) != out.md5)
            out.error = "verify: current version " + h.object.version_id + " " + h.object.etag;
        out.steps.emplace_back("verify", ms_since(t));
        t = steady::now();
    }
    {
        dynamodb::expression cond;
        cond.text = "Info = :info";
        cond.values.emplace(":info", dynamodb::attribute_value::string(info));
        auto lock_key = key_item(lock_id);
        const auto r = co_await c.db->delete_item(table, std::move(lock_key), std::move(cond));
        if (r.ec && out.error.empty())
            out.error = "unlock: " + dynamodb::describe(r.ec, r.info);
    }
    out.steps.emplace_back("unlock", ms_since(t));
    co_return out;
}

int raw(int argc, char** argv) {
    const auto t_clients = steady::now();
    clients c;
    const double clients_ms = ms_since(t_clients);
    const auto t0 = steady::now();
    const auto r = c(raw_chain(c, arg(argc, argv, "--bucket"), arg(argc, argv, "--key"),
                               arg(argc, argv, "--table"), arg(argc, argv, "--version-id")));
    const double total_ms = ms_since(t0);
    if (!r.error.empty())
        std::cerr << "raw: " << r.error << "\n";
    std::string steps;
    for (const auto& [name, ms] : r.steps) {
        if (!steps.empty())
            steps += ',';
        steps += json_string(name) + ":" + std::to_string(ms);
    }
    std::printf(
        "{\"tool\":\"raw\",\"ok\":%s,\"total_ms\":%.3f,\"steps_ms\":{%s},\"requests\":%llu,"
        "\"connections\":%llu,\"clients_ms\":%.3f,\"new_version\":%s,\"md5\":%s}\n",
        r.error.empty() ? "true" : "false", total_ms, steps.c_str(),
        static_cast<unsigned long long>(c.http.counters().requests),
        static_cast<unsigned long long>(c.http.counters().connections_opened), clients_ms,
        json_string(r.new_version).c_str(), json_string(r.md5).c_str());
    return r.error.empty() ? 0 : 1;
}

// ---------------------------------------------------------------------------------- check

int check(int argc, char** argv) {
    const std::string bucket = arg(argc, argv, "--bucket"), key = arg(argc, argv, "--key"),
                      table = arg(argc, argv, "--table"), want = arg(argc, argv, "--expect-md5");
    clients c;
    std::vector<std::string> problems;
    http::string_sink sink(std::size_t{64} << 20);
    const auto g = c(c.s3->get_object(bucket, key, "", sink));
    if (g.ec)
        problems.push_back("get: " + s3::describe(g.ec, g.info));
    else if (crypto::md5_hex(sink.data()) != want)
        problems.push_back("the current bytes have MD5 " + crypto::md5_hex(sink.data()));
    const auto d = c(c.db->get_item(table, key_item(bucket + "/" + key + "-md5"), true, {}));
    if (d.ec)
        problems.push_back("digest: " + dynamodb::describe(d.ec, d.info));
    else if (!d.found || !d.found->count("Digest") || d.found->at("Digest").value != want)
        problems.push_back("the digest item is " + (d.found && d.found->count("Digest")
                                                        ? d.found->at("Digest").value
                                                        : std::string("missing")));
    const auto l = c(c.db->get_item(table, key_item(bucket + "/" + key), true, {}));
    if (l.ec)
        problems.push_back("lock: " + dynamodb::describe(l.ec, l.info));
    else if (l.found)
        problems.push_back("a lock item is left");
    for (const auto& p : problems)
        std::cerr << "check " << key << ": " << p << "\n";
    std::printf("{\"check\":%s,\"ok\":%s,\"version\":%s,\"problems\":%zu}\n", json_string(key).c_str(),
                problems.empty() ? "true" : "false", json_string(g.object.version_id).c_str(),
                problems.size());
    return problems.empty() ? 0 : 1;
}

// ---------------------------------------------------------------------------------- get

// Diagnostic, not part of the run: N GETs of one version on one connection, each timed.
int get(int argc, char** argv) {
    clients c;
    const int n = std::stoi(arg(argc, argv, "--count", "5"));
    std::string times;
    for (int i = 0; i < n; ++i) {
        http::string_sink sink(std::size_t{64} << 20);
        const auto t0 = steady::now();
        const auto g = c(c.s3->get_object(arg(argc, argv, "--bucket"), arg(argc, argv, "--key"),
                                          arg(argc, argv, "--version-id"), sink));
        const double ms = ms_since(t0);
        if (g.ec) {
            std::cerr << "get: " << s3::describe(g.ec, g.info) << "\n";
            return 1;
        }
        if (!times.empty())
            times += ',';
        times += std::to_string(ms);
    }
    std::printf("{\"get_ms\":[%s],\"connections\":%llu}\n", times.c_str(),
                static_cast<unsigned long long>(c.http.counters().connections_opened));
    return 0;
}

// ---------------------------------------------------------------------------------- processes

struct child_run {
    int status = -1;
    double wall_ms = 0, cpu_ms = 0;
    std::string out;
};

child_run spawn(const std::vector<std::string>& cmd) {
    child_run r;
    int fds[2];
    if (::pipe(fds) != 0) {
        std::perror("pipe");
        return r;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    std::vector<char*> argv;
    for (const auto& a : cmd)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const auto t0 = steady::now();
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) {
        std::cerr << "cannot run " << cmd[0] << ": " << std::strerror(rc) << "\n";
        ::close(fds[0]);
        return r;
    }
    char buf[65536];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        r.out.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    rusage ru{};
    ::wait4(pid, &status, 0, &ru);
    r.wall_ms = ms_since(t0);
    const auto tv = [](const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; };
    r.cpu_ms = tv(ru.ru_utime) + tv(ru.ru_stime);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

std::string last_line(const std::string& s) {
    auto end = s.find_last_not_of('\n');
    if (end == std::string::npos)
        return {};
    const auto start = s.rfind('\n', end);
    return s.substr(start == std::string::npos ? 0 : start + 1,
                    end - (start == std::string::npos ? 0 : start + 1) + 1);
}

int process(int argc, char** argv) {
    std::vector<std::string> cmd;
    for (int i = 2; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--") {
            cmd.assign(argv + i + 1, argv + argc);
            break;
        }
    }
    if (cmd.empty()) {
        std::cerr << "process: -- CMD ARGS... is required\n";
        return 2;
    }
    const auto r = spawn(cmd);
    std::string line = last_line(r.out);
    if (line.size() < 2 || line.front() != '{' || line.back() != '}') {
        std::cerr << "process: " << cmd[0] << " printed no JSON object (exit status " << r.status << ")\n"
                  << r.out;
        return 1;
    }
    line.pop_back();
    std::printf("%s,\"process_ms\":%.3f,\"process_cpu_ms\":%.3f,\"exit_status\":%d}\n", line.c_str(),
                r.wall_ms, r.cpu_ms, r.status);
    return r.status == 0 ? 0 : 1;
}

int cli(int argc, char** argv) {
    const std::string tfsnapd = arg(argc, argv, "--tfsnapd"), config = arg(argc, argv, "--config"),
                      envname = arg(argc, argv, "--env"), version = arg(argc, argv, "--version-id"),
                      reason = arg(argc, argv, "--reason", "restore bench");
    // the target's bytes as they are, as the boto3 script writes them (the serial is not rolled
    // forward): the same work, and a check that compares MD5s
    std::vector<std::string> cmd = {
        tfsnapd,        "restore", envname,    "--config", config,
        "--version-id", version,   "--reason", reason,     "--no-roll-forward-serial"};
    const auto t0 = steady::now();
    const auto p = spawn(cmd);
    std::string token;
    const std::string marker = "--execute ";
    if (const auto at = p.out.rfind(marker); at != std::string::npos) {
        const auto end = p.out.find_first_of(" \n", at + marker.size());
        token = p.out.substr(at + marker.size(), end == std::string::npos ? end : end - at - marker.size());
    }
    child_run x;
    if (p.status == 0 && !token.empty()) {
        cmd.push_back("--execute");
        cmd.push_back(token);
        x = spawn(cmd);
    }
    const double total_ms = ms_since(t0);
    const bool ok =
        p.status == 0 && !token.empty() && x.status == 0 && x.out.find("\nok: ") != std::string::npos;
    if (!ok)
        std::cerr << "cli: plan (exit " << p.status << "):\n"
                  << p.out << "execute (exit " << x.status << "):\n"
                  << x.out;
    std::string new_version;
    if (const auto at = x.out.find("\nok: "); at != std::string::npos) {
        const auto v = x.out.find(": version ", at + 4);
        if (v != std::string::npos)
            new_version = x.out.substr(v + 10, x.out.find(' ', v + 10) - v - 10);
    }
    std::printf(
        "{\"tool\":\"tfsnapd\",\"ok\":%s,\"total_ms\":%.3f,\"plan_process_ms\":%.3f,\"execute_process_ms\":%."
        "3f,"
        "\"plan_cpu_ms\":%.3f,\"execute_cpu_ms\":%.3f,\"new_version\":%s}\n",
        ok ? "true" : "false", total_ms, p.wall_ms, x.wall_ms, p.cpu_ms, x.cpu_ms,
        json_string(new_version).c_str());
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr
            << "usage: tfsnap_restore_bench setup|tfsnap|raw|check|cli|process|get ... (see the source)\n";
        return 2;
    }
    const std::string mode = argv[1];
    if (mode == "setup")
        return setup(argc, argv);
    if (mode == "tfsnap")
        return tfsnap_restore(argc, argv);
    if (mode == "raw")
        return raw(argc, argv);
    if (mode == "check")
        return check(argc, argv);
    if (mode == "cli")
        return cli(argc, argv);
    if (mode == "process")
        return process(argc, argv);
    if (mode == "get")
        return get(argc, argv);
    std::cerr << "unknown mode " << mode << "\n";
    return 2;
}
