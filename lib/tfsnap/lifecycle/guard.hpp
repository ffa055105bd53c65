#pragma once
// The lifecycle guard: when a bucket's lifecycle rules make S3 delete a version of a state
// object. A snapshot pins one S3 version id, so a version that S3 expires is lost unless
// tfsnap holds a copy. Pure: no I/O, no clock; the answer is in absolute times, which the
// caller compares with its own `now`.
//
// How S3 decides (Amazon S3 User Guide, "Lifecycle configuration elements",
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html, and the
// API reference of NoncurrentVersionExpiration,
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_NoncurrentVersionExpiration.html):
// - A version becomes noncurrent when the next newer entry of its key, a version or a delete
//   marker, is written: `noncurrent_since` is that successor's LastModified.
// - NoncurrentDays N: S3 adds N days to `noncurrent_since` and rounds the result up to
//   midnight UTC ("rounding the resulting time to the next day midnight UTC": successor at
//   2014-01-15 10:30 plus 3 days -> 2014-01-19 00:00). A sum that is already exactly midnight
//   stays there: it is the earlier of the two readings (a guard warns early rather than
//   late), and it is what radosgw does (it deletes once `midnight(now) - mtime >= N days`).
//   Times are taken to the second, as radosgw does (`to_time_t(mtime)`).
// - NewerNoncurrentVersions K (with NoncurrentDays): the K newest noncurrent versions are
//   kept whatever their age; only older ones expire by NoncurrentDays. Delete markers are
//   not counted: they are not versions. A kept version has no `expires_at`, is `uncertain`
//   (more writes of the key push it out) and its reason says how many writes and from when.
//   A delete marker that an Expiration rule will add counts as one such write: it pushes the
//   oldest kept version out at that time (`uncertain`: when S3 acts then is not documented).
//   radosgw 16 drops NewerNoncurrentVersions from the configuration (and deletes by
//   NoncurrentDays alone), so there the rule reaches this module without it.
// - Expiration Days N / Date D on the current version: in a versioned bucket S3 adds a delete
//   marker (unless the current entry already is one), and the version becomes noncurrent:
//   `delete_marker_at` = LastModified + N days rounded up to midnight, or D (already midnight
//   UTC; no earlier than the version's own LastModified: a past date applies at once). A
//   NoncurrentDays rule then counts from `delete_marker_at`.
// - Only enabled rules count; a rule applies when the key starts with its prefix (a plain
//   string prefix). A rule with a tag filter is assumed to apply, and what it decides is
//   `uncertain`: tfsnap does not read object tags.
// - With several rules, the earliest deletion wins (on a tie, a rule without a tag filter).
//   Rules with no positive NoncurrentDays or Expiration Days/Date delete nothing.
//
// Thread safety: the functions are pure.

#include "tfsnap/s3/types.hpp"

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::lifecycle {

using sys_seconds = std::chrono::sys_seconds;

struct version_fate {
    std::string version_id;
    std::optional<sys_seconds> noncurrent_since;  // when its successor was written (nullopt: current)
    std::optional<sys_seconds> expires_at;        // when S3 will permanently delete it
    std::optional<sys_seconds>
        delete_marker_at;  // current version only: when an Expiration rule makes it noncurrent
    std::string rule_id;   // the rule responsible ("" when no rule deletes it)
    // "NoncurrentDays 30 of rule expire-old (noncurrent since 2026-11-01T10:30:00Z)"
    std::string reason;
    bool uncertain =
        false;  // a tag filter tfsnap cannot evaluate, or NewerNoncurrentVersions: depends on future writes

    friend bool operator==(const version_fate&, const version_fate&) = default;
};

// The rules that can act on `key`: enabled, and `key` starts with their prefix. Rules with a
// tag filter are included; their `has_tag_filter` says that tfsnap cannot tell.
std::vector<s3::lifecycle_rule> applicable_rules(std::span<const s3::lifecycle_rule> rules,
                                                 std::string_view key);

// One fate per version (not per delete marker) of `key`, newest first. `versions` holds the
// ListObjectVersions entries of the bucket in any order; entries of other keys are ignored.
// The current entry is the one marked IsLatest (else the newest); ties in LastModified are
// broken by version id, so the result does not depend on the order of the input.
std::vector<version_fate> fates(std::span<const s3::lifecycle_rule> rules, std::string_view key,
                                std::span<const s3::version_entry> versions);

}  // namespace tfsnap::lifecycle
