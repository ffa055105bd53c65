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
    EXPECT_EQ(got.encryption_version, "v0");
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

// A state as deep as Terraform reads (10,000 levels, the root included) is summarised; a deeper
// one (here 100,000 nested arrays, 200 KB: this overflowed the stack of RapidJSON's recursive
// reader and killed tfsnapd) is opaque, with a reason, and nothing recurses.
std::string nested_state(std::size_t depth) {
    return R"({"version": 4, "serial": 9, "lineage": "l", "resources": [
        {"mode": "managed", "type": "t", "name": "n", "instances": [{"attributes": {"v": )" +
           std::string(depth, '[') + std::string(depth, ']') + "}}]}]}";
}

TEST(Summary, DeepStateWithinTerraformsLimitIsSummarised) {
    // root object, resources array, resource, instances, instance, attributes: 6 levels
    const auto got = inspect(nested_state(10000 - 6));
    ASSERT_TRUE(got.summarised()) << got.message;
    EXPECT_EQ(got.summary.serial, 9U);
    EXPECT_EQ(got.summary.instances, 1U);
}

TEST(Summary, TooDeepStateIsOpaqueWithAReason) {
    for (const std::size_t depth : {std::size_t{10000 - 5}, std::size_t{100000}}) {
        const auto got = inspect(nested_state(depth));
        EXPECT_EQ(got.kind, state_kind::opaque);
        EXPECT_EQ(got.ec, errc::too_deep);
        EXPECT_FALSE(got.summarised());
        EXPECT_EQ(got.message.rfind("the state nests deeper than 10000 levels (at byte ", 0), 0U)
            << got.message;
        EXPECT_TRUE(got.message.ends_with(", deeper than Terraform itself reads")) << got.message;
    }
    // not even an object: 100,000 nested arrays are opaque at the first byte, like any non-state
    const auto arrays = inspect(std::string(100000, '[') + std::string(100000, ']'));
    EXPECT_EQ(arrays.kind, state_kind::opaque);
    EXPECT_TRUE(arrays.ok()) << arrays.message;
}

TEST(Summary, TooDeepStateFileIsOpaqueToo) {
    const auto path = std::filesystem::path(testing::TempDir()) / "tfsnap-deep.tfstate";
    {
        std::ofstream out(path, std::ios::binary);
        out << nested_state(100000);
    }
    const auto got = inspect_file(path);
    std::filesystem::remove(path);
    EXPECT_EQ(got.kind, state_kind::opaque);
    EXPECT_EQ(got.ec, errc::too_deep);
}

// OpenTofu's sigil (internal/encryption/base.go): a non-empty string in `encryption_version`.
TEST(Summary, EncryptionVersionIsTheSigil) {
    struct encrypted_case {
        const char* bytes;
        std::string_view version;  // empty: not encrypted
    };
    for (const auto& c : std::initializer_list<encrypted_case>{
             {R"({"meta":{},"encrypted_data":"eA==","encryption_version":"v0"})", "v0"},
             // no encrypted_data: OpenTofu still takes it for an encrypted payload
             {R"({"encryption_version":"v1"})", "v1"},
             // keys match as Go matches them; the last of duplicates wins
             {R"({"Encryption_Version":"v0","encrypted_data":"eA=="})", "v0"},
             {R"({"encryption_version":"v0","ENCRYPTION_VERSION":"v9"})", "v9"},
             {R"({"encryption_version":"v0","encryption_version":null})", "v0"},
             // empty, or encrypted_data alone: plaintext for OpenTofu
             {R"({"version":4,"serial":1,"lineage":"l","encryption_version":""})", ""},
             {R"({"version":4,"serial":1,"lineage":"l","encryption_version":"v0","encryption_version":""})",
              ""},
             {R"({"version":4,"serial":1,"lineage":"l","encrypted_data":"eA=="})", ""},
             // a value json.Unmarshal cannot put in a string: OpenTofu reads the object as plaintext
             {R"({"version":4,"serial":1,"lineage":"l","encryption_version":"v0","encryption_version":1})",
              ""},
             {R"({"version":4,"serial":1,"lineage":"l","encryption_version":["v0"]})", ""},
             // only the root object's key counts
             {R"({"version":4,"serial":1,"lineage":"l","outputs":{"encryption_version":{"value":"v0"}}})",
              ""},
         }) {
        const auto got = inspect(c.bytes);
        if (c.version.empty()) {
            EXPECT_NE(got.kind, state_kind::encrypted) << c.bytes;
            EXPECT_TRUE(got.encryption_version.empty()) << c.bytes;
        } else {
            EXPECT_EQ(got.kind, state_kind::encrypted) << c.bytes;
            EXPECT_EQ(got.encryption_version, c.version) << c.bytes;
            EXPECT_TRUE(got.ok()) << c.bytes;
            EXPECT_FALSE(got.summarised()) << c.bytes;
            EXPECT_EQ(got.summary.managed_resources, 0U);
        }
    }
    // a plaintext state with an empty sigil is still summarised
    EXPECT_TRUE(inspect(R"({"version":4,"serial":1,"lineage":"l","encryption_version":""})").summarised());
}

TEST(Summary, MissingFileGivesOsError) {
    const auto got = inspect_file(states_dir() / "does-not-exist.tfstate");
    EXPECT_EQ(got.ec, boost::system::errc::no_such_file_or_directory);
    EXPECT_FALSE(got.summarised());
}

}  // namespace
}  // namespace tfsnap::tfstate
