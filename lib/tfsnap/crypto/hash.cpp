#include "tfsnap/crypto/hash.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <array>

namespace tfsnap::crypto {

namespace {

[[noreturn]] void throw_openssl_failure(const char* what) {
    // OpenSSL's error queue is per thread and shared with every other user of the library (TLS
    // included); leaving our entries there would make an unrelated later check fail.
    ERR_clear_error();
    throw boost::system::system_error(make_error_code(errc::openssl_failure), what);
}

struct md_free {
    void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
};
struct md_ctx_free {
    void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
using md_ptr = std::unique_ptr<EVP_MD, md_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

// Algorithms are fetched once: with OpenSSL 3 the legacy EVP_sha256() path fetches the provider
// implementation again on every init, which costs more than hashing a small request. Fetched
// objects are immutable and may be used from any thread. A failed fetch (MD5 under a FIPS-only
// configuration) is remembered as null and reported on each use.
const EVP_MD* fetched_md(algorithm a) {
    static const md_ptr sha256{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
    static const md_ptr md5{EVP_MD_fetch(nullptr, "MD5", nullptr)};
    const EVP_MD* md = a == algorithm::sha256 ? sha256.get() : md5.get();
    if (md == nullptr)
        throw_openssl_failure("EVP_MD_fetch");
    return md;
}

std::string digest_raw(algorithm a, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, fetched_md(a), nullptr) != 1)
        throw_openssl_failure("EVP_Digest");
    return std::string(reinterpret_cast<const char*>(out.data()), len);
}

}  // namespace

struct hasher::impl {
    const EVP_MD* md = nullptr;
    md_ctx_ptr ctx;
    bool needs_init = true;

    void init_if_needed() {
        if (!needs_init)
            return;
        if (EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1)
            throw_openssl_failure("EVP_DigestInit_ex2");
        needs_init = false;
    }
};

hasher::hasher(algorithm a) : impl_(std::make_unique<impl>()) {
    impl_->md = fetched_md(a);
    impl_->ctx.reset(EVP_MD_CTX_new());
    if (!impl_->ctx)
        throw_openssl_failure("EVP_MD_CTX_new");
    impl_->init_if_needed();
}

hasher::hasher(hasher&&) noexcept = default;
hasher& hasher::operator=(hasher&&) noexcept = default;
hasher::~hasher() = default;

void hasher::update(std::span<const std::byte> data) {
    if (!impl_)
        throw boost::system::system_error(make_error_code(core::errc::invalid_argument), "moved-from hasher");
    impl_->init_if_needed();
    if (data.empty())
        return;
    if (EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()) != 1)
        throw_openssl_failure("EVP_DigestUpdate");
}

std::string hasher::final_raw() {
    if (!impl_)
        throw boost::system::system_error(make_error_code(core::errc::invalid_argument), "moved-from hasher");
    impl_->init_if_needed();
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    // Whatever the outcome, the next use starts a new digest.
    impl_->needs_init = true;
    if (EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &len) != 1)
        throw_openssl_failure("EVP_DigestFinal_ex");
    return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string hasher::final_hex() {
    return to_hex(final_raw());
}

std::string sha256_hex(std::string_view data) {
    return to_hex(digest_raw(algorithm::sha256, data));
}

std::string md5_hex(std::string_view data) {
    return to_hex(digest_raw(algorithm::md5, data));
}

// HMAC (RFC 2104) over the already fetched SHA-256. OpenSSL 3.0's EVP_MAC re-keys through
// provider calls and allocations on every use; this is about four times faster for the short
// messages SigV4 signs (four HMACs derive a signing key, one makes each signature).
std::string hmac_sha256(std::string_view key, std::string_view data) {
    constexpr std::size_t block_size = 64;  // SHA-256's input block
    constexpr std::size_t digest_size = 32;
    const EVP_MD* md = fetched_md(algorithm::sha256);
    const md_ctx_ptr ctx{EVP_MD_CTX_new()};
    if (!ctx)
        throw_openssl_failure("EVP_MD_CTX_new");

    // The key block, the padded key and the inner digest are all key material.
    struct scratch {
        std::array<unsigned char, block_size> key_block{};
        std::array<unsigned char, block_size> pad{};
        std::array<unsigned char, EVP_MAX_MD_SIZE> inner{};
        std::array<unsigned char, EVP_MAX_MD_SIZE> outer{};
        ~scratch() { OPENSSL_cleanse(this, sizeof(*this)); }
    } s;

    auto digest = [&](std::span<const unsigned char> a, const void* b, std::size_t b_size,
                      unsigned char* out) {
        unsigned int len = 0;
        if (EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1)
            throw_openssl_failure("EVP_DigestInit_ex2");
        if (!a.empty() && EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1)
            throw_openssl_failure("EVP_DigestUpdate");
        if (b_size > 0 && EVP_DigestUpdate(ctx.get(), b, b_size) != 1)
            throw_openssl_failure("EVP_DigestUpdate");
        if (EVP_DigestFinal_ex(ctx.get(), out, &len) != 1 || len != digest_size)
            throw_openssl_failure("EVP_DigestFinal_ex");
    };

    if (key.size() > block_size)
        digest({}, key.data(), key.size(), s.key_block.data());
    else
        std::copy(key.begin(), key.end(), reinterpret_cast<char*>(s.key_block.data()));

    for (std::size_t i = 0; i < block_size; ++i)
        s.pad[i] = s.key_block[i] ^ 0x36;
    digest(s.pad, data.data(), data.size(), s.inner.data());
    for (std::size_t i = 0; i < block_size; ++i)
        s.pad[i] = s.key_block[i] ^ 0x5c;
    digest(s.pad, s.inner.data(), digest_size, s.outer.data());
    return std::string(reinterpret_cast<const char*>(s.outer.data()), digest_size);
}

}  // namespace tfsnap::crypto
