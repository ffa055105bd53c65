#include "tfsnap/tfstate/address.hpp"

#include <gtest/gtest.h>

namespace tfsnap::tfstate {
namespace {

struct address_case {
    const char* name;
    resource_address address;
    const char* expected;
};

// Test names, not bytes, in ctest's listing.
void PrintTo(const address_case& c, std::ostream* os) {
    *os << c.name;
}

class AddressFormat : public ::testing::TestWithParam<address_case> {};

TEST_P(AddressFormat, Table) {
    EXPECT_EQ(format(GetParam().address), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, AddressFormat,
    ::testing::Values(
        address_case{"CountZero", {"", false, "aws_instance", "web", std::int64_t{0}}, "aws_instance.web[0]"},
        address_case{
            "CountTwelve", {"", false, "aws_instance", "web", std::int64_t{12}}, "aws_instance.web[12]"},
        address_case{"Single", {"", false, "aws_s3_bucket", "logs", {}}, "aws_s3_bucket.logs"},
        address_case{"DataSource", {"", true, "aws_ami", "ubuntu", {}}, "data.aws_ami.ubuntu"},
        address_case{"ModuleForEach",
                     {"module.net", false, "aws_subnet", "this", std::string{"a"}},
                     R"(module.net.aws_subnet.this["a"])"},
        address_case{"NestedModules", {"module.a.module.b", false, "x", "y", {}}, "module.a.module.b.x.y"},
        address_case{"NestedModuleData",
                     {"module.a.module.b", true, "aws_iam_policy_document", "p", std::int64_t{1}},
                     "module.a.module.b.data.aws_iam_policy_document.p[1]"},
        address_case{"ModuleInstanceKey",
                     {R"(module.regional["us-east-1"])", false, "aws_vpc", "main", {}},
                     R"(module.regional["us-east-1"].aws_vpc.main)"},
        address_case{"KeyWithQuote",
                     {"", false, "t", "n", std::string{R"(with "quote")"}},
                     R"(t.n["with \"quote\""])"},
        address_case{
            "KeyWithBackslash", {"", false, "t", "n", std::string{R"(back\slash)"}}, R"(t.n["back\\slash"])"},
        address_case{"KeyWithTabAndNewline",
                     {"", false, "t", "n", std::string{"tab\there\nnl"}},
                     R"(t.n["tab\there\nnl"])"},
        address_case{"KeyWithControlChars",
                     {"", false, "t", "n", std::string{"ctl\x01\x1f"}},
                     R"(t.n["ctl\u0001\u001f"])"},
        address_case{
            "KeyNonAscii", {"", false, "t", "n", std::string{"zone-\xc3\xa9"}}, "t.n[\"zone-\xc3\xa9\"]"},
        address_case{"KeyLooksNumeric", {"", false, "t", "n", std::string{"0"}}, R"(t.n["0"])"},
        address_case{"KeyEmpty", {"", false, "t", "n", std::string{}}, R"(t.n[""])"},
        address_case{"NegativeIndex", {"", false, "t", "n", std::int64_t{-1}}, "t.n[-1]"}));

}  // namespace
}  // namespace tfsnap::tfstate
