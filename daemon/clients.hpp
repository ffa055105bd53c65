#pragma once
// The AWS clients of each environment, built from its configuration: credentials (the
// environment's `credentials:` section, or the default chain), an HTTP client per CA bundle,
// an S3 client for its region and endpoint, a DynamoDB client when it names a lock table, and
// the key of its encrypted local copies. Built on first use and kept; environments with the same
// connection settings and credentials share one provider and one S3/DynamoDB client.
//
// Problems that do not stop every job (a copy key that cannot be read) are kept per
// environment: `problems(env)`; jobs that need the missing part fail with that message.
//
// Thread safety: none; use from the I/O executor. Lifetime: `clock` and the log sink outlive it.

#include "tfsnap/aws/credentials_provider.hpp"
#include "tfsnap/backup/context.hpp"
#include "tfsnap/config/config.hpp"
#include "tfsnap/crypto/sealed_file.hpp"
#include "tfsnap/dynamodb/client.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/s3/client.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::daemon {

class client_set {
public:
    client_set(boost::asio::any_io_executor ex, const core::wall_clock& clock, core::logger log,
               aws::environment process_env);
    ~client_set();

    backup::environment_access access(const config::environment& env);
    const std::vector<std::string>& problems(const config::environment& env);

    // Every S3 attempt of every environment's client built from now on is reported here
    // (operation, HTTP status or 0): the tfsnap_s3_requests_total metric.
    void observe_s3(std::function<void(std::string_view, unsigned)> f) { s3_observer_ = std::move(f); }

    // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN for a full restore's
    // Terraform run, from the environment's provider (empty when it has none right now).
    boost::asio::awaitable<std::vector<std::pair<std::string, std::string>>> terraform_credentials(
        const config::environment& env);

private:
    struct shared_clients;
    struct per_environment;
    per_environment& of(const config::environment& env);
    http::client& http_for(const std::optional<std::string>& ca_file);

    boost::asio::any_io_executor ex_;
    const core::wall_clock& clock_;
    core::logger log_;
    aws::environment process_env_;
    std::function<void(std::string_view, unsigned)> s3_observer_;
    std::map<std::string, std::unique_ptr<http::client>> http_;      // by CA bundle ("" = system)
    std::map<std::string, std::unique_ptr<shared_clients>> shared_;  // by connection_key()
    std::map<std::string, std::unique_ptr<per_environment>> envs_;
};

}  // namespace tfsnap::daemon
