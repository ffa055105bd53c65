#pragma once
// The shared shape of the broken-configuration tables (bad_config_test.cpp, notify_test.cpp):
// each case must yield exactly one diagnostic with exactly this line, column and text.
#include "tfsnap/config/load.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace tfsnap::config::testing {

// Lines 1-4 of most cases: a valid environment to break.
inline constexpr const char* env_prefix =
    "environments:\n"
    "  prod:\n"
    "    bucket: tf-state\n"
    "    key: prod/terraform.tfstate\n";

struct bad_case {
    const char* name;
    std::string yaml;
    int line;
    int column;
    std::string expected;  // format(diagnostic) without the "bad.yaml:L:C: error: " prefix
};

// Test names, not bytes, in ctest's listing.
inline void PrintTo(const bad_case& c, std::ostream* os) {
    *os << c.name;
}

inline std::string dump(const load_result& r) {
    std::string out;
    for (const auto& d : r.diagnostics)
        out += format(d) + "\n";
    return out;
}

// Loads the case as "bad.yaml" and checks its one diagnostic; returns it formatted ("" when the
// checks failed before there was one).
inline std::string expect_one_problem(const bad_case& c) {
    const auto r = load_string(c.yaml, "bad.yaml");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error(), errc::invalid);
    EXPECT_EQ(r.diagnostics.size(), 1u) << dump(r);
    if (r.diagnostics.size() != 1)
        return {};
    const auto& d = r.diagnostics[0];
    EXPECT_EQ(d.line, c.line);
    EXPECT_EQ(d.column, c.column);
    const std::string prefix =
        "bad.yaml:" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": error: ";
    EXPECT_EQ(format(d), prefix + c.expected);
    return format(d);
}

}  // namespace tfsnap::config::testing
