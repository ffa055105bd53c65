#pragma once
// MANIFEST.json: what one snapshot records.
//
// The format is a superset of the one ops already use (version "2.0", backup_type
// "state-based", snapshot_id, environment, created_at, created_by, schedule, terraform_state).
// tfsnap adds checksums, a summary of the state, the copy it kept, expires_at, pinned_until and
// tfsnap_version; a manifest written before tfsnap (none of these) reads fine.
//
// `write` emits a fixed key order, pretty-printed, so equal manifests give equal bytes.
// `read` checks every type and required field and says which one is wrong in `detail`
// ("terraform_state.content_length: expected a non-negative integer"). Unknown fields are
// ignored, so a newer 2.x writer can add some; another major version is
// errc::unsupported_version. Unknown fields are not kept: rewriting drops them.
//
// Pure: no I/O, no clock.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

namespace tfsnap::manifest {

inline constexpr std::string_view current_version = "2.0";
inline constexpr std::string_view backup_type = "state-based";

// Where the snapshotted version lives.
struct s3_source {
    std::string source;  // "s3"
    std::string bucket;
    std::string key;
    std::string region;
    std::string version_id;
    std::string etag;
    std::string last_modified;
    std::uint64_t content_length = 0;

    bool operator==(const s3_source&) const = default;
};

// Digests of the exact bytes of the version, lower-case hex.
struct checksum_set {
    std::string md5;
    std::string sha256;

    bool operator==(const checksum_set&) const = default;
};

enum class state_kind { state, encrypted, opaque };

std::string_view to_string(state_kind k) noexcept;
std::optional<state_kind> parse_state_kind(std::string_view s) noexcept;

// What the state holds; serial, lineage, terraform_version and resource_count are empty unless
// kind == state_kind::state, encryption_version unless kind == state_kind::encrypted (written only
// when set).
struct state_summary {
    state_kind kind = state_kind::state;
    std::optional<std::uint64_t> serial;
    std::optional<std::string> lineage;
    std::optional<std::string> terraform_version;
    std::optional<std::uint64_t> resource_count;
    std::optional<std::string> encryption_version = std::nullopt;  // OpenTofu's encryption format, e.g. "v0"

    bool operator==(const state_summary&) const = default;
};

// The copy tfsnap kept, when it kept one.
struct copy_info {
    std::string mode;  // "local", "s3"
    std::string bucket;
    std::string key;
    std::string version_id;
    std::string path;
    std::string sha256;

    bool operator==(const copy_info&) const = default;
};

struct manifest {
    std::string snapshot_id;  // "2025-01-15T10-30-00Z"
    std::string environment;
    std::string created_at;  // RFC 3339, UTC
    std::string created_by;
    std::string schedule;
    s3_source terraform_state;
    std::optional<checksum_set> checksums;
    std::optional<state_summary> state;
    std::optional<copy_info> copy;
    std::optional<std::string> expires_at;    // RFC 3339, UTC
    std::optional<std::string> pinned_until;  // RFC 3339, UTC
    std::string tfsnap_version;               // empty in manifests written before tfsnap

    bool operator==(const manifest&) const = default;
};

struct read_result {
    manifest value;
    boost::system::error_code ec;
    std::string detail;  // the field at fault and what is wrong with it
};

std::string write(const manifest& m);
read_result read(std::string_view json);

// Snapshot ids: "YYYY-MM-DDTHH-MM-SSZ", then "-2", "-3", ... for later snapshots of the same
// second. Safe as one path component.
bool is_valid_snapshot_id(std::string_view id) noexcept;
std::string format_snapshot_id(std::chrono::sys_seconds t, unsigned sequence = 1);
// Orders ids by time, then by sequence ("...Z" < "...Z-2" < "...Z-10"); both must be valid.
bool snapshot_id_less(std::string_view a, std::string_view b) noexcept;

// "2025-01-15T10:30:00Z"
std::string format_rfc3339(std::chrono::sys_seconds t);
// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)"
bool is_rfc3339_utc(std::string_view s) noexcept;

}  // namespace tfsnap::manifest
