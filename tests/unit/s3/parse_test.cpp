// S3's XML answers and date headers (s3/parse.hpp), as radosgw and AWS send them and as nobody
// should; the fuzz target tests/fuzz/s3_xml.cpp runs the same parsers on arbitrary bytes.
#include "tfsnap/s3/parse.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tfsnap::s3 {
namespace {

using namespace std::chrono;

TEST(S3Parse, ErrorDocument) {
    const auto e = parse_error(
        R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><RequestId>tx1</RequestId><Resource>/b/k</Resource></Error>)");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, "NoSuchKey");
    EXPECT_EQ(e->request_id, "tx1");
    EXPECT_EQ(e->resource, "/b/k");
    EXPECT_FALSE(parse_error("<Error><Message>no code</Message></Error>"));
    EXPECT_FALSE(parse_error("<Error><Code>x</Code>"));
    EXPECT_FALSE(parse_error("not xml"));
}

TEST(S3Parse, ListVersionsPage) {
    const auto p = parse_list_versions(R"(<ListVersionsResult><IsTruncated>true</IsTruncated>
        <NextKeyMarker>k</NextKeyMarker><NextVersionIdMarker>v2</NextVersionIdMarker>
        <DeleteMarker><Key>k</Key><VersionId>dm</VersionId><IsLatest>true</IsLatest>
          <LastModified>2026-11-22T02:11:50.903Z</LastModified></DeleteMarker>
        <Version><Key>k</Key><VersionId>v3</VersionId><IsLatest>false</IsLatest>
          <LastModified>2026-11-21T17:04:10Z</LastModified><ETag>9b2c</ETag><Size>48213</Size></Version>
        </ListVersionsResult>)");
    ASSERT_TRUE(p);
    ASSERT_EQ(p->entries.size(), 2U);
    EXPECT_TRUE(p->entries[0].delete_marker);
    EXPECT_EQ(p->entries[1].etag, "\"9b2c\"");
    EXPECT_EQ(p->entries[1].size, 48213U);
    EXPECT_TRUE(p->truncated);
    EXPECT_EQ(p->next_version_id_marker, "v2");
    // truncated without a marker would page forever
    EXPECT_FALSE(
        parse_list_versions("<ListVersionsResult><IsTruncated>true</IsTruncated></ListVersionsResult>"));
}

TEST(S3Parse, Dates) {
    const auto t = sys_days{year{2026} / November / 22} + hours{2} + minutes{11} + seconds{50};
    EXPECT_EQ(parse_http_date("Sun, 22 Nov 2026 02:11:50 GMT"), t);
    EXPECT_EQ(parse_iso8601("2026-11-22T02:11:50Z"), t);
    EXPECT_EQ(parse_iso8601("2026-11-22T02:11:50.903Z"), t + milliseconds{903});
    EXPECT_EQ(parse_iso8601("2026-11-22T02:11:50+00:00"), t);
    EXPECT_FALSE(parse_iso8601("2026-11-22T02:11:50"));
    EXPECT_FALSE(parse_http_date("yesterday"));
}

// system_clock counts nanoseconds in 64 bits (years 1678 to 2262): a LastModified in year 3963
// overflowed the conversion (signed overflow, found by fuzz_s3_xml). Refused now.
TEST(S3Parse, DatesOutsideTheClocksRangeAreRefused) {
    EXPECT_FALSE(parse_iso8601("3963-11-22T02:11:50.903Z"));
    EXPECT_FALSE(parse_iso8601("9999-12-31T23:59:59Z"));
    EXPECT_FALSE(parse_iso8601("1000-01-01T00:00:00Z"));
    EXPECT_FALSE(parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"));
    EXPECT_TRUE(parse_iso8601("2261-12-31T23:59:59Z"));
    EXPECT_TRUE(parse_iso8601("1970-01-01T00:00:00Z"));
    // a listing with such a version is refused as a whole, like any malformed entry
    EXPECT_FALSE(parse_list_versions(R"(<ListVersionsResult><Version><Key>k</Key><VersionId>v</VersionId>
        <LastModified>3963-11-22T02:11:50.903Z</LastModified><ETag>e</ETag><Size>1</Size></Version>
        </ListVersionsResult>)"));
}

TEST(S3Parse, VersioningLifecycleAndCopy) {
    EXPECT_EQ(parse_versioning("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"),
              versioning_status::enabled);
    EXPECT_EQ(parse_versioning("<VersioningConfiguration/>"), versioning_status::never_enabled);
    const auto rules = parse_lifecycle(
        "<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>p/</Prefix></Filter><Status>Enabled</Status>"
        "<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration></"
        "Rule>"
        "</LifecycleConfiguration>");
    ASSERT_TRUE(rules);
    ASSERT_EQ(rules->size(), 1U);
    EXPECT_EQ((*rules)[0].prefix, "p/");
    EXPECT_EQ((*rules)[0].noncurrent_days, 30);
    const auto c = parse_copy_result("<CopyObjectResult><ETag>abc</ETag></CopyObjectResult>");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->etag, "\"abc\"");
    EXPECT_EQ(quote_etag("\"abc\""), "\"abc\"");
}

}  // namespace
}  // namespace tfsnap::s3
