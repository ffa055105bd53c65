// The restore module's locks (DynamoDB item, S3 lockfile) and restore journal, against the
// harness's dynalite and radosgw. The locks a test plants are written byte for byte the way
// Terraform writes them (hashicorp/terraform internal/backend/remote-state/s3/client.go:
// lockWithDynamoDB, lockWithFile; LockInfo from internal/states/statemgr/locker.go).

#include "tfsnap/dynamodb/client.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/restore/journal.hpp"
#include "tfsnap/restore/locks.hpp"
#include "tfsnap/s3/client.hpp"

#include "tfsnap/crypto/hash.hpp"

#include "support/harness_env.hpp"
#include "support/loopback_http_server.hpp"
#include "support/run_sync.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace tfsnap::test {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using restore::lock_errc;

std::string unique(const std::string& prefix) {
    static std::mt19937_64 rng{std::random_device{}()};
    return prefix + "-" + std::to_string(rng() % 1000000000);
}

// Go's json.Marshal of a statemgr.LockInfo: fields in declaration order, Created as RFC 3339
// with nanoseconds. This is what `terraform apply` run by alice on ops-1 leaves in the table.
std::string terraform_lock_json(const std::string& path) {
    return R"({"ID":"3f1c2a8e-6d2b-4f7e-9a51-0c7d1e2b3a44","Operation":"OperationTypeApply","Info":"",)"
           R"("Who":"alice@ops-1","Version":"1.9.8","Created":"2026-11-22T10:15:30.123456789Z","Path":")" +
           path + R"("})";
}
constexpr const char* alice_id = "3f1c2a8e-6d2b-4f7e-9a51-0c7d1e2b3a44";

tfstate::lock_info our_info(const std::string& id) {
    tfstate::lock_info i;
    i.id = id;
    i.operation = "tfsnap-restore";
    i.info = "restore r1: roll back a bad apply";
    i.who = "tfsnapd@backup-1";
    i.version = "tfsnap";
    i.created = "2026-11-22T11:00:00.5Z";
    return i;
}

class LockFixture : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        auto env = load_harness_env(&why);
        ASSERT_TRUE(env) << why;
        harness_ = *env;
        http_ = std::make_unique<http::client>(io_.get_executor(), http::client_config{});
        auto creds = [key = harness_.access_key(),
                      secret = harness_.secret_key()]() -> asio::awaitable<http::credentials_lookup> {
            co_return http::credentials_lookup{{}, sigv4::credentials{key, core::secret(secret), {}}};
        };

        s3::client_config scfg;
        scfg.region = harness_.region().empty() ? "us-east-1" : harness_.region();
        scfg.endpoint = harness_.s3_endpoint();
        scfg.path_style = true;
        scfg.retry = {.max_attempts = 4, .base_delay = 10ms, .max_delay = 100ms};
        s3_ = std::make_unique<s3::client>(*http_, scfg, creds, clock_);
        bucket_ = unique("tfsnap-locks");
        ASSERT_FALSE(run(s3_->create_bucket(bucket_)).ec);
        ASSERT_FALSE(run(s3_->put_bucket_versioning(bucket_, true)).ec);

        dynamodb::client_config dcfg;
        dcfg.endpoint = harness_.dynamodb_endpoint();
        dcfg.retry = {.max_attempts = 4, .base_delay = 5ms, .max_delay = 50ms};
        db_ = std::make_unique<dynamodb::client>(*http_, dcfg, creds, clock_);
        table_ = unique("terraform-locks");
        const auto c = run(db_->create_table(table_, "LockID"));
        ASSERT_FALSE(c.ec) << dynamodb::describe(c.ec, c.info);
        for (int i = 0; i < 100 && run(db_->describe_table(table_)).status != "ACTIVE"; ++i)
            std::this_thread::sleep_for(20ms);

        state_dir_ = fs::temp_directory_path() / unique("tfsnap-restore-locks");
        fs::create_directories(state_dir_);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(state_dir_, ec);
    }

    template <class T>
    T run(asio::awaitable<T> a) {
        return run_sync(io_, std::move(a));
    }

    // --- DynamoDB helpers
    std::optional<dynamodb::item> item_of(const std::string& lock_id) {
        dynamodb::item key;
        key.emplace("LockID", dynamodb::attribute_value::string(lock_id));
        auto r = run(db_->get_item(table_, key, true, {}));
        EXPECT_FALSE(r.ec) << dynamodb::describe(r.ec, r.info);
        return r.found;
    }
    void put_item(const std::string& lock_id, const std::string& info) {
        dynamodb::item it;
        it.emplace("LockID", dynamodb::attribute_value::string(lock_id));
        it.emplace("Info", dynamodb::attribute_value::string(info));
        const auto r = run(db_->put_item(table_, it, {}));
        ASSERT_FALSE(r.ec) << dynamodb::describe(r.ec, r.info);
    }
    void delete_item(const std::string& lock_id) {
        dynamodb::item key;
        key.emplace("LockID", dynamodb::attribute_value::string(lock_id));
        const auto r = run(db_->delete_item(table_, key, {}));
        ASSERT_FALSE(r.ec) << dynamodb::describe(r.ec, r.info);
    }

    // --- S3 helpers
    std::string put_object(const std::string& key, const std::string& bytes) {
        const auto r = run(s3_->put_object(bucket_, key, http::body_source::memory(bytes)));
        EXPECT_FALSE(r.ec) << s3::describe(r.ec, r.info);
        return r.version_id;
    }
    // The current bytes, or nullopt when there is no current version.
    std::optional<std::string> get_object(const std::string& key) {
        http::string_sink sink;
        const auto r = run(s3_->get_object(bucket_, key, "", sink));
        if (r.ec == s3::errc::no_such_key || r.ec == s3::errc::delete_marker)
            return std::nullopt;
        EXPECT_FALSE(r.ec) << s3::describe(r.ec, r.info);
        return sink.take();
    }
    std::vector<s3::version_entry> versions_of(const std::string& key) {
        const auto r = run(s3_->list_object_versions(bucket_, key));
        EXPECT_FALSE(r.ec) << s3::describe(r.ec, r.info);
        std::vector<s3::version_entry> out;
        for (const auto& e : r.entries) {
            if (e.key == key)
                out.push_back(e);
        }
        return out;
    }

    harness_env harness_;
    asio::io_context io_;
    core::system_wall_clock clock_;
    std::unique_ptr<http::client> http_;
    std::unique_ptr<s3::client> s3_;
    std::unique_ptr<dynamodb::client> db_;
    std::string bucket_, table_;
    fs::path state_dir_;
};

// ============================================================================ DynamoDB

class DynamoLock : public LockFixture {
protected:
    std::string lock_id() const { return bucket_ + "/env/prod/terraform.tfstate"; }
    restore::dynamodb_lock lock() { return restore::dynamodb_lock(*db_, table_, lock_id()); }
};

TEST_F(DynamoLock, AcquireInspectRelease) {
    auto l = lock();
    const auto a = run(l.acquire(our_info("11111111-1111-4111-8111-111111111111")));
    ASSERT_TRUE(a.ok()) << a.message;
    EXPECT_TRUE(a.acquired);

    // the item is Terraform's shape: LockID and Info, Info's Path is the LockID
    const auto it = item_of(lock_id());
    ASSERT_TRUE(it);
    ASSERT_EQ(it->size(), 2u);
    const auto info = tfstate::parse_lock_info(it->at("Info").value, nullptr);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->id, "11111111-1111-4111-8111-111111111111");
    EXPECT_EQ(info->path, lock_id());
    EXPECT_EQ(info->operation, "tfsnap-restore");

    const auto i = run(l.inspect());
    ASSERT_TRUE(i.ok()) << i.message;
    ASSERT_TRUE(i.held_by);
    EXPECT_EQ(i.held_by->who, "tfsnapd@backup-1");

    const auto r = run(l.release("11111111-1111-4111-8111-111111111111"));
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_TRUE(r.released);
    EXPECT_FALSE(item_of(lock_id()));

    const auto after = run(l.inspect());
    EXPECT_TRUE(after.ok());
    EXPECT_FALSE(after.held_by);
}

TEST_F(DynamoLock, TerraformsLockIsRefusedAndLeftByteForByte) {
    const std::string json = terraform_lock_json(lock_id());
    put_item(lock_id(), json);
    const auto before = item_of(lock_id());
    ASSERT_TRUE(before);

    auto l = lock();
    const auto a = run(l.acquire(our_info("22222222-2222-4222-8222-222222222222")));
    EXPECT_EQ(a.ec, lock_errc::lock_held) << a.message;
    EXPECT_FALSE(a.acquired);
    ASSERT_TRUE(a.held_by);
    EXPECT_EQ(a.held_by->who, "alice@ops-1");
    EXPECT_EQ(a.held_by->operation, "OperationTypeApply");
    EXPECT_EQ(a.held_by->id, alice_id);
    EXPECT_NE(a.message.find("alice@ops-1"), std::string::npos) << a.message;

    const auto after = item_of(lock_id());
    ASSERT_TRUE(after);
    EXPECT_EQ(*after, *before);
    EXPECT_EQ(after->at("Info").value, json);

    const auto i = run(l.inspect());
    ASSERT_TRUE(i.held_by);
    EXPECT_EQ(i.held_by->who, "alice@ops-1");
}

TEST_F(DynamoLock, ReleaseWithAForeignIdIsRefused) {
    const std::string json = terraform_lock_json(lock_id());
    put_item(lock_id(), json);
    auto l = lock();
    const auto r = run(l.release("22222222-2222-4222-8222-222222222222"));
    EXPECT_EQ(r.ec, lock_errc::not_our_lock) << r.message;
    EXPECT_FALSE(r.released);
    ASSERT_TRUE(r.held_by);
    EXPECT_EQ(r.held_by->who, "alice@ops-1");
    const auto after = item_of(lock_id());
    ASSERT_TRUE(after);
    EXPECT_EQ(after->at("Info").value, json);
}

TEST_F(DynamoLock, ReleaseAfterTheItemVanishedIsOk) {
    auto l = lock();
    ASSERT_TRUE(run(l.acquire(our_info("33333333-3333-4333-8333-333333333333"))).acquired);
    delete_item(lock_id());  // e.g. a force-unlock
    const auto r = run(l.release("33333333-3333-4333-8333-333333333333"));
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_TRUE(r.already_released);
    EXPECT_FALSE(r.released);
}

TEST_F(DynamoLock, AcquiringAgainWithOurIdIsAcquired) {
    auto l = lock();
    ASSERT_TRUE(run(l.acquire(our_info("44444444-4444-4444-8444-444444444444"))).acquired);
    const auto again = run(l.acquire(our_info("44444444-4444-4444-8444-444444444444")));
    EXPECT_TRUE(again.ok()) << again.message;
    EXPECT_TRUE(again.acquired);
}

TEST_F(DynamoLock, ALockReplacedBetweenReadAndDeleteIsNotDeleted) {
    auto l = lock();
    ASSERT_TRUE(run(l.acquire(our_info("55555555-5555-4555-8555-555555555555"))).acquired);
    const std::string json = terraform_lock_json(lock_id());
    int calls = 0;
    // after release() read our item: someone force-unlocks and alice's apply takes the lock
    l.set_test_hooks({.before_delete = [&]() -> asio::awaitable<void> {
        if (calls++ > 0)
            co_return;
        std::string table = table_;
        dynamodb::item it;
        it.emplace("LockID", dynamodb::attribute_value::string(lock_id()));
        it.emplace("Info", dynamodb::attribute_value::string(json));
        dynamodb::expression none;
        const auto r = co_await db_->put_item(std::move(table), std::move(it), std::move(none));
        EXPECT_FALSE(r.ec);
    }});
    const auto r = run(l.release("55555555-5555-4555-8555-555555555555"));
    EXPECT_EQ(r.ec, lock_errc::not_our_lock) << r.message;
    ASSERT_TRUE(r.held_by);
    EXPECT_EQ(r.held_by->who, "alice@ops-1");
    const auto after = item_of(lock_id());
    ASSERT_TRUE(after);
    EXPECT_EQ(after->at("Info").value, json);
}

TEST_F(DynamoLock, AnUnreadableInfoIsRefusedWithoutQuotingIt) {
    const std::string garbage = "s3cr3t-not-json {";
    put_item(lock_id(), garbage);
    auto l = lock();
    const auto a = run(l.acquire(our_info("66666666-6666-4666-8666-666666666666")));
    EXPECT_EQ(a.ec, lock_errc::lock_corrupt) << a.message;
    EXPECT_EQ(a.message.find("s3cr3t"), std::string::npos) << a.message;
    EXPECT_NE(a.message.find(std::to_string(garbage.size()) + " bytes"), std::string::npos) << a.message;
    const auto r = run(l.release("66666666-6666-4666-8666-666666666666"));
    EXPECT_EQ(r.ec, lock_errc::lock_corrupt) << r.message;
    const auto after = item_of(lock_id());
    ASSERT_TRUE(after);
    EXPECT_EQ(after->at("Info").value, garbage);
}

TEST_F(DynamoLock, ALockInfoWithoutAnIdIsNotWritten) {
    auto l = lock();
    const auto a = run(l.acquire(our_info("")));
    EXPECT_EQ(a.ec, lock_errc::bad_lock_info);
    EXPECT_FALSE(item_of(lock_id()));
}

// ============================================================================ S3 lockfile

class S3Lockfile : public LockFixture {
protected:
    const std::string state_key_ = "env/prod/terraform.tfstate";
    const std::string lock_key_ = "env/prod/terraform.tfstate.tflock";
    std::string path() const { return bucket_ + "/" + state_key_; }
    // radosgw ignores If-None-Match on versioned buckets: configured as such
    restore::s3_lockfile lockfile() { return restore::s3_lockfile(*s3_, bucket_, state_key_, false); }
};

TEST_F(S3Lockfile, AcquireInspectRelease) {
    auto l = lockfile();
    EXPECT_EQ(l.key(), lock_key_);
    const auto a = run(l.acquire(our_info("11111111-1111-4111-8111-111111111111")));
    ASSERT_TRUE(a.ok()) << a.message;
    EXPECT_TRUE(a.acquired);
    EXPECT_TRUE(a.warnings.empty()) << a.warnings[0];

    const auto bytes = get_object(lock_key_);
    ASSERT_TRUE(bytes);
    const auto info = tfstate::parse_lock_info(*bytes, nullptr);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->id, "11111111-1111-4111-8111-111111111111");
    EXPECT_EQ(info->path, path());

    const auto i = run(l.inspect());
    ASSERT_TRUE(i.held_by);
    EXPECT_EQ(i.held_by->id, "11111111-1111-4111-8111-111111111111");

    const auto r = run(l.release("11111111-1111-4111-8111-111111111111"));
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_TRUE(r.released);
    EXPECT_FALSE(get_object(lock_key_));
    // as Terraform's unlockWithFile: a delete marker on top, the lockfile kept as history
    const auto v = versions_of(lock_key_);
    ASSERT_EQ(v.size(), 2u);
    EXPECT_TRUE(v[0].delete_marker);
    EXPECT_TRUE(v[0].is_latest);
    EXPECT_FALSE(v[1].delete_marker);

    const auto again = run(l.release("11111111-1111-4111-8111-111111111111"));
    EXPECT_TRUE(again.ok()) << again.message;
    EXPECT_TRUE(again.already_released);
    EXPECT_FALSE(run(l.inspect()).held_by);
}

TEST_F(S3Lockfile, TerraformsLockfileIsRefusedAndLeftByteForByte) {
    const std::string json = terraform_lock_json(path());
    put_object(lock_key_, json);
    auto l = lockfile();
    const auto a = run(l.acquire(our_info("22222222-2222-4222-8222-222222222222")));
    EXPECT_EQ(a.ec, lock_errc::lock_held) << a.message;
    EXPECT_FALSE(a.acquired);
    ASSERT_TRUE(a.held_by);
    EXPECT_EQ(a.held_by->who, "alice@ops-1");
    EXPECT_NE(a.message.find("alice@ops-1"), std::string::npos) << a.message;
    EXPECT_EQ(get_object(lock_key_), json);
    EXPECT_EQ(versions_of(lock_key_).size(), 1u);  // nothing written
}

TEST_F(S3Lockfile, ReleaseWithAForeignIdIsRefused) {
    const std::string json = terraform_lock_json(path());
    put_object(lock_key_, json);
    auto l = lockfile();
    const auto r = run(l.release("22222222-2222-4222-8222-222222222222"));
    EXPECT_EQ(r.ec, lock_errc::not_our_lock) << r.message;
    ASSERT_TRUE(r.held_by);
    EXPECT_EQ(r.held_by->who, "alice@ops-1");
    EXPECT_EQ(get_object(lock_key_), json);
    EXPECT_EQ(versions_of(lock_key_).size(), 1u);
}

TEST_F(S3Lockfile, ReleaseAfterTheLockfileVanishedIsOk) {
    auto l = lockfile();
    ASSERT_TRUE(run(l.acquire(our_info("33333333-3333-4333-8333-333333333333"))).acquired);
    ASSERT_FALSE(run(s3_->delete_object(bucket_, lock_key_)).ec);
    const auto r = run(l.release("33333333-3333-4333-8333-333333333333"));
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_TRUE(r.already_released);
}

TEST_F(S3Lockfile, AForeignLockfileWrittenRightAfterOursIsDetected) {
    const std::string json = terraform_lock_json(path());
    auto l = lockfile();
    l.set_test_hooks({.before_put = {}, .after_put = [&]() -> asio::awaitable<void> {
                          std::string bucket = bucket_;
                          std::string key = lock_key_;
                          auto body = http::body_source::memory(json);
                          const auto r = co_await s3_->put_object(std::move(bucket), std::move(key), body);
                          EXPECT_FALSE(r.ec);
                      }});
    const auto a = run(l.acquire(our_info("44444444-4444-4444-8444-444444444444")));
    EXPECT_EQ(a.ec, lock_errc::lock_held) << a.message;
    EXPECT_FALSE(a.acquired);
    ASSERT_TRUE(a.held_by);
    EXPECT_EQ(a.held_by->who, "alice@ops-1");
    EXPECT_EQ(get_object(lock_key_), json);  // theirs stays current
}

TEST_F(S3Lockfile, AForeignLockfileOurWriteCoveredIsMadeCurrentAgain) {
    // alice's lockfile lands between tfsnap's GET (nothing there) and its PUT; without
    // conditional writes tfsnap's PUT covers it.
    const std::string json = terraform_lock_json(path());
    auto l = lockfile();
    l.set_test_hooks({.before_put = [&]() -> asio::awaitable<void> {
                          std::string bucket = bucket_;
                          std::string key = lock_key_;
                          auto body = http::body_source::memory(json);
                          const auto r = co_await s3_->put_object(std::move(bucket), std::move(key), body);
                          EXPECT_FALSE(r.ec);
                      },
                      .after_put = {}});
    const auto a = run(l.acquire(our_info("55555555-5555-4555-8555-555555555555")));
    EXPECT_EQ(a.ec, lock_errc::lock_held) << a.message;
    EXPECT_FALSE(a.acquired);
    ASSERT_TRUE(a.held_by);
    EXPECT_EQ(a.held_by->who, "alice@ops-1");
    EXPECT_EQ(get_object(lock_key_), json);
    const auto v = versions_of(lock_key_);
    ASSERT_EQ(v.size(), 1u);  // ours deleted by version id, not covered by a marker
    EXPECT_FALSE(v[0].delete_marker);
}

TEST_F(S3Lockfile, ReleaseUncoversAForeignLockfileInsteadOfAddingAMarker) {
    const std::string json = terraform_lock_json(path());
    put_object(lock_key_, json);
    auto mine = our_info("66666666-6666-4666-8666-666666666666");
    mine.path = path();
    put_object(lock_key_, tfstate::to_json(mine));  // ours on top of alice's

    auto l = lockfile();
    const auto r = run(l.release("66666666-6666-4666-8666-666666666666"));
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_TRUE(r.released);
    ASSERT_TRUE(r.held_by);
    EXPECT_EQ(r.held_by->who, "alice@ops-1");
    EXPECT_EQ(get_object(lock_key_), json);
}

TEST_F(S3Lockfile, WithConditionalWritesA412MeansSomeoneElseWon) {
    // radosgw honours If-None-Match on a bucket without versioning (not on a versioned one)
    const std::string plain = unique("tfsnap-locks-plain");
    ASSERT_FALSE(run(s3_->create_bucket(plain)).ec);
    const std::string json = terraform_lock_json(plain + "/" + state_key_);
    restore::s3_lockfile l(*s3_, plain, state_key_, true);
    l.set_test_hooks({.before_put = [&]() -> asio::awaitable<void> {
                          std::string bucket = plain;
                          std::string key = lock_key_;
                          auto body = http::body_source::memory(json);
                          const auto r = co_await s3_->put_object(std::move(bucket), std::move(key), body);
                          EXPECT_FALSE(r.ec);
                      },
                      .after_put = {}});
    const auto a = run(l.acquire(our_info("12121212-1212-4121-8121-121212121212")));
    EXPECT_EQ(a.ec, lock_errc::lock_held) << a.message;
    EXPECT_FALSE(a.acquired);
    ASSERT_TRUE(a.held_by);
    EXPECT_EQ(a.held_by->who, "alice@ops-1");
    http::string_sink sink;
    const auto got = run(s3_->get_object(plain, lock_key_, "", sink));
    ASSERT_FALSE(got.ec) << s3::describe(got.ec, got.info);
    EXPECT_EQ(sink.data(), json);
}

// Terraform's lockWithFile sends the backend's encryption, ACL and x-amz-checksum-sha256 with the
// lockfile, and a bucket policy may require them. The request as it reaches the server, recorded.
TEST(S3LockfileWrites, TheLockfileIsWrittenAsTerraformWritesIt) {
    std::mutex m;
    std::optional<std::string> stored;
    test::loopback_http_server server([&](const test::recorded_request& r) -> test::canned_response {
        std::lock_guard g(m);
        if (r.method == "PUT") {
            stored = r.body;
            return {.status = 200, .headers = {{"x-amz-version-id", "v1"}, {"ETag", "\"e1\""}}};
        }
        if ((r.method == "GET" || r.method == "HEAD") && stored)
            return {.status = 200,
                    .headers = {{"x-amz-version-id", "v1"},
                                {"ETag", "\"e1\""},
                                {"Content-Type", "application/json"}},
                    .body = *stored};
        if (r.method == "DELETE") {
            stored.reset();
            return {.status = 204};
        }
        return {.status = 404,
                .headers = {{"Content-Type", "application/xml"}},
                .body = "<Error><Code>NoSuchKey</Code><Message>none</Message></Error>"};
    });
    asio::io_context io;
    core::system_wall_clock clock;
    http::client http(io.get_executor(), http::client_config{});
    s3::client_config cfg;
    cfg.endpoint = server.url();
    cfg.path_style = true;
    auto creds = []() -> asio::awaitable<http::credentials_lookup> {
        co_return http::credentials_lookup{{}, sigv4::credentials{"AKIDEXAMPLE", core::secret("secret"), {}}};
    };
    s3::client s3(http, cfg, creds, clock);
    s3::put_options writes;
    writes.sse = "aws:kms";
    writes.kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/k";
    writes.acl = "bucket-owner-full-control";
    writes.checksum_sha256 = true;
    writes.if_match = "\"must-not-be-sent\"";
    restore::s3_lockfile l(s3, "tf-state", "prod/terraform.tfstate", true, writes);
    const auto a = run_sync(io, l.acquire(our_info("13131313-1313-4131-8131-131313131313")));
    ASSERT_TRUE(a.acquired) << a.message;
    const auto requests = server.requests();
    const auto put =
        std::find_if(requests.begin(), requests.end(), [](const auto& r) { return r.method == "PUT"; });
    ASSERT_NE(put, requests.end());
    EXPECT_EQ(put->target, "/tf-state/prod/terraform.tfstate.tflock");
    EXPECT_EQ(put->header("content-type"), "application/json");
    EXPECT_EQ(put->header("if-none-match"), "*");
    EXPECT_EQ(put->header("if-match"), "");
    EXPECT_EQ(put->header("x-amz-server-side-encryption"), "aws:kms");
    EXPECT_EQ(put->header("x-amz-server-side-encryption-aws-kms-key-id"),
              "arn:aws:kms:us-east-1:111122223333:key/k");
    EXPECT_EQ(put->header("x-amz-acl"), "bucket-owner-full-control");
    std::string raw;
    ASSERT_TRUE(crypto::base64_decode(put->header("x-amz-checksum-sha256"), raw));
    EXPECT_EQ(crypto::to_hex(raw), crypto::sha256_hex(put->body));
    // every x-amz- header is signed
    EXPECT_NE(put->header("authorization").find("x-amz-acl"), std::string::npos)
        << put->header("authorization");
}

// radosgw (real S3 that verifies SigV4) accepts the lockfile written that way.
TEST_F(S3Lockfile, RadosgwAcceptsTheBackendsWriteHeaders) {
    s3::put_options writes;
    writes.sse = "AES256";
    writes.acl = "private";
    writes.checksum_sha256 = true;
    restore::s3_lockfile l(*s3_, bucket_, state_key_, false, writes);
    const auto a = run(l.acquire(our_info("14141414-1414-4141-8141-141414141414")));
    ASSERT_TRUE(a.acquired) << a.message;
    const auto r = run(l.release("14141414-1414-4141-8141-141414141414"));
    EXPECT_TRUE(r.released) << r.message;
}

TEST_F(S3Lockfile, AnUnreadableLockfileIsRefusedWithoutQuotingIt) {
    const std::string garbage = "s3cr3t-not-json {";
    put_object(lock_key_, garbage);
    auto l = lockfile();
    const auto a = run(l.acquire(our_info("77777777-7777-4777-8777-777777777777")));
    EXPECT_EQ(a.ec, lock_errc::lock_corrupt) << a.message;
    EXPECT_EQ(a.message.find("s3cr3t"), std::string::npos) << a.message;
    EXPECT_NE(a.message.find(std::to_string(garbage.size()) + " bytes"), std::string::npos) << a.message;
    const auto r = run(l.release("77777777-7777-4777-8777-777777777777"));
    EXPECT_EQ(r.ec, lock_errc::lock_corrupt) << r.message;
    EXPECT_EQ(get_object(lock_key_), garbage);
    EXPECT_EQ(versions_of(lock_key_).size(), 1u);
}

// ============================================================================ journal

class Journal : public LockFixture {
protected:
    restore::journal_entry entry(const std::string& id) {
        restore::journal_entry e;
        e.restore_id = id;
        e.environment = "prod";
        e.started_at = "2026-11-22T11:00:00Z";
        e.requested_by = "bob@ops-2";
        e.reason = "roll back a bad apply";
        e.step = "locking";
        return e;
    }
    fs::path dir() const { return restore::journal_dir(state_dir_); }
};

TEST_F(Journal, WriteScanUpdateRemove) {
    auto e = entry("r-20261122-110000-ab12");
    e.locks.push_back({"dynamodb", table_, bucket_ + "/k", "id-1"});
    e.locks.push_back({"s3-lockfile", bucket_, "k.tflock", "id-1"});
    ASSERT_FALSE(restore::write_journal(state_dir_, e)) << restore::write_journal(state_dir_, e).message();

    struct stat st {};
    ASSERT_EQ(::stat((dir() / "r-20261122-110000-ab12.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(dir().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    e.step = "locked";
    ASSERT_FALSE(restore::write_journal(state_dir_, e));
    auto s = restore::scan(state_dir_);
    ASSERT_TRUE(s.ok()) << s.message;
    ASSERT_EQ(s.journals.size(), 1u);
    EXPECT_TRUE(s.malformed.empty());
    EXPECT_TRUE(s.leftovers.empty());
    const auto& j = s.journals[0];
    EXPECT_EQ(j.restore_id, e.restore_id);
    EXPECT_EQ(j.step, "locked");
    EXPECT_EQ(j.reason, e.reason);
    ASSERT_EQ(j.locks.size(), 2u);
    EXPECT_EQ(j.locks[0].kind, "dynamodb");
    EXPECT_EQ(j.locks[0].table_or_bucket, table_);
    EXPECT_EQ(j.locks[1].lock_key, "k.tflock");
    EXPECT_EQ(j.locks[1].id, "id-1");

    ASSERT_FALSE(restore::remove_journal(state_dir_, e.restore_id));
    EXPECT_TRUE(restore::scan(state_dir_).journals.empty());
    EXPECT_FALSE(restore::remove_journal(state_dir_, e.restore_id));  // gone already: fine
}

TEST_F(Journal, NoJournalDirectoryIsAnEmptyScan) {
    const auto s = restore::scan(state_dir_);
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE(s.journals.empty());
}

TEST_F(Journal, RestoreIdsAreValidatedBeforeReachingAPath) {
    for (const std::string& bad :
         std::vector<std::string>{"", "../escape", "a/b", ".hidden", "-dash", "x y", std::string(129, 'a')}) {
        const auto w = restore::write_journal(state_dir_, entry(bad));
        EXPECT_EQ(w.ec, lock_errc::invalid_restore_id) << bad;
        EXPECT_EQ(restore::remove_journal(state_dir_, bad).ec, lock_errc::invalid_restore_id) << bad;
    }
    EXPECT_FALSE(fs::exists(state_dir_.parent_path() / "escape.json"));
    EXPECT_TRUE(restore::scan(state_dir_).journals.empty());
    EXPECT_TRUE(restore::valid_restore_id("r-20261122_110000.ab12"));
}

TEST_F(Journal, MalformedJournalsAreReportedAndKept) {
    ASSERT_FALSE(restore::write_journal(state_dir_, entry("good")));
    const auto write = [&](const std::string& name, const std::string& text) {
        std::ofstream(dir() / name) << text;
    };
    write("torn.json", R"({"restore_id": "torn", "environment": "pr)");
    write("renamed.json", restore::to_json(entry("other")));
    write("badlock.json", [&] {
        auto e = entry("badlock");
        e.locks.push_back({"s3-lockfile", bucket_, "not-a-lockfile-key", "id"});
        return restore::to_json(e);
    }());
    write("notes.txt", "hello");
    write(".good.json.tmp", "partial");

    const auto s = restore::scan(state_dir_);
    ASSERT_TRUE(s.ok()) << s.message;
    ASSERT_EQ(s.journals.size(), 1u);
    EXPECT_EQ(s.journals[0].restore_id, "good");
    ASSERT_EQ(s.malformed.size(), 4u);
    for (const auto& m : s.malformed)
        EXPECT_FALSE(m.reason.empty()) << m.path;
    EXPECT_EQ(s.malformed[0].path.filename(), "badlock.json");
    EXPECT_NE(s.malformed[0].reason.find(".tflock"), std::string::npos) << s.malformed[0].reason;
    EXPECT_NE(s.malformed[2].reason.find("restore_id does not match"), std::string::npos)
        << s.malformed[2].reason;
    ASSERT_EQ(s.leftovers.size(), 1u);
    // nothing deleted
    for (const char* f : {"torn.json", "renamed.json", "badlock.json", "notes.txt", ".good.json.tmp"})
        EXPECT_TRUE(fs::exists(dir() / f)) << f;
}

TEST_F(Journal, RecoverReleasesOurLocksAndLeavesForeignOnes) {
    const std::string our_id = "88888888-8888-4888-8888-888888888888";
    // ours, taken before the crash
    const std::string ours_dynamo = bucket_ + "/a/terraform.tfstate";
    restore::dynamodb_lock taken(*db_, table_, ours_dynamo);
    ASSERT_TRUE(run(taken.acquire(our_info(our_id))).acquired);
    restore::s3_lockfile taken_file(*s3_, bucket_, "a/terraform.tfstate", false);
    ASSERT_TRUE(run(taken_file.acquire(our_info(our_id))).acquired);
    // alice's, taken after tfsnap's lock was force-unlocked
    const std::string alice_key = "b/terraform.tfstate";
    const std::string alice_json = terraform_lock_json(bucket_ + "/" + alice_key);
    put_object(alice_key + ".tflock", alice_json);
    put_item(bucket_ + "/" + alice_key, alice_json);

    auto e = entry("r-crashed");
    e.step = "written";
    e.locks.push_back({"dynamodb", table_, ours_dynamo, our_id});
    e.locks.push_back({"s3-lockfile", bucket_, "a/terraform.tfstate.tflock", our_id});
    e.locks.push_back({"dynamodb", table_, bucket_ + "/" + alice_key, our_id});
    e.locks.push_back({"s3-lockfile", bucket_, alice_key + ".tflock", our_id});
    e.locks.push_back({"dynamodb", table_, bucket_ + "/never-taken", our_id});
    ASSERT_FALSE(restore::write_journal(state_dir_, e));

    const auto s = restore::scan(state_dir_);
    ASSERT_EQ(s.journals.size(), 1u);
    const auto o = run(restore::recover(state_dir_, s.journals[0], {db_.get(), s3_.get()}));
    EXPECT_TRUE(o.ok()) << o.message;
    EXPECT_EQ(o.restore_id, "r-crashed");
    EXPECT_EQ(o.released.size(), 2u) << o.message;
    EXPECT_EQ(o.already_gone.size(), 1u) << o.message;
    ASSERT_EQ(o.held_by_other.size(), 2u) << o.message;
    for (const auto& h : o.held_by_other) {
        ASSERT_TRUE(h.holder) << h.message;
        EXPECT_EQ(h.holder->who, "alice@ops-1");
    }
    EXPECT_TRUE(o.failed.empty());
    EXPECT_TRUE(o.journal_removed);
    EXPECT_NE(o.message.find("left alone"), std::string::npos) << o.message;

    EXPECT_FALSE(item_of(ours_dynamo));
    EXPECT_FALSE(get_object("a/terraform.tfstate.tflock"));
    const auto alice_item = item_of(bucket_ + "/" + alice_key);
    ASSERT_TRUE(alice_item);
    EXPECT_EQ(alice_item->at("Info").value, alice_json);
    EXPECT_EQ(get_object(alice_key + ".tflock"), alice_json);
    EXPECT_TRUE(restore::scan(state_dir_).journals.empty());
}

TEST_F(Journal, RecoverKeepsTheJournalWhenALockCannotBeReached) {
    const std::string our_id = "99999999-9999-4999-8999-999999999999";
    restore::dynamodb_lock taken(*db_, table_, bucket_ + "/c");
    ASSERT_TRUE(run(taken.acquire(our_info(our_id))).acquired);
    auto e = entry("r-partial");
    e.locks.push_back({"dynamodb", table_, bucket_ + "/c", our_id});
    e.locks.push_back({"s3-lockfile", bucket_, "c.tflock", our_id});
    ASSERT_FALSE(restore::write_journal(state_dir_, e));

    const auto o = run(restore::recover(state_dir_, e, {db_.get(), nullptr}));
    EXPECT_FALSE(o.ok());
    EXPECT_EQ(o.released.size(), 1u);
    ASSERT_EQ(o.failed.size(), 1u);
    EXPECT_EQ(o.failed[0].ec, lock_errc::no_client);
    EXPECT_FALSE(o.journal_removed);
    EXPECT_EQ(restore::scan(state_dir_).journals.size(), 1u);

    // the next attempt, with both clients: the DynamoDB lock is already gone, the lockfile never was
    const auto again = run(restore::recover(state_dir_, e, {db_.get(), s3_.get()}));
    EXPECT_TRUE(again.ok()) << again.message;
    EXPECT_EQ(again.already_gone.size(), 2u);
    EXPECT_TRUE(again.journal_removed);
}

}  // namespace
}  // namespace tfsnap::test
