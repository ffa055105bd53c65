#include "tfsnap/aws/systemd_credential.hpp"

#include "tfsnap/aws/profile_file.hpp"

#include <algorithm>

namespace tfsnap::aws {

bool is_valid_credential_name(std::string_view name) noexcept {
    // a file name under $CREDENTIALS_DIRECTORY: [A-Za-z0-9._-]{1,64}, never "." or ".."
    if (name.empty() || name.size() > 64 || name == "." || name == "..")
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '_' || c == '-';
    });
}

systemd_credential_keys parse_systemd_credential(std::string_view text, std::string_view path) {
    systemd_credential_keys out;
    out.error.provider = "systemd-credential";
    out.error.path = std::string(path);
    auto parsed = parse_profile_file(text, profile_file_kind::systemd_credential, path);
    if (!parsed.ok()) {
        out.ec = parsed.ec;
        out.error = std::move(parsed.error);
        return out;
    }
    const auto it = parsed.profiles.find("default");
    if (it == parsed.profiles.end()) {
        out.ec = errc::incomplete_credentials;
        out.error.message =
            "the credential file holds no keys; write aws_access_key_id and aws_secret_access_key";
        return out;
    }
    const auto& p = it->second;
    for (const auto& [key, origin] : p.origins) {
        if (key != "aws_access_key_id" && key != "aws_secret_access_key" && key != "aws_session_token") {
            out.ec = errc::invalid_credentials_file;
            out.error.line = origin.line;
            out.error.message = "unknown key " + key +
                                "; a systemd credential holds aws_access_key_id, aws_secret_access_key and "
                                "optionally aws_session_token";
            return out;
        }
    }
    const auto* akid = p.setting("aws_access_key_id");
    const auto* secret = p.secret_value("aws_secret_access_key");
    if (!akid || akid->empty()) {
        out.ec = errc::incomplete_credentials;
        out.error.message = "the credential file has no aws_access_key_id";
        return out;
    }
    if (!secret || secret->empty()) {
        out.ec = errc::incomplete_credentials;
        out.error.message = "the credential file has no aws_secret_access_key";
        return out;
    }
    out.creds.access_key_id = *akid;
    out.creds.secret_access_key = *secret;
    if (const auto* token = p.secret_value("aws_session_token"))
        out.creds.session_token = *token;
    out.error = {};
    return out;
}

}  // namespace tfsnap::aws
