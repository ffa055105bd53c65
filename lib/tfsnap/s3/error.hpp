#pragma once
// Errors of S3 operations.
//
// S3's error XML (`<Error><Code>...`) becomes an `errc` by its Code, never by its message; the
// server's text stays in `error_info`, which is untrusted and never contains credentials.
// HEAD responses have no body, so their errors come from the status (and, for a delete
// marker, the `x-amz-delete-marker` header).

#include "tfsnap/core/error.hpp"

#include <string>
#include <string_view>

namespace tfsnap::s3 {

enum class errc {
    no_such_bucket = 1,    // NoSuchBucket
    no_such_key,           // NoSuchKey, or 404 on HEAD
    no_such_version,       // NoSuchVersion (or a malformed version id)
    delete_marker,         // the current version (or the version asked for) is a delete marker
    access_denied,         // AccessDenied, 403 on HEAD
    signature_mismatch,    // SignatureDoesNotMatch: the secret key is wrong
    invalid_access_key,    // InvalidAccessKeyId
    expired_token,         // ExpiredToken / TokenRefreshRequired
    precondition_failed,   // 412 PreconditionFailed (If-Match / If-None-Match)
    conditional_conflict,  // 409 ConditionalRequestConflict: a concurrent conditional write
    slow_down,             // 503 SlowDown: throttled, not processed
    service_unavailable,   // 503 ServiceUnavailable
    internal_error,        // 500 InternalError
    request_timeout,       // 400 RequestTimeout: the connection was idle too long
    wrong_region,          // 301 PermanentRedirect / AuthorizationHeaderMalformed region
    bucket_exists,         // BucketAlreadyExists / BucketAlreadyOwnedByYou
    invalid_request,       // another 4xx the client caused (InvalidArgument, MalformedXML, ...)
    bad_response,          // a response that does not parse as what the operation returns
    checksum_mismatch,     // the bytes received do not match the object's ETag (MD5)
    not_versioned,         // the bucket does not keep versions
    paging_loop,           // a listing gave the same page marker twice: paging would never end
    too_many_pages,        // a listing had more pages than client_config::max_list_pages
    other,                 // any other error code; see error_info
};

const char* describe(errc e) noexcept;
core::traits traits_of(errc e) noexcept;
const boost::system::error_category& s3_category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), s3_category()};
}

// The errc for an S3 error Code and HTTP status.
errc from_code(std::string_view code, unsigned http_status) noexcept;

struct error_info {
    std::string operation;  // "GetObject"
    unsigned http_status = 0;
    std::string code;        // S3's Code, e.g. "NoSuchVersion"
    std::string message;     // S3's Message (untrusted, possibly empty: radosgw sends none)
    std::string request_id;  // x-amz-request-id, for AWS support
    std::string resource;    // "bucket/key", or "bucket/key?versionId=V"
    std::string detail;      // the HTTP layer's detail for transport errors
};

// "GetObject okta-demo/env/terraform.tfstate: HTTP 404 NoSuchVersion (request id X): message"
std::string describe(const boost::system::error_code& ec, const error_info& info);

}  // namespace tfsnap::s3

template <>
struct boost::system::is_error_code_enum<tfsnap::s3::errc> : std::true_type {};
