#pragma once
// The STS exchanges the providers make, split into building the request (pure) and reading the
// reply (pure), with the I/O in between done by the provider through its `transport`.
//
// Wire format (STS API Reference, "Making query requests", AssumeRole and
// AssumeRoleWithWebIdentity): POST https://sts.<region>.amazonaws.com/ with
// Content-Type: application/x-www-form-urlencoded; charset=utf-8 and the body
//   Action=AssumeRole&Version=2011-06-15&RoleArn=..&RoleSessionName=..[&ExternalId=..]&DurationSeconds=..
// signed with SigV4 (service "sts"); AssumeRoleWithWebIdentity adds WebIdentityToken and is not
// signed (the token is the proof). Replies are XML (responses.hpp).

#include "tfsnap/aws/credentials_provider.hpp"
#include "tfsnap/aws/responses.hpp"
#include "tfsnap/aws/role_params.hpp"

#include <string>
#include <string_view>

namespace tfsnap::aws {

// ctx.endpoints.sts, else https://sts.<region>.amazonaws.com (amazonaws.com.cn for cn-*).
std::string sts_endpoint(const provider_context& ctx);

struct sts_request {
    boost::system::error_code ec;  // invalid_endpoint
    error_info error;
    http_call call;
};

sts_request make_assume_role_request(const assume_role_params& params, const sigv4::credentials& creds,
                                     std::string_view endpoint, std::string_view region, core::time_point now,
                                     sigv4::signer& signer, std::chrono::milliseconds timeout);

sts_request make_web_identity_request(const web_identity_params& params, const core::secret& token,
                                      std::string_view endpoint, std::chrono::milliseconds timeout);

// A transport failure keeps the transport's code; a non-200 status is sts_error, sts_throttled or
// sts_unavailable (from_sts_code, error.hpp; service_code from the error document when there is
// one); a 200 with an unusable body is invalid_response.
parsed_credentials read_sts_reply(const http_result& result, std::string_view action, std::string_view url);

}  // namespace tfsnap::aws
