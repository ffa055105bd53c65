#pragma once
// Errors of DynamoDB operations. The `__type` of DynamoDB's JSON error (the part after '#')
// becomes an `errc`; its message stays in `error_info` (untrusted).

#include "tfsnap/core/error.hpp"

#include <string>
#include <string_view>

namespace tfsnap::dynamodb {

enum class errc {
    conditional_check_failed = 1,  // ConditionalCheckFailedException: the condition was false
    resource_not_found,            // ResourceNotFoundException: no such table
    resource_in_use,               // ResourceInUseException: the table exists already, or is busy
    throttled,                     // ProvisionedThroughputExceeded / Throttling / RequestLimitExceeded
    internal_error,                // InternalServerError, 5xx
    validation,                    // ValidationException / SerializationException: a malformed request
    access_denied,                 // AccessDeniedException
    bad_credentials,               // UnrecognizedClientException / InvalidSignatureException
    expired_token,                 // ExpiredTokenException
    transaction_conflict,          // TransactionConflictException
    bad_response,                  // a reply that does not parse
    checksum_mismatch,             // the reply's body does not match its x-amz-crc32
    other,
};

const char* describe(errc e) noexcept;
core::traits traits_of(errc e) noexcept;
const boost::system::error_category& dynamodb_category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), dynamodb_category()};
}

// "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException" or the bare name.
errc from_type(std::string_view type, unsigned http_status) noexcept;

struct error_info {
    std::string operation;  // "PutItem"
    std::string table;
    unsigned http_status = 0;
    std::string type;        // the bare exception name
    std::string message;     // DynamoDB's message (untrusted)
    std::string request_id;  // x-amzn-RequestId
    std::string detail;      // transport detail
};

std::string describe(const boost::system::error_code& ec, const error_info& info);

}  // namespace tfsnap::dynamodb

template <>
struct boost::system::is_error_code_enum<tfsnap::dynamodb::errc> : std::true_type {};
