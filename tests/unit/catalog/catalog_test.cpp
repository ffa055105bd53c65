#include "tfsnap/catalog/catalog.hpp"
#include "tfsnap/catalog/error.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tfsnap::catalog {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::chrono::sys_seconds t0 = std::chrono::sys_days{std::chrono::year{2025} / 1 / 15} + 10h + 30min;

manifest::manifest sample(std::string env, std::string version_id, std::uint64_t serial) {
    manifest::manifest m;
    m.environment = std::move(env);
    m.created_at = "2025-01-15T10:30:00Z";
    m.created_by = "test";
    m.schedule = "hourly";
    m.terraform_state = {"s3", "bucket", "key", "eu-central-1", std::move(version_id), "\"e\"", "x", 10};
    m.state = manifest::state_summary{manifest::state_kind::state, serial, "lin", "1.9.0", 3};
    return m;
}

class Catalog : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tfsnap-catalog-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string add(catalog& c, std::string env, std::string version_id, std::chrono::sys_seconds t = t0) {
        auto m = sample(std::move(env), std::move(version_id), 1);
        const auto s = c.add(m, t);
        EXPECT_FALSE(s) << s.ec.message() << " " << s.info.path << " " << s.info.message;
        return m.snapshot_id;
    }
    std::vector<index_entry> listed(catalog& c, std::string_view env) {
        std::vector<index_entry> out;
        const auto s = c.list(env, out);
        EXPECT_FALSE(s) << s.info.message;
        return out;
    }
    std::vector<index_entry> scanned(catalog& c, std::string_view env) {
        std::vector<index_entry> out;
        const auto s = c.scan(env, out);
        EXPECT_FALSE(s) << s.info.message;
        return out;
    }
    fs::path dir_;
};

TEST_F(Catalog, AddAssignsIdsWithCollisionSuffixes) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    EXPECT_EQ(add(c, "prod", "v1"), "2025-01-15T10-30-00Z");
    EXPECT_EQ(add(c, "prod", "v2"), "2025-01-15T10-30-00Z-2");
    EXPECT_EQ(add(c, "prod", "v3"), "2025-01-15T10-30-00Z-3");
    EXPECT_EQ(add(c, "stage", "v4"), "2025-01-15T10-30-00Z");
    EXPECT_EQ(add(c, "prod", "v5", t0 + 1s), "2025-01-15T10-30-01Z");
    const auto l = listed(c, "prod");
    ASSERT_EQ(l.size(), 4u);
    EXPECT_EQ(l[0].version_id, "v1");
    EXPECT_EQ(l[2].snapshot_id, "2025-01-15T10-30-00Z-3");
    EXPECT_EQ(l[3].version_id, "v5");
    EXPECT_TRUE(fs::exists(dir_ / "catalog/prod/2025-01-15T10-30-00Z-2/MANIFEST.json"));
    manifest::manifest m;
    ASSERT_FALSE(c.read_manifest("prod", "2025-01-15T10-30-00Z-2", m));
    EXPECT_EQ(m.terraform_state.version_id, "v2");
    EXPECT_EQ(m.snapshot_id, "2025-01-15T10-30-00Z-2");
}

TEST_F(Catalog, StoresLocalCopyPrivately) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    auto m = sample("prod", "v1", 7);
    ASSERT_FALSE(c.add(m, t0, std::string_view("{\"serial\": 7}")));
    ASSERT_TRUE(m.copy);
    EXPECT_EQ(m.copy->mode, "local");
    const fs::path state = dir_ / "catalog/prod" / m.snapshot_id / "state";
    struct stat st {};
    ASSERT_EQ(::stat(state.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_TRUE(listed(c, "prod").at(0).has_copy);
}

TEST_F(Catalog, RefusesTraversal) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    add(c, "prod", "v1");
    for (std::string_view env : {"../x", "a/b", "..", ".", "", "x\\..", "/etc"}) {
        std::vector<index_entry> out;
        EXPECT_EQ(c.list(env, out).ec, errc::invalid_environment) << env;
        manifest::manifest m;
        EXPECT_EQ(c.read_manifest(env, "2025-01-15T10-30-00Z", m).ec, errc::invalid_environment) << env;
        EXPECT_EQ(c.remove(env, "2025-01-15T10-30-00Z").ec, errc::invalid_environment) << env;
        auto bad = sample(std::string(env), "v", 1);
        EXPECT_EQ(c.add(bad, t0).ec, errc::invalid_environment) << env;
    }
    for (std::string_view id : {"../x", "a/b", "..", "2025-01-15T10-30-00Z/../../x", "INDEX.json"}) {
        manifest::manifest m;
        EXPECT_EQ(c.read_manifest("prod", id, m).ec, errc::invalid_snapshot_id) << id;
        EXPECT_EQ(c.remove("prod", id).ec, errc::invalid_snapshot_id) << id;
        EXPECT_EQ(c.set_pin("prod", id, std::nullopt).ec, errc::invalid_snapshot_id) << id;
    }
    EXPECT_EQ(listed(c, "prod").size(), 1u);
}

TEST_F(Catalog, RebuiltIndexEqualsIncrementalIndex) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    for (int i = 0; i < 6; ++i)
        add(c, "prod", "v" + std::to_string(i), t0 + std::chrono::seconds(i / 2));
    ASSERT_FALSE(c.set_pin("prod", "2025-01-15T10-30-01Z", "2030-01-01T00:00:00Z"));
    ASSERT_FALSE(c.remove("prod", "2025-01-15T10-30-00Z-2"));
    const auto incremental = listed(c, "prod");
    ASSERT_EQ(incremental.size(), 5u);
    std::vector<index_entry> rebuilt;
    ASSERT_FALSE(c.rebuild_index("prod", &rebuilt));
    EXPECT_EQ(rebuilt, incremental);
    EXPECT_EQ(scanned(c, "prod"), incremental);
}

TEST_F(Catalog, DeleteRemovesTheSnapshot) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    const auto a = add(c, "prod", "v1");
    const auto b = add(c, "prod", "v2");
    ASSERT_FALSE(c.remove("prod", a));
    EXPECT_FALSE(fs::exists(dir_ / "catalog/prod" / a));
    const auto l = listed(c, "prod");
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].snapshot_id, b);
    EXPECT_EQ(c.remove("prod", a).ec, errc::not_found);
    manifest::manifest m;
    EXPECT_EQ(c.read_manifest("prod", a, m).ec, errc::not_found);
    for (const auto& e : fs::directory_iterator(dir_ / "catalog/prod"))
        EXPECT_NE(e.path().filename().string().substr(0, 1), ".") << e.path();
}

TEST_F(Catalog, PinAndUnpin) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    const auto id = add(c, "prod", "v1");
    ASSERT_FALSE(c.set_pin("prod", id, "2030-01-01T00:00:00Z"));
    manifest::manifest m;
    ASSERT_FALSE(c.read_manifest("prod", id, m));
    EXPECT_EQ(m.pinned_until, "2030-01-01T00:00:00Z");
    EXPECT_EQ(listed(c, "prod").at(0).pinned_until, "2030-01-01T00:00:00Z");
    EXPECT_EQ(c.set_pin("prod", id, "tomorrow").ec, core::errc::invalid_argument);
    ASSERT_FALSE(c.set_pin("prod", id, std::nullopt));
    EXPECT_FALSE(listed(c, "prod").at(0).pinned_until);
    EXPECT_EQ(c.set_pin("prod", "2031-01-01T00-00-00Z", std::nullopt).ec, errc::not_found);
}

TEST_F(Catalog, OpenRemovesStrayTemporaries) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    const auto id = add(c, "prod", "v1");
    const fs::path env = dir_ / "catalog/prod";
    fs::create_directories(env / ".tmp-2025-01-15T10-31-00Z-1-1");
    std::ofstream(env / ".tmp-2025-01-15T10-31-00Z-1-1/MANIFEST.json") << "{\"half";
    fs::create_directories(env / (".del-" + id + "-9-9"));
    std::ofstream(env / ".tmp-INDEX.json-1-2") << "{";
    std::ofstream(env / id / ".tmp-MANIFEST.json-1-3") << "{";
    catalog reopened(dir_);
    ASSERT_FALSE(reopened.open());
    for (const auto& e : fs::recursive_directory_iterator(dir_))
        EXPECT_NE(e.path().filename().string().substr(0, 1), ".") << e.path();
    EXPECT_EQ(listed(reopened, "prod").size(), 1u);
}

TEST_F(Catalog, RepairsMissingCorruptOrStaleIndex) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    add(c, "prod", "v1");
    add(c, "prod", "v2");
    const auto expected = listed(c, "prod");
    const fs::path index = dir_ / "catalog/prod/INDEX.json";

    fs::remove(index);
    EXPECT_EQ(listed(c, "prod"), expected);
    EXPECT_TRUE(fs::exists(index));

    std::ofstream(index, std::ios::trunc) << "{\"format\": ";
    EXPECT_EQ(listed(c, "prod"), expected);

    std::ofstream(index, std::ios::trunc) << catalog::serialize_index("prod", {expected[0]});
    int repaired = 0;
    catalog reopened(dir_);
    ASSERT_FALSE(reopened.open(&repaired));
    EXPECT_EQ(repaired, 1);
    EXPECT_EQ(listed(reopened, "prod"), expected);
}

// A clean close leaves CLEAN; the next open trusts the indexes as they are (no manifest read),
// removes the marker, and a second open without a close repairs again.
TEST_F(Catalog, ACleanCloseIsTrustedOnceAndOnlyOnce) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    EXPECT_FALSE(c.trusted());
    add(c, "prod", "v1");
    add(c, "prod", "v2", t0 + std::chrono::seconds(1));
    const auto expected = listed(c, "prod");
    ASSERT_FALSE(c.close());
    EXPECT_TRUE(fs::exists(dir_ / "catalog/CLEAN"));

    // an index one step behind (as if changed while tfsnapd was stopped): trusted as it is
    const fs::path index = dir_ / "catalog/prod/INDEX.json";
    std::ofstream(index, std::ios::trunc) << catalog::serialize_index("prod", {expected[0]});
    std::ofstream(dir_ / "catalog/prod/.tmp-get-1-1") << "partial download";
    int repaired = -1;
    catalog trusting(dir_);
    ASSERT_FALSE(trusting.open(&repaired));
    EXPECT_TRUE(trusting.trusted());
    EXPECT_EQ(repaired, 0);
    EXPECT_FALSE(fs::exists(dir_ / "catalog/CLEAN"));
    EXPECT_FALSE(fs::exists(dir_ / "catalog/prod/.tmp-get-1-1"));  // scratch is still removed
    EXPECT_EQ(listed(trusting, "prod").size(), 1u);

    // no close since (a kill): the next open repairs
    catalog after_kill(dir_);
    ASSERT_FALSE(after_kill.open(&repaired));
    EXPECT_FALSE(after_kill.trusted());
    EXPECT_EQ(repaired, 1);
    EXPECT_EQ(listed(after_kill, "prod"), expected);
}

// A change that failed leaves no marker: the next start repairs rather than trusts.
TEST_F(Catalog, AFailedChangeMeansNoCleanMarker) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    const auto id = add(c, "prod", "v1");
    EXPECT_TRUE(c.update("prod", id, [](manifest::manifest& m) { m.pinned_until = "tomorrow"; }));
    EXPECT_TRUE(c.close());
    EXPECT_FALSE(fs::exists(dir_ / "catalog/CLEAN"));
}

// INDEX.json is rebuilt from the manifests when it cannot be read, nesting included (this crashed).
TEST_F(Catalog, DeeplyNestedIndexIsRebuiltNotACrash) {
    std::vector<index_entry> out;
    EXPECT_FALSE(catalog::parse_index(R"({"format":"tfsnap-catalog-index","version":1,"snapshots":[)" +
                                          std::string(100000, '[') + std::string(100000, ']') + "]}",
                                      out));
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    add(c, "prod", "v1");
    const auto expected = listed(c, "prod");
    std::ofstream(dir_ / "catalog/prod/INDEX.json", std::ios::trunc) << std::string(100000, '[');
    EXPECT_EQ(listed(c, "prod"), expected);
}

// An index whose strings decode to invalid UTF-8 ("\udc00", a lone surrogate) was accepted, then
// written back as text its own parser refuses (found by fuzz_catalog_index). Refused at once now,
// so the index is rebuilt from the manifests.
TEST_F(Catalog, IndexWithALoneSurrogateIsRefused) {
    std::vector<index_entry> out;
    EXPECT_FALSE(catalog::parse_index(
        R"({"format":"tfsnap-catalog-index","version":1,"snapshots":[{"snapshot_id":"2026-11-21T02-30-00Z",)"
        R"("created_at":"202\ud66d\ude000:00Z","version_id":"v2","has_copy":false}]})",
        out));
    EXPECT_TRUE(catalog::parse_index(
        R"({"format":"tfsnap-catalog-index","version":1,"snapshots":[{"snapshot_id":"2026-11-21T02-30-00Z",)"
        R"("created_at":"2026-11-21T02:30:00Z","version_id":"v\u00e9","has_copy":false}]})",
        out));
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out[0].version_id, "v\xc3\xa9");
}

TEST_F(Catalog, ReportsCorruptManifest) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    const auto id = add(c, "prod", "v1");
    std::ofstream(dir_ / "catalog/prod" / id / "MANIFEST.json", std::ios::trunc) << "{}";
    manifest::manifest m;
    const auto s = c.read_manifest("prod", id, m);
    EXPECT_EQ(s.ec, errc::corrupt_manifest);
    EXPECT_NE(s.info.path.find("MANIFEST.json"), std::string::npos);
    EXPECT_EQ(c.rebuild_index("prod").ec, errc::corrupt_manifest);
}

TEST_F(Catalog, UnknownEnvironmentListsEmpty) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    EXPECT_TRUE(listed(c, "nothing").empty());
    std::vector<std::string> envs;
    add(c, "b", "v");
    add(c, "a", "v");
    ASSERT_FALSE(c.environments(envs));
    EXPECT_EQ(envs, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
TEST_F(Catalog, IdsOnlyGrowAfterADeletion) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    EXPECT_EQ(add(c, "prod", "v1"), "2025-01-15T10-30-00Z");
    EXPECT_EQ(add(c, "prod", "v2"), "2025-01-15T10-30-00Z-2");
    ASSERT_FALSE(c.remove("prod", "2025-01-15T10-30-00Z"));
    EXPECT_EQ(c.next_id("prod", t0), "2025-01-15T10-30-00Z-3");
    EXPECT_EQ(add(c, "prod", "v3"), "2025-01-15T10-30-00Z-3");
    EXPECT_EQ(c.next_id("stage", t0), "2025-01-15T10-30-00Z");
}

TEST_F(Catalog, AttachesAPreparedFileAndCleansScratchOnOpen) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    fs::path scratch;
    ASSERT_FALSE(c.scratch_path("prod", "seal", scratch));
    EXPECT_EQ(scratch.parent_path(), dir_ / "catalog" / "prod");
    { std::ofstream(scratch) << "sealed bytes"; }
    auto m = sample("prod", "v1", 1);
    ASSERT_FALSE(c.add(m, t0, scratch, "state.enc"));
    EXPECT_FALSE(fs::exists(scratch));
    EXPECT_TRUE(fs::exists(dir_ / "catalog/prod" / m.snapshot_id / "state.enc"));
    auto bad = sample("prod", "v2", 2);
    EXPECT_TRUE(c.add(bad, t0, scratch, "../escape"));
    // a crash leaves scratch files; open() removes them
    fs::path left;
    ASSERT_FALSE(c.scratch_path("prod", "get", left));
    { std::ofstream(left) << "partial download"; }
    catalog again(dir_);
    ASSERT_FALSE(again.open());
    EXPECT_FALSE(fs::exists(left));
}

TEST_F(Catalog, UpdateRewritesOneManifestAndTheIndex) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    const auto id = add(c, "prod", "v1");
    ASSERT_FALSE(c.update("prod", id, [](manifest::manifest& m) {
        m.expires_at = "2025-02-01T00:00:00Z";
        m.snapshot_id = "ignored";
    }));
    manifest::manifest m;
    ASSERT_FALSE(c.read_manifest("prod", id, m));
    EXPECT_EQ(m.expires_at, "2025-02-01T00:00:00Z");
    EXPECT_EQ(m.snapshot_id, id);
    EXPECT_EQ(listed(c, "prod").at(0).expires_at, "2025-02-01T00:00:00Z");
    EXPECT_EQ(listed(c, "prod"), scanned(c, "prod"));
    EXPECT_EQ(c.update("prod", "2025-01-15T10-30-09Z", [](manifest::manifest&) {}).ec, errc::not_found);
}

TEST_F(Catalog, RecordsAreNamedAndAtomic) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    std::string text;
    EXPECT_EQ(c.read_record("prod", catalog::verify_record, text).ec, errc::not_found);
    ASSERT_FALSE(c.write_record("prod", catalog::verify_record, "{\"ok\":true}\n"));
    ASSERT_FALSE(c.read_record("prod", catalog::verify_record, text));
    EXPECT_EQ(text, "{\"ok\":true}\n");
    EXPECT_TRUE(c.write_record("prod", "../../etc/passwd", "x"));
    EXPECT_TRUE(c.write_record("../x", catalog::verify_record, "x"));
    // records are not snapshots
    EXPECT_TRUE(listed(c, "prod").empty());
}

TEST_F(Catalog, DotDirectoriesAreNotEnvironments) {
    catalog c(dir_);
    ASSERT_FALSE(c.open());
    add(c, "prod", "v1");
    fs::create_directories(dir_ / "catalog" / ".git" / "objects");
    int repaired = -1;
    ASSERT_FALSE(c.open(&repaired));
    EXPECT_EQ(repaired, 0);
    std::vector<std::string> envs;
    ASSERT_FALSE(c.environments(envs));
    EXPECT_EQ(envs, std::vector<std::string>{"prod"});
    EXPECT_FALSE(fs::exists(dir_ / "catalog" / ".git" / "INDEX.json"));
}

}  // namespace tfsnap::catalog
