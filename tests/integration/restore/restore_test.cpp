// Restores against radosgw and dynalite: plan and execute, Terraform's locks and digest, the
// plan token, lineage and serial, undelete, full restores with a stand-in terraform.
#include "integration/backup/backup_fixture.hpp"

#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/restore/audit.hpp"
#include "tfsnap/restore/digest.hpp"
#include "tfsnap/restore/journal.hpp"
#include "tfsnap/restore/restore.hpp"
#include "tfsnap/tfstate/lock_info.hpp"
#include "tfsnap/tfstate/rewrite.hpp"
#include "tfsnap/tfstate/summary.hpp"

#include <rapidjson/document.h>

#include <spawn.h>
#include <sys/wait.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <csignal>

#include <cctype>
#include <thread>

extern char** environ;

namespace {

using namespace tfsnap;
using namespace tfsnap::test;

class Restore : public BackupFixture {
protected:
    void SetUp() override {
        BackupFixture::SetUp();
        if (HasFatalFailure())
            return;
        make_lock_table();
        if (HasFatalFailure())
            return;
        // a second loop and client, for looking at DynamoDB from inside a step hook (the main
        // loop is busy running the restore then)
        dynamodb::client_config cfg;
        cfg.endpoint = harness_.dynamodb_endpoint();
        auto creds = [key = harness_.access_key(),
                      secret = harness_.secret_key()]() -> asio::awaitable<http::credentials_lookup> {
            co_return http::credentials_lookup{{}, sigv4::credentials{key, core::secret(secret), {}}};
        };
        side_http_ = std::make_unique<http::client>(side_io_.get_executor(), http::client_config{});
        side_db_ = std::make_unique<dynamodb::client>(*side_http_, cfg, creds, clock_);
        s3::client_config scfg;
        scfg.region = harness_.region().empty() ? "us-east-1" : harness_.region();
        scfg.endpoint = harness_.s3_endpoint();
        scfg.path_style = true;
        side_s3_ = std::make_unique<s3::client>(*side_http_, scfg, creds, clock_);
        rctx_.emplace(restore::restore_context{*ctx_,
                                               work_ / "state",
                                               std::vector<std::byte>(32, std::byte{7}),
                                               "ops-1",
                                               "tfsnap-test",
                                               {},
                                               {}});
    }

    backup::environment_access access() { return {s3_.get(), s3_.get(), db_.get(), nullptr}; }

    restore::restore_plan plan(const config::environment& env, restore::restore_request req) {
        return run(restore::plan(*rctx_, env, access(), std::move(req)));
    }
    restore::restore_result execute(const config::environment& env, restore::restore_request req,
                                    std::string token) {
        return run(restore::execute(*rctx_, env, access(), std::move(req), std::move(token)));
    }
    // plan, expect no refusal, execute with the plan's token
    restore::restore_result restore(const config::environment& env, restore::restore_request req) {
        const auto p = plan(env, req);
        EXPECT_TRUE(p.ok()) << (p.refusals.empty() ? "" : p.refusals[0]);
        return execute(env, std::move(req), p.token);
    }

    std::string current_bytes(const config::environment& env) {
        http::string_sink sink;
        const auto g = run(s3_->get_object(bucket_, env.key, "", sink));
        EXPECT_FALSE(g.ec) << s3::describe(g.ec, g.info);
        return sink.take();
    }
    std::string current_version(const config::environment& env) {
        const auto h = run(s3_->head_object(bucket_, env.key));
        return h.ec ? std::string() : h.object.version_id;
    }
    std::optional<dynamodb::item> item(const std::string& lock_id) {
        dynamodb::item key;
        key.emplace("LockID", dynamodb::attribute_value::string(lock_id));
        const auto r = run(db_->get_item(table_, key, true, {}));
        EXPECT_FALSE(r.ec) << dynamodb::describe(r.ec, r.info);
        return r.found;
    }
    config::daemon_config with_lock_table(bool lockfile = false) {
        return load("  prod:\n    bucket: " + bucket_ +
                    "\n    key: prod/terraform.tfstate\n    lock: { dynamodb_table: " + table_ +
                    (lockfile ? ", lockfile: true" : "") + " }\n");
    }
    // a LockInfo exactly as Terraform 1.9 writes it for `terraform apply`
    static std::string terraform_lock_json(const std::string& path) {
        return R"({"ID":"8e5a1c3d-7c2b-4a6f-9d0e-2f1b3c4d5e6f","Operation":"OperationTypeApply","Info":"","Who":"alice@ops-1","Version":"1.9.8","Created":"2026-11-22T03:04:05.123456789Z","Path":")" +
               path + R"("})";
    }

    // a LockInfo as tfsnap's restores write it
    static std::string tfsnap_lock_json(const std::string& id, const std::string& path) {
        return R"({"ID":")" + id +
               R"(","Operation":"tfsnap-restore","Info":"","Who":"bob@ops-1",)"
               R"("Version":"tfsnap","Created":"2026-11-22T05:00:00Z","Path":")" +
               path + "\"}";
    }

    // The DynamoDB lock of `env`, held with this LockInfo.
    void hold_lock(const config::environment& env, const std::string& info) {
        dynamodb::item held;
        held.emplace("LockID", dynamodb::attribute_value::string(env.lock_id()));
        held.emplace("Info", dynamodb::attribute_value::string(info));
        ASSERT_FALSE(run(db_->put_item(table_, held, {})).ec);
    }

    // Runs the crash tool (a restore of prod to `version` in its own process), waits until it has
    // reached `step` and kill -9s it there, as a crash of tfsnapd at that step would.
    void kill_crash_tool_at(const fs::path& config_file, const std::string& version,
                            const std::string& step) {
        const fs::path marker = work_ / "stopped";
        const std::string tool = TFSNAP_CRASH_TOOL;
        std::vector<std::string> args{tool, config_file.string(), "prod", version, step, marker.string()};
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = 0;
        ASSERT_EQ(::posix_spawn(&pid, tool.c_str(), nullptr, nullptr, argv.data(), environ), 0);
        for (int i = 0; i < 300 && !fs::exists(marker); ++i)
            std::this_thread::sleep_for(50ms);
        ASSERT_TRUE(fs::exists(marker)) << "the tool never reached the step";
        ASSERT_EQ(::kill(pid, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFSIGNALED(status));
    }

    // The journal of a restore of `env` that holds (or held) the DynamoDB lock with ID `lock_id`.
    void plant_journal(const std::string& restore_id, const config::environment& env,
                       const std::string& lock_id) {
        restore::journal_entry j;
        j.restore_id = restore_id;
        j.environment = env.name;
        j.started_at = "2026-11-22T05:00:00Z";
        j.requested_by = "bob@ops-1";
        j.reason = "test";
        j.step = "locked";
        j.locks.push_back({"dynamodb", table_, env.lock_id(), lock_id});
        ASSERT_FALSE(restore::write_journal(work_ / "state", j));
    }

    std::optional<dynamodb::item> side_item(const std::string& lock_id) {
        dynamodb::item key;
        key.emplace("LockID", dynamodb::attribute_value::string(lock_id));
        const auto r = test::run_sync(side_io_, side_db_->get_item(table_, key, true, {}));
        return r.found;
    }

    // The state_dir, owned as tfsnapd owns it (recovery needs it).
    const core::dir_owner& owner() {
        if (!owner_) {
            auto c = core::claim_dir(work_ / "state", "restore test");
            EXPECT_TRUE(c.owner) << c.holder << c.error.message();
            owner_.emplace(std::move(*c.owner));
        }
        return *owner_;
    }

    // What Terraform does from another host while the restore runs: a write of the state.
    std::string side_put(const std::string& key, const std::string& bytes) {
        const auto r =
            test::run_sync(side_io_, side_s3_->put_object(bucket_, key, http::body_source::memory(bytes)));
        EXPECT_FALSE(r.ec) << s3::describe(r.ec, r.info);
        return r.version_id;
    }

    // Executes under a cancellation signal that is emitted right after `step` completes, as the
    // runner does for SIGTERM past shutdown_grace.
    restore::restore_result execute_cancelled_after(const config::environment& env,
                                                    restore::restore_request req, std::string token,
                                                    std::string step) {
        asio::cancellation_signal cancel;
        bool emitted = false;
        rctx_->after_step = [&](std::string_view done) {
            if (done == step && !emitted) {
                emitted = true;
                cancel.emit(asio::cancellation_type::terminal);
            }
        };
        std::optional<restore::restore_result> out;
        std::exception_ptr error;
        asio::co_spawn(
            io_, restore::execute(*rctx_, env, access(), std::move(req), std::move(token)),
            asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, restore::restore_result r) {
                error = e;
                if (!e)
                    out = std::move(r);
            }));
        io_.restart();
        io_.run();
        rctx_->after_step = nullptr;
        EXPECT_TRUE(emitted) << "the restore never reached " << step;
        EXPECT_FALSE(error) << "execute() let an exception out";
        return out.value_or(restore::restore_result{});
    }

    // The invariants after any restore, however it ended: no lock of tfsnap's anywhere, no journal,
    // the digest is the MD5 of the bytes now current, and an audit record of this restore.
    void expect_clean_after(const config::environment& env, const restore::restore_result& r) {
        EXPECT_TRUE(rctx_->running.empty()) << "an ended restore still counts as running";
        EXPECT_FALSE(item(env.lock_id())) << "the DynamoDB lock was left behind";
        const auto lockfile = run(s3_->head_object(bucket_, env.key + ".tflock"));
        EXPECT_TRUE(lockfile.ec) << "the lockfile was left behind";
        EXPECT_TRUE(restore::scan(work_ / "state").journals.empty()) << "a journal was left behind";
        if (const auto digest = item(env.lock_id() + "-md5")) {
            EXPECT_EQ(digest->at("Digest").value, crypto::md5_hex(current_bytes(env)));
        }
        std::vector<std::string> lines;
        ASSERT_FALSE(restore::read_audit(work_ / "state", lines, nullptr));
        ASSERT_FALSE(lines.empty()) << "no audit record";
        EXPECT_NE(lines.back().find("\"" + r.restore_id + "\""), std::string::npos) << lines.back();
    }

    std::optional<core::dir_owner> owner_;
    asio::io_context side_io_;
    std::unique_ptr<http::client> side_http_;
    std::unique_ptr<s3::client> side_s3_;
    std::unique_ptr<dynamodb::client> side_db_;
    std::optional<restore::restore_context> rctx_;
};

// roll_forward_serial off: the old bytes come back exactly, and the plan says what that risks
TEST_F(Restore, WithoutALockTableTheOldVersionBecomesCurrent) {
    const auto cfg = load("  prod:\n    bucket: " + bucket_ + "\n    key: prod/terraform.tfstate\n");
    const auto& env = cfg.environments[0];
    const std::string v1 = state_json(1, "lin", 2), v2 = state_json(2, "lin", 3);
    put(env.key, v1);
    const auto snap = backup_of(env);
    ASSERT_TRUE(snap.ok()) << snap.message;
    const auto v2_id = put(env.key, v2);

    restore::restore_request req;
    req.snapshot_id = snap.snapshot_id;
    req.reason = "bad apply";
    req.user = "bob";
    req.roll_forward_serial = false;
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok()) << p.refusals[0];
    EXPECT_EQ(p.target_version, snap.version_id);
    EXPECT_EQ(p.current_version, v2_id);
    ASSERT_TRUE(p.diff);
    EXPECT_EQ(p.diff->serial.before, 2u);
    EXPECT_EQ(p.diff->serial.after, 1u);
    ASSERT_EQ(p.diff->resources.size(), 1u);  // b2 goes away
    EXPECT_EQ(p.diff->resources[0].kind, tfstate::change_kind::removed);
    EXPECT_FALSE(p.token.empty());
    EXPECT_FALSE(p.warnings.empty());  // the serial goes back; no lock configured
    EXPECT_TRUE(std::any_of(p.warnings.begin(), p.warnings.end(), [](const std::string& w) {
        return w.find("`terraform state push` will then accept any stale local copy") != std::string::npos;
    })) << ::testing::PrintToString(p.warnings);

    const auto r = execute(env, req, p.token);
    ASSERT_EQ(r.result, restore::outcome::ok) << r.message;
    // ended: the journal retry may now take up whatever it left
    EXPECT_TRUE(rctx_->running.empty()) << *rctx_->running.begin();
    EXPECT_EQ(current_bytes(env), v1);
    EXPECT_EQ(current_version(env), r.new_version_id);
    EXPECT_NE(r.new_version_id, v2_id);
    // the safety snapshot holds the version it replaced, pinned
    ASSERT_FALSE(r.safety_snapshot.empty());
    const auto safety = manifest_of("prod", r.safety_snapshot);
    EXPECT_EQ(safety.terraform_state.version_id, v2_id);
    EXPECT_EQ(safety.schedule, "pre-restore");
    EXPECT_TRUE(safety.pinned_until);
    EXPECT_NE(r.undo.find(r.safety_snapshot), std::string::npos);
    // audit
    std::vector<std::string> lines;
    int torn = -1;
    ASSERT_FALSE(restore::read_audit(work_ / "state", lines, &torn));
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(torn, 0);
    rapidjson::Document d;
    d.Parse(lines[0].c_str());
    ASSERT_TRUE(d.IsObject());
    EXPECT_STREQ(d["result"].GetString(), "ok");
    EXPECT_STREQ(d["reason"].GetString(), "bad apply");
    EXPECT_STREQ(d["who"]["user"].GetString(), "bob");
    EXPECT_STREQ(d["new_version_id"].GetString(), r.new_version_id.c_str());
    EXPECT_GE(d["steps"].Size(), 4u);
}

TEST_F(Restore, WithADynamoDbTableTheDigestFollowsAndTheLockIsTerraformsFormat) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const std::string v1 = state_json(1, "lin"), v2 = state_json(2, "lin");
    const auto v1_id = put(env.key, v1);
    put(env.key, v2);
    std::string lock_json;
    rctx_->after_step = [&](std::string_view step) {
        if (step == "lock dynamodb") {
            const auto it = side_item(env.lock_id());
            if (it && it->count("Info"))
                lock_json = it->at("Info").value;
        }
    };
    restore::restore_request req;
    req.version_id = v1_id;
    req.reason = "roll back";
    req.user = "bob";
    const auto r = restore(env, req);
    ASSERT_EQ(r.result, restore::outcome::ok) << r.message;
    // the digest is the MD5 of the bytes now current: v1's, with the serial rolled forward to 3
    const auto digest = item(env.lock_id() + "-md5");
    ASSERT_TRUE(digest);
    const auto now = current_bytes(env);
    EXPECT_EQ(digest->at("Digest").value, crypto::md5_hex(now));
    EXPECT_EQ(tfstate::inspect(now).summary.serial, 3u);
    EXPECT_EQ(now, tfstate::set_serial(v1, 3).bytes);
    // the lock held during the restore had exactly Terraform's keys, in Terraform's order
    rapidjson::Document d;
    d.Parse(lock_json.c_str());
    ASSERT_TRUE(d.IsObject()) << lock_json;
    std::vector<std::string> keys;
    for (const auto& m : d.GetObject())
        keys.emplace_back(m.name.GetString());
    EXPECT_EQ(keys,
              (std::vector<std::string>{"ID", "Operation", "Info", "Who", "Version", "Created", "Path"}));
    EXPECT_STREQ(d["Operation"].GetString(), "tfsnap-restore");
    EXPECT_STREQ(d["Who"].GetString(), "bob@ops-1");
    EXPECT_STREQ(d["Info"].GetString(), "roll back");
    EXPECT_EQ(std::string(d["Path"].GetString()), env.lock_id());
    // and it is gone afterwards
    EXPECT_FALSE(item(env.lock_id()));
}

TEST_F(Restore, ALockHeldByTerraformIsNeverBroken) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(1, "lin"));
    const auto v2_id = put(env.key, state_json(2, "lin"));
    restore::restore_request req;
    req.version_id = v1_id;
    const auto p = plan(env, req);  // before the lock: a valid token
    ASSERT_TRUE(p.ok());
    hold_lock(env, terraform_lock_json(env.lock_id()));

    const auto p2 = plan(env, req);
    ASSERT_EQ(p2.locks.size(), 1u);
    EXPECT_TRUE(p2.locks[0].held);
    EXPECT_NE(p2.locks[0].holder.find("alice@ops-1"), std::string::npos) << p2.locks[0].holder;

    const auto r = execute(env, req, p.token);
    EXPECT_EQ(r.result, restore::outcome::refused) << r.message;
    EXPECT_NE(r.message.find("alice@ops-1"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("OperationTypeApply"), std::string::npos) << r.message;
    EXPECT_EQ(current_version(env), v2_id);  // nothing changed
    const auto still = item(env.lock_id());
    ASSERT_TRUE(still);
    EXPECT_EQ(still->at("Info").value, terraform_lock_json(env.lock_id()));
    EXPECT_FALSE(item(env.lock_id() + "-md5"));
}

TEST_F(Restore, ALockFileHeldByTerraformIsNeverBroken) {
    const auto cfg = load("  prod:\n    bucket: " + bucket_ +
                          "\n    key: prod/terraform.tfstate\n    lock: { lockfile: true }\n");
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(1, "lin"));
    const auto v2_id = put(env.key, state_json(2, "lin"));
    restore::restore_request req;
    req.version_id = v1_id;
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok());
    const std::string held = terraform_lock_json(bucket_ + "/" + env.key);
    put(env.key + ".tflock", held);
    const auto r = execute(env, req, p.token);
    EXPECT_EQ(r.result, restore::outcome::refused) << r.message;
    EXPECT_NE(r.message.find("alice@ops-1"), std::string::npos) << r.message;
    EXPECT_EQ(current_version(env), v2_id);
    http::string_sink sink;
    ASSERT_FALSE(run(s3_->get_object(bucket_, env.key + ".tflock", "", sink)).ec);
    EXPECT_EQ(sink.data(), held);
    // without the foreign lock file, the restore takes and releases its own
    ASSERT_FALSE(run(s3_->delete_object(bucket_, env.key + ".tflock")).ec);
    const auto ok = restore(env, req);
    EXPECT_EQ(ok.result, restore::outcome::ok) << ok.message;
    EXPECT_TRUE(run(s3_->head_object(bucket_, env.key + ".tflock")).ec);  // released
}

TEST_F(Restore, AStateWrittenAfterThePlanIsNotOverwritten) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(1, "lin"));
    put(env.key, state_json(2, "lin"));
    restore::restore_request req;
    req.version_id = v1_id;
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok());
    const auto v3_id = put(env.key, state_json(3, "lin"));  // someone else writes
    const auto r = execute(env, req, p.token);
    EXPECT_EQ(r.result, restore::outcome::refused);
    EXPECT_NE(r.message.find("state changed since the plan"), std::string::npos) << r.message;
    EXPECT_EQ(current_version(env), v3_id);
    EXPECT_FALSE(item(env.lock_id()));
}

TEST_F(Restore, TamperedExpiredAndMismatchedTokensAreRefused) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(1, "lin"));
    const auto v2_id = put(env.key, state_json(2, "lin"));
    restore::restore_request req;
    req.version_id = v1_id;
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok());
    std::string tampered = p.token;
    tampered[tampered.size() / 3] = tampered[tampered.size() / 3] == 'A' ? 'B' : 'A';
    EXPECT_EQ(execute(env, req, tampered).result, restore::outcome::refused);
    EXPECT_EQ(execute(env, req, "not-a-token").result, restore::outcome::refused);
    auto other = req;
    other.roll_forward_serial = false;  // the token was for other options
    const auto mismatch = execute(env, other, p.token);
    EXPECT_EQ(mismatch.result, restore::outcome::refused);
    EXPECT_NE(mismatch.message.find("roll_forward_serial"), std::string::npos) << mismatch.message;
    // 16 minutes later the token has expired
    core::fake_clock later(clock_.now() + 16min);
    backup::job_context jobs{*catalog_,    later, core::logger(log_sink_), buckets_, "tfsnapd@test", "t",
                             std::nullopt, {}};
    restore::restore_context rctx{jobs, work_ / "state", rctx_->token_key, "ops-1", "t", {}, {}};
    const auto expired = run(restore::execute(rctx, env, access(), req, p.token));
    EXPECT_EQ(expired.result, restore::outcome::refused);
    EXPECT_NE(expired.message.find("expired"), std::string::npos) << expired.message;
    EXPECT_EQ(current_version(env), v2_id);
}

TEST_F(Restore, AnotherLineageIsRefusedUnlessForced) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const auto other_id = put(env.key, state_json(7, "other-lineage"));
    put(env.key, state_json(1, "lin"));
    restore::restore_request req;
    req.version_id = other_id;
    const auto p = plan(env, req);
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.refusals[0].find("lineage"), std::string::npos) << p.refusals[0];
    EXPECT_TRUE(p.token.empty());
    req.force_lineage = true;
    const auto r = restore(env, req);
    EXPECT_EQ(r.result, restore::outcome::ok) << r.message;
    EXPECT_EQ(tfstate::inspect(current_bytes(env)).summary.lineage, "other-lineage");
}

TEST_F(Restore, TheSerialIsRolledForwardToCurrentPlusOneByDefault) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(2, "lin", 1));
    put(env.key, state_json(5, "lin", 3));
    restore::restore_request req;
    req.version_id = v1_id;
    EXPECT_TRUE(req.roll_forward_serial);
    // the plan shows the serial that will be written, not the target's
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(p.diff);
    EXPECT_EQ(p.diff->serial.before, 5u);
    EXPECT_EQ(p.diff->serial.after, 6u);
    const auto r = restore(env, req);
    ASSERT_EQ(r.result, restore::outcome::ok) << r.message;
    EXPECT_EQ(r.undo, "tfsnapd restore " + env.name + " --snapshot " + r.safety_snapshot);
    const auto now = current_bytes(env);
    const auto s = tfstate::inspect(now);
    ASSERT_TRUE(s.summarised());
    EXPECT_EQ(s.summary.serial, 6u);
    EXPECT_EQ(s.summary.managed_resources, 1u);
    EXPECT_EQ(item(env.lock_id() + "-md5")->at("Digest").value, crypto::md5_hex(now));
}

// OpenTofu's client-side encryption marks a state by a non-empty top-level encryption_version; a
// restore across plaintext and encrypted is allowed, bytes as they are, with a warning each way.
TEST_F(Restore, ARestoreAcrossPlaintextAndEncryptedStateWarns) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const std::string encrypted =
        R"({"meta":{"key_provider.pbkdf2.k":"e30="},"encrypted_data":"AAAA","encryption_version":"v0"})";
    const auto plain_id = put(env.key, state_json(3, "lin"));
    const auto encrypted_id = put(env.key, encrypted);
    const auto crosses = [](const restore::restore_plan& p, const std::string& what) {
        return std::count_if(p.warnings.begin(), p.warnings.end(),
                             [&](const std::string& w) { return w.find(what) != std::string::npos; });
    };

    // encrypted now, plaintext target: the bucket would hold unencrypted state again
    restore::restore_request req;
    req.version_id = plain_id;
    auto p = plan(env, req);
    ASSERT_TRUE(p.ok()) << p.refusals[0];
    EXPECT_EQ(crosses(p,
                      "the target is plaintext and the current state is OpenTofu-encrypted "
                      "(encryption_version v0)"),
              1)
        << ::testing::PrintToString(p.warnings);
    const auto r = restore(env, req);
    ASSERT_EQ(r.result, restore::outcome::ok) << r.message;
    EXPECT_TRUE(tfstate::inspect(current_bytes(env)).summarised());

    // plaintext now, encrypted target: the other way round, written byte for byte
    req.version_id = encrypted_id;
    p = plan(env, req);
    ASSERT_TRUE(p.ok()) << p.refusals[0];
    EXPECT_EQ(crosses(p,
                      "the target is OpenTofu-encrypted (encryption_version v0) and the current "
                      "state is plaintext"),
              1)
        << ::testing::PrintToString(p.warnings);
    const auto back = restore(env, req);
    ASSERT_EQ(back.result, restore::outcome::ok) << back.message;
    EXPECT_EQ(current_bytes(env), encrypted);

    // no crossing, no warning
    put(env.key, state_json(9, "lin"));
    req.version_id = plain_id;
    p = plan(env, req);
    ASSERT_TRUE(p.ok()) << p.refusals[0];
    EXPECT_EQ(crosses(p, "OpenTofu-encrypted"), 0) << ::testing::PrintToString(p.warnings);
}

TEST_F(Restore, TheCurrentVersionIsANoOp) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(1, "lin"));
    restore::restore_request req;
    req.version_id = v1_id;
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p.already_current);
    const auto r = execute(env, req, p.token);
    EXPECT_EQ(r.result, restore::outcome::no_op) << r.message;
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(current_version(env), v1_id);
    EXPECT_FALSE(item(env.lock_id()));
}

TEST_F(Restore, UndeleteBringsBackTheStateAndItsDigest) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const std::string v1 = state_json(4, "lin");
    const auto v1_id = put(env.key, v1);
    ASSERT_FALSE(run(s3_->delete_object(bucket_, env.key)).ec);
    EXPECT_EQ(backup_of(env).status, backup::backup_status::state_deleted);

    restore::restore_request req;
    req.undelete = true;
    req.reason = "deleted by mistake";
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok()) << p.refusals[0];
    EXPECT_TRUE(p.current_deleted);
    EXPECT_EQ(p.target_version, v1_id);
    const auto r = execute(env, req, p.token);
    ASSERT_EQ(r.result, restore::outcome::ok) << r.message;
    EXPECT_EQ(current_version(env), v1_id);
    EXPECT_EQ(current_bytes(env), v1);
    EXPECT_EQ(item(env.lock_id() + "-md5")->at("Digest").value, crypto::md5_hex(v1));
    EXPECT_EQ(backup_of(env).status, backup::backup_status::snapshot);
    // a state that is not deleted cannot be undeleted
    EXPECT_FALSE(plan(env, req).ok());
}

TEST_F(Restore, ATargetByTimePicksTheNewestVersionAtThatInstant) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(1, "lin"));
    const auto h = run(s3_->head_object(bucket_, env.key));
    std::this_thread::sleep_for(1100ms);
    put(env.key, state_json(2, "lin"));
    restore::restore_request req;
    // the first whole second at or after v1 was written (S3 times have milliseconds)
    req.at = std::chrono::floor<std::chrono::seconds>(h.object.last_modified) + std::chrono::seconds(1);
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok()) << p.refusals[0];
    EXPECT_EQ(p.target_version, v1_id);
    req.at = *req.at - std::chrono::hours(24);
    EXPECT_FALSE(plan(env, req).ok());
}

TEST_F(Restore, AKilledRestoreLeavesAJournalAndTheNextStartReleasesItsLock) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(1, "lin"));
    const auto v2_id = put(env.key, state_json(2, "lin"));
    // the tool reads the same configuration
    const fs::path config_file = work_ / "tfsnapd.yaml";
    {
        std::ofstream out(config_file);
        out << "state_dir: " << (work_ / "state").string()
            << "\ndefaults:\n  endpoint: " << harness_.s3_endpoint()
            << "\n  dynamodb_endpoint: " << harness_.dynamodb_endpoint()
            << "\n  path_style: true\nenvironments:\n  prod:\n    bucket: " << bucket_
            << "\n    key: prod/terraform.tfstate\n    lock: { dynamodb_table: " << table_ << " }\n";
    }
    kill_crash_tool_at(config_file, v1_id, "safety snapshot");
    if (HasFatalFailure())
        return;

    // the lock is still there, with a journal that names it; the state is untouched
    const auto held = item(env.lock_id());
    ASSERT_TRUE(held) << "the killed restore held no lock";
    EXPECT_NE(held->at("Info").value.find("tfsnap-restore"), std::string::npos);
    EXPECT_EQ(current_version(env), v2_id);
    const auto journals = restore::scan(work_ / "state");
    ASSERT_EQ(journals.journals.size(), 1u);

    // a journal write cut by a kill leaves its temporary file; the owner's recovery removes it
    std::ofstream(work_ / "state" / "restore-journal" / ".r-cut.json.tmp") << "{\"restore_id\":";
    // a Terraform lock elsewhere is not touched by the recovery
    const auto recovered = run(restore::recover_journals(
        *rctx_, owner(), cfg, [&](const config::environment&) { return access(); }));
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_TRUE(recovered[0].error.empty()) << recovered[0].error;
    EXPECT_EQ(recovered[0].released.size(), 1u);
    EXPECT_FALSE(item(env.lock_id()));
    EXPECT_TRUE(restore::scan(work_ / "state").journals.empty());
    EXPECT_TRUE(restore::scan(work_ / "state").leftovers.empty());
    EXPECT_FALSE(fs::exists(work_ / "state" / "restore-journal" / ".r-cut.json.tmp"));
    std::vector<std::string> lines;
    ASSERT_FALSE(restore::read_audit(work_ / "state", lines, nullptr));
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines.back().find("\"action\":\"recover\""), std::string::npos) << lines.back();
    EXPECT_NE(lines.back().find("\"result\":\"recovered\""), std::string::npos) << lines.back();
    // and a restore works again
    restore::restore_request req;
    req.version_id = v1_id;
    EXPECT_EQ(restore(env, req).result, restore::outcome::ok);
}

TEST_F(Restore, RecoveryNeverReleasesALockThatIsNotOurs) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    plant_journal("r-foreign", env, "our-id-that-is-gone");
    hold_lock(env, terraform_lock_json(env.lock_id()));
    const auto recovered = run(restore::recover_journals(
        *rctx_, owner(), cfg, [&](const config::environment&) { return access(); }));
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_TRUE(recovered[0].released.empty());
    EXPECT_EQ(item(env.lock_id())->at("Info").value, terraform_lock_json(env.lock_id()));
}

// A state deleted by mistake, then written again by Terraform between the undelete's check and its
// lock: removing the delete marker now would bury Terraform's write. Used to go ahead.
TEST_F(Restore, ATerraformWriteBetweenTheCheckAndTheLockIsNeverOverwritten) {
    const auto cfg = with_lock_table(true);
    const auto& env = cfg.environments[0];
    put(env.key, state_json(1, "lin"));
    ASSERT_FALSE(run(s3_->delete_object(bucket_, env.key)).ec);
    restore::restore_request req;
    req.undelete = true;
    req.reason = "deleted by mistake";
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok()) << p.refusals[0];
    ASSERT_TRUE(p.current_deleted);
    const std::string theirs = state_json(9, "lin");
    std::string theirs_id;
    rctx_->after_step = [&](std::string_view step) {
        if (step == "check")
            theirs_id = side_put(env.key, theirs);
    };
    const auto r = execute(env, req, p.token);
    rctx_->after_step = nullptr;
    ASSERT_FALSE(theirs_id.empty());
    EXPECT_EQ(r.result, restore::outcome::refused) << r.message;
    EXPECT_NE(r.message.find("changed between the plan's check and the lock"), std::string::npos)
        << r.message;
    EXPECT_EQ(current_version(env), theirs_id);
    EXPECT_EQ(current_bytes(env), theirs);
    EXPECT_FALSE(item(env.lock_id() + "-md5"));  // the digest was not touched
    expect_clean_after(env, r);
}

TEST_F(Restore, ARestoreChecksTheStateAgainUnderTheLock) {
    const auto cfg = with_lock_table(true);
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(1, "lin"));
    put(env.key, state_json(2, "lin"));
    restore::restore_request req;
    req.version_id = v1_id;
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok());
    const std::string theirs = state_json(3, "lin");
    rctx_->after_step = [&](std::string_view step) {
        if (step == "check")
            side_put(env.key, theirs);
    };
    const auto r = execute(env, req, p.token);
    rctx_->after_step = nullptr;
    EXPECT_EQ(r.result, restore::outcome::refused) << r.message;
    EXPECT_EQ(current_bytes(env), theirs);
    std::vector<std::string> names;
    for (const auto& s : r.steps)
        names.push_back(s.name);
    // Terraform's order: the lockfile first, then DynamoDB; released the same way
    EXPECT_EQ(names, (std::vector<std::string>{"check", "lock s3-lockfile", "lock dynamodb",
                                               "check after lock", "unlock s3-lockfile", "unlock dynamodb"}));
    expect_clean_after(env, r);
}

// SIGTERM past shutdown_grace (or any cancellation) at each step of a restore: the locks it took
// are released, the digest is right, the journal is gone and the audit record written. Before,
// a cancelled restore left its locks until the next start and wrote no audit record.
class CancelledRestore : public Restore, public ::testing::WithParamInterface<const char*> {};

TEST_P(CancelledRestore, ReleasesItsLocksAndWritesItsAudit) {
    const auto cfg = with_lock_table(true);
    const auto& env = cfg.environments[0];
    const std::string v1 = state_json(1, "lin"), v2 = state_json(2, "lin");
    const auto v1_id = put(env.key, v1);
    put(env.key, v2);
    restore::restore_request req;
    req.version_id = v1_id;
    req.reason = "cancel test";
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok()) << p.refusals[0];
    const std::string step = GetParam();
    const auto r = execute_cancelled_after(env, req, p.token, step);
    if (step == "verify") {
        EXPECT_EQ(r.result, restore::outcome::ok) << r.message;  // nothing left to cancel
    } else {
        EXPECT_EQ(r.result, restore::outcome::failed) << r.message;
        EXPECT_NE(r.message.find("cancelled during step"), std::string::npos) << r.message;
    }
    const auto now = current_bytes(env);
    EXPECT_TRUE(now == v2 || tfstate::inspect(now).summary.serial == 3u)
        << "neither the old nor the new state";
    expect_clean_after(env, r);
    const auto digest = item(env.lock_id() + "-md5");
    if (step == "write" || step == "digest" || step == "verify") {
        ASSERT_TRUE(digest) << "the state was written but its digest never set";
        EXPECT_EQ(digest->at("Digest").value, crypto::md5_hex(now));
    }
}

INSTANTIATE_TEST_SUITE_P(AtEachStep, CancelledRestore,
                         ::testing::Values("lock s3-lockfile", "lock dynamodb", "check after lock",
                                           "safety snapshot", "write", "digest", "verify"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (auto& c : n)
                                 c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                             return n;
                         });

// A restore killed between its state write and its digest write left a stale `-md5`: every
// Terraform read then fails ("state data in S3 does not have the expected content"). The next
// start settles the digest before it releases the lock.
TEST_F(Restore, AKilledRestoreAfterItsWriteGetsItsDigestSettledAtTheNextStart) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(1, "lin"));
    const std::string v2 = state_json(2, "lin");
    put(env.key, v2);
    ASSERT_FALSE(run(restore::set_digest(*db_, table_, env.lock_id(), crypto::md5_hex(v2))).ec);
    const fs::path config_file = work_ / "tfsnapd.yaml";
    {
        std::ofstream out(config_file);
        out << "state_dir: " << (work_ / "state").string()
            << "\ndefaults:\n  endpoint: " << harness_.s3_endpoint()
            << "\n  dynamodb_endpoint: " << harness_.dynamodb_endpoint()
            << "\n  path_style: true\nenvironments:\n  prod:\n    bucket: " << bucket_
            << "\n    key: prod/terraform.tfstate\n    lock: { dynamodb_table: " << table_ << " }\n";
    }
    kill_crash_tool_at(config_file, v1_id, "write");
    if (HasFatalFailure())
        return;

    // written, digest stale, lock held
    const auto written = current_bytes(env);
    ASSERT_NE(written, v2);
    EXPECT_EQ(item(env.lock_id() + "-md5")->at("Digest").value, crypto::md5_hex(v2));
    ASSERT_TRUE(item(env.lock_id()));

    const auto recovered = run(restore::recover_journals(
        *rctx_, owner(), cfg, [&](const config::environment&) { return access(); }));
    ASSERT_EQ(recovered.size(), 1u);
    EXPECT_TRUE(recovered[0].error.empty()) << recovered[0].error;
    EXPECT_EQ(item(env.lock_id() + "-md5")->at("Digest").value, crypto::md5_hex(written));
    EXPECT_FALSE(item(env.lock_id()));
    EXPECT_TRUE(restore::scan(work_ / "state").journals.empty());
    std::vector<std::string> lines;
    ASSERT_FALSE(restore::read_audit(work_ / "state", lines, nullptr));
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines.back().find("digest settled"), std::string::npos) << lines.back();
}

// Only the state_dir's owner recovers journals: a journal found by anyone else may belong to a
// restore that is still running.
TEST_F(Restore, RecoveryIsTheStateDirsOwnersAlone) {
    const auto cfg = with_lock_table();
    const auto& env = cfg.environments[0];
    plant_journal("r-live", env, "live-id");
    hold_lock(env, tfsnap_lock_json("live-id", env.lock_id()));
    // another directory's owner
    const fs::path elsewhere = work_ / "elsewhere";
    auto other = core::claim_dir(elsewhere, "test");
    ASSERT_TRUE(other.owner);
    const auto none = run(restore::recover_journals(*rctx_, *other.owner, cfg,
                                                    [&](const config::environment&) { return access(); }));
    EXPECT_TRUE(none.empty());
    EXPECT_TRUE(item(env.lock_id()));
    EXPECT_EQ(restore::scan(work_ / "state").journals.size(), 1u);
    // a second claim of the same directory is refused while the first lives
    const auto& mine = owner();
    auto second = core::claim_dir(work_ / "state", "second");
    EXPECT_TRUE(second.busy);
    EXPECT_FALSE(second.owner);
    (void)mine;
}

// While the daemon runs, a restore whose release failed (S3 or DynamoDB failing past its retries)
// has its journal tried again; a restore still running in this process is left alone.
TEST_F(Restore, RetryReleasesWhatAnEndedRestoreLeftAndLeavesRunningOnes) {
    const auto cfg =
        load("  prod:\n    bucket: " + bucket_ +
             "\n    key: prod/terraform.tfstate\n    lock: { dynamodb_table: " + table_ +
             " }\n  stage:\n    bucket: " + bucket_ +
             "\n    key: stage/terraform.tfstate\n    lock: { dynamodb_table: " + table_ + " }\n");
    const auto& prod = cfg.environments[0];
    const auto& stage = cfg.environments[1];
    auto plant = [&](const std::string& restore_id, const config::environment& env, const std::string& id) {
        plant_journal(restore_id, env, id);
        hold_lock(env, tfsnap_lock_json(id, env.lock_id()));
    };
    plant("r-ended", prod, "ended-id");
    plant("r-running", stage, "running-id");
    rctx_->running.insert("r-running");
    const auto done = run(
        restore::retry_journals(*rctx_, owner(), cfg, [&](const config::environment&) { return access(); }));
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].restore_id, "r-ended");
    EXPECT_FALSE(item(prod.lock_id()));
    EXPECT_TRUE(item(stage.lock_id()));
    const auto left = restore::scan(work_ / "state");
    ASSERT_EQ(left.journals.size(), 1u);
    EXPECT_EQ(left.journals[0].restore_id, "r-running");
    rctx_->running.clear();
}

// ---------------------------------------------------------------------------- full restores

class FullRestore : public Restore {
protected:
    config::daemon_config full_config() {
        tf_dir_ = work_ / "infra";
        fs::create_directories(tf_dir_);
        return load("  prod:\n    bucket: " + bucket_ +
                    "\n    key: prod/terraform.tfstate\n    terraform_dir: " + tf_dir_.string() +
                    "\n    terraform_bin: " + std::string(TFSNAP_SOURCE_DIR) +
                    "/tests/restore/fake-terraform\n    terraform_timeout: 30s\n");
    }
    std::string calls() { return read_all(tf_dir_ / ".fake-terraform.log"); }
    fs::path tf_dir_;
};

TEST_F(FullRestore, RunsInitThenApplyWithACleanEnvironment) {
    ::setenv("TFSNAP_TEST_SECRET_IN_PARENT", "must-not-leak", 1);
    const auto cfg = full_config();
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(1, "lin"));
    put(env.key, state_json(2, "lin"));
    rctx_->terraform_credentials = [](const config::environment&)
        -> boost::asio::awaitable<std::vector<std::pair<std::string, std::string>>> {
        co_return std::vector<std::pair<std::string, std::string>>{{"AWS_ACCESS_KEY_ID", "AKIDFAKE"},
                                                                   {"AWS_SECRET_ACCESS_KEY", "s3cr3t"}};
    };
    restore::restore_request req;
    req.version_id = v1_id;
    req.mode = restore::restore_mode::full;
    const auto p = plan(env, req);
    ASSERT_TRUE(p.ok()) << p.refusals[0];
    ASSERT_TRUE(p.terraform);
    EXPECT_TRUE(p.terraform->ok) << p.terraform->message;
    const auto r = execute(env, req, p.token);
    ASSERT_EQ(r.result, restore::outcome::ok) << r.message;
    ASSERT_TRUE(r.terraform);
    EXPECT_TRUE(r.terraform->ok);
    const auto log = calls();
    EXPECT_NE(log.find("args: init -input=false"), std::string::npos) << log;
    EXPECT_NE(log.find("args: plan -input=false -detailed-exitcode"), std::string::npos) << log;
    EXPECT_NE(log.find("args: apply -input=false -auto-approve"), std::string::npos) << log;
    EXPECT_NE(log.find("cwd: " + tf_dir_.string()), std::string::npos) << log;
    EXPECT_NE(log.find("env: AWS_ACCESS_KEY_ID=AKIDFAKE"), std::string::npos) << log;
    EXPECT_NE(log.find("env: AWS_SECRET_ACCESS_KEY=<set>"), std::string::npos) << log;
    EXPECT_NE(log.find("env: AWS_ENDPOINT_URL_S3=" + harness_.s3_endpoint()), std::string::npos) << log;
    EXPECT_NE(log.find("env: TF_IN_AUTOMATION=1"), std::string::npos) << log;
    EXPECT_EQ(log.find("TFSNAP_TEST_SECRET_IN_PARENT"), std::string::npos) << log;
    EXPECT_TRUE(fs::exists(r.terraform->log_path));
    EXPECT_EQ(read_all(r.terraform->log_path).find("s3cr3t"), std::string::npos);
    ::unsetenv("TFSNAP_TEST_SECRET_IN_PARENT");
}

TEST_F(FullRestore, AFailedApplyIsReportedAndTheStateRestoreStands) {
    const auto cfg = full_config();
    const auto& env = cfg.environments[0];
    const auto v1_id = put(env.key, state_json(1, "lin"));
    put(env.key, state_json(2, "lin"));
    std::ofstream(tf_dir_ / ".fake-terraform-exit-apply") << "3\n";
    restore::restore_request req;
    req.version_id = v1_id;
    req.mode = restore::restore_mode::full;
    const auto r = restore(env, req);
    EXPECT_EQ(r.result, restore::outcome::failed);
    ASSERT_TRUE(r.terraform);
    EXPECT_EQ(r.terraform->exit_code, 3);
    EXPECT_EQ(r.terraform->failed_step, "apply");
    EXPECT_NE(r.terraform->tail.find("fake apply failed with 3"), std::string::npos) << r.terraform->tail;
    EXPECT_NE(r.message.find("not rolled back"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(r.safety_snapshot), std::string::npos) << r.message;
    // the state restore stands: v1's bytes, serial rolled forward past v2's
    EXPECT_EQ(current_bytes(env), tfstate::set_serial(state_json(1, "lin"), 3).bytes);
}

}  // namespace
