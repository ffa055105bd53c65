#pragma once
// Errors of the AWS credential providers.
//
// Every provider reports a `boost::system::error_code` in category "tfsnap.aws" and, beside it,
// an `error_info` that says where the problem is (provider, file and line, URL, profile, HTTP
// status, the STS or container error code). No field of `error_info` ever holds a secret
// value: secret keys, session tokens, web identity tokens, IMDS tokens and container
// authorization tokens stay in `core::secret`. Text from servers (STS messages) is untrusted:
// it is cut to printable ASCII and a bounded length before it is kept.
//
// Callers branch on the code (and on `service_code`), never on message text.
//
// Retries: the category declares which codes are transient (core::condition::transient, and
// not_processed for throttling), so `http::is_retryable(ec, idempotent)` classifies these codes
// like any module's. IMDS and the container endpoint being unreachable, STS throttling and STS
// failing on its side are transient; every other code is permanent. Which STS error codes are
// which: `from_sts_code`.
//
// Thread safety: the category is an immutable singleton.

#include "tfsnap/core/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::aws {

enum class errc {
    no_credentials = 1,        // no source of a chain had credentials; error_info::tried lists them
    not_configured,            // this source is not set up here (variable unset, no file); chains move on
    profile_not_found,         // the named profile is in neither shared file
    profile_cycle,             // source_profile references loop; error_info::message shows the loop
    invalid_profile,           // a profile's settings do not describe usable credentials
    incomplete_credentials,    // an access key id without its secret key, or the reverse
    invalid_credentials_file,  // syntax error in a credentials/config/systemd credential file
    invalid_credential_name,   // a systemd credential name that is not a single safe path component
    file_unreadable,           // a file exists (or must exist) but cannot be read
    sts_error,                 // STS refused the request for good; service_code holds its <Code>
    imds_unavailable,          // the EC2 instance metadata service cannot give credentials
    ecs_unavailable,           // the container credentials endpoint cannot give credentials
    invalid_endpoint,          // an endpoint URL that is malformed or not allowed
    invalid_response,          // a service answered with a document we cannot use
    expired,                   // a source returned credentials that have already expired
    sts_throttled,             // STS throttled the request (Throttling, ...); service_code holds its <Code>
    sts_unavailable,           // STS (or the identity provider it asked) failed on its side; transient
};

const char* describe(errc e) noexcept;
core::traits traits_of(errc e) noexcept;
const boost::system::error_category& aws_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), aws_category()};
}

// The code for an STS error reply, from its <Code> (never from its message), else from the HTTP
// status:
// - sts_throttled: Throttling, ThrottlingException, RequestLimitExceeded (STS API Reference,
//   "Common Errors"; the query protocol answers them with HTTP 400); otherwise HTTP 429;
// - sts_unavailable: ServiceUnavailable, InternalFailure ("Common Errors"), IDPCommunicationError
//   (AssumeRoleWithWebIdentity: "often a transient error"); otherwise HTTP 500, 502, 503 or 504,
//   which also covers a proxy's error page that has no <Code>;
// - sts_error: everything else (AccessDenied, InvalidIdentityToken, ExpiredTokenException, ...).
// `http_status` 0 means unknown (an error document inside a 200 reply).
errc from_sts_code(std::string_view code, unsigned http_status) noexcept;

// Where and why a provider failed. Every field is optional; empty means "does not apply".
struct error_info {
    std::string provider;            // "environment", "profile", "web-identity", "ecs", "imds", ...
    std::string path;                // file, profile name or URL (scheme://host/path, no query)
    int line = 0;                    // 1-based line in `path` for file syntax errors
    unsigned http_status = 0;        // HTTP status of the failing exchange
    std::string service_code;        // STS <Code> or container "code" (sanitised)
    std::string service_message;     // the server's message (sanitised, untrusted)
    std::string message;             // what went wrong, written by us for people
    std::vector<std::string> tried;  // chains: one "provider: why not" line per source tried
};

// One line for logs and diagnostics: "<code message>: <message> [provider=..., path=..., ...]".
// Never contains secret values (error_info never holds any).
std::string format(const boost::system::error_code& ec, const error_info& info);

// Server text reduced to printable ASCII and at most `max` bytes, for error_info.
std::string sanitise_service_text(std::string_view text, std::size_t max = 256);

}  // namespace tfsnap::aws

template <>
struct boost::system::is_error_code_enum<tfsnap::aws::errc> : std::true_type {};
