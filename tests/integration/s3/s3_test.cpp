// Every S3 operation tfsnap uses, against the real radosgw the harness started (which verifies
// SigV4), and through the fault-injecting proxy for retries, deadlines and short bodies.
#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/s3/client.hpp"

#include "support/fault_proxy.hpp"
#include "support/harness_env.hpp"
#include "support/loopback_http_server.hpp"
#include "support/run_sync.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace tfsnap;
using namespace std::chrono_literals;
using test::fault_kind;

class S3 : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        auto env = test::load_harness_env(&why);
        ASSERT_TRUE(env) << why;
        env_ = *env;
        bucket_ = unique("tfsnap-s3");
        work_ = fs::temp_directory_path() / ("tfsnap-s3-test-" + std::to_string(::getpid()));
        fs::create_directories(work_);
        auto s3c = client(env_.s3_endpoint());
        ASSERT_FALSE(run(s3c->create_bucket(bucket_)).ec);
        ASSERT_FALSE(run(s3c->put_bucket_versioning(bucket_, true)).ec);
    }
    void TearDown() override { fs::remove_all(work_); }

    static std::string unique(const std::string& prefix) {
        static std::mt19937_64 rng{std::random_device{}()};
        return prefix + "-" + std::to_string(rng() % 1000000000);
    }

    std::unique_ptr<s3::client> client(const std::string& endpoint, std::string secret = {},
                                       http::retry_policy retry = {.max_attempts = 4,
                                                                   .base_delay = 10ms,
                                                                   .max_delay = 100ms},
                                       http::client_config hcfg = {}, int page_size = 1000) {
        https_.push_back(std::make_unique<http::client>(io_.get_executor(), hcfg));
        s3::client_config cfg;
        cfg.region = env_.region().empty() ? "us-east-1" : env_.region();
        cfg.endpoint = endpoint;
        cfg.path_style = true;
        cfg.retry = retry;
        cfg.list_page_size = page_size;
        if (secret.empty())
            secret = env_.secret_key();
        auto creds = [key = env_.access_key(), secret]() -> asio::awaitable<s3::credentials_lookup> {
            co_return s3::credentials_lookup{{}, sigv4::credentials{key, core::secret(secret), {}}};
        };
        return std::make_unique<s3::client>(*https_.back(), cfg, creds, clock_);
    }

    template <class T>
    T run(asio::awaitable<T> a) {
        return test::run_sync(io_, std::move(a));
    }

    std::string get_bytes(s3::client& c, const std::string& key, const std::string& version = {}) {
        http::string_sink sink;
        const auto r = run(c.get_object(bucket_, key, version, sink));
        EXPECT_FALSE(r.ec) << s3::describe(r.ec, r.info);
        return sink.take();
    }

    test::harness_env env_;
    asio::io_context io_;
    core::system_wall_clock clock_;
    std::vector<std::unique_ptr<http::client>> https_;
    std::string bucket_;
    fs::path work_;
};

TEST_F(S3, BucketVersioningRoundTrips) {
    auto c = client(env_.s3_endpoint());
    const auto b = unique("tfsnap-ver");
    ASSERT_FALSE(run(c->create_bucket(b)).ec);
    auto v = run(c->get_bucket_versioning(b));
    ASSERT_FALSE(v.ec) << s3::describe(v.ec, v.info);
    EXPECT_EQ(v.status, s3::versioning_status::never_enabled);
    ASSERT_FALSE(run(c->put_bucket_versioning(b, true)).ec);
    EXPECT_EQ(run(c->get_bucket_versioning(b)).status, s3::versioning_status::enabled);
    ASSERT_FALSE(run(c->put_bucket_versioning(b, false)).ec);
    EXPECT_EQ(run(c->get_bucket_versioning(b)).status, s3::versioning_status::suspended);
}

TEST_F(S3, PutHeadAndGetEachVersion) {
    auto c = client(env_.s3_endpoint());
    const std::string v1 = R"({"version":4,"serial":1})", v2 = R"({"version":4,"serial":2,"more":true})";
    const auto p1 = run(c->put_object(bucket_, "env/terraform.tfstate", http::body_source::memory(v1)));
    ASSERT_FALSE(p1.ec) << s3::describe(p1.ec, p1.info);
    const auto p2 = run(c->put_object(bucket_, "env/terraform.tfstate", http::body_source::memory(v2)));
    ASSERT_FALSE(p2.ec);
    EXPECT_FALSE(p1.version_id.empty());
    EXPECT_NE(p1.version_id, p2.version_id);
    EXPECT_EQ(p1.etag, "\"" + crypto::md5_hex(v1) + "\"");

    const auto h = run(c->head_object(bucket_, "env/terraform.tfstate"));
    ASSERT_FALSE(h.ec) << s3::describe(h.ec, h.info);
    EXPECT_EQ(h.object.version_id, p2.version_id);
    EXPECT_EQ(h.object.etag, p2.etag);
    EXPECT_EQ(h.object.size, v2.size());
    EXPECT_LT(std::chrono::abs(h.object.last_modified - std::chrono::system_clock::now()), 5min);

    const auto hv1 = run(c->head_object(bucket_, "env/terraform.tfstate", p1.version_id));
    ASSERT_FALSE(hv1.ec);
    EXPECT_EQ(hv1.object.size, v1.size());

    http::string_sink sink;
    const auto g = run(c->get_object(bucket_, "env/terraform.tfstate", p1.version_id, sink));
    ASSERT_FALSE(g.ec) << s3::describe(g.ec, g.info);
    EXPECT_EQ(sink.data(), v1);
    EXPECT_EQ(g.md5_hex, crypto::md5_hex(v1));
    EXPECT_EQ(g.sha256_hex, crypto::sha256_hex(v1));
    EXPECT_EQ(g.object.version_id, p1.version_id);
}

TEST_F(S3, KeysWithAnyCharactersAreEncodedOnce) {
    auto c = client(env_.s3_endpoint());
    for (const std::string key :
         {"with space/terraform.tfstate", "plus+equals=amp&pct%tilde~.tfstate", "ünïcødé/日本語/état.tfstate",
          "a//double/slash", "dots/../and/./x", "env:/ws/key"}) {
        const std::string body = "bytes of " + key;
        const auto p = run(c->put_object(bucket_, key, http::body_source::memory(body)));
        ASSERT_FALSE(p.ec) << key << ": " << s3::describe(p.ec, p.info);
        EXPECT_EQ(get_bytes(*c, key), body) << key;
        const auto h = run(c->head_object(bucket_, key));
        EXPECT_FALSE(h.ec) << key << ": " << s3::describe(h.ec, h.info);
        const auto l = run(c->list_object_versions(bucket_, key));
        ASSERT_FALSE(l.ec) << key;
        ASSERT_EQ(l.entries.size(), 1u) << key;
        EXPECT_EQ(l.entries[0].key, key);
        EXPECT_EQ(l.entries[0].version_id, p.version_id);
    }
}

TEST_F(S3, CopyAnOldVersionBackAsCurrent) {
    auto c = client(env_.s3_endpoint());
    const auto p1 = run(c->put_object(bucket_, "k", http::body_source::memory("old state")));
    const auto p2 = run(c->put_object(bucket_, "k", http::body_source::memory("new state")));
    ASSERT_FALSE(p1.ec || p2.ec);
    const auto cp = run(c->copy_object(bucket_, "k", p1.version_id, bucket_, "k"));
    ASSERT_FALSE(cp.ec) << s3::describe(cp.ec, cp.info);
    EXPECT_FALSE(cp.version_id.empty());
    EXPECT_NE(cp.version_id, p1.version_id);
    EXPECT_NE(cp.version_id, p2.version_id);
    EXPECT_EQ(cp.etag, "\"" + crypto::md5_hex("old state") + "\"");
    EXPECT_EQ(get_bytes(*c, "k"), "old state");
    EXPECT_EQ(run(c->head_object(bucket_, "k")).object.version_id, cp.version_id);
    const auto l = run(c->list_object_versions(bucket_, "k"));
    EXPECT_EQ(l.entries.size(), 3u);
}

TEST_F(S3, DeleteMarkerAndItsRemoval) {
    auto c = client(env_.s3_endpoint());
    ASSERT_FALSE(run(c->put_object(bucket_, "gone", http::body_source::memory("state"))).ec);
    const auto d = run(c->delete_object(bucket_, "gone"));
    ASSERT_FALSE(d.ec) << s3::describe(d.ec, d.info);
    EXPECT_TRUE(d.delete_marker);
    EXPECT_FALSE(d.version_id.empty());

    // AWS marks the 404 with x-amz-delete-marker (errc::delete_marker); radosgw 16 sends a plain
    // 404 NoSuchKey, so only the version listing below can tell a deleted state from a missing one
    const auto h = run(c->head_object(bucket_, "gone"));
    EXPECT_TRUE(h.ec == s3::errc::delete_marker || h.ec == s3::errc::no_such_key)
        << s3::describe(h.ec, h.info);
    http::string_sink sink;
    const auto g = run(c->get_object(bucket_, "gone", "", sink));
    EXPECT_TRUE(g.ec == s3::errc::delete_marker || g.ec == s3::errc::no_such_key)
        << s3::describe(g.ec, g.info);
    EXPECT_EQ(sink.data(), "") << "an error body must not reach the sink";

    const auto l = run(c->list_object_versions(bucket_, "gone"));
    ASSERT_EQ(l.entries.size(), 2u);
    EXPECT_TRUE(l.entries[0].delete_marker);
    EXPECT_TRUE(l.entries[0].is_latest);
    EXPECT_EQ(l.entries[0].version_id, d.version_id);

    const auto undelete = run(c->delete_object(bucket_, "gone", d.version_id));
    ASSERT_FALSE(undelete.ec) << s3::describe(undelete.ec, undelete.info);
    EXPECT_EQ(get_bytes(*c, "gone"), "state");
}

TEST_F(S3, ListsFifteenHundredVersionsThroughPagesOfOneHundred) {
    auto c = client(env_.s3_endpoint());
    const std::string key = "many/terraform.tfstate";
    std::set<std::string> ids;
    int markers = 0;
    run([&]() -> asio::awaitable<int> {
        for (int i = 0; i < 1500; ++i) {
            const std::string body = "serial " + std::to_string(i);
            auto p = co_await c->put_object(bucket_, key, http::body_source::memory(body));
            EXPECT_FALSE(p.ec) << i;
            ids.insert(p.version_id);
            if (i % 250 == 249) {
                auto d = co_await c->delete_object(bucket_, key);
                EXPECT_TRUE(d.delete_marker);
                ids.insert(d.version_id);
                ++markers;
            }
        }
        co_return 0;
    }());
    ASSERT_EQ(markers, 6);
    ASSERT_EQ(ids.size(), 1506u);
    // a neighbour key that the prefix also matches, to check it is listed but distinguishable
    ASSERT_FALSE(run(c->put_object(bucket_, key + ".backup", http::body_source::memory("b"))).ec);

    auto small_pages = client(env_.s3_endpoint(), {}, {}, {}, 100);
    const auto l = run(small_pages->list_object_versions(bucket_, key));
    ASSERT_FALSE(l.ec) << s3::describe(l.ec, l.info);
    EXPECT_GE(l.pages, 16);
    std::set<std::string> listed;
    int latest = 0, listed_markers = 0;
    for (const auto& e : l.entries) {
        if (e.key != key)
            continue;
        listed.insert(e.version_id);
        latest += e.is_latest ? 1 : 0;
        listed_markers += e.delete_marker ? 1 : 0;
    }
    EXPECT_EQ(listed, ids);
    EXPECT_EQ(latest, 1);
    EXPECT_EQ(listed_markers, 6);
    EXPECT_EQ(l.entries.size(), 1507u);
}

TEST_F(S3, ObjectsFromBeforeVersioningHaveTheNullVersion) {
    auto c = client(env_.s3_endpoint());
    const auto b = unique("tfsnap-null");
    ASSERT_FALSE(run(c->create_bucket(b)).ec);
    ASSERT_FALSE(run(c->put_object(b, "k", http::body_source::memory("pre-versioning"))).ec);
    ASSERT_FALSE(run(c->put_bucket_versioning(b, true)).ec);
    ASSERT_FALSE(run(c->put_object(b, "k", http::body_source::memory("versioned"))).ec);
    const auto l = run(c->list_object_versions(b, "k"));
    ASSERT_FALSE(l.ec);
    ASSERT_EQ(l.entries.size(), 2u);
    EXPECT_EQ(l.entries[1].version_id, "null");
    http::string_sink sink;
    ASSERT_FALSE(run(c->get_object(b, "k", "null", sink)).ec);
    EXPECT_EQ(sink.data(), "pre-versioning");
}

TEST_F(S3, WrongSecretIsASignatureMismatchWithRequestId) {
    auto good = client(env_.s3_endpoint());
    ASSERT_FALSE(run(good->put_object(bucket_, "k", http::body_source::memory("x"))).ec);
    auto bad = client(env_.s3_endpoint(), "not-the-secret-key-at-all-000000000000000");
    const auto r = run(bad->head_object(bucket_, "k"));  // HEAD: no body, the status decides
    EXPECT_EQ(r.ec, s3::errc::access_denied);
    http::string_sink sink;
    const auto g = run(bad->get_object(bucket_, "k", "", sink));
    EXPECT_EQ(g.ec, s3::errc::signature_mismatch) << s3::describe(g.ec, g.info);
    EXPECT_EQ(g.info.http_status, 403u);
    EXPECT_EQ(g.info.code, "SignatureDoesNotMatch");
    EXPECT_FALSE(g.info.request_id.empty());
    EXPECT_FALSE(http::is_retryable(g.ec, true));
    EXPECT_EQ(s3::describe(g.ec, g.info).find("not-the-secret"), std::string::npos);
}

TEST_F(S3, MissingThingsMapToTheirCodes) {
    auto c = client(env_.s3_endpoint());
    http::string_sink sink;
    EXPECT_EQ(run(c->get_object(bucket_, "nope", "", sink)).ec, s3::errc::no_such_key);
    EXPECT_EQ(run(c->head_object(bucket_, "nope")).ec, s3::errc::no_such_key);
    ASSERT_FALSE(run(c->put_object(bucket_, "k", http::body_source::memory("x"))).ec);
    // AWS answers NoSuchVersion; radosgw 16 answers NoSuchKey for an unknown version id
    const auto v = run(c->get_object(bucket_, "k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", sink));
    EXPECT_TRUE(v.ec == s3::errc::no_such_version ||
                (v.ec == s3::errc::no_such_key && v.info.code == "NoSuchKey"))
        << s3::describe(v.ec, v.info);
    EXPECT_EQ(run(c->get_object(unique("tfsnap-missing"), "k", "", sink)).ec, s3::errc::no_such_bucket);
    EXPECT_EQ(run(c->list_object_versions(unique("tfsnap-missing"), "")).ec, s3::errc::no_such_bucket);
}

TEST_F(S3, LifecycleConfigurationIsReadBack) {
    auto c = client(env_.s3_endpoint());
    const auto none = run(c->get_bucket_lifecycle(bucket_));
    ASSERT_FALSE(none.ec) << s3::describe(none.ec, none.info);
    EXPECT_TRUE(none.rules.empty());
    const auto put = run(c->put_bucket_lifecycle(
        bucket_,
        "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule><ID>noncurrent</ID>"
        "<Filter><Prefix>env/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration>"
        "<NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>"));
    ASSERT_FALSE(put.ec) << s3::describe(put.ec, put.info);
    const auto got = run(c->get_bucket_lifecycle(bucket_));
    ASSERT_FALSE(got.ec);
    ASSERT_EQ(got.rules.size(), 1u);
    EXPECT_EQ(got.rules[0].id, "noncurrent");
    EXPECT_TRUE(got.rules[0].enabled);
    EXPECT_EQ(got.rules[0].prefix, "env/");
    EXPECT_EQ(got.rules[0].noncurrent_days, 30);
}

TEST_F(S3, ServerSideEncryptionAndPreconditions) {
    auto c = client(env_.s3_endpoint());
    const auto p = run(c->put_object(bucket_, "sse", http::body_source::memory("x"), {.sse = "AES256"}));
    ASSERT_FALSE(p.ec) << s3::describe(p.ec, p.info);
    // a stale ETag must never overwrite: 412 on AWS and on radosgw alike
    const auto stale = run(c->put_object(bucket_, "sse", http::body_source::memory("y"),
                                         {.if_match = "\"00000000000000000000000000000000\""}));
    EXPECT_EQ(stale.ec, s3::errc::precondition_failed) << s3::describe(stale.ec, stale.info);
    EXPECT_EQ(get_bytes(*c, "sse"), "x");
}

// Peak resident memory of this process, in KiB, and a way to reset it.
long peak_rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("VmHWM:"))
            return std::stol(line.substr(6));
    }
    return -1;
}

TEST_F(S3, SixtyFourMebibytesStreamUpAndDownInLittleMemory) {
    const auto src = work_ / "big.in", dst = work_ / "big.out";
    {
        std::ofstream out(src, std::ios::binary);
        std::mt19937 rng(42);
        std::string block(1 << 20, '\0');
        for (int i = 0; i < 64; ++i) {
            for (auto& ch : block)
                ch = static_cast<char>(rng());
            out.write(block.data(), static_cast<std::streamsize>(block.size()));
        }
    }
    auto c = client(env_.s3_endpoint());
    {
        std::ofstream("/proc/self/clear_refs") << "5";  // reset the peak (VmHWM) to the current RSS
    }
    const long before = peak_rss_kib();
    ASSERT_GT(before, 0);
    const auto p = run(c->put_object(bucket_, "big.tfstate", http::body_source::file(src.string())));
    ASSERT_FALSE(p.ec) << s3::describe(p.ec, p.info);
    http::file_sink sink(dst.string());
    const auto g = run(c->get_object(bucket_, "big.tfstate", p.version_id, sink));
    ASSERT_FALSE(g.ec) << s3::describe(g.ec, g.info);
    const long growth_kib = peak_rss_kib() - before;
    EXPECT_EQ(g.object.size, 64u << 20);
    EXPECT_EQ(fs::file_size(dst), 64u << 20);
    crypto::hasher h(crypto::algorithm::sha256);
    {
        std::ifstream in(src, std::ios::binary);
        std::string buf(1 << 20, '\0');
        while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
            h.update(std::string_view(buf.data(), static_cast<std::size_t>(in.gcount())));
        }
    }
    EXPECT_EQ(g.sha256_hex, h.final_hex());
    EXPECT_LT(growth_kib, 32 * 1024) << "peak RSS grew by " << growth_kib << " KiB";
    RecordProperty("peak_rss_growth_kib", static_cast<int>(growth_kib));
}

// ------------------------------------------------------------------ through the fault proxy

class S3Faults : public S3 {
protected:
    void SetUp() override {
        S3::SetUp();
        if (HasFatalFailure())
            return;
        const auto u = http::parse_url(env_.s3_endpoint());
        ASSERT_TRUE(u);
        proxy_ = std::make_unique<test::fault_proxy>(u->host, u->port);
        direct_ = client(env_.s3_endpoint());
        ASSERT_FALSE(
            run(direct_->put_object(bucket_, "k", http::body_source::memory(std::string(100000, 'q')))).ec);
    }
    std::unique_ptr<test::fault_proxy> proxy_;
    std::unique_ptr<s3::client> direct_;
};

TEST_F(S3Faults, ResetConnectionIsRetried) {
    auto c = client(proxy_->url());
    proxy_->on_request(1, {.kind = fault_kind::reset});
    EXPECT_EQ(get_bytes(*c, "k"), std::string(100000, 'q'));
    EXPECT_EQ(proxy_->requests_seen(), 2u);
}

TEST_F(S3Faults, SlowDownIsRetriedEvenForAConditionalWrite) {
    auto c = client(proxy_->url());
    const auto cur = run(direct_->head_object(bucket_, "k"));
    proxy_->on_request(1, {.kind = fault_kind::slow_down});
    proxy_->on_request(2, {.kind = fault_kind::slow_down});
    // If-None-Match on a new key: not idempotent, but SlowDown means nothing was done
    const auto p =
        run(c->put_object(bucket_, "fresh", http::body_source::memory("v"), {.if_none_match = true}));
    EXPECT_FALSE(p.ec) << s3::describe(p.ec, p.info);
    EXPECT_EQ(proxy_->requests_seen(), 3u);
    (void)cur;
}

TEST_F(S3Faults, RetriesStopAfterMaxAttempts) {
    auto c = client(proxy_->url(), {}, {.max_attempts = 3, .base_delay = 1ms, .max_delay = 5ms});
    for (std::size_t n = 1; n <= 5; ++n)
        proxy_->on_request(n, {.kind = fault_kind::slow_down});
    http::string_sink sink;
    const auto g = run(c->get_object(bucket_, "k", "", sink));
    EXPECT_EQ(g.ec, s3::errc::slow_down);
    EXPECT_EQ(g.info.code, "SlowDown");
    EXPECT_EQ(proxy_->requests_seen(), 3u);
}

TEST_F(S3Faults, StalledResponseHitsTheDeadlineThenRecovers) {
    http::client_config hcfg;
    hcfg.read_timeout = 300ms;
    auto once = client(proxy_->url(), {}, {.max_attempts = 1}, hcfg);
    proxy_->on_request(1, {.kind = fault_kind::stall, .stall_for = 3s});
    http::string_sink sink;
    const auto t0 = std::chrono::steady_clock::now();
    const auto g = run(once->get_object(bucket_, "k", "", sink));
    EXPECT_EQ(g.ec, http::errc::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);

    auto retrying = client(proxy_->url(), {}, {.max_attempts = 3, .base_delay = 1ms, .max_delay = 5ms}, hcfg);
    proxy_->on_request(proxy_->requests_seen() + 1, {.kind = fault_kind::stall, .stall_for = 3s});
    EXPECT_EQ(get_bytes(*retrying, "k"), std::string(100000, 'q'));
}

TEST_F(S3Faults, ShortBodyIsNeverTakenAsSuccess) {
    auto once = client(proxy_->url(), {}, {.max_attempts = 1});
    proxy_->on_request(1, {.kind = fault_kind::truncate, .truncate_after = 5000});
    http::string_sink sink;
    const auto g = run(once->get_object(bucket_, "k", "", sink));
    EXPECT_EQ(g.ec, http::errc::truncated_body) << s3::describe(g.ec, g.info);
    EXPECT_TRUE(g.md5_hex.empty());

    auto retrying = client(proxy_->url());
    proxy_->on_request(proxy_->requests_seen() + 1, {.kind = fault_kind::truncate, .truncate_after = 5000});
    http::string_sink full;
    const auto ok = run(retrying->get_object(bucket_, "k", "", full));
    ASSERT_FALSE(ok.ec);
    EXPECT_EQ(full.data(), std::string(100000, 'q'));  // the retry's bytes only, not the cut attempt's
    EXPECT_EQ(ok.md5_hex, crypto::md5_hex(std::string(100000, 'q')));
}

TEST_F(S3Faults, PermanentErrorSurfacesAtOnce) {
    auto c = client(proxy_->url());
    http::string_sink sink;
    const auto g = run(c->get_object(bucket_, "does-not-exist", "", sink));
    EXPECT_EQ(g.ec, s3::errc::no_such_key);
    EXPECT_EQ(proxy_->requests_seen(), 1u);
}

}  // namespace

namespace {

// Virtual-hosted and path-style requests as they reach the server (a loopback stand-in reached
// through resolve_overrides, since bucket.host names do not resolve here).
TEST(S3Addressing, VirtualHostedAndPathStyleRequests) {
    test::loopback_http_server server([](const test::recorded_request&) {
        return test::canned_response{.headers = {{"ETag", "\"0123456789abcdef0123456789abcdef\""},
                                                 {"x-amz-version-id", "v1"},
                                                 {"Last-Modified", "Sun, 22 Nov 2026 02:11:50 GMT"}}};
    });
    const std::string port = std::to_string(server.port());
    asio::io_context io;
    core::system_wall_clock clock;
    http::client_config hcfg;
    hcfg.resolve_overrides = {{"tfstate-bucket.s3.test", "127.0.0.1"}, {"s3.test", "127.0.0.1"}};
    http::client http(io.get_executor(), hcfg);
    const auto creds = []() -> asio::awaitable<http::credentials_lookup> {
        co_return http::credentials_lookup{{}, sigv4::credentials{"AKIDTEST", core::secret("secret"), {}}};
    };
    for (const bool path_style : {false, true}) {
        s3::client_config cfg;
        cfg.endpoint = "http://s3.test:" + port;
        cfg.path_style = path_style;
        s3::client c(http, cfg, creds, clock);
        const auto h = test::run_sync(io, c.head_object("tfstate-bucket", "env/a b+c.tfstate"));
        ASSERT_FALSE(h.ec) << s3::describe(h.ec, h.info);
        EXPECT_EQ(h.object.version_id, "v1");
    }
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0].target, "/env/a%20b%2Bc.tfstate");
    EXPECT_EQ(reqs[0].header("host"), "tfstate-bucket.s3.test:" + port);
    EXPECT_EQ(reqs[1].target, "/tfstate-bucket/env/a%20b%2Bc.tfstate");
    EXPECT_EQ(reqs[1].header("host"), "s3.test:" + port);
    for (const auto& r : reqs) {
        EXPECT_NE(r.header("authorization").find("SignedHeaders=host;x-amz-content-sha256;x-amz-date"),
                  std::string::npos)
            << r.header("authorization");
    }
}

}  // namespace

namespace {

// ListObjectVersions against a scripted server: pages named by their key-marker, each pointing
// at the next one, so that a test can make the server cycle or never end.
class S3Paging : public ::testing::Test {
protected:
    // The page for `marker` ("" for the first): one version, and `next` as NextKeyMarker
    // (truncated), or the end when `next` is empty.
    static std::string page(const std::string& marker, const std::string& next) {
        std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListVersionsResult>";
        xml += "<IsTruncated>" + std::string(next.empty() ? "false" : "true") + "</IsTruncated>";
        if (!next.empty())
            xml += "<NextKeyMarker>" + next + "</NextKeyMarker><NextVersionIdMarker>v-" + next +
                   "</NextVersionIdMarker>";
        xml += "<Version><Key>k</Key><VersionId>v-" + (marker.empty() ? std::string("first") : marker) +
               "</VersionId><IsLatest>false</IsLatest><LastModified>2026-11-22T02:11:50.000Z</LastModified>"
               "<ETag>\"0123456789abcdef0123456789abcdef\"</ETag><Size>1</Size></Version>";
        return xml + "</ListVersionsResult>";
    }

    // The key-marker a request asked for ("" when none).
    static std::string marker_of(const std::string& target) {
        const auto at = target.find("key-marker=");
        if (at == std::string::npos)
            return "";
        const auto end = target.find('&', at);
        return target.substr(at + 11, end == std::string::npos ? std::string::npos : end - at - 11);
    }

    s3::list_result list(test::loopback_http_server& server, int max_pages) {
        asio::io_context io;
        core::system_wall_clock clock;
        http::client http(io.get_executor(), http::client_config{});
        const auto creds = []() -> asio::awaitable<http::credentials_lookup> {
            co_return http::credentials_lookup{{},
                                               sigv4::credentials{"AKIDTEST", core::secret("secret"), {}}};
        };
        s3::client_config cfg;
        cfg.endpoint = server.url();
        cfg.path_style = true;
        cfg.max_list_pages = max_pages;
        s3::client c(http, cfg, creds, clock);
        return test::run_sync(io, c.list_object_versions("b", "k"));
    }
};

TEST_F(S3Paging, AMarkerThatComesBackAfterOtherPagesIsALoop) {
    // "" -> A -> B -> A -> B ...: never the same marker twice in a row
    test::loopback_http_server server([](const test::recorded_request& r) {
        const auto m = marker_of(r.target);
        return test::canned_response{.body = page(m, m == "A" ? "B" : "A")};
    });
    const auto l = list(server, 1000);
    EXPECT_EQ(l.ec, s3::errc::paging_loop) << s3::describe(l.ec, l.info);
    EXPECT_NE(s3::describe(l.ec, l.info).find("S3 returned the same page marker twice"), std::string::npos)
        << s3::describe(l.ec, l.info);
    EXPECT_TRUE(l.entries.empty());
    EXPECT_EQ(server.requests().size(), 3u);  // "", A, B: B's answer names A again
}

TEST_F(S3Paging, AListingBeyondThePageCapFails) {
    // every page points at a new one
    test::loopback_http_server server([](const test::recorded_request& r) {
        const auto m = marker_of(r.target);
        return test::canned_response{.body = page(m, m + "x")};
    });
    const auto l = list(server, 5);
    EXPECT_EQ(l.ec, s3::errc::too_many_pages) << s3::describe(l.ec, l.info);
    EXPECT_NE(s3::describe(l.ec, l.info).find("stopped after 5 pages"), std::string::npos)
        << s3::describe(l.ec, l.info);
    EXPECT_TRUE(l.entries.empty());
    EXPECT_EQ(server.requests().size(), 5u);
}

TEST_F(S3Paging, AListingWithinTheCapIsWhole) {
    // "" -> A -> B -> end
    test::loopback_http_server server([](const test::recorded_request& r) {
        const auto m = marker_of(r.target);
        return test::canned_response{.body = page(m, m.empty() ? "A" : m == "A" ? "B" : "")};
    });
    const auto l = list(server, 3);
    ASSERT_FALSE(l.ec) << s3::describe(l.ec, l.info);
    EXPECT_EQ(l.pages, 3);
    ASSERT_EQ(l.entries.size(), 3u);
    EXPECT_EQ(l.entries[2].version_id, "v-B");
}

}  // namespace
