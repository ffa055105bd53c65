#pragma once
// Sealed files: the AES-256-GCM encrypted local copy of a state (`copy: { mode: local }`), and
// the key that seals them. An administrator opens one with `tfsnapd decrypt`, without the daemon.
//
// Key file: exactly 32 raw bytes, or 64 hex characters (either case) optionally followed by one
// "\n". Nothing else is accepted (no "\r\n", no spaces, no 33-byte "raw key plus newline").
// Make one with `tfsnapd keygen --output FILE` or `head -c 32 /dev/urandom > FILE`.
//
// Key fingerprint: the first 8 bytes of SHA-256("tfsnap-key-id" || key), shown as 16 lower-case
// hex characters. It names a key without revealing it and lets a reader tell "wrong key" from
// "corrupt file".
//
// File format, version 1. All integers are big-endian; offsets are in bytes.
//
//     offset  size  field
//          0     8  magic "TFSNAPC\0" (54 46 53 4e 41 50 43 00)
//          8     1  format version, 1
//          9     1  algorithm, 1 = AES-256-GCM
//         10     2  reserved, 0
//         12     8  key fingerprint (raw bytes)
//         20    12  nonce (GCM IV), random per file
//         32     8  plaintext length N, u64
//         40     N  ciphertext (AES-256-GCM, same length as the plaintext)
//       40+N    16  GCM tag
//
// The 40-byte header is the GCM additional authenticated data, so changing any header byte
// makes authentication fail. The file is exactly 56 + N bytes. Readers reject another magic,
// version, algorithm or non-zero reserved bytes. Nonces are 96 random bits from RAND_bytes,
// fresh for every file; NIST SP 800-38D (8.3) allows 2^32 files under one key this way.
//
// Writing: every output (sealed file, decrypted file, key file) is written to a temporary file
// in the destination's directory (mode 0600, O_EXCL), fsynced, renamed into place, and the
// directory is fsynced. Decrypted output is renamed into place only after the tag has been
// verified: plaintext that failed authentication is never left behind. Temporary files are
// named ".tmp-<destination name>-XXXXXX" (the catalog's prefix, so catalog::open removes any a
// crash leaves) and are removed on every failure.
//
// Errors: every function reports through its result's `ec` and `error` (no exceptions, except
// std::bad_alloc). Codes: crypto::errc (invalid_key, bad_magic, unsupported_version, wrong_key,
// truncated, authentication_failed, trailing_data, too_large, destination_exists,
// openssl_failure, invalid_credential_name), core::errc::not_found (an input file, the key file
// or the credential does not exist) and core::errc::io_error (errno in `error.sys_errno`).
// `error.message` is a complete sentence that names the file; it never holds key material.
//
// Blocking: these read and write whole files; call them from a worker thread, not the I/O
// thread. Not cancellable.
// Thread safety: free functions, callable from any thread; one writer per destination path.
// A sealing_key is an immutable value.

#include "tfsnap/core/secret.hpp"
#include "tfsnap/crypto/hash.hpp"

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::crypto {

inline constexpr std::string_view sealed_magic{"TFSNAPC\0", 8};
inline constexpr std::uint8_t sealed_format_version = 1;
inline constexpr std::uint8_t sealed_algorithm_aes_256_gcm = 1;
inline constexpr std::size_t sealed_header_size = 40;
inline constexpr std::size_t sealed_tag_size = 16;
inline constexpr std::size_t sealed_nonce_size = 12;
inline constexpr std::size_t sealed_fingerprint_size = 8;
// NIST SP 800-38D: at most 2^39 - 256 bits of plaintext under one GCM invocation.
inline constexpr std::uint64_t sealed_max_plaintext = (std::uint64_t{1} << 36) - 32;
// Files are read, encrypted and written in chunks of this size.
inline constexpr std::size_t sealed_chunk_size = 64 * 1024;

// A 32-byte AES-256 key and its fingerprint.
class sealing_key {
public:
    static constexpr std::size_t size = 32;

    // nullopt unless `bytes` is exactly 32 bytes. Throws boost::system::system_error
    // (errc::openssl_failure) if SHA-256 fails.
    static std::optional<sealing_key> from_bytes(core::secret bytes);

    // The raw key. Never log it.
    const core::secret& bytes() const noexcept { return bytes_; }
    // 16 lower-case hex characters, e.g. "3f9a0c1d22e4b871".
    const std::string& fingerprint() const noexcept { return fingerprint_; }

private:
    sealing_key(core::secret bytes, std::string fingerprint)
        : bytes_(std::move(bytes)), fingerprint_(std::move(fingerprint)) {}
    core::secret bytes_;
    std::string fingerprint_;
};

// The fingerprint of any 32-byte key (see above). Throws like sealing_key::from_bytes.
std::string key_fingerprint(std::string_view key);

// Which file an error is about.
enum class file_role { none, key, input, output };

struct error_info {
    file_role role = file_role::none;
    std::string path;   // the file concerned (empty for role none)
    int sys_errno = 0;  // for core::errc::io_error and not_found
    std::string message;
};

struct key_result {
    boost::system::error_code ec;
    error_info error;
    std::optional<sealing_key> key;
    // The key file can be read by its group or by others. The key still loads; the caller should
    // log a warning (chmod 600).
    bool readable_by_others = false;

    bool ok() const noexcept { return !ec; }
};

// Parses a key file's contents (see the top of this file). `path` is only used in messages.
key_result parse_key(std::string_view contents, std::string_view path);

// Reads and parses a key file. Errors: not_found, io_error, invalid_key.
key_result load_key(const std::filesystem::path& path);

// systemd credential names: 1-64 of A-Z a-z 0-9 . _ -, not "." or "..".
bool is_valid_key_credential_name(std::string_view name) noexcept;

// The key delivered as the systemd credential `name` (LoadCredential=, LoadCredentialEncrypted=):
// the file <credentials_directory>/<name>. The caller passes $CREDENTIALS_DIRECTORY (empty when
// unset, which is reported as not_found with a hint). Errors: invalid_credential_name, and those
// of load_key.
key_result load_key_credential(std::string_view name, std::string_view credentials_directory);

// 32 bytes from RAND_bytes. Errors: openssl_failure.
key_result generate_key();

struct write_result {
    boost::system::error_code ec;
    error_info error;

    bool ok() const noexcept { return !ec; }
};

// Writes `key` as 64 lower-case hex characters and "\n" to `path`, mode 0600, atomically and
// durably. Never replaces an existing file: destination_exists.
write_result save_key(const sealing_key& key, const std::filesystem::path& path);

// What a sealed file's header says; readable without the key.
struct sealed_header {
    std::uint8_t version = 0;
    std::uint8_t algorithm = 0;
    std::string key_fingerprint;  // 16 lower-case hex characters
    std::string nonce_hex;        // 24 lower-case hex characters
    std::uint64_t plaintext_size = 0;
    std::uint64_t file_size = 0;  // actual size on disk
    // 56 + plaintext_size: the size the file must have.
    std::uint64_t expected_file_size() const noexcept {
        return plaintext_size + sealed_header_size + sealed_tag_size;
    }
};

struct header_result {
    boost::system::error_code ec;  // not_found, io_error, bad_magic, unsupported_version, truncated
    error_info error;
    sealed_header header;

    bool ok() const noexcept { return !ec; }
};

// Reads and checks the header of a sealed file, for diagnostics. No key needed; proves nothing
// about the rest of the file (a file whose size does not match is reported as truncated or
// trailing_data).
header_result inspect_header(const std::filesystem::path& path);

struct seal_result {
    boost::system::error_code ec;
    error_info error;
    std::string sealed_sha256;     // hex SHA-256 of the sealed file's bytes (checkable without the key)
    std::string plaintext_sha256;  // hex SHA-256 of the plaintext
    std::uint64_t plaintext_size = 0;
    std::uint64_t sealed_size = 0;

    bool ok() const noexcept { return !ec; }
};

struct seal_options {
    // Replace an existing destination. A snapshot's copy is written once, so the default refuses.
    bool overwrite = false;
};

// Seals `plaintext` into `dest`. Memory: a 64 KiB buffer beyond the caller's plaintext.
// Errors: io_error (role output), destination_exists, too_large, openssl_failure.
seal_result seal(const sealing_key& key, std::string_view plaintext, const std::filesystem::path& dest,
                 seal_options options = {});

// Seals the file `src` into `dest`, streaming. Errors: those of seal, and not_found / io_error
// for `src` (role input). `src` must not change while it is sealed; if its size changes the
// result is io_error and nothing is written.
seal_result seal_file(const sealing_key& key, const std::filesystem::path& src,
                      const std::filesystem::path& dest, seal_options options = {});

struct open_result {
    boost::system::error_code ec;
    error_info error;
    sealed_header header;          // valid once the header was read
    std::string plaintext_sha256;  // when ok
    std::string sealed_sha256;     // when ok
    std::string plaintext;         // open_to_string only

    bool ok() const noexcept { return !ec; }
};

struct open_options {
    bool overwrite = false;  // replace an existing destination
};

// Decrypts `sealed` into `dest` (mode 0600). `dest` appears only after the whole file has been
// authenticated. Errors: not_found / io_error (input), bad_magic, unsupported_version, wrong_key,
// truncated, authentication_failed, trailing_data, destination_exists and io_error (output),
// openssl_failure.
open_result open_to_file(const sealing_key& key, const std::filesystem::path& sealed,
                         const std::filesystem::path& dest, open_options options = {});

// Decrypts `sealed` into `plaintext` of the result, which is empty unless the file authenticated.
// A plaintext longer than `limit` bytes is too_large (checked before decrypting).
open_result open_to_string(const sealing_key& key, const std::filesystem::path& sealed, std::uint64_t limit);

// Authenticates `sealed` without writing plaintext anywhere (the verify job). On success the
// result carries both digests, so the plaintext can be compared with the manifest's checksum.
open_result verify_sealed(const sealing_key& key, const std::filesystem::path& sealed);

}  // namespace tfsnap::crypto
