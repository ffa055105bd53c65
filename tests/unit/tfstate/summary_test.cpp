#include "tfsnap/tfstate/summary.hpp"
#include "tfsnap/tfstate/error.hpp"

#include "test_util.hpp"

namespace tfsnap::tfstate {
namespace {

using test::read_file;
using test::read_json;
using test::states_dir;

void expect_matches_generator(const inspection& got, const std::filesystem::path& summary_file) {
    ASSERT_TRUE(got.summarised()) << got.message;
    const auto want = read_json(summary_file);
    const auto& s = got.summary;
    EXPECT_EQ(s.version, want["version"].GetInt());
    EXPECT_EQ(s.serial, want["serial"].GetUint64());
    EXPECT_EQ(s.lineage, want["lineage"].GetString());
    EXPECT_EQ(s.terraform_version, want["terraform_version"].GetString());
    EXPECT_EQ(s.managed_resources, want["managed_resources"].GetUint64());
    EXPECT_EQ(s.data_resources, want["data_resources"].GetUint64());
    EXPECT_EQ(s.instances, want["instances"].GetUint64());
    EXPECT_EQ(s.modules, want["modules"].GetUint64());
    EXPECT_EQ(s.outputs, test::strings(want["outputs"]));
}

TEST(Summary, GeneratedStateFromBytes) {
    const auto got = inspect(read_file(states_dir() / "base.tfstate"));
    EXPECT_EQ(got.kind, state_kind::state);
    expect_matches_generator(got, states_dir() / "base.summary.json");
    EXPECT_GT(got.summary.data_resources, 0U);
    EXPECT_GT(got.summary.modules, 0U);
}

TEST(Summary, GeneratedStateFromFile) {
    expect_matches_generator(inspect_file(states_dir() / "base.tfstate"), states_dir() / "base.summary.json");
    expect_matches_generator(inspect_file(states_dir() / "next.tfstate"), states_dir() / "next.summary.json");
}

TEST(Summary, MinimalStateAndKeyOrder) {
    const auto got = inspect(R"({"resources": [
        {"mode": "data", "type": "aws_ami", "name": "u", "instances": [{"attributes": {}}]},
        {"module": "module.a.module.b", "mode": "managed", "type": "x", "name": "y",
         "instances": [{"index_key": "k", "attributes": {"nested": [{"mode": "data"}]}}, {"index_key": "j"}]},
        {"instances": [], "name": "z", "type": "x", "mode": "managed", "module": "module.a"}
    ], "outputs": {"b": {"value": 1}, "a": {"value": {"resources": []}, "sensitive": true}},
    "serial": 18446744073709551615, "lineage": "l", "version": 4})");
    ASSERT_TRUE(got.summarised()) << got.message;
    EXPECT_EQ(got.summary.serial, 18446744073709551615ULL);
    EXPECT_EQ(got.summary.lineage, "l");
    EXPECT_EQ(got.summary.terraform_version, "");
    EXPECT_EQ(got.summary.managed_resources, 2U);
    EXPECT_EQ(got.summary.data_resources, 1U);
    EXPECT_EQ(got.summary.instances, 3U);
    EXPECT_EQ(got.summary.modules, 2U);
    EXPECT_EQ(got.summary.outputs, (std::vector<std::string>{"a", "b"}));
}

TEST(Summary, EmptyState) {
    const auto got = inspect(R"({"version":4,"terraform_version":"1.5.7","serial":1,"lineage":"x",
                                 "outputs":{},"resources":[],"check_results":null})");
    ASSERT_TRUE(got.summarised());
    EXPECT_EQ(got.summary.managed_resources + got.summary.data_resources + got.summary.modules, 0U);
    EXPECT_TRUE(got.summary.outputs.empty());
}

TEST(Summary, LegacyVersion3Refused) {
    const auto got = inspect(R"({"version": 3, "terraform_version": "0.11.14", "serial": 4,
        "lineage": "x", "modules": [{"path": ["root"], "outputs": {}, "resources": {}}]})");
    EXPECT_EQ(got.kind, state_kind::legacy);
    EXPECT_EQ(got.version, 3);
    EXPECT_EQ(got.ec, errc::legacy_format);
    EXPECT_STREQ(got.ec.category().name(), "tfsnap.tfstate");
    EXPECT_EQ(got.message, "state format version 3 is older than Terraform 0.12; tfsnap reads version 4");
    EXPECT_FALSE(got.summarised());
}

TEST(Summary, OlderVersionsAreLegacyToo) {
    const auto got = inspect(R"({"version": 1, "serial": 1, "modules": []})");
    EXPECT_EQ(got.kind, state_kind::legacy);
    EXPECT_EQ(got.message, "state format version 1 is older than Terraform 0.12; tfsnap reads version 4");
}

TEST(Summary, NewerVersionRefused) {
    const auto got = inspect(R"({"version": 5, "serial": 1, "lineage": "x", "resources": []})");
    EXPECT_EQ(got.kind, state_kind::state);
    EXPECT_EQ(got.ec, errc::unsupported_version);
    EXPECT_FALSE(got.summarised());
}

TEST(Summary, EncryptedIsOpaqueButValid) {
    const auto got =
        inspect(R"({"serial": 3, "lineage": "x", "meta": {"key_provider.pbkdf2.main": "eyJzYWx0Ijo="},
        "encrypted_data": "c2VjcmV0IGJ5dGVz", "encryption_version": "v0"})");
    EXPECT_EQ(got.kind, state_kind::encrypted);
    EXPECT_TRUE(got.ok());
    EXPECT_FALSE(got.summarised());
}

struct opaque_case {
    const char* name;
    std::string bytes;
};

// Test names, not bytes, in ctest's listing.
void PrintTo(const opaque_case& c, std::ostream* os) {
    *os << c.name;
}

class Opaque : public ::testing::TestWithParam<opaque_case> {};

TEST_P(Opaque, ValidButNotSummarised) {
    const auto got = inspect(GetParam().bytes);
    EXPECT_EQ(got.kind, state_kind::opaque);
    EXPECT_TRUE(got.ok()) << got.message;
    EXPECT_FALSE(got.summarised());
}

INSTANTIATE_TEST_SUITE_P(
    Table, Opaque,
    ::testing::Values(opaque_case{"Empty", ""}, opaque_case{"Binary", std::string{"\x1f\x8b\x08\x00\xff", 5}},
                      opaque_case{"Text", "hello, world"}, opaque_case{"Array", R"([{"version": 4}])"},
                      opaque_case{"String", R"("version")"}, opaque_case{"Number", "4"},
                      opaque_case{"NoVersion", R"({"serial": 1, "resources": []})"},
                      opaque_case{"StringVersion", R"({"version": "4", "resources": []})"},
                      opaque_case{"Truncated", R"({"version": 4, "serial": 1, "resources": [)"},
                      opaque_case{"TrailingGarbage", R"({"version": 4} {"version": 4})"}));

TEST(Summary, MalformedVersion4) {
    for (const char* text :
         {R"({"version": 4, "resources": {}})", R"({"version": 4, "resources": 1})",
          R"({"version": 4, "outputs": []})", R"({"version": 4, "resources": [{"type": "x"}]})",
          R"({"version": 4, "resources": [{"mode": "other", "type": "x"}]})",
          R"({"version": 4, "resources": [[]]})"}) {
        const auto got = inspect(text);
        EXPECT_EQ(got.ec, errc::malformed) << text;
        EXPECT_FALSE(got.summarised());
    }
}

TEST(Summary, MissingFileGivesOsError) {
    const auto got = inspect_file(states_dir() / "does-not-exist.tfstate");
    EXPECT_EQ(got.ec, boost::system::errc::no_such_file_or_directory);
    EXPECT_FALSE(got.summarised());
}

}  // namespace
}  // namespace tfsnap::tfstate
