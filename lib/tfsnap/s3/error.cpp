#include "tfsnap/s3/error.hpp"

#include "tfsnap/http/error.hpp"

#include <array>
#include <utility>

namespace tfsnap::s3 {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::no_such_bucket:
            return "the bucket does not exist";
        case errc::no_such_key:
            return "the object does not exist";
        case errc::no_such_version:
            return "the object version does not exist";
        case errc::delete_marker:
            return "the object version is a delete marker";
        case errc::access_denied:
            return "access denied";
        case errc::signature_mismatch:
            return "request signature does not match (wrong secret key?)";
        case errc::invalid_access_key:
            return "the access key id is not known";
        case errc::expired_token:
            return "the session token has expired";
        case errc::precondition_failed:
            return "a precondition (If-Match / If-None-Match) failed";
        case errc::conditional_conflict:
            return "a concurrent conditional write conflicted";
        case errc::slow_down:
            return "S3 asked to slow down";
        case errc::service_unavailable:
            return "S3 service unavailable";
        case errc::internal_error:
            return "S3 internal error";
        case errc::request_timeout:
            return "S3 request timeout";
        case errc::wrong_region:
            return "the bucket is in another region";
        case errc::bucket_exists:
            return "the bucket already exists";
        case errc::invalid_request:
            return "S3 rejected the request as invalid";
        case errc::bad_response:
            return "S3 response could not be parsed";
        case errc::checksum_mismatch:
            return "the bytes received do not match the object's checksum";
        case errc::not_versioned:
            return "versioning is not enabled on the bucket";
        case errc::paging_loop:
            return "S3 returned the same page marker twice";
        case errc::too_many_pages:
            return "the listing has more pages than tfsnap reads";
        case errc::other:
            return "S3 error";
    }
    return "unknown tfsnap.s3 error";
}

core::traits traits_of(errc e) noexcept {
    switch (e) {
        case errc::slow_down:
            return {.transient = true, .not_processed = true};  // throttled before any work
        case errc::service_unavailable:
        case errc::internal_error:
        case errc::request_timeout:
        case errc::checksum_mismatch:  // a corrupted transfer; reading again may succeed
        case errc::expired_token:      // the credentials provider refreshes before the next attempt
            return {.transient = true, .not_processed = false};
        default:
            return {};
    }
}

const boost::system::error_category& s3_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.s3", &describe, &traits_of};
    return category;
}

errc from_code(std::string_view code, unsigned http_status) noexcept {
    static constexpr std::array<std::pair<std::string_view, errc>, 24> table{{
        {"NoSuchBucket", errc::no_such_bucket},
        {"NoSuchKey", errc::no_such_key},
        {"NoSuchVersion", errc::no_such_version},
        {"AccessDenied", errc::access_denied},
        {"AllAccessDisabled", errc::access_denied},
        {"SignatureDoesNotMatch", errc::signature_mismatch},
        {"InvalidAccessKeyId", errc::invalid_access_key},
        {"ExpiredToken", errc::expired_token},
        {"TokenRefreshRequired", errc::expired_token},
        {"PreconditionFailed", errc::precondition_failed},
        {"ConditionalRequestConflict", errc::conditional_conflict},
        {"SlowDown", errc::slow_down},
        {"ServiceUnavailable", errc::service_unavailable},
        {"InternalError", errc::internal_error},
        {"RequestTimeout", errc::request_timeout},
        {"PermanentRedirect", errc::wrong_region},
        {"AuthorizationHeaderMalformed", errc::wrong_region},
        {"IllegalLocationConstraintException", errc::wrong_region},
        {"BucketAlreadyExists", errc::bucket_exists},
        {"BucketAlreadyOwnedByYou", errc::bucket_exists},
        {"MethodNotAllowed", errc::delete_marker},  // GET/HEAD of a delete marker's version id
        {"InvalidArgument", errc::invalid_request},
        {"MalformedXML", errc::invalid_request},
        {"InvalidRequest", errc::invalid_request},
    }};
    for (const auto& [name, e] : table) {
        if (code == name)
            return e;
    }
    switch (http_status) {
        case 301:
        case 307:
            return errc::wrong_region;
        case 403:
            return errc::access_denied;
        case 404:
            return errc::no_such_key;
        case 409:
            return errc::conditional_conflict;
        case 412:
            return errc::precondition_failed;
        case 500:
            return errc::internal_error;
        case 503:
            return errc::service_unavailable;
        default:
            return http_status >= 400 && http_status < 500 ? errc::invalid_request : errc::other;
    }
}

std::string describe(const boost::system::error_code& ec, const error_info& info) {
    return http::format_service_error("S3", ec,
                                      {.operation = info.operation,
                                       .subject = info.resource,
                                       .http_status = info.http_status,
                                       .code = info.code,
                                       .request_id = info.request_id,
                                       .message = info.message,
                                       .detail = info.detail});
}

}  // namespace tfsnap::s3
