// The backup job against the real radosgw the harness started: full flow for several
// environments, unchanged detection, both copy modes, a deleted state, an unversioned bucket,
// a local-state environment, pruning after a backup.
#include "backup_fixture.hpp"

#include "tfsnap/backup/records.hpp"
#include "tfsnap/backup/verify_job.hpp"
#include "tfsnap/catalog_git/recorder.hpp"
#include "tfsnap/crypto/hash.hpp"

#include <sys/stat.h>

#include <cctype>
#include <thread>

namespace {

using namespace tfsnap;
using namespace tfsnap::test;

class Backup : public BackupFixture {};

TEST_F(Backup, ThreeEnvironmentsSnapshotThenOnlyTheChangedOne) {
    const auto cfg = load("  prod:\n    bucket: " + bucket_ + "\n    key: prod/terraform.tfstate\n" +
                          "  staging:\n    bucket: " + bucket_ + "\n    key: staging/terraform.tfstate\n" +
                          "  dev:\n    bucket: " + bucket_ + "\n    key: dev/terraform.tfstate\n");
    ASSERT_EQ(cfg.environments.size(), 3u);
    std::map<std::string, std::string> bytes, versions;
    int serial = 1;
    for (const auto& e : cfg.environments) {
        bytes[e.name] = state_json(serial++, "lineage-" + e.name, 3);
        versions[e.name] = put(e.key, bytes[e.name]);
    }
    for (const auto& e : cfg.environments) {
        const auto out = backup_of(e, {.schedule = "daily"});
        ASSERT_EQ(out.status, backup::backup_status::snapshot) << out.message;
        EXPECT_TRUE(out.ok()) << out.message;
        EXPECT_EQ(out.version_id, versions[e.name]);
        const auto m = manifest_of(e.name, out.snapshot_id);
        EXPECT_EQ(m.environment, e.name);
        EXPECT_EQ(m.schedule, "daily");
        EXPECT_EQ(m.created_by, "tfsnapd@test");
        EXPECT_EQ(m.tfsnap_version, "0.1.0-test");
        EXPECT_EQ(m.terraform_state.source, "s3");
        EXPECT_EQ(m.terraform_state.bucket, bucket_);
        EXPECT_EQ(m.terraform_state.key, e.key);
        EXPECT_EQ(m.terraform_state.version_id, versions[e.name]);
        EXPECT_EQ(m.terraform_state.content_length, bytes[e.name].size());
        EXPECT_EQ(m.terraform_state.etag, "\"" + crypto::md5_hex(bytes[e.name]) + "\"");
        ASSERT_TRUE(m.checksums);
        EXPECT_EQ(m.checksums->md5, crypto::md5_hex(bytes[e.name]));
        EXPECT_EQ(m.checksums->sha256, crypto::sha256_hex(bytes[e.name]));
        ASSERT_TRUE(m.state);
        EXPECT_EQ(m.state->kind, manifest::state_kind::state);
        EXPECT_EQ(m.state->lineage, "lineage-" + e.name);
        EXPECT_EQ(m.state->terraform_version, "1.9.8");
        EXPECT_EQ(m.state->resource_count, 3u);
        EXPECT_FALSE(m.copy);
        // no scratch file is left behind
        for (const auto& f : fs::directory_iterator(catalog_->root() / e.name))
            EXPECT_NE(f.path().filename().string().rfind(".tmp-", 0), 0u) << f.path();
    }
    EXPECT_EQ(std::get<0>(std::tuple{serial}), 4);

    // only staging changes
    const auto v2 = put("staging/terraform.tfstate", state_json(10, "lineage-staging", 4));
    for (const auto& e : cfg.environments) {
        const auto out = backup_of(e, {.schedule = "daily"});
        if (e.name == "staging") {
            ASSERT_EQ(out.status, backup::backup_status::snapshot) << out.message;
            EXPECT_EQ(out.version_id, v2);
            EXPECT_EQ(manifest_of(e.name, out.snapshot_id).state->serial, 10u);
            EXPECT_EQ(list(e.name).size(), 2u);
        } else {
            ASSERT_EQ(out.status, backup::backup_status::unchanged) << out.message;
            EXPECT_EQ(list(e.name).size(), 1u);
        }
        std::string record;
        ASSERT_FALSE(catalog_->read_record(e.name, catalog::catalog::last_backup_record, record));
        backup::backup_check check;
        ASSERT_TRUE(backup::parse(record, check));
        EXPECT_EQ(check.result, e.name == "staging" ? "snapshot" : "unchanged");
        EXPECT_EQ(check.version_id, out.version_id);
    }
    // the catalog survives a restart: open() finds the same index
    catalog::catalog again(work_ / "state");
    int repaired = -1;
    ASSERT_FALSE(again.open(&repaired));
    EXPECT_EQ(repaired, 0);
    // versioning and lifecycle were each read once for the bucket, not once per job
    EXPECT_EQ(buckets_.reads(), 2u);
}

TEST_F(Backup, AlwaysSnapshotAndForcedSnapshotsOverrideUnchanged) {
    const auto cfg = load("  prod:\n    bucket: " + bucket_ +
                          "\n    key: p/terraform.tfstate\n    always_snapshot: true\n" +
                          "  dev:\n    bucket: " + bucket_ + "\n    key: d/terraform.tfstate\n");
    put("p/terraform.tfstate", state_json(1, "l"));
    put("d/terraform.tfstate", state_json(1, "l"));
    const auto& prod = cfg.environments[0];
    const auto& dev = cfg.environments[1];
    EXPECT_EQ(backup_of(prod).status, backup::backup_status::snapshot);
    EXPECT_EQ(backup_of(prod).status, backup::backup_status::snapshot);
    EXPECT_EQ(list("prod").size(), 2u);  // same second: the second id gets "-2"
    EXPECT_EQ(backup_of(dev).status, backup::backup_status::snapshot);
    EXPECT_EQ(backup_of(dev).status, backup::backup_status::unchanged);
    EXPECT_EQ(backup_of(dev, {.force_snapshot = true}).status, backup::backup_status::snapshot);
    EXPECT_EQ(list("dev").size(), 2u);
}

TEST_F(Backup, ServerSideCopyPinsTheExactVersionInTheArchive) {
    const auto cfg =
        load("  prod:\n    bucket: " + bucket_ +
             "\n    key: prod/terraform.tfstate\n    copy: { mode: server-side, bucket: " + archive_bucket_ +
             " }\n");
    const auto& env = cfg.environments[0];
    const std::string b1 = state_json(1, "l"), b2 = state_json(2, "l");
    put(env.key, b1);
    const auto out = backup_of(env);
    ASSERT_TRUE(out.ok()) << out.message;
    put(env.key, b2);  // a newer version must not leak into the archive of the first snapshot
    const auto m = manifest_of("prod", out.snapshot_id);
    ASSERT_TRUE(m.copy);
    EXPECT_EQ(m.copy->mode, "s3");
    EXPECT_EQ(m.copy->bucket, archive_bucket_);
    EXPECT_EQ(m.copy->key, "prod/" + out.snapshot_id + "/terraform.tfstate");
    EXPECT_FALSE(m.copy->version_id.empty());
    EXPECT_EQ(m.copy->sha256, crypto::sha256_hex(b1));
    http::string_sink sink;
    const auto got = run(s3_->get_object(archive_bucket_, m.copy->key, m.copy->version_id, sink));
    ASSERT_FALSE(got.ec) << s3::describe(got.ec, got.info);
    EXPECT_EQ(sink.data(), b1);
}

TEST_F(Backup, LocalCopyIsSealedAndOpensWithTheKey) {
    auto k = crypto::generate_key();
    ASSERT_TRUE(k.ok());
    key_ = std::move(*k.key);
    const auto cfg = load(
        "  prod:\n    bucket: " + bucket_ +
        "\n    key: prod/terraform.tfstate\n    copy: { mode: local, key_file: /etc/tfsnap/unused.key }\n");
    const auto& env = cfg.environments[0];
    const std::string bytes = state_json(7, "sealed");
    put(env.key, bytes);
    const auto out = backup_of(env);
    ASSERT_TRUE(out.ok()) << out.message;
    const auto m = manifest_of("prod", out.snapshot_id);
    ASSERT_TRUE(m.copy);
    EXPECT_EQ(m.copy->mode, "local");
    EXPECT_EQ(m.copy->path, "state.enc");
    const fs::path sealed = catalog_->root() / "prod" / out.snapshot_id / "state.enc";
    struct stat st {};
    ASSERT_EQ(::stat(sealed.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(crypto::sha256_hex(read_all(sealed)), m.copy->sha256);
    EXPECT_EQ(read_all(sealed).find("sealed"), std::string::npos);  // no plaintext on disk
    const auto opened = crypto::open_to_string(*key_, sealed, 1 << 20);
    ASSERT_TRUE(opened.ok()) << opened.error.message;
    EXPECT_EQ(opened.plaintext, bytes);
    EXPECT_FALSE(fs::exists(catalog_->root() / "prod" / out.snapshot_id / "state"));
}

TEST_F(Backup, DeletedStateIsAnEventAndKeepsEverySnapshot) {
    const auto cfg = load("  prod:\n    bucket: " + bucket_ + "\n    key: prod/terraform.tfstate\n" +
                          "    retention: { keep_last: 1 }\n");
    const auto& env = cfg.environments[0];
    put(env.key, state_json(1, "l"));
    ASSERT_TRUE(backup_of(env, {.force_snapshot = true}).ok());
    const auto del = run(s3_->delete_object(bucket_, env.key));
    ASSERT_FALSE(del.ec);
    const auto out = backup_of(env);
    EXPECT_EQ(out.status, backup::backup_status::state_deleted) << out.message;
    EXPECT_FALSE(out.ok());
    EXPECT_NE(out.message.find("delete marker"), std::string::npos) << out.message;
    EXPECT_NE(out.message.find("tfsnapd restore prod --undelete"), std::string::npos) << out.message;
    EXPECT_EQ(list("prod").size(), 1u);
    // logged loudly
    bool error_logged = false;
    for (const auto& r : log_sink_.records())
        error_logged |=
            r.level == core::log_level::error && r.message.find("STATE DELETED") != std::string::npos;
    EXPECT_TRUE(error_logged);
    std::vector<backup::state_event> events;
    ASSERT_FALSE(backup::read_events(*catalog_, "prod", events));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, "state-deleted");
    // a second run reports it again but records the same marker once
    EXPECT_EQ(backup_of(env).status, backup::backup_status::state_deleted);
    ASSERT_FALSE(backup::read_events(*catalog_, "prod", events));
    EXPECT_EQ(events.size(), 1u);
    std::string record;
    ASSERT_FALSE(catalog_->read_record("prod", catalog::catalog::last_backup_record, record));
    backup::backup_check check;
    ASSERT_TRUE(backup::parse(record, check));
    EXPECT_EQ(check.result, "state-deleted");
}

TEST_F(Backup, UnversionedBucketFailsWithHowToEnableIt) {
    const auto plain = unique("tfsnap-plain");
    ASSERT_FALSE(run(s3_->create_bucket(plain)).ec);
    const auto cfg = load("  prod:\n    bucket: " + plain + "\n    key: prod/terraform.tfstate\n");
    const auto r =
        run(s3_->put_object(plain, "prod/terraform.tfstate", http::body_source::memory(state_json(1, "l"))));
    ASSERT_FALSE(r.ec);
    const auto out = backup_of(cfg.environments[0]);
    EXPECT_EQ(out.status, backup::backup_status::failed);
    EXPECT_EQ(out.ec, s3::errc::not_versioned);
    EXPECT_NE(out.message.find("aws s3api put-bucket-versioning --bucket " + plain +
                               " --versioning-configuration Status=Enabled"),
              std::string::npos)
        << out.message;
    EXPECT_TRUE(list("prod").empty());
}

TEST_F(Backup, MissingStateSaysWhatToCheck) {
    const auto cfg = load("  prod:\n    bucket: " + bucket_ + "\n    key: nope/terraform.tfstate\n");
    const auto out = backup_of(cfg.environments[0]);
    EXPECT_EQ(out.status, backup::backup_status::failed);
    EXPECT_NE(out.message.find("does not exist and never did"), std::string::npos) << out.message;
}

TEST_F(Backup, OpaqueAndEncryptedStatesAreSnapshottedNotSummarised) {
    const auto cfg = load("  blob:\n    bucket: " + bucket_ + "\n    key: blob/terraform.tfstate\n" +
                          "  tofu:\n    bucket: " + bucket_ + "\n    key: tofu/terraform.tfstate\n" +
                          "  old:\n    bucket: " + bucket_ + "\n    key: old/terraform.tfstate\n");
    put("blob/terraform.tfstate", std::string("\x00\x01not json", 10));
    put("tofu/terraform.tfstate",
        R"({"serial":3,"lineage":"x","meta":{"key_provider.pbkdf2.k":"e30="},"encrypted_data":"AAAA","encryption_version":"v0"})");
    put("old/terraform.tfstate", R"({"version":3,"serial":1,"lineage":"x","modules":[]})");
    const auto blob = backup_of(cfg.environments[0]);
    ASSERT_TRUE(blob.ok()) << blob.message;
    EXPECT_EQ(manifest_of("blob", blob.snapshot_id).state->kind, manifest::state_kind::opaque);
    const auto tofu = backup_of(cfg.environments[1]);
    ASSERT_TRUE(tofu.ok()) << tofu.message;
    EXPECT_EQ(manifest_of("tofu", tofu.snapshot_id).state->kind, manifest::state_kind::encrypted);
    EXPECT_EQ(manifest_of("tofu", tofu.snapshot_id).state->encryption_version, "v0");
    EXPECT_TRUE(tofu.warnings.empty());
    EXPECT_TRUE(blob.warnings.empty());
    const auto old = backup_of(cfg.environments[2]);
    ASSERT_TRUE(old.ok()) << old.message;
    EXPECT_EQ(manifest_of("old", old.snapshot_id).state->kind, manifest::state_kind::opaque);
    ASSERT_EQ(old.warnings.size(), 1u);
    EXPECT_NE(old.warnings[0].find("3"), std::string::npos) << old.warnings[0];
}

// A state of 100,000 nested arrays (200 KB) overflowed the stack of the summary's recursive
// parser and killed the daemon. It is snapshotted now, as opaque, with a warning that says why:
// its bytes are protected like any other state's.
TEST_F(Backup, StateTooDeepToReadIsSnapshottedAsOpaqueWithAWarning) {
    const auto cfg = load("  deep:\n    bucket: " + bucket_ + "\n    key: deep/terraform.tfstate\n");
    const std::string bytes = R"({"version":4,"serial":7,"lineage":"l","resources":[],"x":)" +
                              std::string(100000, '[') + std::string(100000, ']') + "}";
    const auto version = put("deep/terraform.tfstate", bytes);
    const auto out = backup_of(cfg.environments[0]);
    ASSERT_TRUE(out.ok()) << out.message;
    const auto m = manifest_of("deep", out.snapshot_id);
    ASSERT_TRUE(m.state);
    EXPECT_EQ(m.state->kind, manifest::state_kind::opaque);
    EXPECT_FALSE(m.state->serial);
    EXPECT_EQ(m.terraform_state.version_id, version);
    EXPECT_EQ(m.terraform_state.content_length, bytes.size());
    ASSERT_TRUE(m.checksums);
    EXPECT_EQ(m.checksums->sha256, crypto::sha256_hex(bytes));
    ASSERT_EQ(out.warnings.size(), 1u);
    EXPECT_NE(out.warnings[0].find("nests deeper than 10000 levels"), std::string::npos) << out.warnings[0];
    EXPECT_NE(out.warnings[0].find("snapshotted as an opaque blob"), std::string::npos) << out.warnings[0];
}

TEST_F(Backup, LocalStateEnvironmentCopiesTheFile) {
    const fs::path file = work_ / "infra" / "terraform.tfstate";
    fs::create_directories(file.parent_path());
    const std::string b1 = state_json(1, "local"), b2 = state_json(2, "local");
    std::ofstream(file, std::ios::binary) << b1;
    const auto cfg = load("  dev:\n    source: file\n    path: " + file.string() + "\n");
    const auto& env = cfg.environments[0];
    const auto out = backup_of(env);
    ASSERT_TRUE(out.ok()) << out.message;
    const auto m = manifest_of("dev", out.snapshot_id);
    EXPECT_EQ(m.terraform_state.source, "file");
    EXPECT_EQ(m.terraform_state.key, file.string());
    EXPECT_EQ(m.checksums->sha256, crypto::sha256_hex(b1));
    EXPECT_EQ(m.state->serial, 1u);
    const fs::path kept = catalog_->root() / "dev" / out.snapshot_id / "state";
    EXPECT_EQ(read_all(kept), b1);
    struct stat st {};
    ASSERT_EQ(::stat(kept.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(backup_of(env).status, backup::backup_status::unchanged);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << b2;
    const auto out2 = backup_of(env);
    ASSERT_EQ(out2.status, backup::backup_status::snapshot) << out2.message;
    EXPECT_EQ(read_all(catalog_->root() / "dev" / out2.snapshot_id / "state"), b2);
    fs::remove(file);
    const auto gone = backup_of(env);
    EXPECT_EQ(gone.status, backup::backup_status::failed);
    EXPECT_NE(gone.message.find(file.string()), std::string::npos) << gone.message;
}

TEST_F(Backup, PruneDeletesSnapshotsAndTheirCopiesNeverTheLiveVersions) {
    const auto cfg = load("  prod:\n    bucket: " + bucket_ +
                          "\n    key: prod/terraform.tfstate\n    retention: { keep_last: 2 }\n"
                          "    copy: { mode: server-side, bucket: " +
                          archive_bucket_ + " }\n");
    const auto& env = cfg.environments[0];
    std::vector<std::string> ids;
    std::vector<manifest::manifest> manifests;
    for (int i = 1; i <= 4; ++i) {
        put(env.key, state_json(i, "l"));
        const auto out = backup_of(env);
        ASSERT_TRUE(out.ok()) << out.message;
        ids.push_back(out.snapshot_id);
        manifests.push_back(manifest_of("prod", out.snapshot_id));
        ASSERT_TRUE(out.pruned);
    }
    const auto left = list("prod");
    ASSERT_EQ(left.size(), 2u);
    EXPECT_EQ(left[0].snapshot_id, ids[2]);
    EXPECT_EQ(left[1].snapshot_id, ids[3]);
    // the state's own versions are all still there
    const auto versions = run(s3_->list_object_versions(bucket_, env.key));
    ASSERT_FALSE(versions.ec);
    EXPECT_EQ(versions.entries.size(), 4u);
    // the pruned snapshots' archive copies are gone, the kept ones are there
    for (int i = 0; i < 4; ++i) {
        const auto h =
            run(s3_->head_object(archive_bucket_, manifests[i].copy->key, manifests[i].copy->version_id));
        if (i < 2)
            EXPECT_TRUE(h.ec) << "copy of pruned snapshot " << ids[i] << " still exists";
        else
            EXPECT_FALSE(h.ec) << s3::describe(h.ec, h.info);
    }
}

TEST_F(Backup, PruneDryRunDeletesNothingAndGivesReasons) {
    const auto cfg = load("  prod:\n    bucket: " + bucket_ +
                          "\n    key: prod/terraform.tfstate\n    retention: { keep_last: 1 }\n");
    const auto& env = cfg.environments[0];
    for (int i = 1; i <= 3; ++i) {
        put(env.key, state_json(i, "l"));
        ASSERT_TRUE(backup_of(env, {.prune = false}).ok());
    }
    backup::environment_access access{s3_.get(), s3_.get(), nullptr, nullptr};
    const auto dry = run(backup::prune(*ctx_, env, access, true));
    EXPECT_TRUE(dry.ok()) << dry.error;
    EXPECT_EQ(dry.kept, 1u);
    EXPECT_EQ(dry.deleted, 2u);
    ASSERT_EQ(dry.items.size(), 3u);
    EXPECT_TRUE(dry.items[0].keep);
    ASSERT_FALSE(dry.items[0].reasons.empty());
    EXPECT_EQ(dry.items[0].reasons[0], "last 1");
    EXPECT_EQ(list("prod").size(), 3u);
    const auto real = run(backup::prune(*ctx_, env, access, false));
    EXPECT_EQ(real.deleted, 2u);
    EXPECT_EQ(list("prod").size(), 1u);
}

TEST_F(Backup, CatalogGitCommitsAndTagsEachSnapshot) {
    catalog_git::recorder git(catalog_->root(), {});
    const auto init = run(git.init());
    ASSERT_FALSE(init) << init.info.message;
    ctx_->record_snapshot = backup::git_hook(git);
    const auto cfg = load("  prod:\n    bucket: " + bucket_ + "\n    key: prod/terraform.tfstate\n");
    const auto& env = cfg.environments[0];
    std::vector<std::string> ids;
    for (int i = 1; i <= 2; ++i) {
        put(env.key, state_json(i, "l"));
        const auto out = backup_of(env);
        ASSERT_TRUE(out.ok()) << out.message;
        EXPECT_TRUE(out.warnings.empty()) << out.warnings[0];
        ids.push_back(out.snapshot_id);
    }
    const std::string git_cmd = "git -C '" + catalog_->root().string() + "' ";
    auto output_of = [](const std::string& cmd) {
        std::string out;
        if (FILE* p = ::popen(cmd.c_str(), "r")) {
            char buf[256];
            while (std::fgets(buf, sizeof buf, p))
                out += buf;
            ::pclose(p);
        }
        return out;
    };
    EXPECT_EQ(output_of(git_cmd + "log --format=%s"), "backup-state/prod/" + ids[1] + "\nbackup-state/prod/" +
                                                          ids[0] + "\ntfsnap: start the catalog history\n");
    EXPECT_EQ(output_of(git_cmd + "tag"),
              "backup-state/prod/" + ids[0] + "\nbackup-state/prod/" + ids[1] + "\n");
    EXPECT_NE(output_of(git_cmd + "show --stat HEAD").find("prod/" + ids[1] + "/MANIFEST.json"),
              std::string::npos);
}

TEST_F(Backup, ConcurrentJobsShareOneBucketRead) {
    std::string envs;
    for (int i = 0; i < 20; ++i)
        envs += "  e" + std::to_string(i) + ":\n    bucket: " + bucket_ + "\n    key: e" + std::to_string(i) +
                "/terraform.tfstate\n";
    const auto cfg = load(envs);
    for (const auto& e : cfg.environments)
        put(e.key, state_json(1, e.name));
    int done = 0;
    for (const auto& e : cfg.environments) {
        backup::environment_access access{s3_.get(), s3_.get(), nullptr, nullptr};
        asio::co_spawn(io_, backup::run_backup(*ctx_, e, access, {}),
                       [&](std::exception_ptr ex, backup::backup_outcome o) {
                           EXPECT_FALSE(ex);
                           EXPECT_TRUE(o.ok()) << o.message;
                           ++done;
                       });
    }
    io_.restart();
    io_.run();
    EXPECT_EQ(done, 20);
    EXPECT_EQ(buckets_.reads(), 2u);  // one GetBucketVersioning, one GetBucketLifecycleConfiguration
}

// ------------------------------------------------------------------------------------ verify

class Verify : public BackupFixture {
protected:
    void SetUp() override {
        BackupFixture::SetUp();
        if (HasFatalFailure())
            return;
        make_lock_table();
    }

    void set_digest(const config::environment& env, const std::string& digest) {
        dynamodb::item item;
        item.emplace("LockID", dynamodb::attribute_value::string(backup::digest_lock_id(env)));
        item.emplace("Digest", dynamodb::attribute_value::string(digest));
        const auto r = run(db_->put_item(table_, item, {}));
        ASSERT_FALSE(r.ec) << dynamodb::describe(r.ec, r.info);
    }

    backup::verify_report verify(const config::environment& env) {
        backup::environment_access access{s3_.get(), s3_.get(), db_.get(), key_ ? &*key_ : nullptr};
        return run(backup::run_verify(*ctx_, env, access));
    }

    static std::vector<backup::verify_finding> problems(const backup::verify_report& r) {
        std::vector<backup::verify_finding> out;
        for (const auto& f : r.findings)
            if (!f.ok)
                out.push_back(f);
        return out;
    }
};

TEST_F(Verify, HealthySnapshotsCopiesAndDigestPass) {
    const auto cfg = load("  prod:\n    bucket: " + bucket_ +
                          "\n    key: prod/terraform.tfstate\n    lock: { dynamodb_table: " + table_ +
                          " }\n    copy: { mode: server-side, bucket: " + archive_bucket_ + " }\n");
    const auto& env = cfg.environments[0];
    for (int i = 1; i <= 2; ++i) {
        const auto bytes = state_json(i, "l");
        put(env.key, bytes);
        set_digest(env, crypto::md5_hex(bytes));
        ASSERT_TRUE(backup_of(env).ok());
    }
    const auto r = verify(env);
    EXPECT_TRUE(r.ok()) << (problems(r).empty() ? r.error : problems(r)[0].detail);
    EXPECT_EQ(r.snapshots, 2u);
    EXPECT_EQ(r.findings.size(), 5u);  // version + copy per snapshot, one digest
    std::string record;
    ASSERT_FALSE(catalog_->read_record("prod", catalog::catalog::verify_record, record));
    EXPECT_NE(record.find("\"ok\": true"), std::string::npos) << record;
}

TEST_F(Verify, CatchesAVersionDeletedBehindItsBack) {
    const auto cfg = load("  prod:\n    bucket: " + bucket_ + "\n    key: prod/terraform.tfstate\n");
    const auto& env = cfg.environments[0];
    const auto v1 = put(env.key, state_json(1, "l"));
    const auto first = backup_of(env);
    ASSERT_TRUE(first.ok());
    put(env.key, state_json(2, "l"));
    ASSERT_TRUE(backup_of(env).ok());
    // someone removes the old version permanently
    ASSERT_FALSE(run(s3_->delete_object(bucket_, env.key, v1)).ec);
    const auto r = verify(env);
    EXPECT_FALSE(r.ok());
    const auto p = problems(r);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].snapshot_id, first.snapshot_id);
    EXPECT_EQ(p[0].check, "version");
    EXPECT_NE(p[0].detail.find("no longer exists"), std::string::npos) << p[0].detail;
    EXPECT_NE(p[0].detail.find("there is no copy"), std::string::npos) << p[0].detail;
    bool logged = false;
    for (const auto& rec : log_sink_.records())
        logged |=
            rec.level == core::log_level::error && rec.message.find("no longer exists") != std::string::npos;
    EXPECT_TRUE(logged);
}

TEST_F(Verify, CatchesADigestOutOfSync) {
    const auto cfg =
        load("  prod:\n    bucket: " + bucket_ +
             "\n    key: prod/terraform.tfstate\n    lock: { dynamodb_table: " + table_ + " }\n");
    const auto& env = cfg.environments[0];
    const auto bytes = state_json(1, "l");
    put(env.key, bytes);
    ASSERT_TRUE(backup_of(env).ok());
    // no digest item yet: fine, Terraform writes one on its next write
    EXPECT_TRUE(verify(env).ok());
    set_digest(env, crypto::md5_hex("some other state"));
    const auto r = verify(env);
    const auto p = problems(r);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].check, "digest");
    EXPECT_NE(p[0].detail.find(crypto::md5_hex(bytes)), std::string::npos) << p[0].detail;
    EXPECT_NE(p[0].detail.find("does not have the expected content"), std::string::npos) << p[0].detail;
    set_digest(env, crypto::md5_hex(bytes));
    EXPECT_TRUE(verify(env).ok());
}

// A digest written in upper-case hex (by another tool, or by hand) is the same MD5: Terraform
// itself compares the bytes, not the text. This was reported as out of sync.
TEST_F(Verify, DigestCaseDoesNotMatter) {
    const auto cfg =
        load("  prod:\n    bucket: " + bucket_ +
             "\n    key: prod/terraform.tfstate\n    lock: { dynamodb_table: " + table_ + " }\n");
    const auto& env = cfg.environments[0];
    const auto bytes = state_json(1, "l");
    put(env.key, bytes);
    ASSERT_TRUE(backup_of(env).ok());
    std::string upper = crypto::md5_hex(bytes);
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    set_digest(env, upper);
    const auto r = verify(env);
    EXPECT_TRUE(r.ok()) << (problems(r).empty() ? r.error : problems(r)[0].detail);
    set_digest(env, crypto::md5_hex("some other state"));
    EXPECT_FALSE(verify(env).ok());
}

TEST_F(Verify, CatchesACorruptLocalCopyAndAMissingArchiveCopy) {
    auto k = crypto::generate_key();
    ASSERT_TRUE(k.ok());
    key_ = std::move(*k.key);
    const auto cfg =
        load("  loc:\n    bucket: " + bucket_ +
             "\n    key: loc/terraform.tfstate\n    copy: { mode: local, key_file: /k }\n" +
             "  arc:\n    bucket: " + bucket_ +
             "\n    key: arc/terraform.tfstate\n    copy: { mode: server-side, bucket: " + archive_bucket_ +
             " }\n");
    put("loc/terraform.tfstate", state_json(1, "l"));
    put("arc/terraform.tfstate", state_json(1, "a"));
    const auto loc = backup_of(cfg.environments[0]);
    const auto arc = backup_of(cfg.environments[1]);
    ASSERT_TRUE(loc.ok() && arc.ok());
    EXPECT_TRUE(verify(cfg.environments[0]).ok());
    EXPECT_TRUE(verify(cfg.environments[1]).ok());

    const fs::path sealed = catalog_->root() / "loc" / loc.snapshot_id / "state.enc";
    {
        std::fstream f(sealed, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(100);
        f.put('\x5a');
    }
    auto p = problems(verify(cfg.environments[0]));
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].check, "copy");
    EXPECT_NE(p[0].detail.find("SHA-256"), std::string::npos) << p[0].detail;

    const auto m = manifest_of("arc", arc.snapshot_id);
    ASSERT_FALSE(run(s3_->delete_object(archive_bucket_, m.copy->key, m.copy->version_id)).ec);
    p = problems(verify(cfg.environments[1]));
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].check, "copy");
    EXPECT_NE(p[0].detail.find("unreadable"), std::string::npos) << p[0].detail;
}

}  // namespace
