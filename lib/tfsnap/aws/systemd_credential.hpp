#pragma once
// Static AWS keys delivered as a systemd credential (LoadCredential= / SetCredential= /
// LoadCredentialEncrypted=): the file $CREDENTIALS_DIRECTORY/<name>. Pure: the provider reads
// the file.
//
// File format: the credentials file's (profile_file.hpp), holding one set of keys, with or
// without a [default] header:
//
//     [default]                       # optional
//     aws_access_key_id = AKIA...
//     aws_secret_access_key = ...
//     aws_session_token = ...         # optional
//
// Any other key is an error (a typo must not silently drop a setting). Comments (# ;) and blank
// lines are allowed.
//
// Names: 1-64 of A-Z a-z 0-9 . _ -, not "." or ".." (config::is_valid_name); a valid name is a
// single path component, so it cannot leave $CREDENTIALS_DIRECTORY.

#include "tfsnap/aws/error.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include <string_view>

namespace tfsnap::aws {

inline constexpr std::string_view default_systemd_credential_name = "aws";

bool is_valid_credential_name(std::string_view name) noexcept;

struct systemd_credential_keys {
    boost::system::error_code ec;  // invalid_credentials_file, incomplete_credentials
    error_info error;
    sigv4::credentials creds;

    bool ok() const noexcept { return !ec; }
};

systemd_credential_keys parse_systemd_credential(std::string_view text, std::string_view path);

}  // namespace tfsnap::aws
