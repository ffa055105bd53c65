#pragma once
// Plan tokens: what a restore plan hands out and a restore's execution requires, so that a
// restore does exactly what was planned and reviewed (the environment, the target, the state it
// replaces and the options), by the same requester, and only for a short while.
//
// A token is `base64url(payload) "." base64url(HMAC-SHA256(key, payload))` (RFC 4648 section 5,
// no padding), where the payload is canonical JSON: the claims below with a format version
// ("v":1), always the same keys in the same order. The key is the daemon's (random per start,
// kept in memory), so tokens do not survive a restart, which is intended.
//
// verify_token() checks, in order: the shape (two strict base64url parts; errc: malformed), the
// MAC, compared in constant time, before anything of the payload is read (tampered), the payload
// (malformed: a MAC that verifies over a payload tfsnap cannot read means another format
// version), and the expiry (expired, with the expiry time in the message). Messages never quote
// the token.
//
// Pure: no I/O, no clock (`now` is passed in). Thread safety: free functions with no shared state.

#include "tfsnap/core/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tfsnap::restore {

// Named token_errc rather than errc: the restore module (in the same namespace) has others.
enum class token_errc {
    malformed = 1,  // not a tfsnap plan token, or one of another format version
    tampered,       // the MAC does not match: modified, or made with another key (a restarted daemon)
    expired,        // valid, but past its expiry
    mismatch,       // valid, but made for another request (check_request_token)
};

const char* describe(token_errc e) noexcept;
const boost::system::error_category& token_category() noexcept;
inline boost::system::error_code make_error_code(token_errc e) noexcept {
    return {static_cast<int>(e), token_category()};
}

// How long a plan token is valid.
inline constexpr std::chrono::minutes token_lifetime{15};

// Keys shorter than this are refused (a programming error: the daemon makes 32 random bytes).
inline constexpr std::size_t min_token_key_size = 16;

struct plan_claims {
    std::string environment;
    std::string action;  // "restore" | "undelete"
    std::string target_version;
    std::string current_version;
    std::string current_etag;
    std::string mode;  // "state-only" | "full"
    bool force_lineage = false;
    bool roll_forward_serial = false;
    std::string requested_by;     // "user@host"
    std::int64_t expires_at = 0;  // unix seconds; the token is valid while now < expires_at

    friend bool operator==(const plan_claims&, const plan_claims&) = default;
};

// Throws boost::system::system_error (core::errc::invalid_argument) for a key shorter than
// min_token_key_size, and crypto's openssl_failure if HMAC fails.
std::string issue_token(const plan_claims& claims, std::span<const std::byte> key);

struct token_result {
    boost::system::error_code ec;  // token_errc
    std::string message;           // one line, for the refusal
    plan_claims claims;            // when !ec

    bool ok() const noexcept { return !ec; }
};

// Throws as issue_token() does for a short key.
token_result verify_token(std::string_view token, std::span<const std::byte> key,
                          std::chrono::sys_seconds now);

// The claims of `token` that differ from those of `request`, by name and both values
// ("environment is \"prod\" in the token but \"staging\" in the request"; several joined by "; "),
// or nullopt when they agree. expires_at is not compared: it is the token's, not the request's.
std::optional<std::string> claims_mismatch(const plan_claims& token, const plan_claims& request);

// The check of a token presented with a restore request, as far as it goes without S3:
// verify_token(), then claims_mismatch() against `request`, whose target_version,
// current_version, current_etag and expires_at are taken from the token (they are the plan's;
// whether the current version is still the planned one takes a look at S3, which the restore's
// execution does). errc: token_errc; mismatch with the differences in `message`. On success the
// result has the token's claims. tfsnapd runs it when a restore is asked for, so that a forged,
// expired or misapplied token is refused before a job exists; the execution checks again.
// Throws as issue_token() does for a short key.
token_result check_request_token(std::string_view token, std::span<const std::byte> key,
                                 std::chrono::sys_seconds now, plan_claims request);

}  // namespace tfsnap::restore

template <>
struct boost::system::is_error_code_enum<tfsnap::restore::token_errc> : std::true_type {};
