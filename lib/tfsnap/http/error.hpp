#pragma once
// Errors of the HTTP client.
//
// Each code says how far the exchange got, because that decides whether a retry is safe:
// `resolve_failed` and `connect_failed` mean nothing reached the server (retryable even for
// requests that are not idempotent); `send_failed`, `receive_failed`, `timeout` and
// `truncated_body` mean the server may have acted (retryable for idempotent requests only).
// `tls_verify_failed`, the size limits and `bad_response` are never retried.

#include "tfsnap/core/error.hpp"

#include <string>
#include <string_view>

namespace tfsnap::http {

enum class errc {
    invalid_url = 1,       // the URL cannot be parsed (no I/O was attempted)
    resolve_failed,        // DNS resolution failed
    connect_failed,        // no TCP connection could be made
    tls_handshake_failed,  // the TLS handshake failed for a reason other than verification
    tls_verify_failed,     // the server's certificate or host name did not verify
    send_failed,           // the connection broke while the request was being sent
    receive_failed,        // the connection broke before the response was complete
    timeout,               // a step's deadline, or the whole request's, expired
    truncated_body,        // the connection closed before Content-Length bytes arrived
    header_too_large,      // the response header exceeded the configured limit
    body_too_large,        // the response body exceeded the configured limit
    bad_response,          // the response is not valid HTTP/1.1
    server_error,          // HTTP 500, 502, 503 or 504 with no more specific code
    body_source_failed,    // the request body (a file) could not be read
    body_sink_failed,      // the response body could not be stored (a file write failed)
};

const char* describe(errc e) noexcept;
core::traits traits_of(errc e) noexcept;
const boost::system::error_category& http_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), http_category()};
}

// `server_error` for 500/502/503/504; no error otherwise.
boost::system::error_code status_error(unsigned status) noexcept;

// Context for an error, beside the code. Never holds secrets or request bodies.
struct error_info {
    std::string phase;   // "resolve", "connect", "handshake", "send", "receive"
    std::string target;  // "https://host:port" the request went to (no path: keys can be sensitive)
    std::string detail;  // e.g. the system error's message, or the TLS verify result
};

// The parts of an AWS service error as S3 and DynamoDB report them, and the one way tfsnap
// words it: "GetObject bucket/key: HTTP 404 NoSuchVersion (the object version does not
// exist), request id X: message [transport detail]".
struct service_error_text {
    std::string_view operation;  // "GetObject"; the service name when empty
    std::string_view subject;    // "bucket/key", a table name, or empty
    unsigned http_status = 0;
    std::string_view code;  // the service's error code or exception type
    std::string_view request_id;
    std::string_view message;  // the service's message (untrusted)
    std::string_view detail;   // the transport's detail
};
std::string format_service_error(std::string_view service, const boost::system::error_code& ec,
                                 const service_error_text& t);

}  // namespace tfsnap::http

template <>
struct boost::system::is_error_code_enum<tfsnap::http::errc> : std::true_type {};
