#pragma once
// Terraform's DynamoDB digest item: {LockID: "<bucket>/<key>-md5", Digest: <md5 hex of the state>}.
//
// Terraform's S3 backend (internal/backend/remote-state/s3/client.go, putMD5/getMD5) writes the
// item after every state write and, on every read, retries for 10 s and then fails with "state data
// in S3 does not have the expected content" while the current bytes' MD5 differs from it. A restore
// that wrote the state but not the digest (a crash, a kill, a cancellation between the two writes)
// therefore blocks every Terraform run on that state until the digest is right again.
//
// `set_digest` writes the item (unconditionally, as Terraform does). `settle_digest` reads the
// state's current bytes (HEAD, then GET of that version) and sets the digest to their MD5 — what
// Terraform's own next write would have set. Call it only while holding the state's lock: then
// the current bytes are the last ones written, whoever wrote them. A state whose current entry is
// a delete marker (or that does not exist) gets no digest change.
//
// Results are values; nothing throws but cancellation and memory exhaustion.

#include "tfsnap/dynamodb/client.hpp"
#include "tfsnap/s3/client.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <string>

namespace tfsnap::restore {

struct digest_outcome {
    boost::system::error_code ec;
    std::string message;  // one line for the operator and the audit log
    std::string md5;      // the digest written (settle_digest: of the current bytes)
    bool written = false;
    bool deleted = false;  // settle_digest: the state is deleted; nothing written
};

// LockID "<lock_id>-md5" := md5_hex.
boost::asio::awaitable<digest_outcome> set_digest(dynamodb::client& db, std::string table,
                                                  std::string lock_id, std::string md5_hex);

// The digest of the bytes now current under s3://bucket/key; see above.
boost::asio::awaitable<digest_outcome> settle_digest(s3::client& s3, dynamodb::client& db, std::string table,
                                                     std::string bucket, std::string key,
                                                     std::string lock_id);

}  // namespace tfsnap::restore
