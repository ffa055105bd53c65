// The verify job's digest check: which ETags stand for the MD5 of the bytes, and how digests
// compare (the integration test runs the whole check against radosgw and dynalite).
#include "tfsnap/backup/verify_job.hpp"

#include <gtest/gtest.h>

namespace tfsnap::backup {
namespace {

s3::object_info object(std::string etag, std::string sse = "", std::string kms_key_id = "") {
    s3::object_info o;
    o.etag = std::move(etag);
    o.sse = std::move(sse);
    o.kms_key_id = std::move(kms_key_id);
    return o;
}

TEST(Md5FromEtag, PlainEtagsAreMd5s) {
    EXPECT_EQ(md5_from_etag(object("\"9b2cf535f27731c974343645a3985328\"")),
              "9b2cf535f27731c974343645a3985328");
    EXPECT_EQ(md5_from_etag(object("9b2cf535f27731c974343645a3985328")), "9b2cf535f27731c974343645a3985328");
    // upper-case hex is the same MD5
    EXPECT_EQ(md5_from_etag(object("\"9B2CF535F27731C974343645A3985328\"")),
              "9b2cf535f27731c974343645a3985328");
    // SSE-S3 ETags are MD5s
    EXPECT_EQ(md5_from_etag(object("\"9b2cf535f27731c974343645a3985328\"", "AES256")),
              "9b2cf535f27731c974343645a3985328");
}

TEST(Md5FromEtag, KmsAndMultipartEtagsAreNot) {
    const std::string etag = "\"9b2cf535f27731c974343645a3985328\"";
    EXPECT_FALSE(md5_from_etag(object(etag, "aws:kms")));
    // dual-layer SSE-KMS: an ETag that looks like an MD5 and is not one
    EXPECT_FALSE(md5_from_etag(object(etag, "aws:kms:dsse")));
    EXPECT_FALSE(md5_from_etag(object(etag, "", "arn:aws:kms:us-east-1:111122223333:key/k")));
    EXPECT_FALSE(md5_from_etag(object("\"9b2cf535f27731c974343645a3985328-3\"")));
    EXPECT_FALSE(md5_from_etag(object("\"9b2cf535f27731c974343645a398532g\"")));
    EXPECT_FALSE(md5_from_etag(object("")));
}

TEST(SameMd5, IgnoresCase) {
    EXPECT_TRUE(same_md5("9b2cf535f27731c974343645a3985328", "9B2CF535F27731C974343645A3985328"));
    EXPECT_TRUE(same_md5("", ""));
    EXPECT_FALSE(same_md5("9b2cf535f27731c974343645a3985328", "9b2cf535f27731c974343645a3985329"));
    EXPECT_FALSE(same_md5("9b2cf535f27731c974343645a3985328", "9b2cf535f27731c974343645a398532"));
}

}  // namespace
}  // namespace tfsnap::backup
