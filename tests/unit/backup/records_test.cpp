#include "tfsnap/backup/records.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tfsnap::backup {
namespace {

TEST(BackupCheck, RoundTrips) {
    const backup_check c{"2026-11-22T02:30:26Z", "snapshot", "daily", "v1", "2026-11-22T02-30-26Z", "ok"};
    backup_check back;
    ASSERT_TRUE(parse(serialize(c), back));
    EXPECT_EQ(back.checked_at, c.checked_at);
    EXPECT_EQ(back.result, c.result);
    EXPECT_EQ(back.snapshot_id, c.snapshot_id);
    EXPECT_EQ(back.message, c.message);
}

// LAST_BACKUP.json is a file on disk: 100,000 nested arrays in it overflowed the stack of the
// recursive parser. Refused as unreadable now.
TEST(BackupCheck, DeepNestingIsRefusedNotACrash) {
    backup_check out;
    EXPECT_FALSE(parse(
        R"({"result":"snapshot","x":)" + std::string(100000, '[') + std::string(100000, ']') + "}", out));
    EXPECT_FALSE(parse(std::string(100000, '{'), out));
    EXPECT_FALSE(parse("[]", out));
}

}  // namespace
}  // namespace tfsnap::backup
