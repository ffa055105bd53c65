#include "tfsnap/dynamodb/error.hpp"

#include "tfsnap/http/error.hpp"

#include <array>
#include <utility>

namespace tfsnap::dynamodb {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::conditional_check_failed:
            return "the condition of the request was not met";
        case errc::resource_not_found:
            return "the DynamoDB table does not exist";
        case errc::resource_in_use:
            return "the DynamoDB table exists already or is being changed";
        case errc::throttled:
            return "DynamoDB throttled the request";
        case errc::internal_error:
            return "DynamoDB internal error";
        case errc::validation:
            return "DynamoDB rejected the request as invalid";
        case errc::access_denied:
            return "DynamoDB access denied";
        case errc::bad_credentials:
            return "DynamoDB did not accept the credentials";
        case errc::expired_token:
            return "the session token has expired";
        case errc::transaction_conflict:
            return "a concurrent transaction conflicted";
        case errc::bad_response:
            return "DynamoDB response could not be parsed";
        case errc::checksum_mismatch:
            return "DynamoDB response corrupted in transit (CRC32 mismatch)";
        case errc::other:
            return "DynamoDB error";
    }
    return "unknown tfsnap.dynamodb error";
}

core::traits traits_of(errc e) noexcept {
    switch (e) {
        case errc::throttled:
            return {.transient = true, .not_processed = true};  // rejected before any write
        case errc::internal_error:
        case errc::transaction_conflict:
        case errc::expired_token:
        case errc::checksum_mismatch:
            return {.transient = true, .not_processed = false};
        default:
            return {};
    }
}

const boost::system::error_category& dynamodb_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.dynamodb", &describe, &traits_of};
    return category;
}

errc from_type(std::string_view type, unsigned http_status) noexcept {
    if (const auto hash = type.rfind('#'); hash != std::string_view::npos)
        type = type.substr(hash + 1);
    static constexpr std::array<std::pair<std::string_view, errc>, 15> table{{
        {"ConditionalCheckFailedException", errc::conditional_check_failed},
        {"ResourceNotFoundException", errc::resource_not_found},
        {"ResourceInUseException", errc::resource_in_use},
        {"ProvisionedThroughputExceededException", errc::throttled},
        {"ThrottlingException", errc::throttled},
        {"RequestLimitExceeded", errc::throttled},
        {"InternalServerError", errc::internal_error},
        {"ServiceUnavailable", errc::internal_error},
        {"ValidationException", errc::validation},
        {"SerializationException", errc::validation},
        {"AccessDeniedException", errc::access_denied},
        {"UnrecognizedClientException", errc::bad_credentials},
        {"InvalidSignatureException", errc::bad_credentials},
        {"ExpiredTokenException", errc::expired_token},
        {"TransactionConflictException", errc::transaction_conflict},
    }};
    for (const auto& [name, e] : table) {
        if (type == name)
            return e;
    }
    if (http_status >= 500)
        return errc::internal_error;
    return errc::other;
}

std::string describe(const boost::system::error_code& ec, const error_info& info) {
    return http::format_service_error("DynamoDB", ec,
                                      {.operation = info.operation,
                                       .subject = info.table,
                                       .http_status = info.http_status,
                                       .code = info.type,
                                       .request_id = info.request_id,
                                       .message = info.message,
                                       .detail = info.detail});
}

}  // namespace tfsnap::dynamodb
