// The Terraform lock table on dynalite (the harness's DynamoDB stand-in), and the client's
// handling of throttling and corrupted replies against a scripted loopback server.
#include "tfsnap/dynamodb/client.hpp"

#include "support/harness_env.hpp"
#include "support/loopback_http_server.hpp"
#include "support/run_sync.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/crc.hpp>

#include <random>
#include <thread>

namespace {

namespace asio = boost::asio;
using namespace tfsnap;
using namespace std::chrono_literals;
using dynamodb::attribute_value;
using dynamodb::errc;

class DynamoDb : public ::testing::Test {
protected:
    std::unique_ptr<dynamodb::client> client(const std::string& endpoint) {
        https_.push_back(std::make_unique<http::client>(io_.get_executor(), http::client_config{}));
        dynamodb::client_config cfg;
        cfg.endpoint = endpoint;
        cfg.retry = {.max_attempts = 4, .base_delay = 5ms, .max_delay = 50ms};
        auto creds = []() -> asio::awaitable<http::credentials_lookup> {
            co_return http::credentials_lookup{{},
                                               sigv4::credentials{"AKIDTEST", core::secret("secret"), {}}};
        };
        return std::make_unique<dynamodb::client>(*https_.back(), cfg, creds, clock_);
    }
    template <class T>
    T run(asio::awaitable<T> a) {
        return test::run_sync(io_, std::move(a));
    }
    static std::string unique(const std::string& prefix) {
        static std::mt19937_64 rng{std::random_device{}()};
        return prefix + "-" + std::to_string(rng() % 1000000000);
    }

    asio::io_context io_;
    core::system_wall_clock clock_;
    std::vector<std::unique_ptr<http::client>> https_;
};

class Dynalite : public DynamoDb {
protected:
    void SetUp() override {
        std::string why;
        auto env = test::load_harness_env(&why);
        ASSERT_TRUE(env) << why;
        db_ = client(env->dynamodb_endpoint());
        table_ = unique("terraform-locks");
        const auto c = run(db_->create_table(table_, "LockID"));
        ASSERT_FALSE(c.ec) << dynamodb::describe(c.ec, c.info);
        for (int i = 0; i < 100; ++i) {
            if (run(db_->describe_table(table_)).status == "ACTIVE")
                return;
            std::this_thread::sleep_for(20ms);
        }
        FAIL() << "table " << table_ << " never became ACTIVE";
    }
    std::unique_ptr<dynamodb::client> db_;
    std::string table_;
    const std::string lock_id_ = "tfstate-bucket/env/prod/terraform.tfstate";
};

// The LockInfo JSON Terraform writes (internal/states/statemgr/locker.go: LockInfo).
std::string lock_info(const std::string& id, const std::string& operation, const std::string& who) {
    return R"({"ID":")" + id + R"(","Operation":")" + operation + R"(","Info":"","Who":")" + who +
           R"(","Version":"1.9.8","Created":"2026-11-22T02:00:00.000000Z","Path":"tfstate-bucket/env/prod/terraform.tfstate"})";
}

TEST_F(Dynalite, DescribeShowsTheHashKey) {
    const auto d = run(db_->describe_table(table_));
    ASSERT_FALSE(d.ec);
    EXPECT_EQ(d.hash_key, "LockID");
    EXPECT_EQ(run(db_->create_table(table_, "LockID")).ec, errc::resource_in_use);
}

TEST_F(Dynalite, ConditionalLockIsExclusive) {
    const dynamodb::expression not_held{.text = "attribute_not_exists(LockID)"};
    const auto mine = lock_info("5f1c7e0a-0000-4000-8000-000000000001", "tfsnap-restore", "ops@host");
    const auto first = run(db_->put_item(
        table_, {{"LockID", attribute_value::string(lock_id_)}, {"Info", attribute_value::string(mine)}},
        not_held));
    ASSERT_FALSE(first.ec) << dynamodb::describe(first.ec, first.info);

    const auto theirs = lock_info("0c0c0c0c-0000-4000-8000-000000000002", "OperationTypeApply", "ci@runner");
    const auto second = run(db_->put_item(
        table_, {{"LockID", attribute_value::string(lock_id_)}, {"Info", attribute_value::string(theirs)}},
        not_held));
    EXPECT_EQ(second.ec, errc::conditional_check_failed);
    EXPECT_EQ(second.info.type, "ConditionalCheckFailedException");

    // a consistent read shows the first writer's lock, with only the projected attribute
    const auto got =
        run(db_->get_item(table_, {{"LockID", attribute_value::string(lock_id_)}}, true, {"Info"}));
    ASSERT_FALSE(got.ec) << dynamodb::describe(got.ec, got.info);
    ASSERT_TRUE(got.found);
    EXPECT_EQ(got.found->size(), 1u);
    EXPECT_EQ(got.found->at("Info").value, mine);
}

TEST_F(Dynalite, ReleaseOnlyWhenTheLockIsOurs) {
    const auto mine = lock_info("ours", "tfsnap-restore", "ops@host");
    ASSERT_FALSE(run(db_->put_item(table_,
                                   {{"LockID", attribute_value::string(lock_id_)},
                                    {"Info", attribute_value::string(mine)}},
                                   {.text = "attribute_not_exists(LockID)"}))
                     .ec);
    const auto wrong =
        run(db_->delete_item(table_, {{"LockID", attribute_value::string(lock_id_)}},
                             {.text = "#i = :info",
                              .names = {{"#i", "Info"}},
                              .values = {{":info", attribute_value::string("someone else's")}}}));
    EXPECT_EQ(wrong.ec, errc::conditional_check_failed);
    const auto right = run(db_->delete_item(table_, {{"LockID", attribute_value::string(lock_id_)}},
                                            {.text = "#i = :info",
                                             .names = {{"#i", "Info"}},
                                             .values = {{":info", attribute_value::string(mine)}}}));
    ASSERT_FALSE(right.ec) << dynamodb::describe(right.ec, right.info);
    const auto gone = run(db_->get_item(table_, {{"LockID", attribute_value::string(lock_id_)}}, true, {}));
    ASSERT_FALSE(gone.ec);
    EXPECT_FALSE(gone.found);
}

TEST_F(Dynalite, DigestItemIsSetAndOverwritten) {
    const auto key = dynamodb::item{{"LockID", attribute_value::string(lock_id_ + "-md5")}};
    for (const char* digest : {"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"}) {
        const auto u = run(db_->update_item(table_, key,
                                            {.text = "SET #d = :d",
                                             .names = {{"#d", "Digest"}},
                                             .values = {{":d", attribute_value::string(digest)}}},
                                            {}));
        ASSERT_FALSE(u.ec) << dynamodb::describe(u.ec, u.info);
        const auto got = run(db_->get_item(table_, key, true, {}));
        ASSERT_TRUE(got.found);
        EXPECT_EQ(got.found->at("Digest").value, digest);
    }
}

TEST_F(Dynalite, MissingTableIsResourceNotFound) {
    const auto r =
        run(db_->get_item(unique("no-such-table"), {{"LockID", attribute_value::string("x")}}, true, {}));
    EXPECT_EQ(r.ec, errc::resource_not_found) << dynamodb::describe(r.ec, r.info);
}

// ------------------------------------------------------------ scripted replies

std::string crc_of(const std::string& body) {
    boost::crc_32_type c;
    c.process_bytes(body.data(), body.size());
    return std::to_string(c.checksum());
}

TEST_F(DynamoDb, ThrottlingIsRetriedEvenForAConditionalWrite) {
    int calls = 0;
    test::loopback_http_server server([&](const test::recorded_request& r) {
        EXPECT_EQ(r.header("x-amz-target"), "DynamoDB_20120810.PutItem");
        EXPECT_EQ(r.header("content-type"), "application/x-amz-json-1.0");
        EXPECT_NE(r.header("authorization").find("/dynamodb/aws4_request"), std::string::npos);
        if (++calls < 3) {
            const std::string body =
                R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow"})";
            return test::canned_response{
                .status = 400, .headers = {{"x-amz-crc32", crc_of(body)}}, .body = body};
        }
        return test::canned_response{.headers = {{"x-amz-crc32", crc_of("{}")}}, .body = "{}"};
    });
    auto db = client(server.url());
    const auto r = run(db->put_item("locks", {{"LockID", attribute_value::string("k")}},
                                    {.text = "attribute_not_exists(LockID)"}));
    EXPECT_FALSE(r.ec) << dynamodb::describe(r.ec, r.info);
    EXPECT_EQ(calls, 3);
}

TEST_F(DynamoDb, ConditionalWriteIsNotRetriedAfterAServerError) {
    int calls = 0;
    test::loopback_http_server server([&](const test::recorded_request&) {
        ++calls;
        return test::canned_response{.status = 500, .body = R"({"__type":"InternalServerError"})"};
    });
    auto db = client(server.url());
    const auto r = run(db->put_item("locks", {{"LockID", attribute_value::string("k")}},
                                    {.text = "attribute_not_exists(LockID)"}));
    EXPECT_EQ(r.ec, errc::internal_error);
    EXPECT_EQ(calls, 1) << "the write may have happened: a retry could fail on its own success";
}

TEST_F(DynamoDb, CorruptedReplyIsDetectedByItsCrc) {
    int calls = 0;
    test::loopback_http_server server([&](const test::recorded_request&) {
        const std::string body = R"({"Item":{"LockID":{"S":"k"}}})";
        // the first reply arrives with a checksum of other bytes
        const std::string crc = ++calls == 1 ? crc_of("different bytes") : crc_of(body);
        return test::canned_response{.headers = {{"x-amz-crc32", crc}}, .body = body};
    });
    auto db = client(server.url());
    const auto r = run(db->get_item("locks", {{"LockID", attribute_value::string("k")}}, true, {}));
    ASSERT_FALSE(r.ec) << dynamodb::describe(r.ec, r.info);
    EXPECT_EQ(calls, 2);
    ASSERT_TRUE(r.found);
}

}  // namespace
