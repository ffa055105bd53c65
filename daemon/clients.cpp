#include "clients.hpp"

#include "tfsnap/aws/http_transport.hpp"
#include "tfsnap/aws/make_provider.hpp"

namespace tfsnap::daemon {

// The clients of every environment with the same connection settings (CA bundle, region,
// endpoints, addressing, credentials): one credentials provider (one AssumeRole, one cache),
// one S3 client and one DynamoDB client, however many environments use them.
struct client_set::shared_clients {
    aws::provider_ptr provider;
    std::unique_ptr<s3::client> s3;
    std::unique_ptr<dynamodb::client> dynamodb;  // made when an environment first needs it
};

struct client_set::per_environment {
    shared_clients* clients = nullptr;  // null for a local-state environment
    bool uses_dynamodb = false;
    std::optional<crypto::sealing_key> copy_key;
    std::vector<std::string> problems;
};

namespace {

// Every setting that makes two environments' clients differ, as one map key.
std::string connection_key(const config::environment& env) {
    std::string k;
    auto add = [&k](const std::optional<std::string>& v) {
        k += v ? "=" + *v : std::string("-");
        k += '\x1f';
    };
    add(env.ca_file);
    add(std::optional<std::string>(env.region));
    add(env.endpoint);
    add(env.dynamodb_endpoint);
    k += env.path_style ? "path" : "host";
    k += '\x1f';
    const auto& c = env.credentials;
    add(c.profile);
    add(c.role_arn);
    add(c.role_session_name);
    add(c.external_id);
    add(c.web_identity_token_file);
    add(c.systemd_credential);
    return k;
}

}  // namespace

client_set::client_set(boost::asio::any_io_executor ex, const core::wall_clock& clock, core::logger log,
                       aws::environment process_env)
    : ex_(std::move(ex)), clock_(clock), log_(log), process_env_(std::move(process_env)) {}

client_set::~client_set() = default;

http::client& client_set::http_for(const std::optional<std::string>& ca_file) {
    const std::string key = ca_file.value_or("");
    auto& slot = http_[key];
    if (!slot) {
        http::client_config cfg;
        cfg.ca_file = key;
        cfg.max_connections_per_host = 64;
        slot = std::make_unique<http::client>(ex_, cfg);
    }
    return *slot;
}

client_set::per_environment& client_set::of(const config::environment& env) {
    auto& slot = envs_[env.name];
    if (slot)
        return *slot;
    slot = std::make_unique<per_environment>();
    auto& e = *slot;
    if (env.source == config::source_kind::s3) {
        auto& shared = shared_[connection_key(env)];
        if (!shared) {
            shared = std::make_unique<shared_clients>();
            http::client& http = http_for(env.ca_file);
            aws::provider_context pc{
                process_env_, aws::make_transport(http), clock_, log_, env.region, {}, {}, {}};
            shared->provider = aws::make_provider(env.credentials, pc);
            s3::client_config s3c;
            s3c.region = env.region;
            s3c.endpoint = env.endpoint;
            s3c.path_style = env.path_style;
            s3c.on_attempt = s3_observer_;
            shared->s3 =
                std::make_unique<s3::client>(http, s3c, aws::as_credentials_source(shared->provider), clock_);
        }
        if (env.lock.dynamodb_table && !shared->dynamodb) {
            dynamodb::client_config dc;
            dc.region = env.region;
            dc.endpoint = env.dynamodb_endpoint;
            shared->dynamodb = std::make_unique<dynamodb::client>(
                http_for(env.ca_file), dc, aws::as_credentials_source(shared->provider), clock_);
        }
        e.clients = shared.get();
        e.uses_dynamodb = env.lock.dynamodb_table.has_value();
    }
    if (env.copy.mode == config::copy_mode::local) {
        crypto::key_result k;
        if (!env.copy.key_file.empty()) {
            k = crypto::load_key(env.copy.key_file);
        } else {
            const auto dir = aws::env_value(process_env_, "CREDENTIALS_DIRECTORY");
            k = crypto::load_key_credential(env.copy.key_credential, dir.value_or(""));
        }
        if (k.ok()) {
            e.copy_key = std::move(k.key);
            if (k.readable_by_others)
                log_.warning(
                    "the copy key of " + env.name + " can be read by its group or others: chmod 600 it",
                    {{"env", env.name}});
        } else {
            e.problems.push_back("cannot load the copy key: " + k.error.message);
        }
    }
    return e;
}

backup::environment_access client_set::access(const config::environment& env) {
    auto& e = of(env);
    backup::environment_access a;
    a.s3 = e.clients != nullptr ? e.clients->s3.get() : nullptr;
    a.archive = a.s3;
    a.dynamodb = e.clients != nullptr && e.uses_dynamodb ? e.clients->dynamodb.get() : nullptr;
    a.copy_key = e.copy_key ? &*e.copy_key : nullptr;
    return a;
}

const std::vector<std::string>& client_set::problems(const config::environment& env) {
    return of(env).problems;
}

boost::asio::awaitable<std::vector<std::pair<std::string, std::string>>> client_set::terraform_credentials(
    const config::environment& env) {
    std::vector<std::pair<std::string, std::string>> out;
    auto& e = of(env);
    if (e.clients == nullptr || !e.clients->provider)
        co_return out;
    auto provider = e.clients->provider;
    const auto r = co_await provider->get();
    if (!r.ok())
        co_return out;
    out.emplace_back("AWS_ACCESS_KEY_ID", r.creds.access_key_id);
    out.emplace_back("AWS_SECRET_ACCESS_KEY", std::string(r.creds.secret_access_key.reveal()));
    if (!r.creds.session_token.reveal().empty())
        out.emplace_back("AWS_SESSION_TOKEN", std::string(r.creds.session_token.reveal()));
    co_return out;
}

}  // namespace tfsnap::daemon
