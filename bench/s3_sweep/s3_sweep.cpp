// bench/s3_sweep: HEAD + GET of N distinct objects at concurrency C, with tfsnap's S3 client.
//
//   tfsnap_s3_sweep setup  --bucket B --count N --size BYTES
//   tfsnap_s3_sweep sweep  --bucket B --count N --concurrency C
//
// Endpoint and keys come from S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_DEFAULT_REGION (the harness env file). `sweep` prints one line of JSON:
// {"tool":"tfsnap","objects":N,"concurrency":C,"seconds":S,"requests_per_second":R,"bytes":B}
// and exits non-zero if any request failed or any body's MD5 differs from its ETag.
#include "tfsnap/http/client.hpp"
#include "tfsnap/s3/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
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

std::string object_key(int i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "sweep/env-%05d/terraform.tfstate", i);
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr
            << "usage: tfsnap_s3_sweep setup|sweep --bucket B --count N [--size BYTES] [--concurrency C]\n";
        return 2;
    }
    const std::string mode = argv[1];
    const std::string bucket = arg(argc, argv, "--bucket", "tfsnap-bench");
    const int count = std::stoi(arg(argc, argv, "--count", "1000"));
    const int concurrency = std::stoi(arg(argc, argv, "--concurrency", "8"));
    const std::size_t size = std::stoul(arg(argc, argv, "--size", "20480"));

    asio::io_context io;
    http::client_config hcfg;
    hcfg.max_connections_per_host = static_cast<std::size_t>(std::max(concurrency, 1));
    http::client http(io.get_executor(), hcfg);
    core::system_wall_clock clock;
    s3::client_config cfg;
    cfg.endpoint = env("S3_ENDPOINT");
    cfg.region = env("AWS_DEFAULT_REGION").empty() ? "us-east-1" : env("AWS_DEFAULT_REGION");
    cfg.path_style = true;
    const sigv4::credentials creds{env("AWS_ACCESS_KEY_ID"), core::secret(env("AWS_SECRET_ACCESS_KEY")), {}};
    s3::client s3c(
        http, cfg,
        [&]() -> asio::awaitable<http::credentials_lookup> {
            co_return http::credentials_lookup{{}, creds};
        },
        clock);

    int failures = 0;
    int next = 0;
    // the first few failures are shown; the count says how many there were
    const auto report = [&failures](const std::string& what) {
        if (++failures <= 5)
            std::cerr << what << "\n";
    };
    std::uint64_t bytes = 0;
    auto worker = [&]() -> asio::awaitable<void> {
        std::string body(size, 'x');
        while (next < count) {
            const int i = next++;
            if (mode == "setup") {
                // distinct content per object, like distinct states
                const std::string tag = std::to_string(i);
                body.replace(0, tag.size(), tag);
                auto p = co_await s3c.put_object(bucket, object_key(i), http::body_source::memory(body));
                if (p.ec)
                    report(s3::describe(p.ec, p.info));
                continue;
            }
            auto h = co_await s3c.head_object(bucket, object_key(i));
            if (h.ec) {
                report(s3::describe(h.ec, h.info));
                continue;
            }
            http::string_sink sink;
            auto g = co_await s3c.get_object(bucket, object_key(i), h.object.version_id, sink);
            if (g.ec) {  // includes an MD5 that differs from the ETag
                report(s3::describe(g.ec, g.info));
                continue;
            }
            bytes += sink.data().size();
        }
    };

    if (mode == "setup") {
        const auto complete = [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        };
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                auto cb = co_await s3c.create_bucket(bucket);
                if (cb.ec && cb.ec != s3::errc::bucket_exists)
                    report(s3::describe(cb.ec, cb.info));
                auto v = co_await s3c.put_bucket_versioning(bucket, true);
                if (v.ec)
                    report(s3::describe(v.ec, v.info));
            },
            complete);
        io.run();
        io.restart();
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (int w = 0; w < std::max(concurrency, 1); ++w) {
        asio::co_spawn(io, worker(), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    }
    io.run();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (mode == "sweep") {
        std::printf(
            "{\"tool\":\"tfsnap\",\"objects\":%d,\"concurrency\":%d,\"seconds\":%.3f,\"requests_per_second\":"
            "%.1f,"
            "\"bytes\":%llu,\"failures\":%d}\n",
            count, concurrency, seconds, 2.0 * count / seconds, static_cast<unsigned long long>(bytes),
            failures);
    } else {
        std::printf("{\"setup\":%d,\"seconds\":%.3f,\"failures\":%d}\n", count, seconds, failures);
    }
    return failures == 0 ? 0 : 1;
}
