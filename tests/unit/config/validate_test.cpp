#include "tfsnap/config/validate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace tfsnap::config;

TEST(Validate, NamesAreSafePathComponents) {
    for (const char* ok : {"prod", "prod-eu", "a", "x.y_z-1", "ABC"})
        EXPECT_TRUE(is_valid_name(ok)) << ok;
    for (const char* bad : {"", ".", "..", ".git", ".tmp-x", "a/b", "../etc", "a b", "ü", "a\nb"}) {
        EXPECT_FALSE(is_valid_name(bad)) << bad;
    }
    EXPECT_TRUE(is_valid_name(std::string(64, 'a')));
    EXPECT_FALSE(is_valid_name(std::string(65, 'a')));
}

TEST(Validate, ClosestMatchFindsTyposOnly) {
    const std::vector<std::string_view> keys{"bucket", "key", "region", "schedules", "retention"};
    EXPECT_EQ(closest_match("buckt", keys), "bucket");
    EXPECT_EQ(closest_match("schedule", keys), "schedules");
    EXPECT_EQ(closest_match("Retention", keys), "retention");
    EXPECT_EQ(closest_match("frobnicate", keys), std::nullopt);
}

TEST(Validate, TimeZonesComeFromTheOsDatabase) {
    EXPECT_TRUE(is_valid_timezone("UTC"));
    EXPECT_TRUE(is_valid_timezone("Europe/Berlin"));
    EXPECT_TRUE(is_valid_timezone("Asia/Kathmandu"));
    EXPECT_FALSE(is_valid_timezone("Europe/Berln"));
    EXPECT_FALSE(is_valid_timezone(""));
    EXPECT_EQ(closest_timezone("Europe/Berln"), "Europe/Berlin");
}

TEST(Validate, Buckets) {
    EXPECT_TRUE(is_valid_bucket_name("okta-terraform-demo"));
    EXPECT_TRUE(is_valid_bucket_name("a.b-c"));
    for (const char* bad : {"ab", "Upper", "-lead", "trail-", "under_score", "a/b"}) {
        EXPECT_FALSE(is_valid_bucket_name(bad)) << bad;
    }
}

TEST(Validate, StateKeysFollowTerraformRules) {
    EXPECT_EQ(check_state_key("env/prod/terraform.tfstate"), std::nullopt);
    EXPECT_EQ(check_state_key("with space+and=&%~ü"), std::nullopt);
    EXPECT_NE(check_state_key(""), std::nullopt);
    EXPECT_NE(check_state_key("/lead"), std::nullopt);
    EXPECT_NE(check_state_key("trail/"), std::nullopt);
    EXPECT_NE(check_state_key("a\nb"), std::nullopt);
    EXPECT_NE(check_state_key(std::string(1025, 'k')), std::nullopt);
}

TEST(Validate, Endpoints) {
    EXPECT_EQ(check_endpoint("http://127.0.0.1:7480"), std::nullopt);
    EXPECT_EQ(check_endpoint("https://s3.eu-central-1.amazonaws.com"), std::nullopt);
    EXPECT_EQ(check_endpoint("https://[::1]:9000/"), std::nullopt);
    EXPECT_NE(check_endpoint("s3.amazonaws.com"), std::nullopt);
    EXPECT_NE(check_endpoint("https://AKIA:secret@host"), std::nullopt);
    EXPECT_NE(check_endpoint("http://host:99999"), std::nullopt);
    EXPECT_NE(check_endpoint("http://host:0"), std::nullopt);
    EXPECT_NE(check_endpoint("http://host/?x=1"), std::nullopt);
    EXPECT_NE(check_endpoint("https://"), std::nullopt);
}

TEST(Validate, AwsEndpoints) {
    EXPECT_TRUE(is_aws_endpoint("https://s3.amazonaws.com"));
    EXPECT_TRUE(is_aws_endpoint("https://s3.eu-central-1.amazonaws.com"));
    EXPECT_TRUE(is_aws_endpoint("https://S3.Us-East-1.AmazonAWS.com:443/"));
    EXPECT_TRUE(is_aws_endpoint("https://s3.cn-north-1.amazonaws.com.cn"));
    EXPECT_FALSE(is_aws_endpoint("http://127.0.0.1:7480"));
    EXPECT_FALSE(is_aws_endpoint("https://amazonaws.com.evil.example"));
    EXPECT_FALSE(is_aws_endpoint("https://notamazonaws.com"));
    EXPECT_FALSE(is_aws_endpoint("s3.amazonaws.com"));
}

TEST(Validate, CannedAcls) {
    EXPECT_TRUE(is_canned_acl("bucket-owner-full-control"));
    EXPECT_TRUE(is_canned_acl("private"));
    EXPECT_FALSE(is_canned_acl("Private"));
    EXPECT_FALSE(is_canned_acl(""));
}

TEST(Validate, Principals) {
    EXPECT_TRUE(is_valid_principal("group:tfsnap"));
    EXPECT_TRUE(is_valid_principal("user:ops_1"));
    EXPECT_FALSE(is_valid_principal("tfsnap"));
    EXPECT_FALSE(is_valid_principal("group:"));
    EXPECT_FALSE(is_valid_principal("role:admin"));
    EXPECT_FALSE(is_valid_principal("user:a b"));
}

TEST(Validate, Regions) {
    EXPECT_TRUE(is_valid_region("us-east-1"));
    EXPECT_TRUE(is_valid_region("eu-central-2"));
    EXPECT_FALSE(is_valid_region("US-EAST-1"));
    EXPECT_FALSE(is_valid_region("us east"));
    EXPECT_FALSE(is_valid_region(""));
}

}  // namespace
