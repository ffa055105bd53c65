#pragma once
// Parsers for what the credential services answer. Pure: no I/O.
//
// - EC2 IMDS, GET /latest/meta-data/iam/security-credentials/<role> (EC2 User Guide, "Retrieve
//   security credentials from instance metadata"):
//     {"Code": "Success", "LastUpdated": "...", "Type": "AWS-HMAC", "AccessKeyId": "...",
//      "SecretAccessKey": "...", "Token": "...", "Expiration": "2017-05-17T15:09:54Z"}
// - Container credentials (ECS task roles, EKS Pod Identity; SDKs and Tools reference guide,
//   "Container credential provider"): the same keys without Code/Type; errors may come as
//   {"code": "...", "message": "..."}.
// - STS AssumeRole / AssumeRoleWithWebIdentity (STS API Reference, query protocol, XML):
//     <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
//       <AssumeRoleResult><Credentials><AccessKeyId/><SecretAccessKey/><SessionToken/>
//       <Expiration>2011-07-15T23:28:33.359Z</Expiration></Credentials>...</AssumeRoleResult>
//     </AssumeRoleResponse>
//   and errors as
//     <ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message/></Error>
//     <RequestId/></ErrorResponse>
//
// Parsed secrets go straight into core::secret. Error messages name fields, never values.

#include "tfsnap/aws/error.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::aws {

using time_point = std::chrono::system_clock::time_point;

struct parsed_credentials {
    boost::system::error_code ec;  // invalid_response, or the service's error (see each parser)
    error_info error;
    sigv4::credentials creds;
    std::optional<time_point> expiration;
    std::string role_arn;  // ECS: "RoleArn" when present; STS: AssumedRoleUser/Arn when present

    bool ok() const noexcept { return !ec; }
};

enum class container_kind { imds, ecs };

// IMDS requires Code == "Success" (when present), Token and Expiration; a Code other than
// Success is imds_unavailable with service_code set. ECS accepts credentials without Token and
// Expiration (long-term keys from a custom endpoint).
parsed_credentials parse_container_credentials(std::string_view json, container_kind kind);

// The container endpoint's error document {"code", "message"}, when the body is one.
struct container_error {
    std::string code;     // sanitised
    std::string message;  // sanitised
};
std::optional<container_error> parse_container_error(std::string_view json);

// `action` is "AssumeRole" or "AssumeRoleWithWebIdentity": the root must be <{action}Response>.
// An <ErrorResponse> gives errc::sts_error (or sts_throttled / sts_unavailable, see
// from_sts_code) with service_code/service_message.
parsed_credentials parse_sts_credentials(std::string_view xml, std::string_view action);

struct sts_error_document {
    std::string type;  // "Sender" / "Receiver"
    std::string code;  // "AccessDenied", "ExpiredTokenException", ... (sanitised)
    std::string message;
    std::string request_id;
};
std::optional<sts_error_document> parse_sts_error(std::string_view xml);

// "2017-05-17T15:09:54Z", with optional fractional seconds and a "Z" or "+hh:mm" offset.
std::optional<time_point> parse_iso8601(std::string_view text);
// "2017-05-17T15:09:54Z" (UTC, whole seconds).
std::string format_iso8601(time_point t);

}  // namespace tfsnap::aws
