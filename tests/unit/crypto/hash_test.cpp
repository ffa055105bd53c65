#include "tfsnap/crypto/hash.hpp"

#include <gtest/gtest.h>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <array>
#include <span>
#include <string>
#include <utility>

namespace {

using namespace tfsnap::crypto;

struct digest_case {
    std::string input;
    std::string hex;
};

// RFC 1321, appendix A.5 ("test suite").
const digest_case rfc1321_suite[] = {
    {"", "d41d8cd98f00b204e9800998ecf8427e"},
    {"a", "0cc175b9c0f1b6a831c399e269772661"},
    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"},
    {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
     "57edf4a22be3c955ac49da2e2107b67a"},
};

TEST(Md5, Rfc1321Suite) {
    for (const auto& c : rfc1321_suite) {
        EXPECT_EQ(md5_hex(c.input), c.hex) << '"' << c.input << '"';
        hasher h(algorithm::md5);
        h.update(c.input);
        EXPECT_EQ(h.final_hex(), c.hex) << '"' << c.input << '"';
    }
}

// FIPS 180-2, appendix B.1 and B.2, and the digest of the empty message.
TEST(Sha256, Fips180OneAndTwoBlockMessages) {
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// FIPS 180-2, appendix B.3: one million 'a', fed in chunk sizes that straddle the 64-byte block.
TEST(Sha256, Fips180MillionAInOddChunks) {
    const std::string a(1000, 'a');
    constexpr std::array<std::size_t, 7> sizes = {1, 7, 63, 64, 65, 129, 997};
    hasher h(algorithm::sha256);
    std::size_t fed = 0;
    for (std::size_t i = 0; fed < 1000000; ++i) {
        const std::size_t n = std::min(sizes[i % sizes.size()], 1000000 - fed);
        h.update(std::string_view(a).substr(0, n));
        fed += n;
    }
    EXPECT_EQ(h.final_hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Hasher, ByteSpanAndStringViewAgree) {
    const std::string text = "message digest";
    hasher h(algorithm::md5);
    h.update(std::as_bytes(std::span(text.data(), text.size())));
    EXPECT_EQ(h.final_hex(), "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST(Hasher, FinalResetsForReuse) {
    hasher h(algorithm::sha256);
    h.update("ab");
    h.update("c");
    EXPECT_EQ(h.final_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(h.final_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    h.update("abc");
    EXPECT_EQ(h.final_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hasher, RawDigestSizes) {
    hasher md5(algorithm::md5);
    hasher sha(algorithm::sha256);
    EXPECT_EQ(md5.final_raw().size(), 16u);
    const std::string raw = sha.final_raw();
    ASSERT_EQ(raw.size(), 32u);
    EXPECT_EQ(to_hex(raw), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Hasher, MoveKeepsState) {
    hasher a(algorithm::sha256);
    a.update("ab");
    hasher b(std::move(a));
    b.update("c");
    EXPECT_EQ(b.final_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    hasher c(algorithm::md5);
    c = std::move(b);
    c.update("abc");
    EXPECT_EQ(c.final_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hasher, MovedFromThrowsInsteadOfCrashing) {
    hasher a(algorithm::sha256);
    hasher b(std::move(a));
    EXPECT_THROW(a.update("x"), boost::system::system_error);  // NOLINT(bugprone-use-after-move)
    EXPECT_THROW((void)a.final_raw(), boost::system::system_error);
}

TEST(CryptoError, CategoryAndMessage) {
    const boost::system::error_code ec = errc::openssl_failure;
    EXPECT_STREQ(ec.category().name(), "tfsnap.crypto");
    EXPECT_EQ(ec.message(), "an OpenSSL EVP call failed");
    EXPECT_EQ(ec, make_error_code(errc::openssl_failure));
}

}  // namespace
