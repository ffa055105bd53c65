#include "tfsnap/restore/audit.hpp"
#include "tfsnap/restore/journal.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace tfsnap::restore {
namespace {

namespace fs = std::filesystem;

journal_entry sample_journal() {
    journal_entry e;
    e.restore_id = "r-20261122T023026Z-1";
    e.environment = "prod";
    e.started_at = "2026-11-22T02:30:26Z";
    e.requested_by = "alice@ops-1";
    e.reason = "bad apply";
    e.locks.push_back({"dynamodb", "terraform-locks", "bucket/key", "5f0c6c3e-7d1a-4b7e-9a53-3d1c2b4a6e10"});
    e.step = "locked";
    return e;
}

TEST(Journal, RoundTrips) {
    const auto e = sample_journal();
    ASSERT_TRUE(valid_restore_id(e.restore_id));
    std::string why;
    const auto back = parse_journal(to_json(e), &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(back->restore_id, e.restore_id);
    EXPECT_EQ(back->locks.size(), 1U);
}

// A journal is a file in state_dir: 100,000 nested arrays in it overflowed the stack of the
// recursive parser during start-up recovery.
TEST(Journal, DeepNestingIsRefusedNotACrash) {
    std::string json = to_json(sample_journal());
    json.insert(1, R"("x":)" + std::string(100000, '[') + std::string(100000, ']') + ",");
    std::string why;
    EXPECT_FALSE(parse_journal(json, &why));
    EXPECT_EQ(why, "nests deeper than 512 levels (at byte 516)");
    EXPECT_FALSE(parse_journal("[1]", &why));
    EXPECT_EQ(why, "not a JSON object (3 bytes)");
}

TEST(Audit, PlanIsEmbeddedOnlyWhenItParsesWithinTheBound) {
    audit_record r;
    r.result = "ok";
    r.plan_json = R"({"action":"restore","warnings":[]})";
    EXPECT_NE(to_json_line(r).find(R"("plan":{"action":"restore","warnings":[]})"), std::string::npos);
    // written back with Accept (recursive): a plan nested beyond the bound is left out, not walked
    r.plan_json = std::string(100000, '[') + std::string(100000, ']');
    EXPECT_NE(to_json_line(r).find(R"("plan":null)"), std::string::npos);
}

TEST(Audit, DeeplyNestedLineCountsAsTornNotACrash) {
    const fs::path dir = fs::path(testing::TempDir()) / "tfsnap-audit-test";
    fs::remove_all(dir);
    fs::create_directories(dir);
    audit_record r;
    r.result = "ok";
    ASSERT_FALSE(append_audit(dir, r));
    {
        std::ofstream out(dir / "audit.log", std::ios::app);
        out << std::string(100000, '[') << std::string(100000, ']') << "\n";
    }
    ASSERT_FALSE(append_audit(dir, r));
    std::vector<std::string> lines;
    int torn = 0;
    ASSERT_FALSE(read_audit(dir, lines, &torn));
    EXPECT_EQ(lines.size(), 2U);
    EXPECT_EQ(torn, 1);
    fs::remove_all(dir);
}

}  // namespace
}  // namespace tfsnap::restore
