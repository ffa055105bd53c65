#include "tfsnap/restore/target.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace tfsnap::restore {
namespace {

using namespace std::chrono_literals;
using s3::version_entry;

const std::string key = "env/prod/terraform.tfstate";
const std::chrono::sys_seconds t0 = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + 5h;

version_entry version(std::string id, s3::time_point at, bool latest = false, std::string k = key) {
    version_entry e;
    e.key = std::move(k);
    e.version_id = std::move(id);
    e.is_latest = latest;
    e.last_modified = at;
    e.etag = "\"etag-" + e.version_id + "\"";
    e.size = 100;
    return e;
}

version_entry marker(std::string id, s3::time_point at, bool latest = false, std::string k = key) {
    version_entry e = version(std::move(id), at, latest, std::move(k));
    e.delete_marker = true;
    e.etag.clear();
    e.size = 0;
    return e;
}

// A history, newest first as ListObjectVersions gives it, with neighbours that share the prefix.
std::vector<version_entry> history() {
    return {
        version("v4", t0 + 4h, true),
        version("v3", t0 + 3h),
        marker("dm2", t0 + 2h),
        version("v1", t0 + 1h),
        version("v0", t0 + 500ms),
        version("lock-new", t0 + 5h, true, key + ".tflock"),
        version("backup", t0 + 10min, true, key + ".backup"),
        version("md5", t0 + 6h, true, key + "-md5"),
        version("short", t0 + 2h, true, "env/prod/terraform.tfstat"),
        version("other-env", t0 + 7h, true, "env/prod2/terraform.tfstate"),
    };
}

TEST(ResolveAt, NewestVersionAtOrBeforeTheTime) {
    const auto h = history();
    EXPECT_EQ(resolve_at(h, key, t0 + 10h).entry->version_id, "v4");
    EXPECT_EQ(resolve_at(h, key, t0 + 4h).entry->version_id, "v4");  // the exact instant
    EXPECT_EQ(resolve_at(h, key, t0 + 4h - 1s).entry->version_id, "v3");
    EXPECT_EQ(resolve_at(h, key, t0 + 3h).entry->version_id, "v3");
    EXPECT_EQ(resolve_at(h, key, t0 + 1h).entry->version_id, "v1");
    EXPECT_EQ(resolve_at(h, key, t0 + 1s).entry->version_id, "v0");
    const auto r = resolve_at(h, key, t0 + 4h);
    EXPECT_FALSE(r.ec);
    EXPECT_FALSE(r.deleted_at_time);
    EXPECT_FALSE(r.entry->delete_marker);
    EXPECT_EQ(r.entry->key, key);
}

TEST(ResolveAt, MillisecondsAfterTheSecondDoNotCount) {
    const auto h = history();
    // v0 was written at t0 + 0.5 s: asking for t0 is before it
    const auto r = resolve_at(h, key, t0);
    EXPECT_FALSE(r.entry);
    EXPECT_EQ(r.ec, target_errc::too_early);
    EXPECT_EQ(r.message,
              "no version of env/prod/terraform.tfstate existed at 2026-11-22T05:00:00Z: the oldest version "
              "(v0) is "
              "from 2026-11-22T05:00:00.500Z");
}

TEST(ResolveAt, BeforeTheFirstVersion) {
    const auto h = history();
    const auto r = resolve_at(h, key, t0 - 24h);
    EXPECT_FALSE(r.entry);
    EXPECT_EQ(r.ec, target_errc::too_early);
    EXPECT_NE(r.message.find("the oldest version (v0)"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("2026-11-21T05:00:00Z"), std::string::npos) << r.message;
    // a neighbour older than every version of the key is not "the oldest version"
    EXPECT_EQ(r.message.find("backup"), std::string::npos);
}

TEST(ResolveAt, DeleteMarkersAreSkippedAndReported) {
    const auto h = history();
    // between dm2 (t0+2h) and v3 (t0+3h) the state was deleted: the version the marker hid
    const auto r = resolve_at(h, key, t0 + 2h + 30min);
    ASSERT_TRUE(r.entry);
    EXPECT_EQ(r.entry->version_id, "v1");
    EXPECT_TRUE(r.deleted_at_time);
    // at the marker's exact instant too
    const auto at_marker = resolve_at(h, key, t0 + 2h);
    EXPECT_EQ(at_marker.entry->version_id, "v1");
    EXPECT_TRUE(at_marker.deleted_at_time);
    // and not once v3 was written
    EXPECT_FALSE(resolve_at(h, key, t0 + 3h).deleted_at_time);
    EXPECT_FALSE(resolve_at(h, key, t0 + 2h - 1s).deleted_at_time);
}

TEST(ResolveAt, DeletedNowStillResolvesOlderTimes) {
    std::vector<version_entry> h = {
        marker("dm", t0 + 2h, true),
        version("v1", t0 + 1h),
    };
    const auto r = resolve_at(h, key, t0 + 3h);
    EXPECT_EQ(r.entry->version_id, "v1");
    EXPECT_TRUE(r.deleted_at_time);
    EXPECT_FALSE(resolve_at(h, key, t0 + 1h).deleted_at_time);
}

TEST(ResolveAt, OtherKeysWithTheSamePrefixNeverCount) {
    std::vector<version_entry> h = {
        version("lock", t0 + 1h, true, key + ".tflock"),
        version("backup", t0 + 1h, true, key + ".backup"),
        version("md5", t0, true, key + "-md5"),
        version("mine", t0 + 2h, true),
    };
    const auto r = resolve_at(h, key, t0 + 90min);
    EXPECT_FALSE(r.entry);
    EXPECT_EQ(r.ec, target_errc::too_early);
    EXPECT_NE(r.message.find("(mine)"), std::string::npos) << r.message;
}

TEST(ResolveAt, NoVersions) {
    const std::vector<version_entry> none;
    const auto r = resolve_at(none, key, t0);
    EXPECT_EQ(r.ec, target_errc::no_versions);
    EXPECT_EQ(r.message, "no versions of env/prod/terraform.tfstate are listed");

    const std::vector<version_entry> only_neighbours = {version("x", t0, true, key + ".tflock")};
    EXPECT_EQ(resolve_at(only_neighbours, key, t0).ec, target_errc::no_versions);

    const std::vector<version_entry> only_markers = {marker("dm2", t0 + 1h, true), marker("dm1", t0)};
    const auto m = resolve_at(only_markers, key, t0 + 2h);
    EXPECT_EQ(m.ec, target_errc::no_versions);
    EXPECT_EQ(m.message, "env/prod/terraform.tfstate has only delete markers, no versions");
}

TEST(ResolveAt, ListingOrderDoesNotMatter) {
    auto h = history();
    std::mt19937 rng{42};
    for (int i = 0; i < 20; ++i) {
        std::shuffle(h.begin(), h.end(), rng);
        EXPECT_EQ(resolve_at(h, key, t0 + 3h + 59min).entry->version_id, "v3");
        EXPECT_EQ(resolve_at(h, key, t0 + 2h + 1s).entry->version_id, "v1");
        EXPECT_TRUE(resolve_at(h, key, t0 + 2h + 1s).deleted_at_time);
        EXPECT_EQ(current_entry(h, key)->version_id, "v4");
    }
}

TEST(ResolveAt, EqualTimesKeepListingOrder) {
    // two writes within the same millisecond: S3 lists the newer first
    const std::vector<version_entry> h = {
        version("newer", t0 + 1h, true),
        version("older", t0 + 1h),
    };
    EXPECT_EQ(resolve_at(h, key, t0 + 1h).entry->version_id, "newer");
}

TEST(CurrentEntry, TheLatestVersionOrDeleteMarker) {
    EXPECT_EQ(current_entry(history(), key)->version_id, "v4");

    const std::vector<version_entry> deleted = {marker("dm", t0 + 2h, true), version("v1", t0 + 1h)};
    const auto c = current_entry(deleted, key);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->version_id, "dm");
    EXPECT_TRUE(c->delete_marker);
}

TEST(CurrentEntry, OnlyThisKey) {
    const std::vector<version_entry> h = {
        version("lock", t0 + 5h, true, key + ".tflock"),
        version("mine", t0 + 1h, true),
    };
    EXPECT_EQ(current_entry(h, key)->version_id, "mine");
    EXPECT_FALSE(current_entry(h, "env/prod/other.tfstate"));
    EXPECT_FALSE(current_entry(std::vector<version_entry>{}, key));
}

TEST(CurrentEntry, WithoutAnIsLatestFlagTheNewest) {
    const std::vector<version_entry> h = {version("a", t0 + 1h), version("b", t0 + 2h), version("c", t0)};
    EXPECT_EQ(current_entry(h, key)->version_id, "b");
}

TEST(PreviousVersion, TheVersionUnderTheDeleteMarkers) {
    const std::vector<version_entry> h = {
        marker("dm3", t0 + 5h, true), marker("dm2", t0 + 4h), version("v2", t0 + 3h),
        marker("dm1", t0 + 2h),       version("v1", t0 + 1h), version("lock", t0 + 6h, true, key + ".tflock"),
    };
    const auto p = previous_version(h, key);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->version_id, "v2");
    EXPECT_FALSE(p->delete_marker);
}

TEST(PreviousVersion, NothingToUndelete) {
    // not deleted
    EXPECT_FALSE(previous_version(history(), key));
    // only markers
    const std::vector<version_entry> markers = {marker("dm2", t0 + 1h, true), marker("dm1", t0)};
    EXPECT_FALSE(previous_version(markers, key));
    // no entries of this key
    const std::vector<version_entry> neighbours = {marker("dm", t0, true, key + ".tflock"),
                                                   version("v", t0 - 1h, false, key + ".tflock")};
    EXPECT_FALSE(previous_version(neighbours, key));
}

TEST(PreviousVersion, ListingOrderDoesNotMatter) {
    std::vector<version_entry> h = {
        version("v1", t0 + 1h),
        marker("dm", t0 + 2h, true),
        version("v0", t0),
    };
    EXPECT_EQ(previous_version(h, key)->version_id, "v1");
    std::reverse(h.begin(), h.end());
    EXPECT_EQ(previous_version(h, key)->version_id, "v1");
}

TEST(TargetErrors, Category) {
    const boost::system::error_code ec = target_errc::too_early;
    EXPECT_STREQ(ec.category().name(), "tfsnap.restore.target");
    EXPECT_EQ(ec.message(), "no version of the state existed at the requested time");
}

}  // namespace
}  // namespace tfsnap::restore
