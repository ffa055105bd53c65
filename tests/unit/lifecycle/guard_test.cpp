// The lifecycle guard, table-driven: rules and ListObjectVersions entries in, one line per
// version of the key out (newest first), then the reason texts of a few cases.
#include "tfsnap/lifecycle/guard.hpp"

#include "tfsnap/core/rfc3339.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace tfsnap;
using lifecycle::fates;
using lifecycle::version_fate;

constexpr const char* key = "env/prod/terraform.tfstate";

// "2014-01-15T10:30:00Z" or "2014-01-15T10:30:00.250Z", UTC
s3::time_point tp(const std::string& text) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
    const int n = std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &y, &mo, &d, &h, &mi, &s, &ms);
    if (n < 6)
        throw std::invalid_argument("bad time in test: " + text);
    const std::chrono::sys_days day{std::chrono::year{y} / mo / d};
    return day + std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{s} +
           std::chrono::milliseconds{ms};
}

s3::version_entry version(std::string id, const std::string& when, bool latest = false, std::string k = key) {
    s3::version_entry e;
    e.key = std::move(k);
    e.version_id = std::move(id);
    e.is_latest = latest;
    e.last_modified = tp(when);
    return e;
}

s3::version_entry marker(std::string id, const std::string& when, bool latest = false, std::string k = key) {
    auto e = version(std::move(id), when, latest, std::move(k));
    e.delete_marker = true;
    return e;
}

s3::lifecycle_rule rule(std::string id, std::string prefix = "") {
    s3::lifecycle_rule r;
    r.id = std::move(id);
    r.enabled = true;
    r.prefix = std::move(prefix);
    return r;
}

s3::lifecycle_rule noncurrent(std::string id, int n, std::optional<int> newer = std::nullopt,
                              std::string prefix = "") {
    auto r = rule(std::move(id), std::move(prefix));
    r.noncurrent_days = n;
    r.newer_noncurrent_versions = newer;
    return r;
}

s3::lifecycle_rule expire_days(std::string id, int n, std::string prefix = "") {
    auto r = rule(std::move(id), std::move(prefix));
    r.expiration_days = n;
    return r;
}

s3::lifecycle_rule expire_date(std::string id, const std::string& date) {
    auto r = rule(std::move(id));
    r.expiration_date = tp(date);
    return r;
}

s3::lifecycle_rule newer_only(std::string id, int newer) {
    auto r = rule(std::move(id));
    r.newer_noncurrent_versions = newer;
    return r;
}

s3::lifecycle_rule disabled(s3::lifecycle_rule r) {
    r.enabled = false;
    return r;
}

s3::lifecycle_rule tagged(s3::lifecycle_rule r) {
    r.has_tag_filter = true;
    return r;
}

s3::lifecycle_rule with(s3::lifecycle_rule a, const s3::lifecycle_rule& b) {
    a.noncurrent_days = b.noncurrent_days;
    a.newer_noncurrent_versions = b.newer_noncurrent_versions;
    return a;
}

// "v1 since=... marker=... expires=... rule=r uncertain" ("current" instead of since=)
std::string render(const version_fate& f) {
    std::string s = f.version_id;
    s += f.noncurrent_since ? " since=" + core::format_rfc3339(*f.noncurrent_since) : " current";
    if (f.delete_marker_at)
        s += " marker=" + core::format_rfc3339(*f.delete_marker_at);
    if (f.expires_at)
        s += " expires=" + core::format_rfc3339(*f.expires_at);
    if (!f.rule_id.empty())
        s += " rule=" + f.rule_id;
    if (f.uncertain)
        s += " uncertain";
    return s;
}

std::vector<std::string> render(const std::vector<version_fate>& fs) {
    std::vector<std::string> out;
    for (const auto& f : fs)
        out.push_back(render(f));
    return out;
}

struct fate_case {
    const char* name;
    std::vector<s3::lifecycle_rule> rules;
    std::vector<s3::version_entry> entries;
    std::vector<std::string> expected;
    const char* for_key = key;
};

// names the case in test listings instead of dumping its bytes
void PrintTo(const fate_case& c, std::ostream* os) {
    *os << c.name;
}

class Fates : public testing::TestWithParam<fate_case> {};

TEST_P(Fates, OneLinePerVersion) {
    const auto& c = GetParam();
    EXPECT_EQ(render(fates(c.rules, c.for_key, c.entries)), c.expected);

    // the order of the input does not matter
    auto reversed = c.entries;
    std::reverse(reversed.begin(), reversed.end());
    EXPECT_EQ(render(fates(c.rules, c.for_key, reversed)), c.expected) << "input reversed";
    auto rotated = c.entries;
    if (!rotated.empty())
        std::rotate(rotated.begin(), rotated.begin() + 1, rotated.end());
    EXPECT_EQ(render(fates(c.rules, c.for_key, rotated)), c.expected) << "input rotated";
}

// clang-format off
const fate_case cases[] = {
    // -------------------------------------------------------------- NoncurrentDays and rounding
    {"AwsDocNoncurrentExample",
     // User Guide: current version created 1/1/2014 10:30 UTC, successor 1/15/2014 10:30 UTC,
     // 3 days -> 1/19/2014 00:00 UTC
     {noncurrent("r", 3)},
     {version("v1", "2014-01-01T10:30:00Z"), version("v2", "2014-01-15T10:30:00Z", true)},
     {"v2 current",
      "v1 since=2014-01-15T10:30:00Z expires=2014-01-19T00:00:00Z rule=r"}},
    {"SuccessorExactlyAtMidnightStays",
     {noncurrent("r", 3)},
     {version("v1", "2014-01-01T10:30:00Z"), version("v2", "2014-01-15T00:00:00Z", true)},
     {"v2 current",
      "v1 since=2014-01-15T00:00:00Z expires=2014-01-18T00:00:00Z rule=r"}},
    {"OneSecondAfterMidnightRoundsUp",
     {noncurrent("r", 3)},
     {version("v1", "2014-01-01T10:30:00Z"), version("v2", "2014-01-15T00:00:01Z", true)},
     {"v2 current",
      "v1 since=2014-01-15T00:00:01Z expires=2014-01-19T00:00:00Z rule=r"}},
    {"OneSecondBeforeMidnightRoundsToThatMidnight",
     {noncurrent("r", 3)},
     {version("v1", "2014-01-01T10:30:00Z"), version("v2", "2014-01-15T23:59:59.999Z", true)},
     {"v2 current",
      "v1 since=2014-01-15T23:59:59Z expires=2014-01-19T00:00:00Z rule=r"}},
    {"MillisecondsAfterMidnightCountAsMidnight",
     // to the second, as radosgw compares (to_time_t of the mtime)
     {noncurrent("r", 3)},
     {version("v1", "2014-01-01T10:30:00Z"), version("v2", "2014-01-15T00:00:00.500Z", true)},
     {"v2 current",
      "v1 since=2014-01-15T00:00:00Z expires=2014-01-18T00:00:00Z rule=r"}},
    {"AcrossMonthAndLeapDay",
     {noncurrent("r", 1)},
     {version("v1", "2024-02-01T08:00:00Z"), version("v2", "2024-02-28T12:00:00Z", true)},
     {"v2 current",
      "v1 since=2024-02-28T12:00:00Z expires=2024-03-01T00:00:00Z rule=r"}},
    {"EveryNoncurrentVersionCountsFromItsOwnSuccessor",
     {noncurrent("r", 30)},
     {version("v1", "2026-10-01T09:00:00Z"), version("v2", "2026-10-10T09:00:00Z"),
      version("v3", "2026-11-01T10:30:00Z", true)},
     {"v3 current",
      "v2 since=2026-11-01T10:30:00Z expires=2026-12-02T00:00:00Z rule=r",
      "v1 since=2026-10-10T09:00:00Z expires=2026-11-10T00:00:00Z rule=r"}},

    // -------------------------------------------------------------- delete markers
    {"DeleteMarkerIsTheSuccessor",
     {noncurrent("r", 3)},
     {version("v1", "2014-01-01T10:30:00Z"), marker("d1", "2014-01-10T06:00:00Z", true)},
     {"v1 since=2014-01-10T06:00:00Z expires=2014-01-14T00:00:00Z rule=r"}},
    {"DeleteMarkerBetweenVersions",
     {noncurrent("r", 3)},
     {version("v1", "2014-01-01T10:30:00Z"), marker("d1", "2014-01-10T06:00:00Z"),
      version("v2", "2014-01-20T06:00:00Z", true)},
     {"v2 current",
      "v1 since=2014-01-10T06:00:00Z expires=2014-01-14T00:00:00Z rule=r"}},
    {"ExpirationDoesNothingWhenTheCurrentEntryIsADeleteMarker",
     {expire_days("e", 1)},
     {version("v1", "2014-01-01T10:30:00Z"), marker("d1", "2014-01-10T06:00:00Z", true)},
     {"v1 since=2014-01-10T06:00:00Z"}},

    // -------------------------------------------------------------- NewerNoncurrentVersions
    {"NewerNoncurrentVersionsKeepsTheNewest",
     {noncurrent("r", 1, 2)},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z"),
      version("v3", "2026-11-03T10:00:00Z"), version("v4", "2026-11-04T10:00:00Z"),
      version("v5", "2026-11-05T10:00:00Z", true)},
     {"v5 current",
      "v4 since=2026-11-05T10:00:00Z rule=r uncertain",
      "v3 since=2026-11-04T10:00:00Z rule=r uncertain",
      "v2 since=2026-11-03T10:00:00Z expires=2026-11-05T00:00:00Z rule=r",
      "v1 since=2026-11-02T10:00:00Z expires=2026-11-04T00:00:00Z rule=r"}},
    {"DeleteMarkersDoNotCountAsNoncurrentVersions",
     {noncurrent("r", 1, 1)},
     {version("v1", "2026-11-01T10:00:00Z"), marker("d1", "2026-11-02T10:00:00Z"),
      version("v2", "2026-11-03T10:00:00Z"), marker("d2", "2026-11-04T10:00:00Z", true)},
     {"v2 since=2026-11-04T10:00:00Z rule=r uncertain",
      "v1 since=2026-11-02T10:00:00Z expires=2026-11-04T00:00:00Z rule=r"}},
    {"KeptVersionExpiresByAnotherRule",
     {noncurrent("few", 1, 3), noncurrent("long", 90)},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z", true)},
     {"v2 current",
      "v1 since=2026-11-02T10:00:00Z expires=2027-02-01T00:00:00Z rule=long uncertain"}},
    {"KeptVersionWhoseOtherRuleIsSoonerIsCertain",
     {noncurrent("few", 30, 3), noncurrent("short", 7)},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z", true)},
     {"v2 current",
      "v1 since=2026-11-02T10:00:00Z expires=2026-11-10T00:00:00Z rule=short"}},
    {"NewerNoncurrentVersionsWithoutNoncurrentDaysDeletesNothing",
     {newer_only("k", 1)},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z"),
      version("v3", "2026-11-03T10:00:00Z", true)},
     {"v3 current",
      "v2 since=2026-11-03T10:00:00Z",
      "v1 since=2026-11-02T10:00:00Z"}},

    // -------------------------------------------------------------- Expiration on the current version
    {"ExpirationDaysAddsADeleteMarker",
     // "object created 1/1/2014 10:30 AM UTC, expiration 3 days -> 1/5/2014 00:00 UTC"
     {expire_days("e", 3)},
     {version("v1", "2014-01-01T10:30:00Z", true)},
     {"v1 current marker=2014-01-05T00:00:00Z rule=e"}},
    {"ExpirationDaysThenNoncurrentDays",
     {expire_days("e", 3), noncurrent("n", 7)},
     {version("v1", "2014-01-01T10:30:00Z", true)},
     {"v1 current marker=2014-01-05T00:00:00Z expires=2014-01-12T00:00:00Z rule=n"}},
    {"ExpirationAndNoncurrentDaysInOneRule",
     {with(expire_days("both", 3), noncurrent("", 7))},
     {version("v0", "2013-12-20T00:00:00Z"), version("v1", "2014-01-01T10:30:00Z", true)},
     {"v1 current marker=2014-01-05T00:00:00Z expires=2014-01-12T00:00:00Z rule=both",
      "v0 since=2014-01-01T10:30:00Z expires=2014-01-09T00:00:00Z rule=both"}},
    {"ExpirationDate",
     {expire_date("d", "2027-01-01T00:00:00Z"), noncurrent("n", 2)},
     {version("v1", "2026-11-20T10:30:00Z", true)},
     {"v1 current marker=2027-01-01T00:00:00Z expires=2027-01-03T00:00:00Z rule=n"}},
    {"ExpirationDateInThePastAppliesAtOnce",
     {expire_date("d", "2026-01-01T00:00:00Z")},
     {version("v1", "2026-11-20T10:30:00.750Z", true)},
     {"v1 current marker=2026-11-20T10:30:00Z rule=d"}},
    {"DeleteMarkerPushesAKeptVersionOut",
     // K=1 keeps v1 until the Expiration rule makes v2 noncurrent as well
     {expire_days("e", 10), noncurrent("n", 1, 1)},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z", true)},
     {"v2 current marker=2026-11-13T00:00:00Z rule=n uncertain",
      "v1 since=2026-11-02T10:00:00Z expires=2026-11-13T00:00:00Z rule=n uncertain"}},

    // -------------------------------------------------------------- several rules
    {"EarliestRuleWins",
     {noncurrent("slow", 30), noncurrent("fast", 7), noncurrent("mid", 14)},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z", true)},
     {"v2 current",
      "v1 since=2026-11-02T10:00:00Z expires=2026-11-10T00:00:00Z rule=fast"}},
    {"DisabledRulesAreIgnored",
     {disabled(noncurrent("off", 1)), disabled(expire_days("off-e", 1)), noncurrent("on", 30)},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z", true)},
     {"v2 current",
      "v1 since=2026-11-02T10:00:00Z expires=2026-12-03T00:00:00Z rule=on"}},
    {"EarliestDeleteMarkerWins",
     {expire_days("late", 30), expire_date("early", "2026-11-10T00:00:00Z")},
     {version("v1", "2026-11-02T10:00:00Z", true)},
     {"v1 current marker=2026-11-10T00:00:00Z rule=early"}},
    {"NonPositiveDaysAreIgnored",
     {noncurrent("zero", 0), expire_days("neg", -1)},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z", true)},
     {"v2 current",
      "v1 since=2026-11-02T10:00:00Z"}},

    // -------------------------------------------------------------- tag filters
    {"TagFilterMakesItUncertain",
     {tagged(noncurrent("tags", 7))},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z", true)},
     {"v2 current",
      "v1 since=2026-11-02T10:00:00Z expires=2026-11-10T00:00:00Z rule=tags uncertain"}},
    {"TagFilterLosesATie",
     {tagged(noncurrent("tags", 7)), noncurrent("plain", 7)},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z", true)},
     {"v2 current",
      "v1 since=2026-11-02T10:00:00Z expires=2026-11-10T00:00:00Z rule=plain"}},
    {"LaterTagFilterDoesNotMatter",
     {tagged(noncurrent("tags", 30)), noncurrent("plain", 7)},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z", true)},
     {"v2 current",
      "v1 since=2026-11-02T10:00:00Z expires=2026-11-10T00:00:00Z rule=plain"}},
    {"EarlierTagFilterWinsUncertain",
     {tagged(noncurrent("tags", 3)), noncurrent("plain", 7)},
     {version("v1", "2026-11-01T10:00:00Z"), version("v2", "2026-11-02T10:00:00Z", true)},
     {"v2 current",
      "v1 since=2026-11-02T10:00:00Z expires=2026-11-06T00:00:00Z rule=tags uncertain"}},
    {"TaggedExpirationMarkerIsUncertain",
     {tagged(expire_days("tags", 3)), noncurrent("n", 1)},
     {version("v1", "2014-01-01T10:30:00Z", true)},
     {"v1 current marker=2014-01-05T00:00:00Z expires=2014-01-06T00:00:00Z rule=n uncertain"}},

    // -------------------------------------------------------------- keys and prefixes
    {"OtherKeysAreIgnored",
     {noncurrent("r", 3)},
     {version("b1", "2014-01-02T10:30:00Z", false, "env/prod/terraform.tfstate.backup"),
      version("v1", "2014-01-01T10:30:00Z"),
      version("b2", "2014-01-03T10:30:00Z", true, "env/prod/terraform.tfstate.backup"),
      version("o1", "2014-01-04T10:30:00Z", true, "env/dev/terraform.tfstate"),
      version("v2", "2014-01-15T10:30:00Z", true)},
     {"v2 current",
      "v1 since=2014-01-15T10:30:00Z expires=2014-01-19T00:00:00Z rule=r"}},
    {"TheBackupKeySharesThePrefix",
     {noncurrent("state", 3, std::nullopt, "env/prod/terraform.tfstate"),
      noncurrent("backup", 1, std::nullopt, "env/prod/terraform.tfstate.backup")},
     {version("b1", "2014-01-02T10:30:00Z", false, "env/prod/terraform.tfstate.backup"),
      version("v1", "2014-01-01T10:30:00Z"),
      version("b2", "2014-01-03T10:30:00Z", true, "env/prod/terraform.tfstate.backup"),
      version("v2", "2014-01-15T10:30:00Z", true)},
     {"v2 current",
      "v1 since=2014-01-15T10:30:00Z expires=2014-01-19T00:00:00Z rule=state"}},
    {"TheBackupKeyItself",
     {noncurrent("state", 3, std::nullopt, "env/prod/terraform.tfstate"),
      noncurrent("backup", 1, std::nullopt, "env/prod/terraform.tfstate.backup")},
     {version("b1", "2014-01-02T10:30:00Z", false, "env/prod/terraform.tfstate.backup"),
      version("v1", "2014-01-01T10:30:00Z"),
      version("b2", "2014-01-03T10:30:00Z", true, "env/prod/terraform.tfstate.backup"),
      version("v2", "2014-01-15T10:30:00Z", true)},
     {"b2 current",
      "b1 since=2014-01-03T10:30:00Z expires=2014-01-05T00:00:00Z rule=backup"},
     "env/prod/terraform.tfstate.backup"},
    {"PrefixOfAnotherFolderDoesNotApply",
     {noncurrent("dev", 1, std::nullopt, "env/dev/"), noncurrent("prodx", 1, std::nullopt, "env/prodx/")},
     {version("v1", "2014-01-01T10:30:00Z"), version("v2", "2014-01-15T10:30:00Z", true)},
     {"v2 current",
      "v1 since=2014-01-15T10:30:00Z"}},
    {"NoVersionsOfTheKey",
     {noncurrent("r", 3)},
     {version("o1", "2014-01-04T10:30:00Z", true, "env/dev/terraform.tfstate")},
     {}},

    // -------------------------------------------------------------- ties
    {"SameTimeIsLatestDecidesTheCurrent",
     {noncurrent("r", 3)},
     {version("a", "2014-01-15T10:30:00Z"), version("b", "2014-01-15T10:30:00Z", true)},
     {"b current",
      "a since=2014-01-15T10:30:00Z expires=2014-01-19T00:00:00Z rule=r"}},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Lifecycle, Fates, testing::ValuesIn(cases),
                         [](const testing::TestParamInfo<fate_case>& info) {
                             return std::string(info.param.name);
                         });

// -------------------------------------------------------------- reason texts

version_fate only_noncurrent(const std::vector<s3::lifecycle_rule>& rules) {
    const std::vector<s3::version_entry> entries{version("v1", "2026-11-01T10:00:00Z"),
                                                 version("v2", "2026-11-01T10:30:00Z", true)};
    const auto fs = fates(rules, key, entries);
    if (fs.size() != 2)
        throw std::logic_error("expected two fates");
    return fs[1];
}

TEST(LifecycleReason, NoncurrentDays) {
    EXPECT_EQ(only_noncurrent({noncurrent("expire-old", 30)}).reason,
              "NoncurrentDays 30 of rule expire-old (noncurrent since 2026-11-01T10:30:00Z)");
}

TEST(LifecycleReason, TagFilter) {
    EXPECT_EQ(only_noncurrent({tagged(noncurrent("t", 30))}).reason,
              "NoncurrentDays 30 of rule t (tag filter: tfsnap cannot tell whether it applies) "
              "(noncurrent since 2026-11-01T10:30:00Z)");
}

TEST(LifecycleReason, KeptByNewerNoncurrentVersions) {
    const auto f = only_noncurrent({noncurrent("keep3", 30, 3)});
    EXPECT_FALSE(f.expires_at);
    EXPECT_TRUE(f.uncertain);
    EXPECT_EQ(
        f.reason,
        "one of the 3 newest noncurrent versions kept by NewerNoncurrentVersions of rule keep3: after 3 "
        "more writes of the key it expires by NoncurrentDays 30 (noncurrent since 2026-11-01T10:30:00Z), "
        "not before 2026-12-02T00:00:00Z");
}

TEST(LifecycleReason, KeptButAnotherRuleExpiresIt) {
    const auto f = only_noncurrent({noncurrent("keep1", 1, 1), noncurrent("long", 90)});
    EXPECT_EQ(
        f.reason,
        "NoncurrentDays 90 of rule long (noncurrent since 2026-11-01T10:30:00Z); sooner if it leaves the 1 "
        "newest noncurrent versions of rule keep1: after 1 more write of the key it expires by "
        "NoncurrentDays 1 (noncurrent since 2026-11-01T10:30:00Z), not before 2026-11-03T00:00:00Z");
}

TEST(LifecycleReason, NoRule) {
    EXPECT_EQ(only_noncurrent({}).reason, "noncurrent since 2026-11-01T10:30:00Z: no rule deletes it");
}

TEST(LifecycleReason, CurrentVersion) {
    const std::vector<s3::version_entry> one{version("v1", "2014-01-01T10:30:00Z", true)};
    EXPECT_EQ(
        fates(std::vector{noncurrent("long", 90), noncurrent("short", 7)}, key, one)[0].reason,
        "current version: NoncurrentDays 7 of rule short counts from when it is overwritten or deleted");
    EXPECT_EQ(fates({}, key, one)[0].reason, "current version: no rule deletes it");
    EXPECT_EQ(
        fates(std::vector{expire_days("e", 3)}, key, one)[0].reason,
        "Expiration Days 3 of rule e adds a delete marker at 2014-01-05T00:00:00Z; no rule then deletes "
        "the noncurrent version");
    EXPECT_EQ(
        fates(std::vector{expire_days("e", 3), noncurrent("n", 7)}, key, one)[0].reason,
        "Expiration Days 3 of rule e adds a delete marker at 2014-01-05T00:00:00Z; then NoncurrentDays 7 "
        "of rule n (noncurrent since 2014-01-05T00:00:00Z)");
    EXPECT_EQ(
        fates(std::vector{expire_date("d", "2027-01-01T00:00:00Z")}, key, one)[0].reason,
        "Expiration Date 2027-01-01T00:00:00Z of rule d adds a delete marker at 2027-01-01T00:00:00Z; no "
        "rule then deletes the noncurrent version");
}

TEST(LifecycleReason, PushedOutByTheDeleteMarker) {
    const std::vector<s3::version_entry> entries{version("v1", "2026-11-01T10:00:00Z"),
                                                 version("v2", "2026-11-02T10:00:00Z", true)};
    const auto fs = fates(std::vector{expire_days("e", 10), noncurrent("n", 1, 1)}, key, entries);
    ASSERT_EQ(fs.size(), 2u);
    EXPECT_EQ(
        fs[1].reason,
        "NoncurrentDays 1 of rule n (noncurrent since 2026-11-02T10:00:00Z), once the delete marker of e "
        "at 2026-11-13T00:00:00Z pushes it out of the 1 newest noncurrent versions that "
        "NewerNoncurrentVersions keeps");
}

// -------------------------------------------------------------- applicable_rules

TEST(LifecycleApplicableRules, EnabledAndPlainPrefix) {
    const std::vector<s3::lifecycle_rule> rules{
        noncurrent("all", 1),
        noncurrent("state", 1, std::nullopt, "a/terraform.tfstate"),
        noncurrent("backup", 1, std::nullopt, "a/terraform.tfstate.backup"),
        disabled(noncurrent("off", 1)),
        tagged(noncurrent("tags", 1, std::nullopt, "a/")),
        noncurrent("other", 1, std::nullopt, "b/"),
    };
    const auto ids = [](const std::vector<s3::lifecycle_rule>& rs) {
        std::vector<std::string> out;
        for (const auto& r : rs)
            out.push_back(r.id + (r.has_tag_filter ? " (tags)" : ""));
        return out;
    };
    EXPECT_EQ(ids(lifecycle::applicable_rules(rules, "a/terraform.tfstate")),
              (std::vector<std::string>{"all", "state", "tags (tags)"}));
    EXPECT_EQ(ids(lifecycle::applicable_rules(rules, "a/terraform.tfstate.backup")),
              (std::vector<std::string>{"all", "state", "backup", "tags (tags)"}));
    EXPECT_EQ(ids(lifecycle::applicable_rules(rules, "b/x")), (std::vector<std::string>{"all", "other"}));
}

}  // namespace
