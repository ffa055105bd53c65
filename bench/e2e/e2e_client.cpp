// bench/e2e: the control-socket clients of the end-to-end benchmark (bench/e2e/run).
//
//   tfsnap_e2e_client sweep --socket S --count N [--prefix env-] [--width 5] [--connections K]
//       POSTs /v1/environments/<prefix><i, zero-padded to width>/backups for i in [0, N) over K
//       kept-alive connections (each sends its share one request at a time), then follows every
//       job with GET /v1/jobs/ID?wait=300s (in submission order, over K connections) until it is
//       no longer queued or running. Timed from the first connect to the last job finished.
//       Prints one JSON line: seconds, submit_seconds, envs_per_second, the jobs' final states.
//
//   tfsnap_e2e_client load --socket S [--connections K] [--seconds T] [--path /v1/status]
//       Closed loop: K kept-alive connections, each sends GET PATH, reads the answer, sends the
//       next, for T seconds. Prints one JSON line: requests, requests_per_second, latency
//       p50/p90/p99/max in ms, errors.
//
// Exit status: 0 ok; 1 a request failed (or, sweep: a job did not succeed); 2 usage.
// Every read and write has a deadline (30 s; the long polls 310 s).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using local = asio::local::stream_protocol;
using stream = beast::basic_stream<local, asio::any_io_executor, beast::unlimited_rate_policy>;
using clock_type = std::chrono::steady_clock;

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
    for (int i = 2; i + 1 < argc; ++i) {
        if (argv[i] == name)
            return argv[i + 1];
    }
    return fallback;
}

// One kept-alive HTTP/1.1 connection to the control socket.
class connection {
public:
    explicit connection(asio::any_io_executor ex) : stream_(ex) {}

    asio::awaitable<void> connect(const std::string& path) {
        stream_.expires_after(std::chrono::seconds(30));
        co_await stream_.async_connect(local::endpoint(path), asio::use_awaitable);
    }

    // Sends one request and reads its answer; throws on any I/O error.
    asio::awaitable<bhttp::response<bhttp::string_body>> exchange(bhttp::verb verb, const std::string& target,
                                                                  const std::string& body,
                                                                  std::chrono::seconds deadline) {
        bhttp::request<bhttp::string_body> req{verb, target, 11};
        req.set(bhttp::field::host, "localhost");
        if (verb == bhttp::verb::post) {
            req.set(bhttp::field::content_type, "application/json");
            req.body() = body;
        }
        req.prepare_payload();
        stream_.expires_after(deadline);
        co_await bhttp::async_write(stream_, req, asio::use_awaitable);
        bhttp::response<bhttp::string_body> res;
        co_await bhttp::async_read(stream_, buffer_, res, asio::use_awaitable);
        co_return res;
    }

private:
    stream stream_;
    beast::flat_buffer buffer_;
};

// The value of "name":"..." in a flat JSON answer (the control API writes no spaces).
std::string json_string(const std::string& body, const std::string& name) {
    const std::string pat = "\"" + name + "\":\"";
    const auto p = body.find(pat);
    if (p == std::string::npos)
        return {};
    const auto s = p + pat.size();
    const auto e = body.find('"', s);
    return e == std::string::npos ? std::string{} : body.substr(s, e - s);
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

int run_sweep(int argc, char** argv) {
    const std::string socket = arg(argc, argv, "--socket", "");
    const int count = std::stoi(arg(argc, argv, "--count", "1000"));
    const std::string prefix = arg(argc, argv, "--prefix", "env-");
    const int width = std::stoi(arg(argc, argv, "--width", "5"));
    const int conns = std::max(1, std::stoi(arg(argc, argv, "--connections", "8")));
    if (socket.empty())
        return 2;

    asio::io_context io;
    std::vector<std::string> job_ids(static_cast<std::size_t>(count));
    std::map<std::string, int> states;
    int errors = 0;
    std::string first_error;
    const auto fail = [&](const std::string& what) {
        if (errors++ == 0)
            first_error = what;
    };
    int next_submit = 0;
    int next_wait = 0;
    clock_type::time_point submitted{};

    const auto t0 = clock_type::now();
    auto submitter = [&](std::shared_ptr<connection> c) -> asio::awaitable<void> {
        co_await c->connect(socket);
        while (next_submit < count) {
            const int i = next_submit++;
            char name[96];
            std::snprintf(name, sizeof name, "%s%0*d", prefix.c_str(), width, i);
            const auto res =
                co_await c->exchange(bhttp::verb::post, std::string("/v1/environments/") + name + "/backups",
                                     "{}", std::chrono::seconds(30));
            if (res.result_int() != 202) {
                fail(std::string(name) + ": HTTP " + std::to_string(res.result_int()) + " " + res.body());
                continue;
            }
            job_ids[static_cast<std::size_t>(i)] = json_string(res.body(), "job_id");
        }
    };
    auto waiter = [&](std::shared_ptr<connection> c) -> asio::awaitable<void> {
        while (next_wait < count) {
            const auto& id = job_ids[static_cast<std::size_t>(next_wait++)];
            if (id.empty())
                continue;
            for (;;) {
                const auto res = co_await c->exchange(bhttp::verb::get, "/v1/jobs/" + id + "?wait=300s", "",
                                                      std::chrono::seconds(310));
                if (res.result_int() == 404) {  // finished and already out of the bounded history
                    ++states["finished-evicted"];
                    break;
                }
                if (res.result_int() != 200) {
                    fail("job " + id + ": HTTP " + std::to_string(res.result_int()));
                    break;
                }
                const auto st = json_string(res.body(), "state");
                if (st != "queued" && st != "running") {
                    ++states[st];
                    if (st != "succeeded")
                        fail("job " + id + ": " + st + " " + json_string(res.body(), "detail"));
                    break;
                }
            }
        }
    };

    std::exception_ptr failure;
    const auto done = [&](std::exception_ptr e) {
        if (e && !failure)
            failure = e;
    };
    std::vector<std::shared_ptr<connection>> pool;
    for (int k = 0; k < conns; ++k)
        pool.push_back(std::make_shared<connection>(io.get_executor()));
    for (auto& c : pool)
        asio::co_spawn(io, submitter(c), done);
    io.run();
    submitted = clock_type::now();
    io.restart();
    for (auto& c : pool)
        asio::co_spawn(io, waiter(c), done);
    io.run();
    const auto t1 = clock_type::now();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            fail(std::string("I/O: ") + e.what());
        }
    }
    const double secs = std::chrono::duration<double>(t1 - t0).count();
    std::string st;
    for (const auto& [k, v] : states) {
        if (!st.empty())
            st += ',';
        st.append("\"").append(k).append("\":").append(std::to_string(v));
    }
    std::printf(
        "{\"tool\":\"tfsnapd\",\"envs\":%d,\"connections\":%d,\"seconds\":%.3f,\"submit_seconds\":%.3f,"
        "\"envs_per_second\":%.1f,\"states\":{%s},\"errors\":%d}\n",
        count, conns, secs, std::chrono::duration<double>(submitted - t0).count(), count / secs, st.c_str(),
        errors);
    if (errors)
        std::cerr << "sweep: " << errors << " error(s), first: " << first_error << "\n";
    return errors ? 1 : 0;
}

int run_load(int argc, char** argv) {
    const std::string socket = arg(argc, argv, "--socket", "");
    const int conns = std::max(1, std::stoi(arg(argc, argv, "--connections", "4")));
    const double seconds = std::stod(arg(argc, argv, "--seconds", "10"));
    const std::string path = arg(argc, argv, "--path", "/v1/status");
    if (socket.empty())
        return 2;

    asio::io_context io;
    std::vector<double> lat_ms;
    lat_ms.reserve(1 << 20);
    int errors = 0;
    const auto t0 = clock_type::now();
    const auto end =
        t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    auto worker = [&]() -> asio::awaitable<void> {
        connection c(co_await asio::this_coro::executor);
        co_await c.connect(socket);
        while (clock_type::now() < end) {
            const auto s = clock_type::now();
            const auto res = co_await c.exchange(bhttp::verb::get, path, "", std::chrono::seconds(30));
            const auto e = clock_type::now();
            if (res.result_int() != 200)
                ++errors;
            lat_ms.push_back(std::chrono::duration<double, std::milli>(e - s).count());
        }
    };
    std::exception_ptr failure;
    for (int k = 0; k < conns; ++k)
        asio::co_spawn(io, worker(), [&](std::exception_ptr e) {
            if (e && !failure)
                failure = e;
        });
    io.run();
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (failure) {
        ++errors;
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            std::cerr << "load: " << e.what() << "\n";
        }
    }
    const auto n = lat_ms.size();
    const double p50 = percentile(lat_ms, 0.50), p90 = percentile(lat_ms, 0.90),
                 p99 = percentile(lat_ms, 0.99);
    const double mx = lat_ms.empty() ? 0 : lat_ms.back();
    std::printf(
        "{\"tool\":\"load\",\"path\":\"%s\",\"connections\":%d,\"seconds\":%.3f,\"requests\":%zu,"
        "\"requests_per_second\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
        "\"errors\":%d}\n",
        path.c_str(), conns, secs, n, static_cast<double>(n) / secs, p50, p90, p99, mx, errors);
    return errors ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    try {
        if (mode == "sweep")
            return run_sweep(argc, argv);
        if (mode == "load")
            return run_load(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "tfsnap_e2e_client: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "usage: tfsnap_e2e_client sweep|load --socket PATH [options] (see the source)\n";
    return 2;
}
