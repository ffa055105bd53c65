#include "tfsnap/http/url.hpp"

#include <gtest/gtest.h>

namespace {

using tfsnap::http::parse_url;

TEST(HttpUrl, ParsesSchemesPortsAndPaths) {
    auto u = parse_url("https://s3.eu-central-1.amazonaws.com");
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->tls);
    EXPECT_EQ(u->host, "s3.eu-central-1.amazonaws.com");
    EXPECT_EQ(u->port, 443);
    EXPECT_EQ(u->path, "/");
    EXPECT_EQ(u->host_header(), "s3.eu-central-1.amazonaws.com");
    EXPECT_EQ(u->origin(), "https://s3.eu-central-1.amazonaws.com");

    u = parse_url("http://127.0.0.1:7480/bucket/key?versionId=1");
    ASSERT_TRUE(u);
    EXPECT_FALSE(u->tls);
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_EQ(u->port, 7480);
    EXPECT_EQ(u->path, "/bucket/key?versionId=1");
    EXPECT_EQ(u->host_header(), "127.0.0.1:7480");

    u = parse_url("http://[::1]:9000");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->host_header(), "[::1]:9000");

    u = parse_url("http://host?x=1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->path, "/?x=1");
    EXPECT_EQ(parse_url("http://host:80")->host_header(), "host");
}

TEST(HttpUrl, RejectsWhatIsNotAnHttpUrl) {
    for (const char* bad :
         {"", "ftp://x", "http://", "https://:443", "http://h:0", "http://h:65536",
          "http://h:", "http://u:p@h", "http://[::1", "http://[::1]x", "s3.amazonaws.com"}) {
        EXPECT_FALSE(parse_url(bad).has_value()) << bad;
    }
}

}  // namespace
