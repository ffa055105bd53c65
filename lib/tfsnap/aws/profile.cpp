#include "tfsnap/aws/profile.hpp"

#include <algorithm>
#include <charconv>

namespace tfsnap::aws {

const profile* profile_set::find(std::string_view name) const {
    const auto it = profiles.find(name);
    return it == profiles.end() ? nullptr : &it->second;
}

profile_set merge_profile_files(const parsed_profile_file& config, std::string_view config_path,
                                const parsed_profile_file& credentials, std::string_view credentials_path) {
    profile_set out;
    if (!config.profiles.empty())
        out.files.emplace_back(config_path);
    if (!credentials.profiles.empty())
        out.files.emplace_back(credentials_path);
    // config first, then credentials over it: the credentials file wins per key
    for (const auto* file : {&config, &credentials}) {
        for (const auto& [name, p] : file->profiles) {
            auto& merged = out.profiles[name];
            merged.name = name;
            for (const auto& [k, v] : p.settings) {
                merged.secrets.erase(k);
                merged.settings[k] = v;
            }
            for (const auto& [k, v] : p.secrets) {
                merged.settings.erase(k);
                merged.secrets[k] = v;
            }
            for (const auto& [k, o] : p.origins)
                merged.origins[k] = o;
        }
    }
    return out;
}

namespace {

std::string where(const profile& p, std::string_view key) {
    const auto it = p.origins.find(key);
    if (it == p.origins.end())
        return {};
    return it->second.file;
}

int line_of(const profile& p, std::string_view key) {
    const auto it = p.origins.find(key);
    return it == p.origins.end() ? 0 : it->second.line;
}

profile_resolution failure(errc code, std::string profile_name, std::string message, std::string path = {},
                           int line = 0) {
    profile_resolution r;
    r.ec = code;
    r.error.provider = "profile";
    r.error.path = path.empty() ? std::move(profile_name) : std::move(path);
    r.error.line = line;
    r.error.message = std::move(message);
    return r;
}

std::string loop_text(const std::vector<std::string>& visited, std::string_view next) {
    std::string out;
    for (const auto& v : visited)
        out += v + " -> ";
    out += next;
    return out;
}

bool has_any_prefix(const profile& p, std::string_view prefix) {
    for (const auto& [k, v] : p.settings) {
        if (k.starts_with(prefix))
            return true;
    }
    return false;
}

}  // namespace

profile_resolution resolve_profile(const profile_set& profiles, std::string_view name) {
    profile_resolution r;
    r.plan.profile = std::string(name);
    std::vector<std::string> visited;
    std::string current(name);
    for (;;) {
        if (std::find(visited.begin(), visited.end(), current) != visited.end()) {
            return failure(errc::profile_cycle, std::string(name),
                           "source_profile loop: " + loop_text(visited, current) +
                               "; end the chain at a profile with keys, credential_source or "
                               "web_identity_token_file");
        }
        const profile* p = profiles.find(current);
        if (!p) {
            std::string files;
            for (const auto& f : profiles.files)
                files += (files.empty() ? "" : ", ") + f;
            if (visited.empty()) {
                return failure(
                    errc::profile_not_found, current,
                    "profile " + current + " is not defined" +
                        (files.empty() ? std::string(" (no profiles in the shared files)") : " in " + files));
            }
            return failure(errc::profile_not_found, current,
                           "profile " + visited.back() + " names source_profile " + current +
                               ", which is not defined" + (files.empty() ? std::string() : " in " + files));
        }
        visited.push_back(current);

        if (p->has("credential_process"))
            return failure(errc::invalid_profile, current,
                           "profile " + current +
                               " uses credential_process, which tfsnap does not run; "
                               "use keys, a role, or a systemd credential");
        if (has_any_prefix(*p, "sso_"))
            return failure(errc::invalid_profile, current,
                           "profile " + current +
                               " uses IAM Identity Center (sso_*), which tfsnap does not support; "
                               "use keys, a role, or a systemd credential");

        if (const auto* arn = p->setting("role_arn")) {
            if (arn->empty())
                return failure(errc::invalid_profile, current,
                               "profile " + current + " has an empty role_arn");
            const auto* session = p->setting("role_session_name");
            const std::string session_name =
                session && !session->empty() ? *session : std::string(default_session_name);
            std::chrono::seconds duration{3600};
            if (const auto* d = p->setting("duration_seconds")) {
                long long v = 0;
                const auto [ptr, ec] = std::from_chars(d->data(), d->data() + d->size(), v);
                if (ec != std::errc{} || ptr != d->data() + d->size() || v < min_role_duration.count() ||
                    v > max_role_duration.count()) {
                    return failure(
                        errc::invalid_profile, current,
                        "profile " + current + ": duration_seconds must be a whole number from 900 to 43200",
                        where(*p, "duration_seconds"), line_of(*p, "duration_seconds"));
                }
                duration = std::chrono::seconds(v);
            }

            if (const auto* token_file = p->setting("web_identity_token_file")) {
                if (token_file->empty())
                    return failure(errc::invalid_profile, current,
                                   "profile " + current + " has an empty web_identity_token_file");
                r.plan.base_profile = current;
                r.plan.base = web_identity_params{*arn, *token_file, session_name, duration};
                std::reverse(r.plan.roles.begin(), r.plan.roles.end());
                return r;
            }

            role_step step;
            step.profile = current;
            step.params.role_arn = *arn;
            step.params.session_name = session_name;
            step.params.duration = duration;
            if (const auto* ext = p->setting("external_id"); ext && !ext->empty())
                step.params.external_id = *ext;
            r.plan.roles.push_back(std::move(step));

            const auto* source = p->setting("source_profile");
            const auto* cred_source = p->setting("credential_source");
            if (source && cred_source)
                return failure(
                    errc::invalid_profile, current,
                    "profile " + current + " sets both source_profile and credential_source; keep one");
            if (cred_source) {
                credential_source cs;
                if (*cred_source == "Environment")
                    cs = credential_source::environment;
                else if (*cred_source == "Ec2InstanceMetadata")
                    cs = credential_source::ec2_instance_metadata;
                else if (*cred_source == "EcsContainer")
                    cs = credential_source::ecs_container;
                else
                    return failure(errc::invalid_profile, current,
                                   "profile " + current +
                                       ": credential_source must be Environment, "
                                       "Ec2InstanceMetadata or EcsContainer",
                                   where(*p, "credential_source"), line_of(*p, "credential_source"));
                r.plan.base_profile = current;
                r.plan.base = cs;
                std::reverse(r.plan.roles.begin(), r.plan.roles.end());
                return r;
            }
            if (!source || source->empty())
                return failure(errc::invalid_profile, current,
                               "profile " + current +
                                   " has role_arn but no source_profile, credential_source or "
                                   "web_identity_token_file to get the credentials that assume it");
            if (*source == current) {
                // The documented self-reference: the profile's own keys assume its role.
                if (!p->has("aws_access_key_id"))
                    return failure(errc::profile_cycle, current,
                                   "source_profile loop: " + current + " -> " + current + "; profile " +
                                       current +
                                       " names itself as source_profile but has no aws_access_key_id");
            } else {
                current = *source;
                continue;
            }
        }

        const auto* akid = p->setting("aws_access_key_id");
        const auto* secret = p->secret_value("aws_secret_access_key");
        if (!akid && !secret) {
            if (visited.size() == 1)
                return failure(errc::invalid_profile, current,
                               "profile " + current +
                                   " has no credentials: set aws_access_key_id and "
                                   "aws_secret_access_key, or role_arn with a source");
            return failure(errc::invalid_profile, current,
                           "profile " + current + ", the source_profile of " + visited[visited.size() - 2] +
                               ", has no credentials: set aws_access_key_id and aws_secret_access_key");
        }
        if (!akid || akid->empty())
            return failure(errc::incomplete_credentials, current,
                           "profile " + current + " has aws_secret_access_key but no aws_access_key_id",
                           where(*p, "aws_secret_access_key"), line_of(*p, "aws_secret_access_key"));
        if (!secret || secret->empty())
            return failure(errc::incomplete_credentials, current,
                           "profile " + current + " has aws_access_key_id but no aws_secret_access_key",
                           where(*p, "aws_access_key_id"), line_of(*p, "aws_access_key_id"));
        static_keys keys;
        keys.access_key_id = *akid;
        keys.secret_access_key = *secret;
        if (const auto* token = p->secret_value("aws_session_token"))
            keys.session_token = *token;
        else if (const auto* legacy = p->secret_value("aws_security_token"))
            keys.session_token = *legacy;
        keys.file = where(*p, "aws_access_key_id");
        r.plan.base_profile = current;
        r.plan.base = std::move(keys);
        std::reverse(r.plan.roles.begin(), r.plan.roles.end());
        return r;
    }
}

}  // namespace tfsnap::aws
