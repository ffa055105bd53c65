#pragma once
// Checks on single values, shared by the configuration loader and by the modules that accept
// the same kinds of names at run time (the control API validates environment names with
// `is_valid_name` before a name can reach a path).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tfsnap::config {

// Environment and schedule names: [A-Za-z0-9._-]{1,64}, not starting with '.' (so never "." or
// "..", nor the catalog's own .git, .tmp-*, .del-*). Such a name is safe as one path component.
bool is_valid_name(std::string_view name) noexcept;

// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view word, std::span<const std::string_view> candidates);

// IANA time zone known to the OS tz database ("Europe/Berlin", "UTC").
bool is_valid_timezone(std::string_view zone);
std::optional<std::string> closest_timezone(std::string_view zone);

// S3 bucket names: 3-63 characters of lower-case letters, digits, '.' and '-', starting and
// ending with a letter or digit (the rules for buckets created since 2018).
bool is_valid_bucket_name(std::string_view bucket) noexcept;

// DynamoDB table names: 3-255 characters of letters, digits, '_', '-' and '.'.
bool is_valid_dynamodb_table(std::string_view table) noexcept;

// AWS region names such as "us-east-1" or "eu-central-2": lower-case letters, digits, '-'.
bool is_valid_region(std::string_view region) noexcept;

// A state key as Terraform's S3 backend accepts it: 1-1024 bytes, no leading or trailing '/',
// no control characters. The message says what is wrong, or nullopt when valid.
std::optional<std::string> check_state_key(std::string_view key);

// Whether `url` (an endpoint as check_endpoint accepts it) is an AWS S3 endpoint: its host is
// amazonaws.com or ends in .amazonaws.com (or .amazonaws.com.cn). AWS S3 honours If-Match and
// If-None-Match, so conditional writes default to on there.
bool is_aws_endpoint(std::string_view url) noexcept;

// The canned ACLs S3 accepts in x-amz-acl (Terraform's backend `acl`).
bool is_canned_acl(std::string_view acl) noexcept;

// "http://host[:port]" or "https://host[:port]" with an optional path; no credentials, query or
// fragment. The message says what is wrong, or nullopt when valid.
std::optional<std::string> check_endpoint(std::string_view url);

// A webhook URL: "http(s)://host[:port][/path][?query]", no user information, fragment, spaces
// or control characters. The URL is a secret (Slack's carries its token in the path), so the
// message never quotes it. nullopt when valid.
std::optional<std::string> check_webhook_url(std::string_view url);

// "scheme://host[:port]" of a URL, the only part of a webhook URL that may be shown; "" when
// `url` has no http(s) scheme and host.
std::string url_origin(std::string_view url);

// "user:NAME" or "group:NAME" (NAME as useradd accepts it).
bool is_valid_principal(std::string_view principal) noexcept;

// A TCP listen address "HOST:PORT": an IPv4 address, "[IPv6]" or "localhost", and a port 1-65535.
struct listen_address {
    std::string host;  // without brackets
    std::uint16_t port = 0;
};
std::optional<listen_address> parse_listen_address(std::string_view s);

// metrics.listen: a listen address on the loopback interface (127.0.0.0/8, ::1, localhost).
// What is wrong, or "" when it is fine.
std::string check_loopback_listen(std::string_view s);

}  // namespace tfsnap::config
