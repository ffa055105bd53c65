#pragma once
// Hashes, HMAC and encodings over OpenSSL 3 EVP.
//
// `hasher` is incremental, so bodies can be hashed chunk by chunk while they stream.
// Errors: OpenSSL failures (which in practice mean memory exhaustion) become
// `crypto::errc::openssl_failure`; functions that cannot report an error_code throw
// boost::system::system_error with it. Nothing here calls abort or prints.
//
// Thread safety: a hasher is a value; use one per thread. The free functions may be called from
// any thread.

#include "tfsnap/core/error.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace tfsnap::crypto {

enum class errc {
    openssl_failure = 1,      // an EVP call failed
    invalid_key,              // a key file holds neither 32 raw bytes nor 64 hex characters
    invalid_credential_name,  // a systemd credential name that is not a single path component
    bad_magic,                // sealed_file.hpp: not a tfsnap sealed file
    unsupported_version,      // a sealed file format version or algorithm this build cannot read
    wrong_key,                // sealed with another key (the key fingerprints differ)
    truncated,                // the sealed file ends before its header says it should
    authentication_failed,    // the GCM tag does not match: the file is corrupt or was modified
    trailing_data,            // bytes after the GCM tag
    too_large,                // more plaintext than the caller's limit or than AES-GCM allows
    destination_exists,       // the output exists and overwriting was not asked for
};
const char* describe(errc e) noexcept;
const boost::system::error_category& crypto_category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), crypto_category()};
}

enum class algorithm { md5, sha256 };

class hasher {
public:
    explicit hasher(algorithm a);
    hasher(hasher&&) noexcept;
    hasher& operator=(hasher&&) noexcept;
    ~hasher();

    // A moved-from hasher may only be assigned to or destroyed; using it throws
    // core::errc::invalid_argument.
    void update(std::span<const std::byte> data);
    void update(std::string_view data) { update(std::as_bytes(std::span(data.data(), data.size()))); }
    // The digest; the hasher is then reset and can be reused.
    std::string final_raw();  // 16 or 32 raw bytes
    std::string final_hex();  // lower-case hex

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

std::string sha256_hex(std::string_view data);
std::string md5_hex(std::string_view data);
// Raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

// Lower-case hex of raw bytes.
std::string to_hex(std::string_view raw);
// RFC 4648 section 4 (standard alphabet, with padding).
std::string base64_encode(std::string_view raw);
// Strict RFC 4648 section 4 decoding: the length is a multiple of 4, '=' appears only as final
// padding, the unused bits before it are zero, and nothing else (no whitespace, no URL-safe
// alphabet) is accepted. Returns false on invalid input and then leaves `out` unchanged.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace tfsnap::crypto

template <>
struct boost::system::is_error_code_enum<tfsnap::crypto::errc> : std::true_type {};
