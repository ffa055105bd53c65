#pragma once
// AWS credential providers: where tfsnapd's S3/DynamoDB/STS signing keys come from.
//
// What it does
//   A `credentials_provider` produces `sigv4::credentials` on demand. Concrete providers
//   (providers.hpp) read the environment, the shared credentials/config files, a systemd
//   credential, the ECS/EKS container endpoint or EC2 IMDSv2, or call STS AssumeRole /
//   AssumeRoleWithWebIdentity. `make_provider` (make_provider.hpp) builds the provider an
//   environment's `credentials:` section asks for, wrapped in a `caching_provider` that keeps
//   temporary credentials and refreshes them ahead of their expiry.
//
// Errors
//   `get()` reports expected failures in `credentials_result::ec` (category "tfsnap.aws", see
//   error.hpp) with context in `credentials_result::error`; it does not throw for them. A chain
//   that finds nothing gives errc::no_credentials and lists every source it tried and why it
//   did not apply. Only unexpected failures (std::bad_alloc, a bug) propagate as exceptions.
//
// Cancellation
//   `get()` supports the cancellation of the coroutine that awaits it (terminal cancellation,
//   e.g. through `co_spawn` with a cancellation slot or `awaitable_operators ||`): HTTP
//   exchanges in flight end with their error, and a caller waiting for a shared refresh stops
//   waiting with boost::asio::error::operation_aborted. Cancelling the caller that performs a
//   shared refresh does not strand the others: they start a refresh of their own.
//
// Thread safety
//   Providers are not thread-safe: call `get()` from the single thread that runs the
//   io_context (or one strand). The transport and the clock are used from that thread only.
//
// Lifetime
//   A provider must outlive every `get()` it started; the `provider_context` objects it refers
//   to (the clock and the logger's sink) must outlive the provider. Providers are held by
//   std::shared_ptr and may be shared by every client of one environment.

#include "tfsnap/aws/error.hpp"
#include "tfsnap/aws/transport.hpp"
#include "tfsnap/core/clock.hpp"
#include "tfsnap/core/logger.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::aws {

struct credentials_result {
    boost::system::error_code ec;
    error_info error;                            // context when ec is set; never secret values
    sigv4::credentials creds;                    // valid only when !ec
    std::optional<core::time_point> expiration;  // nullopt: long-term keys that do not expire
    // Where the credentials came from, for logs: "environment", "profile ops (/root/.aws/credentials)",
    // "assume-role arn:aws:iam::1:role/x over environment", "imds role web", ...
    std::string source;

    bool ok() const noexcept { return !ec; }
};

class credentials_provider {
public:
    virtual ~credentials_provider() = default;
    // See the header comment for errors, cancellation and threading.
    virtual boost::asio::awaitable<credentials_result> get() = 0;
};

using provider_ptr = std::shared_ptr<credentials_provider>;

// The process environment as seen by the providers. Logic never calls getenv(): the daemon
// captures the environment once (`capture_environment`) and tests pass their own map. Empty
// values count as unset, as in the AWS SDKs.
using environment = std::map<std::string, std::string, std::less<>>;

environment capture_environment(const char* const* envp);
// The variable's value, or nullopt when unset or empty.
std::optional<std::string> env_value(const environment& env, std::string_view name);

// Endpoints that replace the AWS ones; empty means the AWS default. For tests and for private
// networks. AWS_EC2_METADATA_SERVICE_ENDPOINT, when set, still wins over `imds`.
struct endpoint_overrides {
    std::string sts;   // default https://sts.<region>.amazonaws.com (.amazonaws.com.cn in cn-*)
    std::string imds;  // default http://169.254.169.254
    std::string ecs;   // base for AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, default http://169.254.170.2
};

struct provider_timeouts {
    // IMDS must fail fast on hosts that are not EC2 instances: each exchange gets `imds`, and an
    // exchange that fails to connect or times out is tried `imds_attempts` times in all.
    std::chrono::milliseconds imds{1000};
    int imds_attempts = 2;
    std::chrono::milliseconds ecs{2000};
    int ecs_attempts = 2;
    std::chrono::milliseconds sts{10000};  // one attempt; the cache decides when to try again
    // X-aws-ec2-metadata-token-ttl-seconds asked for the IMDSv2 session token.
    std::chrono::seconds imds_token_ttl{21600};
};

struct cache_options {
    // Temporary credentials are refreshed this long before they expire.
    std::chrono::seconds refresh_ahead{300};
    // Long-term keys (environment, files, systemd credential) are read again after this long,
    // so a rotated key is picked up without a restart.
    std::chrono::seconds static_reload{900};
    // While the cached credentials are still valid, a refresh is attempted at most this often,
    // so an STS or IMDS outage does not turn every request into a refresh attempt.
    std::chrono::seconds retry_interval{30};
};

struct provider_context {
    environment env;
    transport http;                 // IMDS, ECS and STS exchanges
    const core::wall_clock& clock;  // expiry decisions and SigV4 signing time
    core::logger log;
    std::string region = "us-east-1";  // STS region (the environment's `region`)
    endpoint_overrides endpoints;
    provider_timeouts timeouts;
    cache_options cache;
};

using context_ptr = std::shared_ptr<const provider_context>;

}  // namespace tfsnap::aws
