// Credentials from a profile of the shared config and credentials files (AWS SDKs and Tools
// reference guide, "Shared config and credentials files" and "Location of the shared files":
// AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_PROFILE).

#include "tfsnap/aws/detail/files.hpp"
#include "tfsnap/aws/detail/results.hpp"
#include "tfsnap/aws/profile.hpp"
#include "tfsnap/aws/profile_file.hpp"
#include "tfsnap/aws/providers.hpp"

#include <boost/system/errc.hpp>

namespace tfsnap::aws {

namespace {

struct loaded_file {
    bool present = false;
    parsed_profile_file parsed;
};

class profile_provider final : public credentials_provider {
public:
    profile_provider(context_ptr ctx, std::optional<std::string> profile)
        : ctx_(std::move(ctx)), explicit_(std::move(profile)) {}

    boost::asio::awaitable<credentials_result> get() override {
        const auto& env = ctx_->env;
        std::string name;
        bool implicit = false;
        if (explicit_) {
            name = *explicit_;
        } else if (auto p = env_value(env, "AWS_PROFILE")) {
            name = std::move(*p);
        } else {
            name = "default";
            implicit = true;
        }
        const std::string home = env_value(env, "HOME").value_or("");
        std::string credentials_path, config_path;
        if (auto p = env_value(env, "AWS_SHARED_CREDENTIALS_FILE"))
            credentials_path = detail::expand_home(*p, home);
        else if (!home.empty())
            credentials_path = home + "/.aws/credentials";
        if (auto p = env_value(env, "AWS_CONFIG_FILE"))
            config_path = detail::expand_home(*p, home);
        else if (!home.empty())
            config_path = home + "/.aws/config";

        const auto missing = [&](std::string message) {
            return implicit ? detail::not_configured("profile", std::move(message))
                            : detail::failed(errc::profile_not_found, "profile",
                                             "profile " + name + ": " + std::move(message), name);
        };
        if (credentials_path.empty() && config_path.empty())
            co_return missing("HOME, AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE are not set");

        loaded_file credentials, config;
        if (auto r = load(credentials_path, profile_file_kind::credentials, credentials); !r.ok())
            co_return r;
        if (auto r = load(config_path, profile_file_kind::config, config); !r.ok())
            co_return r;
        if (!credentials.present && !config.present)
            co_return missing("no shared credentials or config file (" +
                              files_text(credentials_path, config_path) + ")");

        const auto set =
            merge_profile_files(config.parsed, config_path, credentials.parsed, credentials_path);
        if (implicit && !set.find(name))
            co_return missing("no [default] profile in " + files_text(credentials_path, config_path));
        auto resolved = resolve_profile(set, name);
        if (!resolved.ok())
            co_return detail::failed(resolved.ec, std::move(resolved.error));
        co_return co_await carry_out(resolved.plan);
    }

private:
    static std::string files_text(const std::string& a, const std::string& b) {
        if (a.empty())
            return b;
        if (b.empty())
            return a;
        return a + ", " + b;
    }

    credentials_result load(const std::string& path, profile_file_kind kind, loaded_file& out) const {
        if (path.empty())
            return {};
        auto file = detail::read_small_file(path);
        if (file.ec == boost::system::errc::no_such_file_or_directory)
            return {};
        if (file.ec)
            return detail::failed(errc::file_unreadable, "profile", "cannot read: " + file.ec.message(),
                                  path);
        out.present = true;
        out.parsed = parse_profile_file(file.text.reveal(), kind, path);
        if (!out.parsed.ok())
            return detail::failed(out.parsed.ec, out.parsed.error);
        for (const auto& w : out.parsed.warnings) {
            ctx_->log.warning(
                "AWS shared file: " + w.message,
                {{"file", path}, {"line", std::to_string(w.line)}, {"event", "aws_profile_file"}});
        }
        return {};
    }

    boost::asio::awaitable<credentials_result> carry_out(profile_plan& plan) const {
        provider_ptr p;
        std::string what;
        if (auto* keys = std::get_if<static_keys>(&plan.base)) {
            sigv4::credentials c;
            c.access_key_id = keys->access_key_id;
            c.secret_access_key = std::move(keys->secret_access_key);
            c.session_token = std::move(keys->session_token);
            p = make_static_provider(std::move(c), "profile " + plan.base_profile + " (" + keys->file + ")");
        } else if (auto* wi = std::get_if<web_identity_params>(&plan.base)) {
            p = make_web_identity_provider(ctx_, *wi);
        } else {
            switch (std::get<credential_source>(plan.base)) {
                case credential_source::environment:
                    p = make_environment_provider(ctx_);
                    what = "Environment";
                    break;
                case credential_source::ec2_instance_metadata:
                    p = make_imds_provider(ctx_);
                    what = "Ec2InstanceMetadata";
                    break;
                case credential_source::ecs_container:
                    p = make_ecs_provider(ctx_);
                    what = "EcsContainer";
                    break;
            }
        }
        for (auto& step : plan.roles)
            p = make_assume_role_provider(ctx_, std::move(p), step.params);
        auto r = co_await p->get();
        // The profile asked for this source explicitly, so "not here" is a broken profile, not a
        // reason for a chain to move on to the next source.
        if (r.ec == errc::not_configured || r.ec == errc::imds_unavailable) {
            r.error.message = "profile " + plan.base_profile + " has credential_source = " + what + ", but " +
                              (r.error.message.empty() ? r.ec.message() : r.error.message);
            r.ec = errc::invalid_profile;
        }
        if (r.ok() && plan.roles.size() > 0)
            r.source += " (profile " + plan.profile + ")";
        co_return r;
    }

    context_ptr ctx_;
    std::optional<std::string> explicit_;
};

}  // namespace

provider_ptr make_profile_provider(context_ptr ctx, std::optional<std::string> profile) {
    return std::make_shared<profile_provider>(std::move(ctx), std::move(profile));
}

}  // namespace tfsnap::aws
