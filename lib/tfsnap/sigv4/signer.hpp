#pragma once
// AWS Signature Version 4, split into the steps AWS documents: canonical request, string to
// sign, signing key, signature; then the two ways to attach it (Authorization header, or a
// presigned query string).
//
// Pure: no I/O and no clock. The caller passes the signing time. OpenSSL is used for SHA-256
// and HMAC only.
//
// Paths: `request::path` is the path exactly as it goes on the wire (already URI-encoded
// once by the caller, e.g. by `uri_encode(key, false)` for an S3 key). For S3
// (`signing_params::s3 == true`) the canonical URI is that path unchanged: S3 neither
// normalises nor double-encodes. For every other service the path is normalised
// (RFC 3986 dot segments removed, repeated slashes collapsed) and then URI-encoded again,
// as AWS specifies.
//
// Query: `request::query` holds decoded name/value pairs; the signer encodes and sorts them.
// `canonical_query_string` gives the same string, so callers use it on the wire too.
//
// Errors: a request the signer cannot sign correctly (a header it must add is already there, an
// empty payload hash, a presign expiry outside 1 s .. 7 days) throws
// boost::system::system_error with core::errc::invalid_argument; the message names the problem,
// never a credential. An OpenSSL failure throws with crypto::errc::openssl_failure.
//
// Thread safety: free functions are pure. `signer` caches signing keys behind a mutex and
// may be shared by all threads.

#include "tfsnap/core/secret.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tfsnap::sigv4 {

using param_list = std::vector<std::pair<std::string, std::string>>;

struct credentials {
    std::string access_key_id;
    core::secret secret_access_key;
    core::secret session_token;  // empty when the credentials are not temporary
};

inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";

struct request {
    std::string method;        // "GET", "PUT", ...
    std::string path;          // wire path, see above; "/" when empty
    param_list query;          // decoded names and values; repeated names allowed
    param_list headers;        // every header to sign, including "host"; names in any case
    std::string payload_hash;  // lower-case hex SHA-256 of the body, or unsigned_payload
};

struct signing_params {
    std::string region;                          // "us-east-1"
    std::string service;                         // "s3", "dynamodb", "sts", ...
    std::chrono::system_clock::time_point time;  // the signing time; fractions of a second are dropped
    bool s3 = false;                             // S3 path rules (no normalisation, no double encoding)
    // Add and sign "x-amz-content-sha256: <payload_hash>" (S3 requires it).
    bool add_content_sha256 = false;
};

// RFC 3986 unreserved characters stay; everything else becomes %XX (upper-case hex) over the
// UTF-8 bytes. '/' stays when `encode_slash` is false (S3 object keys in paths).
std::string uri_encode(std::string_view s, bool encode_slash);

// "a=1&b=2", names and values encoded, sorted by encoded name then value. A name with an empty
// value gives "name=".
std::string canonical_query_string(const param_list& query);

// The second line of the canonical request: `path` unchanged for S3 ("/" when empty); for other
// services normalised and encoded again, as described at the top of this file.
std::string canonical_uri(std::string_view path, bool s3);

// "20150830T123600Z" and "20150830"
std::string amz_date(std::chrono::system_clock::time_point t);
std::string amz_day(std::chrono::system_clock::time_point t);

// The pieces, as AWS documents them. `headers` must already contain every header that is
// signed (including x-amz-date, and x-amz-security-token / x-amz-content-sha256 when used):
// these functions add nothing. Header names are lower-cased, values trimmed with inner runs of
// whitespace collapsed to one space, and repeated names joined with ',' in the order given.
std::string canonical_request(const request& req, const signing_params& p);
std::string signed_header_names(const param_list& headers);  // "host;x-amz-date"
std::string credential_scope(const signing_params& p);       // "20150830/us-east-1/service/aws4_request"
std::string string_to_sign(std::string_view canonical_request, const signing_params& p);
core::secret signing_key(const core::secret& secret_access_key, const signing_params& p);
std::string signature(const core::secret& signing_key, std::string_view string_to_sign);  // hex

// Caches signing keys per (access key, day, region, service): a key is valid for one UTC day.
class signer {
public:
    static constexpr std::size_t default_max_cached_keys = 16;

    signer() = default;
    // At most `max_cached_keys` (at least 1) signing keys are kept.
    explicit signer(std::size_t max_cached_keys) noexcept
        : max_cached_keys_(max_cached_keys == 0 ? 1 : max_cached_keys) {}
    signer(const signer&) = delete;
    signer& operator=(const signer&) = delete;

    // Returns the headers to add to the request: x-amz-date, x-amz-security-token (when
    // the credentials have a session token), x-amz-content-sha256 (when asked for), and
    // authorization, in that order, with lower-case names. `req.headers` must not contain them
    // already. The result holds the session token: never log it.
    param_list sign_headers(const request& req, const credentials& c, const signing_params& p);

    // Returns the full query for a presigned URL: req.query plus X-Amz-Algorithm,
    // X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
    // X-Amz-Security-Token (when present) and X-Amz-Signature, decoded like req.query (put it
    // on the wire with canonical_query_string). The token is signed, as S3 and STS expect.
    // The result holds the session token when there is one: never log the URL.
    // `p.add_content_sha256` is ignored: a presigned URL carries no headers of its own.
    // `expires` is 1 s to 7 days (604800 s), the range AWS accepts.
    param_list presign_query(const request& req, const credentials& c, const signing_params& p,
                             std::chrono::seconds expires);

    // The signing key for `c` and the scope of `p`, from the cache when the same access key and
    // secret were used for that scope before. Equal to signing_key(c.secret_access_key, p).
    core::secret cached_signing_key(const credentials& c, const signing_params& p);
    std::size_t cached_keys() const;

private:
    struct cache_entry {
        std::string day;                 // "20150830"; entries of other days are dropped
        core::secret secret_access_key;  // a rotated secret under the same key id misses
        core::secret signing_key;
    };

    std::size_t max_cached_keys_ = default_max_cached_keys;
    mutable std::mutex mutex_;
    // access key id + credential scope -> signing key; a few entries (S3, DynamoDB and STS in a
    // region or two), dropped when the day changes
    std::map<std::string, cache_entry, std::less<>> cache_;
};

}  // namespace tfsnap::sigv4
