#pragma once
// The endpoints and keys of the test servers the harness fixture "s3" started: the env file
// named by $TFSNAP_HARNESS_ENV (lines `export NAME=VALUE`, VALUE possibly single-quoted).

#include <map>
#include <optional>
#include <string>

namespace tfsnap::test {

struct harness_env {
    std::map<std::string, std::string> vars;
    std::string get(const std::string& name) const;  // "" when absent

    std::string s3_endpoint() const { return get("S3_ENDPOINT"); }
    std::string dynamodb_endpoint() const { return get("DYNAMODB_ENDPOINT"); }
    std::string access_key() const { return get("AWS_ACCESS_KEY_ID"); }
    std::string secret_key() const { return get("AWS_SECRET_ACCESS_KEY"); }
    std::string region() const { return get("AWS_DEFAULT_REGION"); }
};

// nullopt (with the reason in `why`) when the variable is unset or the file unreadable.
std::optional<harness_env> load_harness_env(std::string* why = nullptr);

}  // namespace tfsnap::test
