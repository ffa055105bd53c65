// The lifecycle guard against radosgw with a short lifecycle day (run by lifecycle_guard.sh,
// which starts its own servers with `rgw lc debug interval`): a NoncurrentDays rule matches the
// state's key; once a version is noncurrent the guard records expires_at, warns for a snapshot
// without a copy, archives the snapshot of an environment with `copy.on_expiry: archive`, and
// after `radosgw-admin lc process` has deleted the version the archive still holds its bytes.
#include "backup_fixture.hpp"

#include "tfsnap/backup/verify_job.hpp"
#include "tfsnap/core/rfc3339.hpp"

#include <cstdlib>
#include <thread>

namespace {

using namespace tfsnap;
using namespace tfsnap::test;

class LifecycleGuard : public BackupFixture {
protected:
    // One `radosgw-admin lc process`, with a deadline (as the harness README describes).
    void lc_process() {
        const std::string conf = harness_.get("CEPH_CONF");
        ASSERT_FALSE(conf.empty()) << "the harness env file names no CEPH_CONF";
        const std::string cmd =
            "timeout 60 radosgw-admin -c '" + conf + "' --rgw-lc-max-wp-worker=1 lc process >/dev/null 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }

    bool version_exists(const std::string& key, const std::string& version) {
        const auto h = run(s3_->head_object(bucket_, key, version));
        return !h.ec;
    }

    static int lifecycle_day() {
        const char* d = std::getenv("TFSNAP_LC_DAY");
        return d != nullptr ? std::atoi(d) : 5;
    }
};

TEST_F(LifecycleGuard, WarnsAndArchivesBeforeTheVersionExpires) {
    const std::string rules =
        "<LifecycleConfiguration "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule><ID>expire-noncurrent</ID>"
        "<Filter><Prefix></Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration>"
        "<NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>";
    const auto put_rules = run(s3_->put_bucket_lifecycle(bucket_, rules));
    ASSERT_FALSE(put_rules.ec) << s3::describe(put_rules.ec, put_rules.info);
    const auto cfg =
        load("  prod:\n    bucket: " + bucket_ +
             "\n    key: prod/terraform.tfstate\n    copy: { mode: none, on_expiry: archive, bucket: " +
             archive_bucket_ + " }\n  dev:\n    bucket: " + bucket_ + "\n    key: dev/terraform.tfstate\n");
    const auto& prod = cfg.environments[0];
    const auto& dev = cfg.environments[1];

    const std::string p1 = state_json(1, "prod"), d1 = state_json(1, "dev");
    const auto pv1 = put(prod.key, p1);
    const auto dv1 = put(dev.key, d1);
    const auto prod_a = backup_of(prod);
    const auto dev_a = backup_of(dev);
    ASSERT_TRUE(prod_a.ok() && dev_a.ok()) << prod_a.message << " / " << dev_a.message;
    // current versions: a noncurrent rule does not touch them yet
    ASSERT_TRUE(prod_a.guard && prod_a.guard->rules_apply);
    EXPECT_EQ(prod_a.guard->at_risk, 0u);
    EXPECT_FALSE(manifest_of("prod", prod_a.snapshot_id).expires_at);

    put(prod.key, state_json(2, "prod"));
    put(dev.key, state_json(2, "dev"));
    const auto prod_b = backup_of(prod);
    const auto dev_b = backup_of(dev);
    ASSERT_TRUE(prod_b.ok() && dev_b.ok()) << prod_b.message << " / " << dev_b.message;

    // prod: the first snapshot's version is noncurrent and will expire: archived at once
    ASSERT_TRUE(prod_b.guard);
    EXPECT_EQ(prod_b.guard->archived, 1u);
    EXPECT_EQ(prod_b.guard->at_risk, 0u);
    const auto pm = manifest_of("prod", prod_a.snapshot_id);
    ASSERT_TRUE(pm.expires_at) << "no expires_at on the noncurrent version's snapshot";
    const auto expires = core::parse_rfc3339(*pm.expires_at);
    ASSERT_TRUE(expires);
    EXPECT_EQ(expires->time_since_epoch() % std::chrono::days{1}, std::chrono::seconds{0});  // midnight UTC
    ASSERT_TRUE(pm.copy);
    EXPECT_EQ(pm.copy->mode, "s3");
    EXPECT_EQ(pm.copy->bucket, archive_bucket_);
    EXPECT_FALSE(manifest_of("prod", prod_b.snapshot_id).expires_at);  // current: no date

    // dev: no copy configured: a warning, counted
    ASSERT_TRUE(dev_b.guard);
    EXPECT_EQ(dev_b.guard->at_risk, 1u);
    EXPECT_EQ(dev_b.guard->archived, 0u);
    EXPECT_TRUE(manifest_of("dev", dev_a.snapshot_id).expires_at);
    bool warned = false;
    for (const auto& r : log_sink_.records()) {
        for (const auto& f : r.fields)
            warned |= r.level == core::log_level::warning && f.key == "event" &&
                      f.value == "expiry-at-risk" && r.message.find(dev_a.snapshot_id) != std::string::npos;
    }
    EXPECT_TRUE(warned);

    // radosgw's lifecycle deletes the noncurrent versions once a (short) day has passed
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(lifecycle_day() * 6 + 30);
    bool gone = false;
    while (!gone && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        lc_process();
        gone = !version_exists(prod.key, pv1) && !version_exists(dev.key, dv1);
    }
    ASSERT_TRUE(gone) << "radosgw lifecycle did not delete the noncurrent versions in time";

    // prod: the version is gone, the archive copy holds its bytes, and verify says so
    const auto pv = run(backup::run_verify(*ctx_, prod, {s3_.get(), s3_.get(), nullptr, nullptr}));
    bool version_problem = false, copy_ok = false;
    for (const auto& f : pv.findings) {
        if (f.snapshot_id != prod_a.snapshot_id)
            continue;
        if (f.check == "version") {
            version_problem = !f.ok && f.detail.find("copy still holds the bytes") != std::string::npos;
        }
        if (f.check == "copy")
            copy_ok = f.ok;
    }
    EXPECT_TRUE(version_problem);
    EXPECT_TRUE(copy_ok);
    http::string_sink sink;
    const auto got = run(s3_->get_object(archive_bucket_, pm.copy->key, pm.copy->version_id, sink));
    ASSERT_FALSE(got.ec) << s3::describe(got.ec, got.info);
    EXPECT_EQ(sink.data(), p1);

    // dev: lost, and verify says there is no copy
    const auto dvr = run(backup::run_verify(*ctx_, dev, {s3_.get(), s3_.get(), nullptr, nullptr}));
    bool lost = false;
    for (const auto& f : dvr.findings)
        lost |= f.snapshot_id == dev_a.snapshot_id && !f.ok &&
                f.detail.find("there is no copy") != std::string::npos;
    EXPECT_TRUE(lost);
}

}  // namespace
