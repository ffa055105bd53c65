#include "tfsnap/config/load.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace tfsnap::config;

std::string dump(const load_result& r) {
    std::string out;
    for (const auto& d : r.diagnostics)
        out += format(d) + "\n";
    return out;
}

// yaml-cpp recurses once per level and stops itself at its DepthGuard (about 500 nested flow
// collections); the diagnostic says what happened, with the file and line, instead of "bad file".
TEST(ConfigLoad, DeepNestingIsADiagnosticNotACrash) {
    std::string maps;
    for (int i = 0; i < 100000; ++i)
        maps += "{a: ";
    for (const std::string& deep : {std::string(100000, '[') + std::string(100000, ']'), maps}) {
        const auto r =
            load_string("state_dir: /var/lib/tfsnap\nenvironments:\n  x: " + deep + "\n", "t.yaml");
        EXPECT_FALSE(r.ok());
        ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
        EXPECT_EQ(r.diagnostics[0].file, "t.yaml");
        EXPECT_EQ(r.diagnostics[0].line, 3);
        EXPECT_EQ(r.diagnostics[0].message, "the YAML nests too deeply to be read") << dump(r);
    }
}

TEST(ConfigLoad, ExampleFileIsValid) {
    const auto r = load_file(std::string(TFSNAP_SOURCE_DIR) + "/config/example.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& cfg = *r.config;
    EXPECT_EQ(cfg.state_dir, "/var/lib/tfsnap");
    EXPECT_EQ(cfg.max_concurrent_jobs, 8);
    EXPECT_EQ(cfg.worker_threads, 2);
    EXPECT_EQ(cfg.control.socket, "/run/tfsnap/control.sock");
    EXPECT_EQ(cfg.control.readers, std::vector<std::string>{"group:tfsnap"});
    EXPECT_EQ(cfg.control.operators, std::vector<std::string>{"group:tfsnap-admin"});
    ASSERT_EQ(cfg.environments.size(), 3u);

    const auto* myorg = cfg.find("myorg");
    ASSERT_NE(myorg, nullptr);
    EXPECT_EQ(myorg->bucket, "okta-terraform-demo");
    EXPECT_EQ(myorg->key, "Okta-GitOps/myorg/terraform.tfstate");
    EXPECT_EQ(myorg->lock_id(), "okta-terraform-demo/Okta-GitOps/myorg/terraform.tfstate");
    EXPECT_EQ(myorg->lock.dynamodb_table, "terraform-locks");
    EXPECT_FALSE(myorg->lock.lockfile);
    EXPECT_EQ(myorg->credentials.profile, "default");  // inherited
    ASSERT_EQ(myorg->schedules.size(), 2u);
    EXPECT_EQ(myorg->schedules[0].name, "daily");
    EXPECT_EQ(myorg->schedules[0].cron, "30 2 * * *");
    EXPECT_EQ(myorg->schedules[0].timezone, "UTC");
    EXPECT_EQ(myorg->schedules[0].jitter, duration{300});
    EXPECT_EQ(myorg->schedules[1].timezone, "Europe/Berlin");
    EXPECT_EQ(myorg->schedules[1].retention.keep_weekly, 12);  // schedule override
    EXPECT_EQ(myorg->schedules[1].retention.keep_daily, 7);    // from defaults
    EXPECT_EQ(myorg->copy.mode, copy_mode::server_side);
    EXPECT_EQ(myorg->copy.prefix, "myorg/");
    EXPECT_EQ(myorg->terraform_dir, "/srv/infra/myorg");

    const auto* staging = cfg.find("staging");
    ASSERT_NE(staging, nullptr);
    EXPECT_EQ(staging->region, "eu-central-1");
    EXPECT_TRUE(staging->lock.lockfile);
    EXPECT_EQ(staging->key, "env:/staging/platform/terraform.tfstate");
    EXPECT_FALSE(staging->lock.dynamodb_table.has_value());
    EXPECT_FALSE(staging->credentials.profile.has_value());  // replaced whole
    EXPECT_EQ(staging->credentials.role_arn, "arn:aws:iam::123456789012:role/tfsnap-backup");
    EXPECT_EQ(staging->retention.keep_last, 10);
    EXPECT_EQ(staging->retention.keep_monthly, 12);
    EXPECT_EQ(staging->schedules[1].missed, missed_policy::skip);
    EXPECT_EQ(staging->schedules[1].retention.keep_monthly, 6);
    EXPECT_EQ(staging->schedules[1].retention.keep_last, 10);
    EXPECT_EQ(staging->copy.mode, copy_mode::local);
}

TEST(ConfigLoad, MinimalEnvironmentGetsBuiltInDefaults) {
    const auto r = load_string(
        "environments:\n"
        "  prod:\n"
        "    bucket: tf-state\n"
        "    key: prod/terraform.tfstate\n",
        "min.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& e = r.config->environments.at(0);
    EXPECT_EQ(e.region, "us-east-1");
    EXPECT_FALSE(e.endpoint.has_value());
    EXPECT_FALSE(e.path_style);
    EXPECT_TRUE(e.schedules.empty());  // no cron anywhere: on demand only
    EXPECT_TRUE(e.retention.empty());
    EXPECT_EQ(e.copy.mode, copy_mode::none);
    EXPECT_EQ(r.config->state_dir, "/var/lib/tfsnap");
    EXPECT_EQ(r.config->control.socket, "/run/tfsnap/control.sock");
}

TEST(ConfigLoad, ControlLimits) {
    const auto r = load_string(
        "control:\n"
        "  max_connections: 64\n"
        "  max_connections_per_uid: 4\n"
        "  reserved_for_operators: 16\n"
        "  max_long_polls_per_uid: 2\n"
        "  name_cache_ttl: 10s\n"
        "environments:\n"
        "  prod: { bucket: tf-state, key: k }\n",
        "limits.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& c = r.config->control;
    EXPECT_EQ(c.max_connections, 64);
    EXPECT_EQ(c.max_connections_per_uid, 4);
    EXPECT_EQ(c.reserved_for_operators, 16);
    EXPECT_EQ(c.max_long_polls_per_uid, 2);
    EXPECT_EQ(c.name_cache_ttl, duration{10});

    // the defaults; and with a small total and no reservation given, a quarter of it is kept
    const auto d = load_string("environments:\n  prod: { bucket: tf-state, key: k }\n", "d.yaml");
    ASSERT_TRUE(d.ok()) << dump(d);
    EXPECT_EQ(d.config->control.max_connections, 32);
    EXPECT_EQ(d.config->control.max_connections_per_uid, 8);
    EXPECT_EQ(d.config->control.reserved_for_operators, 8);
    EXPECT_EQ(d.config->control.max_long_polls_per_uid, 4);
    EXPECT_EQ(d.config->control.name_cache_ttl, duration{30});
    const auto small = load_string(
        "control: { max_connections: 4 }\nenvironments:\n  prod: { bucket: tf-state, key: k }\n", "s.yaml");
    ASSERT_TRUE(small.ok()) << dump(small);
    EXPECT_EQ(small.config->control.reserved_for_operators, 1);
}

TEST(ConfigLoad, DefaultScheduleAppliesWithoutAList) {
    const auto r = load_string(
        "defaults:\n"
        "  endpoint: http://127.0.0.1:7480\n"
        "  path_style: true\n"
        "  ca_file: /etc/tfsnap/ca.pem\n"
        "  schedule: { cron: \"@daily\", timezone: Asia/Kathmandu, jitter: 1h30m, concurrency: replace }\n"
        "  lock: { dynamodb_table: locks }\n"
        "environments:\n"
        "  a: { bucket: tf-state, key: a.tfstate }\n"
        "  b: { bucket: tf-state, key: b.tfstate, schedules: [], lock: { lockfile: true } }\n",
        "d.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& a = r.config->environments.at(0);
    ASSERT_EQ(a.schedules.size(), 1u);
    EXPECT_EQ(a.schedules[0].name, "default");
    EXPECT_EQ(a.schedules[0].cron, "@daily");
    EXPECT_EQ(a.schedules[0].timezone, "Asia/Kathmandu");
    EXPECT_EQ(a.schedules[0].jitter, duration{5400});
    EXPECT_EQ(a.schedules[0].concurrency, concurrency_policy::replace);
    EXPECT_EQ(a.endpoint, "http://127.0.0.1:7480");
    EXPECT_TRUE(a.path_style);
    EXPECT_EQ(a.ca_file, "/etc/tfsnap/ca.pem");
    EXPECT_EQ(a.lock.dynamodb_table, "locks");
    const auto& b = r.config->environments.at(1);
    EXPECT_TRUE(b.schedules.empty());                 // an explicit empty list: on demand only
    EXPECT_FALSE(b.lock.dynamodb_table.has_value());  // its own lock section replaced the default
    EXPECT_TRUE(b.lock.lockfile);
}

TEST(ConfigLoad, EnvironmentsKeepFileOrder) {
    const auto r = load_string(
        "environments:\n"
        "  zulu: { bucket: tf-state, key: z }\n"
        "  alpha: { bucket: tf-state, key: a }\n"
        "  mike: { bucket: tf-state, key: m }\n",
        "o.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_EQ(r.config->environments.size(), 3u);
    EXPECT_EQ(r.config->environments[0].name, "zulu");
    EXPECT_EQ(r.config->environments[1].name, "alpha");
    EXPECT_EQ(r.config->environments[2].name, "mike");
    EXPECT_EQ(r.config->environments[1].where.line, 3);
}

TEST(ConfigLoad, UnreadableFileIsOneDiagnosticWithoutPosition) {
    const auto r = load_file("/nonexistent/tfsnapd.yaml");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(r.diagnostics[0].line, 0);
    EXPECT_EQ(r.error(), errc::unreadable);
    EXPECT_EQ(format(r.diagnostics[0]),
              "/nonexistent/tfsnapd.yaml: error: cannot read the file: No such file or directory; check the "
              "path and its permissions");
}

TEST(ConfigLoad, ErrorCodeCategory) {
    const boost::system::error_code ec = errc::invalid;
    EXPECT_STREQ(ec.category().name(), "tfsnap.config");
}

}  // namespace

namespace {

TEST(ConfigLoad, RetentionKeysMergeDefaultsEnvironmentSchedule) {
    const auto r = load_string(
        "defaults:\n"
        "  retention: { keep_hourly: 24, keep_within: 7d, min_keep: 3, restore_pin: 14d }\n"
        "environments:\n"
        "  prod:\n"
        "    bucket: tf-state\n"
        "    key: prod/terraform.tfstate\n"
        "    retention: { keep_within: 2w, min_keep: 5 }\n"
        "    schedules:\n"
        "      - { name: daily, cron: \"@daily\" }\n"
        "      - { name: hourly, cron: \"@hourly\", retention: { keep_hourly: 48, restore_pin: 0 } }\n",
        "merge.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& e = r.config->environments.at(0);
    EXPECT_EQ(e.retention.keep_hourly, 24);
    EXPECT_EQ(e.retention.keep_within, duration{std::chrono::days{14}});
    EXPECT_EQ(e.retention.min_keep, 5);
    EXPECT_EQ(e.retention.restore_pin, duration{std::chrono::days{14}});
    EXPECT_FALSE(e.retention.empty());
    EXPECT_EQ(e.schedules.at(0).retention, e.retention);
    const auto& hourly = e.schedules.at(1).retention;
    EXPECT_EQ(hourly.keep_hourly, 48);
    EXPECT_EQ(hourly.restore_pin, duration{0});
    EXPECT_EQ(hourly.min_keep, 5);
    EXPECT_EQ(hourly.keep_within, duration{std::chrono::days{14}});
}

TEST(ConfigLoad, MinKeepAndRestorePinAloneAreNoRetentionRule) {
    retention_policy p;
    p.min_keep = 3;
    p.restore_pin = duration{60};
    EXPECT_TRUE(p.empty());
    p.keep_within = duration{0};
    EXPECT_FALSE(p.empty());
}

TEST(ConfigLoad, SnapshotSettings) {
    const auto r = load_string(
        "catalog: { git: true, git_timeout: 1m }\n"
        "defaults:\n"
        "  always_snapshot: true\n"
        "  verify: { cron: \"0 5 * * mon\", timezone: Europe/Berlin }\n"
        "  schedule: { cron: \"0 2 * * *\", jitter: 5m }\n"
        "environments:\n"
        "  prod:\n"
        "    bucket: tf-state\n"
        "    key: prod/terraform.tfstate\n"
        "    copy: { mode: server-side, bucket: tf-archive, sse: aws:kms, kms_key_id: alias/tfsnap }\n"
        "  staging:\n"
        "    bucket: tf-state\n"
        "    key: staging/terraform.tfstate\n"
        "    always_snapshot: false\n"
        "    verify: false\n"
        "    copy: { mode: none, on_expiry: archive, bucket: tf-archive }\n"
        "  dev:\n"
        "    source: file\n"
        "    path: /srv/infra/dev/terraform.tfstate\n"
        "    verify: { cron: \"@daily\" }\n"
        "    copy: { mode: local, key_credential: tfsnap-copy-key }\n",
        "snap.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& cfg = *r.config;
    EXPECT_TRUE(cfg.catalog.git);
    EXPECT_EQ(cfg.catalog.git_timeout, std::chrono::minutes{1});

    const auto& prod = *cfg.find("prod");
    EXPECT_EQ(prod.source, source_kind::s3);
    EXPECT_TRUE(prod.always_snapshot);
    EXPECT_TRUE(prod.verify.enabled);
    EXPECT_EQ(prod.verify.cron, "0 5 * * mon");
    EXPECT_EQ(prod.verify.timezone, "Europe/Berlin");
    EXPECT_EQ(prod.verify.jitter, std::chrono::minutes{5});  // from defaults.schedule
    EXPECT_EQ(prod.copy.sse, "aws:kms");
    EXPECT_EQ(prod.copy.kms_key_id, "alias/tfsnap");
    EXPECT_EQ(prod.copy.prefix, "prod/");
    EXPECT_TRUE(prod.copy.archives());

    const auto& staging = *cfg.find("staging");
    EXPECT_FALSE(staging.always_snapshot);
    EXPECT_FALSE(staging.verify.enabled);
    EXPECT_EQ(staging.copy.on_expiry, expiry_action::archive);
    EXPECT_TRUE(staging.copy.archives());
    EXPECT_EQ(staging.copy.prefix, "staging/");

    const auto& dev = *cfg.find("dev");
    EXPECT_EQ(dev.source, source_kind::file);
    EXPECT_EQ(dev.path, "/srv/infra/dev/terraform.tfstate");
    EXPECT_TRUE(dev.bucket.empty());
    EXPECT_EQ(dev.verify.cron, "@daily");
    EXPECT_EQ(dev.verify.timezone, "Europe/Berlin");
    EXPECT_EQ(dev.copy.mode, copy_mode::local);
    EXPECT_EQ(dev.copy.key_credential, "tfsnap-copy-key");
    EXPECT_FALSE(dev.copy.archives());
}

TEST(ConfigLoad, VerifyIsWeeklyByDefault) {
    const auto r = load_string("environments:\n  prod:\n    bucket: tf-state\n    key: k\n", "v.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& e = r.config->environments.at(0);
    EXPECT_TRUE(e.verify.enabled);
    EXPECT_EQ(e.verify.cron, "0 4 * * sun");
    EXPECT_EQ(e.verify.timezone, "UTC");
    EXPECT_FALSE(e.always_snapshot);
    EXPECT_FALSE(r.config->catalog.git);
    EXPECT_EQ(r.config->shutdown_grace, std::chrono::seconds{30});
    EXPECT_EQ(r.config->job_retention, std::chrono::hours{24});
}

TEST(ConfigLoad, DaemonDurations) {
    const auto r = load_string(
        "shutdown_grace: 2m\njob_retention: 7d\nenvironments:\n  prod:\n    bucket: tf-state\n    key: k\n",
        "d.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->shutdown_grace, std::chrono::minutes{2});
    EXPECT_EQ(r.config->job_retention, std::chrono::days{7});
}

TEST(ConfigLoad, WorkspacesAndRestoreSettings) {
    const auto r = load_string(
        "defaults: { conditional_writes: true, terraform_bin: /usr/bin/tofu }\n"
        "environments:\n"
        "  prod:\n"
        "    bucket: tf-state\n"
        "    key: app/terraform.tfstate\n"
        "    workspace: staging\n"
        "    terraform_timeout: 10m\n"
        "  custom:\n"
        "    bucket: tf-state\n"
        "    key: app/terraform.tfstate\n"
        "    workspace: blue\n"
        "    workspace_key_prefix: workspaces\n"
        "    conditional_writes: false\n"
        "  plain:\n"
        "    bucket: tf-state\n"
        "    key: app/terraform.tfstate\n"
        "    workspace: default\n",
        "ws.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& prod = *r.config->find("prod");
    EXPECT_EQ(prod.key, "env:/staging/app/terraform.tfstate");
    EXPECT_EQ(prod.backend_key, "app/terraform.tfstate");
    EXPECT_EQ(prod.lock_id(), "tf-state/env:/staging/app/terraform.tfstate");
    EXPECT_TRUE(prod.conditional_writes);
    EXPECT_EQ(prod.terraform_bin, "/usr/bin/tofu");
    EXPECT_EQ(prod.terraform_timeout, std::chrono::minutes{10});
    const auto& custom = *r.config->find("custom");
    EXPECT_EQ(custom.key, "workspaces/blue/app/terraform.tfstate");
    EXPECT_FALSE(custom.conditional_writes);
    EXPECT_EQ(custom.terraform_timeout, std::chrono::minutes{30});
    EXPECT_EQ(r.config->find("plain")->key, "app/terraform.tfstate");
}

// AWS S3 honours If-Match / If-None-Match; radosgw 16 does not on versioned buckets. Without a
// setting, conditional writes follow the endpoint.
TEST(ConfigLoad, ConditionalWritesDefaultFromTheEndpoint) {
    const auto r = load_string(
        "environments:\n"
        "  aws:\n    bucket: tf-state\n    key: k\n"
        "  aws-fips:\n    bucket: tf-state\n    key: k\n    endpoint: "
        "https://s3-fips.us-east-1.amazonaws.com\n"
        "  rgw:\n    bucket: tf-state\n    key: k\n    endpoint: http://127.0.0.1:7480\n"
        "  rgw-on:\n    bucket: tf-state\n    key: k\n    endpoint: http://127.0.0.1:7480\n"
        "    conditional_writes: true\n"
        "  aws-off:\n    bucket: tf-state\n    key: k\n    conditional_writes: false\n",
        "cw.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(r.config->find("aws")->conditional_writes);
    EXPECT_TRUE(r.config->find("aws-fips")->conditional_writes);
    EXPECT_FALSE(r.config->find("rgw")->conditional_writes);
    EXPECT_TRUE(r.config->find("rgw-on")->conditional_writes);
    EXPECT_FALSE(r.config->find("aws-off")->conditional_writes);
}

TEST(ConfigLoad, BackendWriteSettings) {
    const auto r = load_string(
        "defaults: { encrypt: true, acl: bucket-owner-full-control }\n"
        "environments:\n"
        "  kms:\n    bucket: tf-state\n    key: k\n    kms_key_id: alias/terraform\n"
        "    skip_s3_checksum: true\n"
        "  plain:\n    bucket: tf-state\n    key: k\n    encrypt: false\n    acl: private\n",
        "w.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& kms = r.config->find("kms")->writes;
    EXPECT_TRUE(kms.encrypt);
    EXPECT_EQ(kms.kms_key_id, "alias/terraform");
    EXPECT_EQ(kms.acl, "bucket-owner-full-control");
    EXPECT_TRUE(kms.skip_s3_checksum);
    const auto& plain = r.config->find("plain")->writes;
    EXPECT_FALSE(plain.encrypt);
    EXPECT_EQ(plain.acl, "private");
    EXPECT_FALSE(plain.skip_s3_checksum);
}

}  // namespace
