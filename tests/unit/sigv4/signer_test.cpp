#include "tfsnap/sigv4/signer.hpp"
#include "tfsnap/core/error.hpp"

#include <gtest/gtest.h>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace tfsnap;
using namespace std::chrono_literals;
using sigv4::param_list;

const char* const secret_text = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

sigv4::credentials creds(std::string secret = secret_text) {
    return {"AKIAIOSFODNN7EXAMPLE", core::secret(std::move(secret)), {}};
}

sigv4::signing_params params(std::string service = "s3", std::string region = "us-east-1") {
    sigv4::signing_params p;
    p.region = std::move(region);
    p.service = std::move(service);
    p.time = std::chrono::sys_days{2013y / std::chrono::May / 24} + 10h;
    p.s3 = true;
    p.add_content_sha256 = true;
    return p;
}

sigv4::request get_request() {
    return {"GET",
            "/test.txt",
            {},
            {{"host", "examplebucket.s3.amazonaws.com"}},
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
}

TEST(SignerCache, SameScopeGivesTheSameKey) {
    sigv4::signer signer;
    const auto p = params();
    const core::secret first = signer.cached_signing_key(creds(), p);
    const core::secret second = signer.cached_signing_key(creds(), p);
    EXPECT_TRUE(first == second);
    EXPECT_TRUE(first == sigv4::signing_key(creds().secret_access_key, p));
    EXPECT_EQ(first.size(), 32u);
    EXPECT_EQ(signer.cached_keys(), 1u);
}

TEST(SignerCache, NextDayGivesANewKeyAndDropsTheOld) {
    sigv4::signer signer;
    auto p = params();
    const core::secret today = signer.cached_signing_key(creds(), p);
    p.time += 24h;
    const core::secret tomorrow = signer.cached_signing_key(creds(), p);
    EXPECT_FALSE(today == tomorrow);
    EXPECT_TRUE(tomorrow == sigv4::signing_key(creds().secret_access_key, p));
    EXPECT_EQ(signer.cached_keys(), 1u);
}

TEST(SignerCache, KeyedByAccessKeyAndScope) {
    sigv4::signer signer;
    const core::secret s3 = signer.cached_signing_key(creds(), params("s3"));
    const core::secret ddb = signer.cached_signing_key(creds(), params("dynamodb"));
    const core::secret other_region = signer.cached_signing_key(creds(), params("s3", "eu-west-1"));
    sigv4::credentials other_key = creds();
    other_key.access_key_id = "AKIDEXAMPLE";
    const core::secret other = signer.cached_signing_key(other_key, params("s3"));
    EXPECT_FALSE(s3 == ddb);
    EXPECT_FALSE(s3 == other_region);
    EXPECT_TRUE(s3 == other);  // same secret and scope derive the same key, under its own entry
    EXPECT_EQ(signer.cached_keys(), 4u);
}

TEST(SignerCache, ChangedSecretUnderTheSameKeyIdIsNotServedStale) {
    sigv4::signer signer;
    const auto p = params();
    const core::secret old_key = signer.cached_signing_key(creds(), p);
    const core::secret new_key = signer.cached_signing_key(creds("rotated-secret"), p);
    EXPECT_FALSE(old_key == new_key);
    EXPECT_TRUE(new_key == sigv4::signing_key(core::secret("rotated-secret"), p));
    EXPECT_EQ(signer.cached_keys(), 1u);
}

TEST(SignerCache, IsBounded) {
    sigv4::signer signer(2);
    for (const char* region : {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1"})
        signer.cached_signing_key(creds(), params("s3", region));
    EXPECT_EQ(signer.cached_keys(), 2u);
}

TEST(Signer, SharedBetweenThreadsSignsConsistently) {
    sigv4::signer signer(1);  // one entry: threads signing for two services keep replacing it
    const auto req = get_request();
    const std::string s3_auth = signer.sign_headers(req, creds(), params("s3")).back().second;
    const std::string other_auth = signer.sign_headers(req, creds(), params("other")).back().second;
    std::vector<std::thread> threads;
    std::vector<int> mismatches(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                const bool s3 = (i + t) % 2 == 0;
                const auto added = signer.sign_headers(req, creds(), params(s3 ? "s3" : "other"));
                if (added.back().second != (s3 ? s3_auth : other_auth))
                    ++mismatches[t];
            }
        });
    }
    for (auto& t : threads)
        t.join();
    for (int t = 0; t < 4; ++t)
        EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

void expect_invalid_argument(const std::function<void()>& f) {
    try {
        f();
        ADD_FAILURE() << "no exception";
    } catch (const boost::system::system_error& e) {
        EXPECT_EQ(e.code(), core::errc::invalid_argument);
        EXPECT_EQ(std::string(e.what()).find(secret_text), std::string::npos);
    }
}

TEST(Signer, RejectsHeadersItMustAddItself) {
    sigv4::signer signer;
    for (const char* name : {"X-Amz-Date", "Authorization", "x-amz-content-sha256"}) {
        auto req = get_request();
        req.headers.emplace_back(name, "x");
        expect_invalid_argument([&] { signer.sign_headers(req, creds(), params()); });
    }
    // x-amz-content-sha256 given by the caller is fine when the signer is not asked to add it
    auto req = get_request();
    req.headers.emplace_back("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    auto p = params();
    p.add_content_sha256 = false;
    EXPECT_EQ(signer.sign_headers(req, creds(), p).size(), 2u);

    sigv4::credentials with_token = creds();
    with_token.session_token = core::secret("token");
    req = get_request();
    req.headers.emplace_back("X-Amz-Security-Token", "token");
    expect_invalid_argument([&] { signer.sign_headers(req, with_token, params()); });
}

TEST(Signer, RejectsAnEmptyPayloadHash) {
    sigv4::signer signer;
    auto req = get_request();
    req.payload_hash.clear();
    expect_invalid_argument([&] { signer.sign_headers(req, creds(), params()); });
    expect_invalid_argument([&] { signer.presign_query(req, creds(), params(), 60s); });
}

TEST(Presign, ExpiryIsOneSecondToSevenDays) {
    sigv4::signer signer;
    const auto req = get_request();
    expect_invalid_argument([&] { signer.presign_query(req, creds(), params(), 0s); });
    expect_invalid_argument([&] { signer.presign_query(req, creds(), params(), 604801s); });
    EXPECT_NO_THROW(signer.presign_query(req, creds(), params(), 1s));
    EXPECT_NO_THROW(signer.presign_query(req, creds(), params(), 604800s));
}

TEST(Presign, KeepsTheCallersQueryFirstAndRejectsSigningParameters) {
    sigv4::signer signer;
    auto req = get_request();
    req.query = {{"versionId", "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"},
                 {"response-content-type", "application/json"}};
    const param_list q = signer.presign_query(req, creds(), params(), 300s);
    ASSERT_EQ(q.size(), 8u);
    EXPECT_EQ(q[0], req.query[0]);
    EXPECT_EQ(q[1], req.query[1]);
    EXPECT_EQ(q[2].first, "X-Amz-Algorithm");
    EXPECT_EQ(q[5], (std::pair<std::string, std::string>("X-Amz-Expires", "300")));
    EXPECT_EQ(q[7].first, "X-Amz-Signature");

    req.query.emplace_back("x-amz-signature", "forged");
    expect_invalid_argument([&] { signer.presign_query(req, creds(), params(), 300s); });
}

}  // namespace
