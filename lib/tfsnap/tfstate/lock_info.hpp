#pragma once
// Terraform's LockInfo: the JSON a Terraform backend stores as its state lock (the DynamoDB item's
// `Info` attribute, the body of the S3 backend's `<key>.tflock` object), written and read the way
// Terraform itself does, so that a lock tfsnap takes is shown and released by `terraform
// force-unlock` like any other, and a lock Terraform holds is described by name. Pure: no I/O,
// no clock (the time is passed in), randomness only through the overload that says so.
//
// Terraform's side (hashicorp/terraform):
// - internal/states/statemgr/locker.go: `type LockInfo struct { ID, Operation, Info, Who,
//   Version string; Created time.Time; Path string }` with no json tags, marshalled by
//   `LockInfo.Marshal()` = json.Marshal, so the keys are the Go field names in declaration order.
//   `NewLockInfo()` sets ID to uuid.FormatUUID of 16 random bytes, Who to "user@hostname",
//   Version to Terraform's version and Created to time.Now().UTC().
// - internal/backend/remote-state/s3/client.go: `Lock` sets Path to lockPath() =
//   "<bucket>/<key>" (the same string as the DynamoDB LockID) and reads a held lock back with
//   json.Unmarshal into a LockInfo (unknown keys ignored, key names matched case-insensitively).
//
// Thread safety: free functions with no shared state. new_lock_id() uses OpenSSL's RAND_bytes,
// which is thread-safe.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tfsnap::tfstate {

struct lock_info {
    std::string id;         // "5f0c6c3e-7d1a-4b7e-9a53-3d1c2b4a6e10"
    std::string operation;  // Terraform writes "OperationTypeApply", "OperationTypePlan", ...
    std::string info;       // free text
    std::string who;        // "user@hostname"
    std::string version;    // Terraform's version, "1.9.8"
    std::string created;    // as Go's time.Time marshals: format_lock_created(); empty = Go's zero time
    std::string path;       // "<bucket>/<key>" for the S3 backend

    friend bool operator==(const lock_info&, const lock_info&) = default;
};

// The exact bytes json.Marshal writes for a statemgr.LockInfo: one line, no trailing newline,
// keys ID, Operation, Info, Who, Version, Created, Path, strings escaped as Go escapes them
// (detail/go_json.hpp: `<`, `>`, `&` as \u003c, \u003e, \u0026, U+2028/U+2029, invalid UTF-8 as
// \ufffd). An empty `created` is written as Go's zero time, "0001-01-01T00:00:00Z", which is what
// Terraform writes for a LockInfo with no Created; any other `created` is written as given.
std::string to_json(const lock_info& l);

// Reads LockInfo JSON as json.Unmarshal would into a statemgr.LockInfo: unknown keys are ignored,
// keys match case-insensitively (Go's folding), the last of duplicate keys wins, null leaves a
// field empty, strings with invalid UTF-8 get U+FFFD per bad byte. Refused (nullopt, and the
// reason in `*why` when `why` is not null) where Go refuses: not JSON, not an object, a field of
// the wrong type, a Created that is not an RFC 3339 time ("2006-01-02T15:04:05[.frac](Z|±hh:mm)"),
// JSON nested deeper than Go reads (limits.hpp; parsed without recursion).
// `created` keeps the text as written (nanoseconds and zone offset included). An empty ID is not
// refused here: Terraform treats such a lock as broken (statemgr.LockWithContext), callers decide.
// Deliberately stricter than Go in one case: a bare `null` document is refused. The reason never
// quotes the input (someone else's free text).
std::optional<lock_info> parse_lock_info(std::string_view json, std::string* why = nullptr);

// Fills its argument with random bytes; throws if it cannot.
using random_source = std::function<void(std::span<std::byte>)>;

// A lock ID in Terraform's format: 16 random bytes as lower-case hex, 8-4-4-4-12. Terraform
// formats its 16 random bytes as they are (go-uuid FormatUUID); tfsnap sets the RFC 4122
// version 4 and variant bits, so its IDs are also valid random UUIDs.
std::string new_lock_id(const random_source& random);
// The same with OpenSSL's RAND_bytes. Throws boost::system::system_error
// (crypto::errc::openssl_failure) if RAND_bytes fails.
std::string new_lock_id();

// `t` as Go's time.Time MarshalJSON writes a UTC time (RFC 3339 with nanoseconds,
// time.RFC3339Nano): "2026-11-22T05:19:12.123456789Z", trailing zeros of the fraction trimmed and
// the fraction left out when it is zero ("2026-11-22T05:19:12Z").
std::string format_lock_created(std::chrono::system_clock::time_point t);

// One line for refusals and plans:
// "held by alice@ops-1 for OperationTypeApply since 2026-11-22T05:19:12Z (lock ID 5f0c...;
// Terraform 1.9.8)". Created is shown in UTC to the second; Info, when not empty, is added
// (`; info "..."`). Every field is someone else's free text: control characters are shown
// escaped and each field is cut to 200 bytes, so the result stays one line of bounded size.
std::string describe_holder(const lock_info& l);

}  // namespace tfsnap::tfstate
