#include "tfsnap/crypto/hash.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace tfsnap::crypto;

TEST(ToHex, LowerCaseTwoDigitsPerByte) {
    EXPECT_EQ(to_hex(""), "");
    EXPECT_EQ(to_hex(std::string("\x00\x01\x7f\x80\xff", 5)), "00017f80ff");
    EXPECT_EQ(to_hex("\xAB\xCD"), "abcd");
}

// RFC 4648, section 10.
const std::pair<std::string, std::string> rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST(Base64, Rfc4648Vectors) {
    for (const auto& [raw, text] : rfc4648) {
        EXPECT_EQ(base64_encode(raw), text);
        std::string out = "stale";
        ASSERT_TRUE(base64_decode(text, out)) << text;
        EXPECT_EQ(out, raw);
    }
}

TEST(Base64, EveryByteValueRoundTrips) {
    std::string all;
    for (int i = 0; i < 256; ++i)
        all += static_cast<char>(i);
    for (std::size_t len = 0; len <= all.size(); len += 37) {
        const std::string raw = all.substr(all.size() - len);
        std::string back;
        ASSERT_TRUE(base64_decode(base64_encode(raw), back));
        EXPECT_EQ(back, raw);
    }
    // Content-MD5 of the empty body, as S3 expects it
    std::string md5;
    ASSERT_TRUE(base64_decode("1B2M2Y8AsgTpgAmY7PhCfg==", md5));
    EXPECT_EQ(to_hex(md5), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(Base64, RejectsInvalidInputAndLeavesOutputAlone) {
    const char* invalid[] = {
        "Zg",        // not a multiple of 4
        "Zg=",       // ditto
        "Zm9vY",     // ditto
        "Zg==Zg==",  // padding before the end
        "Z===",      // too much padding
        "====",      // only padding
        "Zm=v",      // padding then data
        "Zh==",      // non-zero bits under the padding
        "Zm9=",      // ditto, one pad
        "Zm9v\n",    // whitespace
        " Zm9v",     // ditto
        "Zm-_",      // URL-safe alphabet
        "Zm9*",      // not in the alphabet
        "Zm\x80v",   // not ASCII
    };
    for (const char* text : invalid) {
        std::string out = "unchanged";
        EXPECT_FALSE(base64_decode(text, out)) << '"' << text << '"';
        EXPECT_EQ(out, "unchanged") << '"' << text << '"';
    }
    std::string out = "unchanged";
    EXPECT_FALSE(base64_decode(std::string_view("Zm\0v", 4), out));
    EXPECT_EQ(out, "unchanged");
}

}  // namespace
