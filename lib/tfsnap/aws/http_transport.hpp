#pragma once
// Adapters between the credentials providers and the rest of the AWS layer:
// - `make_transport` runs the providers' HTTP exchanges (IMDS, ECS, STS) over the HTTP client;
// - `as_credentials_source` lets the S3 and DynamoDB clients sign with a provider's credentials.
//
// Lifetime: the HTTP client and the provider must outlive what these return.

#include "tfsnap/aws/credentials_provider.hpp"
#include "tfsnap/aws/transport.hpp"
#include "tfsnap/http/aws_request.hpp"
#include "tfsnap/http/client.hpp"

namespace tfsnap::aws {

// Each call gets its own deadline (`http_call::timeout`), bodies up to 1 MiB, no retries.
transport make_transport(http::client& client);

http::credentials_source as_credentials_source(provider_ptr provider);

}  // namespace tfsnap::aws
