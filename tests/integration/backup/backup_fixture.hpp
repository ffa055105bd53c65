#pragma once
// The fixture of the backup-job integration tests: a versioned state bucket and an archive
// bucket on the harness's radosgw, a fresh catalog, a job context, and helpers.

#include "tfsnap/backup/backup_job.hpp"
#include "tfsnap/config/load.hpp"
#include "tfsnap/crypto/sealed_file.hpp"
#include "tfsnap/dynamodb/client.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/s3/client.hpp"

#include "support/harness_env.hpp"
#include "support/run_sync.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace tfsnap::test {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline std::string state_json(int serial, const std::string& lineage, int resources = 2) {
    std::ostringstream o;
    o << R"({"version":4,"terraform_version":"1.9.8","serial":)" << serial << R"(,"lineage":")" << lineage
      << R"(","outputs":{"vpc_id":{"value":"vpc-1","type":"string"}},"resources":[)";
    for (int i = 0; i < resources; ++i) {
        o << (i ? "," : "") << R"({"mode":"managed","type":"aws_s3_bucket","name":"b)" << i
          << R"(","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{"schema_version":0,"attributes":{"id":"b)"
          << i << R"("}}]})";
    }
    o << "]}";
    return o.str();
}

inline std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream o;
    o << in.rdbuf();
    return o.str();
}

class BackupFixture : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        auto env = test::load_harness_env(&why);
        ASSERT_TRUE(env) << why;
        harness_ = *env;
        bucket_ = unique("tfsnap-bk");
        archive_bucket_ = unique("tfsnap-arch");
        work_ = fs::temp_directory_path() / unique("tfsnap-backup-test");
        fs::create_directories(work_);
        http_ = std::make_unique<http::client>(io_.get_executor(), http::client_config{});
        s3_ = make_s3();
        ASSERT_FALSE(run(s3_->create_bucket(bucket_)).ec);
        ASSERT_FALSE(run(s3_->put_bucket_versioning(bucket_, true)).ec);
        ASSERT_FALSE(run(s3_->create_bucket(archive_bucket_)).ec);
        ASSERT_FALSE(run(s3_->put_bucket_versioning(archive_bucket_, true)).ec);
        catalog_ = std::make_unique<catalog::catalog>(work_ / "state");
        ASSERT_FALSE(catalog_->open());
        ctx_.emplace(backup::job_context{*catalog_,
                                         clock_,
                                         core::logger(log_sink_, core::log_level::debug),
                                         buckets_,
                                         "tfsnapd@test",
                                         "0.1.0-test",
                                         std::nullopt,
                                         {}});
    }
    void TearDown() override { fs::remove_all(work_); }

    static std::string unique(const std::string& prefix) {
        static std::mt19937_64 rng{std::random_device{}()};
        return prefix + "-" + std::to_string(rng() % 1000000000);
    }

    std::unique_ptr<s3::client> make_s3() {
        s3::client_config cfg;
        cfg.region = harness_.region().empty() ? "us-east-1" : harness_.region();
        cfg.endpoint = harness_.s3_endpoint();
        cfg.path_style = true;
        cfg.retry = {.max_attempts = 4, .base_delay = 10ms, .max_delay = 100ms};
        auto creds = [key = harness_.access_key(),
                      secret = harness_.secret_key()]() -> asio::awaitable<s3::credentials_lookup> {
            co_return s3::credentials_lookup{{}, sigv4::credentials{key, core::secret(secret), {}}};
        };
        return std::make_unique<s3::client>(*http_, cfg, creds, clock_);
    }

    template <class T>
    T run(asio::awaitable<T> a) {
        return test::run_sync(io_, std::move(a));
    }

    // A configuration with `envs_yaml` under environments:, endpoints filled in.
    config::daemon_config load(const std::string& envs_yaml, const std::string& defaults_extra = {}) {
        const std::string yaml = "state_dir: " + (work_ / "state").string() +
                                 "\n"
                                 "defaults:\n"
                                 "  endpoint: " +
                                 harness_.s3_endpoint() +
                                 "\n"
                                 "  path_style: true\n" +
                                 defaults_extra + "environments:\n" + envs_yaml;
        auto r = config::load_string(yaml, "test.yaml");
        std::string problems;
        for (const auto& d : r.diagnostics)
            problems += config::format(d) + "\n";
        EXPECT_TRUE(r.ok()) << problems << yaml;
        return r.config.value_or(config::daemon_config{});
    }

    std::string put(const std::string& key, const std::string& bytes) {
        const auto r = run(s3_->put_object(bucket_, key, http::body_source::memory(bytes)));
        EXPECT_FALSE(r.ec) << s3::describe(r.ec, r.info);
        return r.version_id;
    }

    backup::backup_outcome backup_of(const config::environment& env, backup::backup_request req = {}) {
        backup::environment_access access;
        if (env.source == config::source_kind::s3) {
            access.s3 = s3_.get();
            access.archive = s3_.get();
        }
        if (key_)
            access.copy_key = &*key_;
        return run(backup::run_backup(*ctx_, env, access, std::move(req)));
    }

    // A DynamoDB client on the harness's dynalite, and a fresh lock table (hash key LockID, as
    // Terraform's documentation creates it), ACTIVE.
    void make_lock_table() {
        dynamodb::client_config cfg;
        cfg.endpoint = harness_.dynamodb_endpoint();
        cfg.retry = {.max_attempts = 4, .base_delay = 5ms, .max_delay = 50ms};
        auto creds = [key = harness_.access_key(),
                      secret = harness_.secret_key()]() -> asio::awaitable<http::credentials_lookup> {
            co_return http::credentials_lookup{{}, sigv4::credentials{key, core::secret(secret), {}}};
        };
        db_ = std::make_unique<dynamodb::client>(*http_, cfg, creds, clock_);
        table_ = unique("terraform-locks");
        const auto c = run(db_->create_table(table_, "LockID"));
        ASSERT_FALSE(c.ec) << dynamodb::describe(c.ec, c.info);
        for (int i = 0; i < 100 && run(db_->describe_table(table_)).status != "ACTIVE"; ++i)
            std::this_thread::sleep_for(20ms);
    }

    std::vector<catalog::index_entry> list(const std::string& env) {
        std::vector<catalog::index_entry> out;
        EXPECT_FALSE(catalog_->list(env, out));
        return out;
    }

    manifest::manifest manifest_of(const std::string& env, const std::string& id) {
        manifest::manifest m;
        const auto s = catalog_->read_manifest(env, id, m);
        EXPECT_FALSE(s) << s.info.message;
        return m;
    }

    test::harness_env harness_;
    asio::io_context io_;
    core::system_wall_clock clock_;
    std::unique_ptr<http::client> http_;
    std::unique_ptr<s3::client> s3_;
    std::string bucket_, archive_bucket_;
    fs::path work_;
    std::unique_ptr<catalog::catalog> catalog_;
    core::memory_sink log_sink_;
    backup::bucket_cache buckets_;
    std::optional<crypto::sealing_key> key_;
    std::unique_ptr<dynamodb::client> db_;  // make_lock_table()
    std::string table_;
    std::optional<backup::job_context> ctx_;  // after catalog_ exists (SetUp)
};

}  // namespace tfsnap::test
