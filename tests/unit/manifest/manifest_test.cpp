#include "tfsnap/manifest/manifest.hpp"
#include "tfsnap/manifest/error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tfsnap::manifest {
namespace {

using namespace std::chrono_literals;

// A manifest as ops' existing tooling writes it: only the v2.0 fields.
constexpr std::string_view seed = R"({
  "version": "2.0",
  "backup_type": "state-based",
  "snapshot_id": "2025-01-15T10-30-00Z",
  "environment": "prod",
  "created_at": "2025-01-15T10:30:00Z",
  "created_by": "backup.sh",
  "schedule": "daily",
  "terraform_state": {
    "source": "s3",
    "bucket": "acme-tfstate",
    "key": "prod/terraform.tfstate",
    "region": "eu-central-1",
    "version_id": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
    "etag": "\"d41d8cd98f00b204e9800998ecf8427e\"",
    "last_modified": "2025-01-15T10:29:41Z",
    "content_length": 48213
  }
})";

manifest full() {
    manifest m;
    m.snapshot_id = "2025-01-15T10-30-00Z-2";
    m.environment = "prod";
    m.created_at = "2025-01-15T10:30:00Z";
    m.created_by = "tfsnapd";
    m.schedule = "hourly";
    m.terraform_state = {"s3", "acme-tfstate", "prod/terraform.tfstate", "eu-central-1",
                         "v1", "\"abc\"",      "2025-01-15T10:29:41Z",   48213};
    m.checksums = checksum_set{"d41d8cd98f00b204e9800998ecf8427e", std::string(64, 'a')};
    m.state = state_summary{state_kind::state, 42, "lin-1", "1.9.8", 17};
    m.copy = copy_info{"local", "", "", "", "state", std::string(64, 'b')};
    m.expires_at = "2025-02-14T00:00:00Z";
    m.pinned_until = std::nullopt;
    m.tfsnap_version = "0.1.0";
    return m;
}

TEST(Manifest, RoundTripsEveryField) {
    const manifest m = full();
    const auto r = read(write(m));
    ASSERT_FALSE(r.ec) << r.detail;
    EXPECT_EQ(r.value, m);
    EXPECT_EQ(write(r.value), write(m));
}

TEST(Manifest, RoundTripsOpaqueAndMinimal) {
    manifest m = full();
    m.state = state_summary{state_kind::encrypted, {}, {}, {}, {}, "v0"};
    m.copy.reset();
    m.checksums.reset();
    m.expires_at.reset();
    m.pinned_until = "2030-01-01T00:00:00Z";
    const std::string text = write(m);
    EXPECT_NE(text.find(R"("encryption_version": "v0")"), std::string::npos) << text;
    const auto r = read(text);
    ASSERT_FALSE(r.ec) << r.detail;
    EXPECT_EQ(r.value, m);
    EXPECT_EQ(r.value.state->encryption_version, "v0");
}

TEST(Manifest, WriteHasStableKeyOrder) {
    const std::string text = write(full());
    const char* keys[] = {"\"version\"",      "\"backup_type\"",   "\"snapshot_id\"", "\"environment\"",
                          "\"created_at\"",   "\"created_by\"",    "\"schedule\"",    "\"terraform_state\"",
                          "\"checksums\"",    "\"state\"",         "\"copy\"",        "\"expires_at\"",
                          "\"pinned_until\"", "\"tfsnap_version\""};
    std::size_t last = 0;
    for (const char* k : keys) {
        const auto at = text.find(std::string("\n  ") + k);
        ASSERT_NE(at, std::string::npos) << k;
        EXPECT_GT(at, last) << k;
        last = at;
    }
    EXPECT_NE(text.find("\"version\": \"2.0\""), std::string::npos);
}

TEST(Manifest, ReadsSeedFormat) {
    const auto r = read(seed);
    ASSERT_FALSE(r.ec) << r.detail;
    EXPECT_EQ(r.value.snapshot_id, "2025-01-15T10-30-00Z");
    EXPECT_EQ(r.value.terraform_state.content_length, 48213u);
    EXPECT_EQ(r.value.terraform_state.version_id, "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY");
    EXPECT_FALSE(r.value.checksums);
    EXPECT_FALSE(r.value.state);
    EXPECT_FALSE(r.value.copy);
    EXPECT_FALSE(r.value.expires_at);
    EXPECT_TRUE(r.value.tfsnap_version.empty());
}

std::string replace(std::string_view text, std::string_view from, std::string_view to) {
    std::string s(text);
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos)
        s.replace(at, from.size(), to);
    return s;
}

TEST(Manifest, ToleratesUnknownFieldsAndMinorVersions) {
    auto text =
        replace(seed, "\"schedule\": \"daily\",", "\"schedule\": \"daily\", \"future\": {\"x\": [1, 2]},");
    text = replace(text, "\"2.0\"", "\"2.7\"");
    const auto r = read(text);
    ASSERT_FALSE(r.ec) << r.detail;
    EXPECT_EQ(r.value.schedule, "daily");
}

TEST(Manifest, RefusesUnknownMajorVersion) {
    const auto r = read(replace(seed, "\"2.0\"", "\"3.0\""));
    EXPECT_EQ(r.ec, errc::unsupported_version);
    EXPECT_NE(r.detail.find("version"), std::string::npos);
    EXPECT_EQ(read(replace(seed, "\"2.0\"", "\"1.0\"")).ec, errc::unsupported_version);
}

struct bad_case {
    std::string_view from, to;
    errc expected;
    std::string_view field;
};

TEST(Manifest, ReportsTheFieldAtFault) {
    const bad_case cases[] = {
        {"\"content_length\": 48213", "\"content_length\": \"48213\"", errc::wrong_type,
         "terraform_state.content_length"},
        {"\"content_length\": 48213", "\"content_length\": -1", errc::wrong_type,
         "terraform_state.content_length"},
        {"\"region\": \"eu-central-1\",", "", errc::missing_field, "terraform_state.region"},
        {"\"created_by\": \"backup.sh\",", "", errc::missing_field, "created_by"},
        {"\"environment\": \"prod\"", "\"environment\": \"../etc\"", errc::invalid_value, "environment"},
        {"\"snapshot_id\": \"2025-01-15T10-30-00Z\"", "\"snapshot_id\": \"x/..\"", errc::invalid_value,
         "snapshot_id"},
        {"\"created_at\": \"2025-01-15T10:30:00Z\"", "\"created_at\": \"yesterday\"", errc::invalid_value,
         "created_at"},
        {"\"backup_type\": \"state-based\"", "\"backup_type\": \"file\"", errc::invalid_value, "backup_type"},
        {"\"version\": \"2.0\"", "\"version\": 2", errc::wrong_type, "version"},
        {"\"schedule\": \"daily\",", "\"schedule\": \"daily\", \"state\": {\"kind\": \"weird\"},",
         errc::invalid_value, "state.kind"},
        {"\"schedule\": \"daily\",", "\"schedule\": \"daily\", \"pinned_until\": 5,", errc::wrong_type,
         "pinned_until"},
    };
    for (const auto& c : cases) {
        const auto r = read(replace(seed, c.from, c.to));
        EXPECT_EQ(r.ec, c.expected) << c.to << ": " << r.detail;
        EXPECT_EQ(r.detail.substr(0, c.field.size() + 1), std::string(c.field) + ":") << r.detail;
    }
}

TEST(Manifest, RejectsNonJson) {
    EXPECT_EQ(read("").ec, errc::not_json);
    EXPECT_EQ(read("[1]").ec, errc::not_json);
    EXPECT_EQ(read(std::string(seed).substr(0, 100)).ec, errc::not_json);
}

// encryption_version is written only when known, so manifests of plaintext states keep their bytes.
TEST(Manifest, EncryptionVersionOnlyWhenKnown) {
    EXPECT_EQ(write(full()).find("encryption_version"), std::string::npos);
    const auto r =
        read(replace(seed, "\"schedule\": \"daily\",",
                     R"("schedule": "daily", "state": {"kind": "encrypted", "encryption_version": 1},)"));
    EXPECT_EQ(r.ec, errc::wrong_type);
    EXPECT_EQ(r.detail, "state.encryption_version: expected a string or null");
}

// A manifest is a file anyone with write access to the catalog can change: 100,000 nested arrays
// overflowed the stack of the recursive parser.
TEST(Manifest, DeepNestingIsRefusedNotACrash) {
    const auto r =
        read(R"({"version":"2.0","x":)" + std::string(100000, '[') + std::string(100000, ']') + "}");
    EXPECT_EQ(r.ec, errc::not_json);
    EXPECT_EQ(r.detail, "nests deeper than 512 levels (at byte 532)");
    // an unknown field nested within the bound is ignored, as any unknown field
    std::string ok{seed};
    ok.insert(ok.find('{') + 1, R"("x":)" + std::string(500, '[') + std::string(500, ']') + ",");
    EXPECT_FALSE(read(ok).ec) << read(ok).detail;
}

TEST(SnapshotId, FormatsAndValidates) {
    const auto t = std::chrono::sys_days{std::chrono::year{2025} / 1 / 15} + 10h + 30min;
    EXPECT_EQ(format_snapshot_id(t), "2025-01-15T10-30-00Z");
    EXPECT_EQ(format_snapshot_id(t, 2), "2025-01-15T10-30-00Z-2");
    EXPECT_EQ(format_rfc3339(t), "2025-01-15T10:30:00Z");
    EXPECT_TRUE(is_valid_snapshot_id("2025-01-15T10-30-00Z"));
    EXPECT_TRUE(is_valid_snapshot_id("2025-01-15T10-30-00Z-17"));
    for (std::string_view bad : {"", "..", ".", "../x", "a/b", "2025-01-15T10-30-00Z-1",
                                 "2025-01-15T10-30-00Z-02", "2025-01-15T10-30-00Z/..", "2025-01-15T10:30:00Z",
                                 "2025-13-15T10-30-00Z", "2025-01-15T10-30-00Z-", "2025-01-15T10-30-00"})
        EXPECT_FALSE(is_valid_snapshot_id(bad)) << bad;
}

TEST(SnapshotId, OrdersBySequenceNumerically) {
    EXPECT_TRUE(snapshot_id_less("2025-01-15T10-30-00Z", "2025-01-15T10-30-00Z-2"));
    EXPECT_TRUE(snapshot_id_less("2025-01-15T10-30-00Z-2", "2025-01-15T10-30-00Z-10"));
    EXPECT_TRUE(snapshot_id_less("2025-01-15T10-30-00Z-10", "2025-01-15T10-30-01Z"));
    EXPECT_FALSE(snapshot_id_less("2025-01-15T10-30-00Z", "2025-01-15T10-30-00Z"));
}

TEST(Rfc3339, AcceptsUtcOnly) {
    EXPECT_TRUE(is_rfc3339_utc("2025-01-15T10:30:00Z"));
    EXPECT_TRUE(is_rfc3339_utc("2025-01-15T10:30:00.123Z"));
    EXPECT_TRUE(is_rfc3339_utc("2025-01-15T10:30:00+00:00"));
    EXPECT_FALSE(is_rfc3339_utc("2025-01-15T10:30:00+01:00"));
    EXPECT_FALSE(is_rfc3339_utc("2025-01-15 10:30:00Z"));
    EXPECT_FALSE(is_rfc3339_utc("2025-01-15T10:30:00.Z"));
}

}  // namespace
}  // namespace tfsnap::manifest
