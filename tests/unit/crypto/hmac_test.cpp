#include "tfsnap/crypto/hash.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace tfsnap::crypto;

struct hmac_case {
    const char* name;
    std::string key;
    std::string data;
    std::string hex;  // RFC 4231 HMAC-SHA-256 value (case 5: only its first 128 bits are specified)
};

std::string repeat(char c, std::size_t n) {
    return std::string(n, c);
}

std::string counting_key() {
    std::string k;
    for (char c = 0x01; c <= 0x19; ++c)
        k += c;
    return k;
}

// RFC 4231, section 4.
const hmac_case rfc4231[] = {
    {"1", repeat('\x0b', 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"2", "Jefe", "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {"3", repeat('\xaa', 20), repeat('\xdd', 50),
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {"4", counting_key(), repeat('\xcd', 50),
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    {"5", repeat('\x0c', 20), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"},
    {"6", repeat('\xaa', 131), "Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    {"7", repeat('\xaa', 131),
     "This is a test using a larger than block-size key and a larger than block-size data. The key needs to "
     "be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
};

TEST(HmacSha256, Rfc4231TestCases) {
    for (const auto& c : rfc4231) {
        const std::string mac = hmac_sha256(c.key, c.data);
        ASSERT_EQ(mac.size(), 32u) << "case " << c.name;
        EXPECT_EQ(to_hex(mac).substr(0, c.hex.size()), c.hex) << "case " << c.name;
    }
}

TEST(HmacSha256, EmptyKeyIsAValidKey) {
    // An empty key must not be confused with "reuse the previous key".
    EXPECT_EQ(to_hex(hmac_sha256("", "")),
              "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(to_hex(hmac_sha256("", "")),
              "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

}  // namespace
