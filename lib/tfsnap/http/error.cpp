#include "tfsnap/http/error.hpp"

namespace tfsnap::http {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::invalid_url:
            return "invalid URL";
        case errc::resolve_failed:
            return "host name could not be resolved";
        case errc::connect_failed:
            return "connection could not be established";
        case errc::tls_handshake_failed:
            return "TLS handshake failed";
        case errc::tls_verify_failed:
            return "TLS certificate verification failed";
        case errc::send_failed:
            return "connection failed while sending the request";
        case errc::receive_failed:
            return "connection failed before the response was complete";
        case errc::timeout:
            return "HTTP deadline expired";
        case errc::truncated_body:
            return "response body shorter than its Content-Length";
        case errc::header_too_large:
            return "response header too large";
        case errc::body_too_large:
            return "response body too large";
        case errc::bad_response:
            return "malformed HTTP response";
        case errc::server_error:
            return "server error (HTTP 5xx)";
        case errc::body_source_failed:
            return "request body could not be read";
        case errc::body_sink_failed:
            return "response body could not be stored";
    }
    return "unknown tfsnap.http error";
}

core::traits traits_of(errc e) noexcept {
    switch (e) {
        case errc::resolve_failed:
        case errc::connect_failed:
            return {.transient = true, .not_processed = true};
        case errc::tls_handshake_failed:
            // the request is sent only after the handshake
            return {.transient = true, .not_processed = true};
        case errc::send_failed:
        case errc::receive_failed:
        case errc::timeout:
        case errc::truncated_body:
        case errc::server_error:
            return {.transient = true, .not_processed = false};
        default:
            return {};
    }
}

const boost::system::error_category& http_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.http", &describe, &traits_of};
    return category;
}

boost::system::error_code status_error(unsigned status) noexcept {
    switch (status) {
        case 500:
        case 502:
        case 503:
        case 504:
            return errc::server_error;
        default:
            return {};
    }
}

std::string format_service_error(std::string_view service, const boost::system::error_code& ec,
                                 const service_error_text& t) {
    std::string out(t.operation.empty() ? service : t.operation);
    if (!t.subject.empty()) {
        out += ' ';
        out += t.subject;
    }
    out += ": ";
    if (t.http_status != 0)
        out += "HTTP " + std::to_string(t.http_status) + " ";
    if (t.code.empty()) {
        out += ec.message();
    } else {
        out += std::string(t.code) + " (" + ec.message() + ")";
    }
    if (!t.request_id.empty())
        out += ", request id " + std::string(t.request_id);
    if (!t.message.empty())
        out += ": " + std::string(t.message);
    if (!t.detail.empty())
        out += " [" + std::string(t.detail) + "]";
    return out;
}

}  // namespace tfsnap::http
