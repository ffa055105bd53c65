#pragma once
// The verify job: proves, for every snapshot in an environment's catalog, that it can still be
// restored, and checks the DynamoDB digest Terraform compares states against.
//
// Per snapshot:
// - `version`: HEAD of the pinned version: it still exists, and its ETag and size are the
//   manifest's. A version deleted behind tfsnap's back (or expired by a lifecycle rule) is a
//   problem, and the message says whether a copy still holds the bytes.
// - `copy`: an archive copy is read back and its SHA-256 compared with the manifest's; a local
//   copy's file is hashed, and a sealed copy is also authenticated when the key is loaded.
// Per environment, with lock.dynamodb_table:
// - `digest`: the item LockID "<bucket>/<key>-md5" holds the MD5 of the current state. A
//   different digest makes Terraform refuse the state ("state data in S3 does not have the
//   expected content"). No item is fine (Terraform writes one on its next write).
//
// The report is written to the catalog (VERIFY.json) and returned; problems are logged as
// errors. A check that could not be made (S3 unreachable) counts as a problem too: the job
// cannot say the snapshot is safe.

#include "tfsnap/backup/context.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::backup {

struct verify_finding {
    std::string snapshot_id;  // empty for the environment-wide digest check
    std::string check;        // "version", "copy", "digest"
    bool ok = false;
    std::string detail;
};

struct verify_report {
    std::string environment;
    std::string checked_at;  // RFC 3339
    std::size_t snapshots = 0;
    std::vector<verify_finding> findings;
    std::size_t problems = 0;
    std::string error;  // the catalog could not be read

    bool ok() const noexcept { return problems == 0 && error.empty(); }
};

boost::asio::awaitable<verify_report> run_verify(job_context& ctx, const config::environment& env,
                                                 environment_access access);

std::string serialize(const verify_report& r);

// Terraform's digest item key for a state: "<bucket>/<key>-md5".
std::string digest_lock_id(const config::environment& env);

// The MD5 of an object's bytes as its ETag gives it, in lower case, when the ETag is one: 32 hex
// digits (either case, quoted or not) on an object that is not encrypted with SSE-KMS. SSE-KMS
// ETags ("aws:kms", "aws:kms:dsse", or any KMS key id) look the same but are not MD5s of the
// bytes, and a multipart ETag ("...-3") is not either, as s3::client decides for its own checks.
// nullopt: read the bytes to learn their MD5.
std::optional<std::string> md5_from_etag(const s3::object_info& o);

// Whether two MD5s in hex are the same, whatever the case of their letters (Terraform writes lower
// case; an item written by another tool or by hand may not be).
bool same_md5(std::string_view a, std::string_view b) noexcept;

}  // namespace tfsnap::backup
