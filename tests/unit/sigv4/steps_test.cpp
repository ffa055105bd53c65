#include "tfsnap/sigv4/signer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace {

using namespace tfsnap;
using namespace std::chrono_literals;
using sigv4::param_list;

struct encode_case {
    std::string in;
    bool encode_slash;
    std::string out;
};

TEST(UriEncode, Table) {
    const encode_case cases[] = {
        {"", true, ""},
        {"AZaz09-._~", true, "AZaz09-._~"},
        {" ", true, "%20"},
        {"+", true, "%2B"},
        {"=", true, "%3D"},
        {"&", true, "%26"},
        {"%", true, "%25"},
        {"%20", true, "%2520"},
        {"*", true, "%2A"},
        {"!'()", true, "%21%27%28%29"},
        {"$,;:@", true, "%24%2C%3B%3A%40"},
        {"?#[]", true, "%3F%23%5B%5D"},
        {"\"<>\\^`{|}", true, "%22%3C%3E%5C%5E%60%7B%7C%7D"},
        {"a/b", true, "a%2Fb"},
        {"a/b", false, "a/b"},
        {"//", false, "//"},
        {"a b/c+d", false, "a%20b/c%2Bd"},
        {"\xC3\xBC", true, "%C3%BC"},                         // U+00FC as UTF-8
        {"\xE1\x88\xB4", true, "%E1%88%B4"},                  // U+1234
        {"\xF0\x9F\x98\x80", false, "%F0%9F%98%80"},          // U+1F600
        {std::string("\x00\x7f\xff", 3), true, "%00%7F%FF"},  // upper-case hex
    };
    for (const auto& c : cases)
        EXPECT_EQ(sigv4::uri_encode(c.in, c.encode_slash), c.out)
            << '"' << c.in << "\" slash=" << c.encode_slash;
}

TEST(CanonicalQueryString, SortsByEncodedNameThenValue) {
    EXPECT_EQ(sigv4::canonical_query_string({}), "");
    EXPECT_EQ(sigv4::canonical_query_string({{"b", "2"}, {"a", "1"}}), "a=1&b=2");
    // repeated names: by value; an empty value still gets its '='
    EXPECT_EQ(sigv4::canonical_query_string({{"a", "2"}, {"a", ""}, {"a", "1"}}), "a=&a=1&a=2");
    EXPECT_EQ(sigv4::canonical_query_string({{"versions", ""}}), "versions=");
    EXPECT_EQ(sigv4::canonical_query_string({{"", "x"}}), "=x");
    // case-sensitive, byte order: upper case before lower case
    EXPECT_EQ(sigv4::canonical_query_string({{"param", "3"}, {"Param2", "2"}, {"Param1", "1"}}),
              "Param1=1&Param2=2&param=3");
    // sorted after encoding: "%" (0x25) sorts before "-" (0x2D) and "_" (0x5F), and an encoded
    // non-ASCII name sorts before "~" although its raw bytes would sort after
    EXPECT_EQ(sigv4::canonical_query_string(
                  {{"a_b", "1"}, {"a-b", "2"}, {"a b", "3"}, {"~", "4"}, {"\xC3\xBC", "5"}}),
              "%C3%BC=5&a%20b=3&a-b=2&a_b=1&~=4");
    // names and values are both encoded, '/' included
    EXPECT_EQ(sigv4::canonical_query_string({{"prefix", "a b/c&d=e+f"}, {"list-type", "2"}}),
              "list-type=2&prefix=a%20b%2Fc%26d%3De%2Bf");
    EXPECT_EQ(sigv4::canonical_query_string({{"versionId", "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"}}),
              "versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY");
}

TEST(CanonicalUri, GenericServicesNormaliseAndEncodeAgain) {
    const std::pair<std::string, std::string> cases[] = {
        {"", "/"},
        {"/", "/"},
        {"//", "/"},
        {"/./", "/"},
        {"/example/..", "/"},
        {"/example1/example2/../..", "/"},
        {"/./example", "/example"},
        {"//example//", "/example/"},
        {"/a/b/../c", "/a/c"},
        {"/a/b/..", "/a/"},
        {"/a/./b/.", "/a/b/"},
        {"/../a", "/a"},
        {"a/b", "/a/b"},
        {"/example space/", "/example%20space/"},
        {"/a%20b", "/a%2520b"},
        {"/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
         "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"},
    };
    for (const auto& [in, out] : cases)
        EXPECT_EQ(sigv4::canonical_uri(in, false), out) << '"' << in << '"';
}

TEST(CanonicalUri, S3KeepsTheWirePath) {
    for (const std::string path : {"/", "//", "/./", "/a/../b", "//example//", "/a%20b", "/test%24file.text"})
        EXPECT_EQ(sigv4::canonical_uri(path, true), path);
    EXPECT_EQ(sigv4::canonical_uri("", true), "/");
}

// signed_header_names and the signer's own canonical headers agree on every list, an empty name
// included (the step function dropped the ';' after an empty first name; found by
// fuzz_sigv4_canonical).
TEST(SignedHeaderNames, AgreesWithTheSignerOnEmptyNames) {
    const param_list headers{
        {"", "x"}, {"Host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}};
    EXPECT_EQ(sigv4::signed_header_names(headers), ";host;x-amz-date");
    sigv4::request req{"GET", "/", {}, headers, std::string(64, 'a')};
    const sigv4::signing_params p{"us-east-1", "service", std::chrono::system_clock::time_point{}};
    const std::string creq = sigv4::canonical_request(req, p);
    EXPECT_NE(creq.find("\n;host;x-amz-date\n"), std::string::npos) << creq;
}

TEST(CanonicalHeaders, LowerCaseTrimCollapseJoinSort) {
    const sigv4::request req{"GET",
                             "/",
                             {},
                             {
                                 {"X-Amz-Date", "20150830T123600Z"},
                                 {"My-Header", "  a   b\t\tc  "},
                                 {"Host", "example.amazonaws.com"},
                                 {"my-header", "\"quoted   value\""},
                                 {"Empty", ""},
                                 {"ZZ-Spaces", "   "},
                                 {"MY-HEADER", "third"},
                             },
                             "UNSIGNED-PAYLOAD"};
    sigv4::signing_params p;
    p.service = "service";
    EXPECT_EQ(sigv4::canonical_request(req, p),
              "GET\n"
              "/\n"
              "\n"
              "empty:\n"
              "host:example.amazonaws.com\n"
              "my-header:a b c,\"quoted value\",third\n"
              "x-amz-date:20150830T123600Z\n"
              "zz-spaces:\n"
              "\n"
              "empty;host;my-header;x-amz-date;zz-spaces\n"
              "UNSIGNED-PAYLOAD");
    EXPECT_EQ(sigv4::signed_header_names(req.headers), "empty;host;my-header;x-amz-date;zz-spaces");
    EXPECT_EQ(sigv4::signed_header_names({}), "");
}

TEST(Dates, FormatsAndScope) {
    using namespace std::chrono;
    const auto t = sys_days{2015y / August / 30} + 12h + 36min + 999ms;
    EXPECT_EQ(sigv4::amz_date(t), "20150830T123600Z");
    EXPECT_EQ(sigv4::amz_day(t), "20150830");
    EXPECT_EQ(sigv4::amz_date(sys_days{2001y / January / 2} + 3h + 4min + 5s), "20010102T030405Z");
    EXPECT_EQ(sigv4::amz_date(sys_days{1969y / December / 31} + 23h + 59min + 59s), "19691231T235959Z");

    sigv4::signing_params p;
    p.region = "eu-central-1";
    p.service = "dynamodb";
    p.time = t;
    EXPECT_EQ(sigv4::credential_scope(p), "20150830/eu-central-1/dynamodb/aws4_request");
    EXPECT_EQ(sigv4::string_to_sign("", p),
              "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/eu-central-1/dynamodb/aws4_request\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// "Examples of how to derive a signing key for Signature Version 4":
// https://docs.aws.amazon.com/general/latest/gr/signature-v4-examples.html
TEST(SigningKey, AwsDocumentedDerivation) {
    sigv4::signing_params p;
    p.region = "us-east-1";
    p.service = "iam";
    p.time = std::chrono::sys_days{2012y / std::chrono::February / 15};
    const core::secret key = sigv4::signing_key(core::secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), p);
    std::string hex;
    for (const char c : key.reveal()) {
        static constexpr char digits[] = "0123456789abcdef";
        hex += digits[static_cast<unsigned char>(c) >> 4];
        hex += digits[static_cast<unsigned char>(c) & 0x0f];
    }
    EXPECT_EQ(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

}  // namespace
