#pragma once
// S3 operations tfsnap needs, over the HTTP client, signed with SigV4.
//
// Addressing: virtual-hosted (bucket.s3.REGION.amazonaws.com) by default; path-style
// (ENDPOINT/bucket/key) when configured, and always for bucket names with dots over HTTPS
// (a wildcard certificate cannot match them). A custom endpoint serves S3-compatible stores.
// Keys are URI-encoded exactly once, '/' kept: any UTF-8 key works.
//
// Every operation retries what `http::is_retryable` allows under `client_config::retry`;
// writes that are not idempotent (conditional PUTs) only where the server cannot have acted.
// Results carry an `error_code` (s3::errc, http::errc, or the credentials provider's) and an
// `error_info` (status, S3 code, request id, resource) for messages.
//
// Integrity: GetObject computes MD5 and SHA-256 while streaming and, when the ETag is a plain
// MD5 (single-part, not SSE-KMS), fails with `checksum_mismatch` if they differ. PutObject
// sends Content-MD5 and the signed SHA-256 of the body, so S3 verifies what it stores.
//
// Thread safety: none; use from the HTTP client's executor. Lifetime: the http client, the
// clock and the credentials source must outlive this client.

#include "tfsnap/core/clock.hpp"
#include "tfsnap/http/aws_request.hpp"
#include "tfsnap/http/body.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/http/retry.hpp"
#include "tfsnap/s3/error.hpp"
#include "tfsnap/s3/types.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tfsnap::s3 {

struct client_config {
    std::string region = "us-east-1";
    std::optional<std::string> endpoint;  // e.g. "http://127.0.0.1:7480"; empty: AWS's regional endpoint
    bool path_style = false;
    http::retry_policy retry;
    int list_page_size = 1000;  // max-keys of ListObjectVersions
    // ListObjectVersions reads at most this many pages (list_page_size entries each): beyond, the
    // listing fails with errc::too_many_pages rather than running on (a server that never ends
    // its listing, or a prefix with millions of versions).
    int max_list_pages = 1000;
    // Called after every attempt (retries included) with the operation ("GetObject", ...) and
    // the HTTP status, or 0 when no response came (connection error, timeout). For metrics;
    // it must not throw.
    std::function<void(std::string_view operation, unsigned status)> on_attempt;
};

using http::credentials_lookup;
using http::credentials_source;

struct op_result {
    boost::system::error_code ec;
    error_info info;
};

struct head_result : op_result {
    object_info object;
};

struct get_result : op_result {
    object_info object;
    std::string md5_hex;     // of the bytes received
    std::string sha256_hex;  // of the bytes received
};

struct put_options {
    std::string content_type = "application/json";
    std::string sse{};             // "", "AES256" or "aws:kms"
    std::string kms_key_id{};      // with aws:kms
    std::string acl{};             // a canned ACL (x-amz-acl), as Terraform's backend `acl`
    bool checksum_sha256 = false;  // send x-amz-checksum-sha256 (Terraform does unless skip_s3_checksum)
    std::string if_match{};        // an ETag: write only if the current version still has it
    bool if_none_match = false;    // If-None-Match: *, write only if the key does not exist
};

struct put_result : op_result {
    std::string version_id;
    std::string etag;
};

struct copy_options {
    std::string sse{};
    std::string kms_key_id{};
};

struct copy_result : op_result {
    std::string version_id;  // of the new object
    std::string etag;
    bool version_from_head = false;  // the response had no x-amz-version-id (radosgw): learnt by HEAD
};

struct delete_result : op_result {
    std::string version_id;
    bool delete_marker = false;  // a delete marker was created, or the version removed was one
};

struct list_result : op_result {
    std::vector<version_entry> entries;
    int pages = 0;
};

struct versioning_result : op_result {
    versioning_status status = versioning_status::never_enabled;
};

struct lifecycle_result : op_result {
    std::vector<lifecycle_rule> rules;  // empty when the bucket has no lifecycle configuration
};

class client {
public:
    client(http::client& http, client_config cfg, credentials_source credentials,
           const core::wall_clock& clock, http::random_unit random = http::default_random_unit());

    // Coroutines take no default arguments: GCC 12 destroys a defaulted class-type coroutine
    // parameter twice. The shorter overloads below are plain functions that forward.

    // HEAD. A current delete marker gives errc::delete_marker (and the marker's version id)
    // where the server says so (AWS does; radosgw 16 answers a plain 404 instead).
    boost::asio::awaitable<head_result> head_object(std::string bucket, std::string key,
                                                    std::string version_id);
    boost::asio::awaitable<head_result> head_object(std::string bucket, std::string key) {
        return head_object(std::move(bucket), std::move(key), std::string());
    }
    // GET into `sink` (streamed). Success bodies only reach the sink.
    boost::asio::awaitable<get_result> get_object(std::string bucket, std::string key, std::string version_id,
                                                  http::body_sink& sink);
    boost::asio::awaitable<put_result> put_object(std::string bucket, std::string key, http::body_source body,
                                                  put_options opts);
    boost::asio::awaitable<put_result> put_object(std::string bucket, std::string key,
                                                  http::body_source body) {
        return put_object(std::move(bucket), std::move(key), std::move(body), put_options());
    }
    // Copies `src_key` at `src_version` onto `dst_key`, server-side.
    boost::asio::awaitable<copy_result> copy_object(std::string src_bucket, std::string src_key,
                                                    std::string src_version, std::string dst_bucket,
                                                    std::string dst_key, copy_options opts);
    boost::asio::awaitable<copy_result> copy_object(std::string src_bucket, std::string src_key,
                                                    std::string src_version, std::string dst_bucket,
                                                    std::string dst_key) {
        return copy_object(std::move(src_bucket), std::move(src_key), std::move(src_version),
                           std::move(dst_bucket), std::move(dst_key), copy_options());
    }
    // With a version id: removes that version (or delete marker). Without: adds a delete marker.
    boost::asio::awaitable<delete_result> delete_object(std::string bucket, std::string key,
                                                        std::string version_id);
    boost::asio::awaitable<delete_result> delete_object(std::string bucket, std::string key) {
        return delete_object(std::move(bucket), std::move(key), std::string());
    }
    // Every version and delete marker under `prefix`, all pages (at most max_list_pages; beyond:
    // errc::too_many_pages, with no entries). A marker pair (key-marker, version-id-marker) that
    // comes back a second time, after any number of pages, is errc::paging_loop.
    boost::asio::awaitable<list_result> list_object_versions(std::string bucket, std::string prefix);
    boost::asio::awaitable<versioning_result> get_bucket_versioning(std::string bucket);
    boost::asio::awaitable<op_result> put_bucket_versioning(std::string bucket, bool enabled);
    boost::asio::awaitable<lifecycle_result> get_bucket_lifecycle(std::string bucket);
    boost::asio::awaitable<op_result> put_bucket_lifecycle(std::string bucket, std::string xml);
    boost::asio::awaitable<op_result> create_bucket(std::string bucket);

    const client_config& config() const noexcept { return cfg_; }

    struct call;  // one request, described (client.cpp)

private:
    struct call_result;
    boost::asio::awaitable<call_result> execute(const call& c);
    // PUT of a small XML document to a bucket sub-resource (?versioning, ?lifecycle).
    boost::asio::awaitable<op_result> put_bucket_document(const char* operation, std::string bucket,
                                                          std::string subresource, std::string xml);

    http::client& http_;
    client_config cfg_;
    credentials_source credentials_;
    const core::wall_clock& clock_;
    http::random_unit random_;
    sigv4::signer signer_;
    http::url base_;
    bool base_ok_ = false;
};

}  // namespace tfsnap::s3
