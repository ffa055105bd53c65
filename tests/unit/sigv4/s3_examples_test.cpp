// S3's own SigV4 rules, checked against the worked examples AWS publishes for S3:
//   https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
//     ("Examples: Signature Calculations": GET Object, PUT Object, GET Bucket Lifecycle,
//     Get Bucket (List Objects))
//   https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
//     (the presigned URL example)
// All use access key AKIAIOSFODNN7EXAMPLE, its documented example secret, us-east-1 and
// 2013-05-24T00:00:00Z.

#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

namespace {

using namespace tfsnap;
using namespace std::chrono_literals;
using sigv4::param_list;

const std::string empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string host = "examplebucket.s3.amazonaws.com";

sigv4::credentials example_credentials(std::string token = {}) {
    return {"AKIAIOSFODNN7EXAMPLE", core::secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            core::secret(std::move(token))};
}

sigv4::signing_params s3_params() {
    sigv4::signing_params p;
    p.region = "us-east-1";
    p.service = "s3";
    p.time = std::chrono::sys_days{2013y / std::chrono::May / 24};
    p.s3 = true;
    p.add_content_sha256 = true;
    return p;
}

std::optional<std::string> header(const param_list& headers, std::string_view name) {
    for (const auto& [n, v] : headers) {
        if (n == name)
            return v;
    }
    return std::nullopt;
}

// The canonical request the signer built, rebuilt from the step functions with the headers it
// added.
std::string canonical_request_after(const sigv4::request& req, const param_list& added,
                                    const sigv4::signing_params& p) {
    sigv4::request full = req;
    for (const auto& h : added) {
        if (h.first != "authorization")
            full.headers.push_back(h);
    }
    return sigv4::canonical_request(full, p);
}

// An S3 object key as it goes on the wire (virtual-hosted style): encoded once, '/' kept.
std::string wire_path(std::string_view key) {
    std::string path = "/";
    path += sigv4::uri_encode(key, false);
    return path;
}

std::string last_line(const std::string& text) {
    return text.substr(text.rfind('\n') + 1);
}

TEST(S3DocExamples, GetObject) {
    const sigv4::request req{"GET", "/test.txt", {}, {{"Host", host}, {"Range", "bytes=0-9"}}, empty_sha256};
    sigv4::signer signer;
    const param_list added = signer.sign_headers(req, example_credentials(), s3_params());

    const std::string creq = canonical_request_after(req, added, s3_params());
    EXPECT_EQ(creq,
              "GET\n"
              "/test.txt\n"
              "\n"
              "host:examplebucket.s3.amazonaws.com\n"
              "range:bytes=0-9\n"
              "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
              "x-amz-date:20130524T000000Z\n"
              "\n"
              "host;range;x-amz-content-sha256;x-amz-date\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sigv4::string_to_sign(creq, s3_params()),
              "AWS4-HMAC-SHA256\n"
              "20130524T000000Z\n"
              "20130524/us-east-1/s3/aws4_request\n"
              "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    EXPECT_EQ(header(added, "x-amz-date"), "20130524T000000Z");
    EXPECT_EQ(header(added, "x-amz-content-sha256"), empty_sha256);
    EXPECT_EQ(header(added, "authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
              "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(S3DocExamples, PutObject) {
    const std::string body = "Welcome to Amazon S3.";
    const sigv4::request req{"PUT",
                             wire_path("test$file.text"),
                             {},
                             {{"Host", host},
                              {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                              {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
                             crypto::sha256_hex(body)};
    EXPECT_EQ(req.path, "/test%24file.text");
    EXPECT_EQ(req.payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    sigv4::signer signer;
    const param_list added = signer.sign_headers(req, example_credentials(), s3_params());

    const std::string creq = canonical_request_after(req, added, s3_params());
    EXPECT_EQ(creq,
              "PUT\n"
              "/test%24file.text\n"
              "\n"
              "date:Fri, 24 May 2013 00:00:00 GMT\n"
              "host:examplebucket.s3.amazonaws.com\n"
              "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
              "x-amz-date:20130524T000000Z\n"
              "x-amz-storage-class:REDUCED_REDUNDANCY\n"
              "\n"
              "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
              "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    EXPECT_EQ(last_line(sigv4::string_to_sign(creq, s3_params())),
              "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
    EXPECT_EQ(header(added, "authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
              "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
              "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(S3DocExamples, GetBucketLifecycle) {
    const sigv4::request req{"GET", "/", {{"lifecycle", ""}}, {{"Host", host}}, empty_sha256};
    sigv4::signer signer;
    const param_list added = signer.sign_headers(req, example_credentials(), s3_params());

    const std::string creq = canonical_request_after(req, added, s3_params());
    EXPECT_EQ(creq,
              "GET\n"
              "/\n"
              "lifecycle=\n"
              "host:examplebucket.s3.amazonaws.com\n"
              "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
              "x-amz-date:20130524T000000Z\n"
              "\n"
              "host;x-amz-content-sha256;x-amz-date\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(header(added, "authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
              "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
              "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(S3DocExamples, GetBucketListObjects) {
    // given in the order a caller might build it; the canonical query sorts
    const sigv4::request req{
        "GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, {{"Host", host}}, empty_sha256};
    sigv4::signer signer;
    const param_list added = signer.sign_headers(req, example_credentials(), s3_params());

    const std::string creq = canonical_request_after(req, added, s3_params());
    EXPECT_EQ(creq,
              "GET\n"
              "/\n"
              "max-keys=2&prefix=J\n"
              "host:examplebucket.s3.amazonaws.com\n"
              "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
              "x-amz-date:20130524T000000Z\n"
              "\n"
              "host;x-amz-content-sha256;x-amz-date\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(header(added, "authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
              "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
              "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(S3DocExamples, PresignedUrl) {
    const sigv4::request req{"GET", "/test.txt", {}, {{"Host", host}}, std::string(sigv4::unsigned_payload)};
    sigv4::signer signer;
    const param_list query = signer.presign_query(req, example_credentials(), s3_params(), 86400s);

    const param_list expected = {
        {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
        {"X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"},
        {"X-Amz-Date", "20130524T000000Z"},
        {"X-Amz-Expires", "86400"},
        {"X-Amz-SignedHeaders", "host"},
        {"X-Amz-Signature", "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"},
    };
    EXPECT_EQ(query, expected);
    EXPECT_EQ(sigv4::canonical_query_string(query),
              "X-Amz-Algorithm=AWS4-HMAC-SHA256"
              "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
              "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
              "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
              "&X-Amz-SignedHeaders=host");

    sigv4::request presigned = req;
    presigned.query.assign(query.begin(), query.end() - 1);
    EXPECT_EQ(
        sigv4::canonical_request(presigned, s3_params()),
        "GET\n"
        "/test.txt\n"
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%"
        "2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n"
        "host:examplebucket.s3.amazonaws.com\n"
        "\n"
        "host\n"
        "UNSIGNED-PAYLOAD");
}

// An object key with every character that tempts a signer to re-encode or normalise. The wire
// path encodes it once; S3 signs exactly that path.
TEST(S3Keys, OddKeyIsEncodedOnceAndNotNormalised) {
    const std::string key =
        "team a//prod/../x+y=z&w%v~u/\xC3\xBCmlaut-\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87.tfstate";
    const std::string wire = wire_path(key);
    EXPECT_EQ(wire, "/team%20a//prod/../x%2By%3Dz%26w%25v~u/%C3%BCmlaut-%D0%BA%D0%BB%D1%8E%D1%87.tfstate");
    EXPECT_EQ(sigv4::canonical_uri(wire, true), wire);

    sigv4::signing_params p = s3_params();
    const sigv4::request req{"GET", wire, {}, {{"Host", host}}, std::string(sigv4::unsigned_payload)};
    sigv4::signer signer;
    const param_list added = signer.sign_headers(req, example_credentials(), p);
    const std::string creq = canonical_request_after(req, added, p);
    EXPECT_EQ(creq.substr(0, creq.find('\n', 4) + 1), "GET\n" + wire + "\n");
    // The same request signed by botocore 1.43.11 (S3SigV4Auth), an independent implementation.
    EXPECT_EQ(header(added, "authorization"),
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
              "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
              "Signature=4b59c788ef2b06c51d18fc68e4321eb5a5366088cb7e724d05f2d145f5782187");

    // What the generic rules would have signed instead: a different resource.
    EXPECT_EQ(sigv4::canonical_uri(wire, false),
              "/team%2520a/x%252By%253Dz%2526w%2525v~u/"
              "%25C3%25BCmlaut-%25D0%25BA%25D0%25BB%25D1%258E%25D1%2587.tfstate");
}

TEST(S3SessionToken, TokenIsAddedAndSigned) {
    const std::string token = "FQoGZXIvYXdzEXAMPLE//token+with/special=";
    const sigv4::request req{"GET", "/test.txt", {}, {{"Host", host}, {"Range", "bytes=0-9"}}, empty_sha256};
    sigv4::signer signer;
    const param_list added = signer.sign_headers(req, example_credentials(token), s3_params());

    ASSERT_EQ(added.size(), 4u);
    EXPECT_EQ(added[0].first, "x-amz-date");
    EXPECT_EQ(added[1], (std::pair<std::string, std::string>("x-amz-security-token", token)));
    EXPECT_EQ(added[2].first, "x-amz-content-sha256");
    EXPECT_EQ(added[3].first, "authorization");
    // botocore 1.43.11 (S3SigV4Auth) signs this request with the same signature.
    EXPECT_EQ(added[3].second,
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
              "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
              "Signature=e3f1266a8e17a8dd55a0f01002419098c18fe54ef2dce99358d78b7e8299413c");

    // Presigned: the token is a signed query parameter, before the signature.
    const param_list query = signer.presign_query(req, example_credentials(token), s3_params(), 3600s);
    ASSERT_GE(query.size(), 2u);
    EXPECT_EQ(query[query.size() - 2], (std::pair<std::string, std::string>("X-Amz-Security-Token", token)));
    sigv4::request presigned = req;
    presigned.query.assign(query.begin(), query.end() - 1);
    EXPECT_NE(sigv4::canonical_request(presigned, s3_params())
                  .find("X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE%2F%2F"
                        "token%2Bwith%2Fspecial%3D"),
              std::string::npos);
}

}  // namespace
