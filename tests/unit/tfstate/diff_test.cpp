#include "tfsnap/tfstate/diff.hpp"
#include "tfsnap/tfstate/error.hpp"

#include "test_util.hpp"

namespace tfsnap::tfstate {
namespace {

using test::read_file;
using test::read_json;
using test::states_dir;

change_kind kind_of(std::string_view s) {
    return s == "added" ? change_kind::added : s == "removed" ? change_kind::removed : change_kind::changed;
}

// Everything a restore plan would show, as text.
std::string render(const state_diff& d) {
    std::string out;
    for (const auto& r : d.resources) {
        out += std::string{to_string(r.kind)} + " " + r.address + "\n";
    }
    for (const auto& o : d.outputs) {
        out +=
            std::string{to_string(o.kind)} + " output " + o.name + (o.sensitive ? " (sensitive)" : "") + "\n";
    }
    out += "serial " + std::to_string(d.serial.before) + " -> " + std::to_string(d.serial.after) + "\n";
    out += "lineage " + d.lineage.before + " -> " + d.lineage.after + "\n";
    out += "terraform " + d.terraform_version.before + " -> " + d.terraform_version.after + "\n";
    return out;
}

class GeneratedDiff : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        base_ = new std::string{read_file(states_dir() / "base.tfstate")};
        next_ = new std::string{read_file(states_dir() / "next.tfstate")};
    }
    static void TearDownTestSuite() {
        delete base_;
        delete next_;
    }
    static std::string* base_;
    static std::string* next_;
};

std::string* GeneratedDiff::base_ = nullptr;
std::string* GeneratedDiff::next_ = nullptr;

TEST_F(GeneratedDiff, MatchesGeneratorReport) {
    const auto got = diff(*base_, *next_);
    ASSERT_TRUE(got.ok()) << got.message;
    const auto want = read_json(states_dir() / "next.changes.json");

    std::vector<resource_change> resources;
    for (const auto& r : want["resources"].GetArray()) {
        resources.push_back({r["address"].GetString(), kind_of(r["kind"].GetString())});
    }
    ASSERT_FALSE(resources.empty());
    EXPECT_EQ(got.diff.resources, resources);

    std::vector<output_change> outputs;
    for (const auto& o : want["outputs"].GetArray()) {
        outputs.push_back({o["name"].GetString(), kind_of(o["kind"].GetString()), o["sensitive"].GetBool()});
    }
    EXPECT_EQ(got.diff.outputs, outputs);

    EXPECT_TRUE(got.diff.serial.changed);
    EXPECT_EQ(got.diff.serial.before, 7U);
    EXPECT_EQ(got.diff.serial.after, 8U);
    EXPECT_FALSE(got.diff.lineage.changed);
    EXPECT_FALSE(got.diff.terraform_version.changed);
    RecordProperty("resource_changes", static_cast<int>(got.diff.resources.size()));
}

TEST_F(GeneratedDiff, CoversEveryKindAndAddressShape) {
    const auto got = diff(*base_, *next_);
    ASSERT_TRUE(got.ok());
    bool kinds[3] = {};
    for (const auto& r : got.diff.resources) {
        kinds[static_cast<int>(r.kind)] = true;
    }
    EXPECT_TRUE(kinds[0] && kinds[1] && kinds[2]);
    const auto text = render(got.diff);
    for (const char* shape : {"module.app.module.db.", "data.", "[0]", "\"]", "module.regional[\""}) {
        EXPECT_NE(text.find(shape), std::string::npos) << shape;
    }
}

TEST_F(GeneratedDiff, ReverseSwapsAddedAndRemoved) {
    const auto fwd = diff(*base_, *next_);
    const auto rev = diff(*next_, *base_);
    ASSERT_TRUE(fwd.ok() && rev.ok());
    ASSERT_EQ(fwd.diff.resources.size(), rev.diff.resources.size());
    for (std::size_t i = 0; i < fwd.diff.resources.size(); ++i) {
        const auto& f = fwd.diff.resources[i];
        const auto& r = rev.diff.resources[i];
        EXPECT_EQ(f.address, r.address);
        const auto flipped = f.kind == change_kind::added     ? change_kind::removed
                             : f.kind == change_kind::removed ? change_kind::added
                                                              : change_kind::changed;
        EXPECT_EQ(r.kind, flipped) << f.address;
    }
}

TEST_F(GeneratedDiff, SameStateIsEmpty) {
    const auto got = diff(*base_, *base_);
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got.diff.same_content());
    EXPECT_FALSE(got.diff.serial.changed);
}

TEST_F(GeneratedDiff, SensitiveValuesNeverAppear) {
    const auto got = diff(*base_, *next_);
    ASSERT_TRUE(got.ok());
    const auto text = render(got.diff);
    for (const char* file : {"base.summary.json", "next.summary.json"}) {
        const auto summary = read_json(states_dir() / file);
        const auto secrets = test::strings(summary["sensitive_values"]);
        ASSERT_FALSE(secrets.empty());
        for (const auto& secret : secrets) {
            EXPECT_EQ(text.find(secret), std::string::npos);
            EXPECT_EQ(got.message.find(secret), std::string::npos);
        }
    }
    EXPECT_EQ(text.find("SENSITIVE"), std::string::npos);
    EXPECT_NE(text.find("changed output db_password (sensitive)"), std::string::npos);
}

TEST(Diff, KeyOrderAndWhitespaceDoNotMatter) {
    const auto a =
        diff(R"({"version":4,"serial":1,"lineage":"l","resources":[{"mode":"managed","type":"t","name":"n",
        "provider":"p","instances":[{"attributes":{"a":1,"b":{"x":[1,2],"y":null}}}]}],"outputs":{}})",
             R"({"outputs":{},"lineage":"l","serial":1,"version":4,"resources":[{"instances":[
        {"attributes":{"b":{"y":null,"x":[1,2]},"a":1}}],"provider":"p","name":"n","type":"t","mode":"managed"}]})");
    ASSERT_TRUE(a.ok()) << a.message;
    EXPECT_TRUE(a.diff.same_content());
}

TEST(Diff, ProviderArrayOrderAndSensitivityCount) {
    const auto got = diff(
        R"({"version":4,"serial":1,"lineage":"l","outputs":{"o":{"value":"v","type":"string"},"p":{"value":1}},
            "resources":[{"mode":"managed","type":"t","name":"n","provider":"p1","instances":[{"attributes":{}}]},
                         {"mode":"managed","type":"t","name":"m","provider":"p","instances":[{"attributes":{"l":[1,2]}}]}]})",
        R"({"version":4,"serial":2,"lineage":"k","terraform_version":"1.9.0",
            "outputs":{"o":{"value":"v","type":"string","sensitive":true},"p":{"value":1}},
            "resources":[{"mode":"managed","type":"t","name":"n","provider":"p2","instances":[{"attributes":{}}]},
                         {"mode":"managed","type":"t","name":"m","provider":"p","instances":[{"attributes":{"l":[2,1]}}]}]})");
    ASSERT_TRUE(got.ok()) << got.message;
    EXPECT_EQ(got.diff.resources,
              (std::vector<resource_change>{{"t.m", change_kind::changed}, {"t.n", change_kind::changed}}));
    EXPECT_EQ(got.diff.outputs, (std::vector<output_change>{{"o", change_kind::changed, true}}));
    EXPECT_TRUE(got.diff.lineage.changed);
    EXPECT_EQ(got.diff.lineage.before, "l");
    EXPECT_EQ(got.diff.lineage.after, "k");
    EXPECT_TRUE(got.diff.terraform_version.changed);
    EXPECT_EQ(got.diff.serial.after, 2U);
}

struct refusal {
    const char* name;
    std::string before;
    std::string after;
    errc expected;
    const char* side;
};

// Test names, not bytes, in ctest's listing.
void PrintTo(const refusal& c, std::ostream* os) {
    *os << c.name;
}

class DiffRefuses : public ::testing::TestWithParam<refusal> {};

TEST_P(DiffRefuses, Table) {
    const auto& p = GetParam();
    const auto got = diff(p.before, p.after);
    EXPECT_EQ(got.ec, p.expected);
    EXPECT_EQ(got.message.rfind(p.side, 0), 0U) << got.message;
}

constexpr const char* v4 = R"({"version":4,"serial":1,"lineage":"l","resources":[],"outputs":{}})";

INSTANTIATE_TEST_SUITE_P(
    Table, DiffRefuses,
    ::testing::Values(
        refusal{"Legacy", R"({"version":3,"modules":[]})", v4, errc::legacy_format, "before:"},
        refusal{"Newer", v4, R"({"version":5})", errc::unsupported_version, "after:"},
        refusal{"Encrypted", v4, R"({"encrypted_data":"eA==","encryption_version":"v0","meta":{}})",
                errc::encrypted, "after:"},
        refusal{"EncryptedByTheSigilAlone", R"({"Encryption_Version":"v0"})", v4, errc::encrypted, "before:"},
        refusal{"NotJson", "not json", v4, errc::not_a_state, "before:"},
        refusal{"TrailingNul", std::string(v4) + std::string(1, '\0') + "x", v4, errc::not_a_state,
                "before:"},
        refusal{"TooDeep", v4, std::string(100000, '[') + std::string(100000, ']'), errc::too_deep, "after:"},
        refusal{"NoVersion", R"({"serial":1})", v4, errc::not_a_state, "before:"},
        refusal{"BadResources", v4, R"({"version":4,"resources":{}})", errc::malformed, "after:"},
        refusal{
            "BadIndexKey", v4,
            R"({"version":4,"resources":[{"mode":"managed","type":"t","name":"n","instances":[{"index_key":true}]}]})",
            errc::malformed, "after:"}));

// Values as deep as Terraform reads are hashed without recursion (this recursed once per level),
// and a change at the bottom is seen.
TEST(Diff, DeeplyNestedValuesAreCompared) {
    auto state = [](std::size_t depth, const char* leaf) {
        std::string objects;
        for (std::size_t i = 0; i < depth; ++i)
            objects += R"({"k":)";
        objects += leaf + std::string(depth, '}');
        return R"({"version":4,"serial":1,"lineage":"l","outputs":{"deep":{"value":)" +
               std::string(depth, '[') + leaf + std::string(depth, ']') +
               R"(}},"resources":[{"mode":"managed","type":"t","name":"n","instances":[{"attributes":{"a":)" +
               objects + "}}]}]}";
    };
    // 9,990 levels below an instance's attributes: within Go's 10,000
    const auto same = diff(state(9990, "1"), state(9990, "1"));
    ASSERT_TRUE(same.ok()) << same.message;
    EXPECT_TRUE(same.diff.same_content());
    const auto changed = diff(state(9990, "1"), state(9990, "2"));
    ASSERT_TRUE(changed.ok()) << changed.message;
    EXPECT_EQ(changed.diff.resources, (std::vector<resource_change>{{"t.n", change_kind::changed}}));
    EXPECT_EQ(changed.diff.outputs, (std::vector<output_change>{{"deep", change_kind::changed, false}}));
}

// Same members in another order hash the same; members swapped between depths do not.
TEST(Diff, HashIsCanonicalAcrossKeyOrder) {
    const auto d = diff(R"({"version":4,"outputs":{"o":{"value":{"a":[1,{"x":1,"y":2}],"b":"s"}}}})",
                        R"({"version":4,"outputs":{"o":{"value":{"b":"s","a":[1,{"y":2,"x":1}]}}}})");
    ASSERT_TRUE(d.ok()) << d.message;
    EXPECT_TRUE(d.diff.outputs.empty());
    const auto e = diff(R"({"version":4,"outputs":{"o":{"value":[[1],2]}}})",
                        R"({"version":4,"outputs":{"o":{"value":[[1,2]]}}})");
    ASSERT_TRUE(e.ok()) << e.message;
    EXPECT_EQ(e.diff.outputs.size(), 1U);
}

}  // namespace
}  // namespace tfsnap::tfstate
