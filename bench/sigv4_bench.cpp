// Cost of SigV4 signing on the request path: a typical S3 GET signed with a warm signing-key cache
// (the steady state), with a cold one (the first request of a UTC day, which derives the key),
// and a presigned GET.

#include "tfsnap/sigv4/signer.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

namespace {

using namespace tfsnap;
using namespace std::chrono_literals;

sigv4::credentials bench_credentials() {
    return {"AKIAIOSFODNN7EXAMPLE", core::secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), {}};
}

sigv4::signing_params s3_params() {
    sigv4::signing_params p;
    p.region = "eu-central-1";
    p.service = "s3";
    p.time = std::chrono::sys_days{2024y / std::chrono::March / 14} + 2h + 30min;
    p.s3 = true;
    p.add_content_sha256 = true;
    return p;
}

std::string wire_path(std::string_view key) {
    std::string path = "/";
    path += sigv4::uri_encode(key, false);
    return path;
}

// GET of a state object with a Range header; the signer adds x-amz-date and x-amz-content-sha256.
sigv4::request s3_get() {
    return {"GET",
            wire_path("Okta-GitOps/myorg/terraform.tfstate"),
            {{"versionId", "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"}},
            {{"host", "okta-terraform-demo.s3.eu-central-1.amazonaws.com"}, {"range", "bytes=0-1048575"}},
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
}

void sign_headers_warm_cache(benchmark::State& state) {
    const auto req = s3_get();
    const auto creds = bench_credentials();
    const auto p = s3_params();
    sigv4::signer signer;
    signer.sign_headers(req, creds, p);
    for (auto _ : state)
        benchmark::DoNotOptimize(signer.sign_headers(req, creds, p));
}
BENCHMARK(sign_headers_warm_cache);

void sign_headers_cold_cache(benchmark::State& state) {
    const auto req = s3_get();
    const auto creds = bench_credentials();
    const auto p = s3_params();
    for (auto _ : state) {
        sigv4::signer signer;  // empty cache: every signature derives its signing key
        benchmark::DoNotOptimize(signer.sign_headers(req, creds, p));
    }
}
BENCHMARK(sign_headers_cold_cache);

void presign_query_warm_cache(benchmark::State& state) {
    auto req = s3_get();
    req.headers.pop_back();  // a presigned GET signs only host
    req.payload_hash = std::string(sigv4::unsigned_payload);
    const auto creds = bench_credentials();
    const auto p = s3_params();
    sigv4::signer signer;
    signer.presign_query(req, creds, p, 900s);
    for (auto _ : state)
        benchmark::DoNotOptimize(signer.presign_query(req, creds, p, 900s));
}
BENCHMARK(presign_query_warm_cache);

void signing_key_derivation(benchmark::State& state) {
    const auto creds = bench_credentials();
    const auto p = s3_params();
    for (auto _ : state)
        benchmark::DoNotOptimize(sigv4::signing_key(creds.secret_access_key, p));
}
BENCHMARK(signing_key_derivation);

}  // namespace

BENCHMARK_MAIN();
