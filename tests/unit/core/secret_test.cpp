#include "tfsnap/core/secret.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace {

using tfsnap::core::secret;

template <class T>
concept streamable = requires(std::ostream& os, const T& v) {
    os << v;
};

static_assert(!streamable<secret>, "a secret must never be streamable");
static_assert(!std::is_convertible_v<secret, std::string>, "a secret must never convert to a string");
static_assert(!std::is_convertible_v<secret, std::string_view>,
              "a secret must never convert to a string_view");
static_assert(!std::is_convertible_v<std::string, secret>, "making a secret must be explicit");

TEST(Secret, RevealGivesTheBytes) {
    const secret s("wJalrXUtnFEMI/K7MDENG");
    EXPECT_EQ(s.reveal(), "wJalrXUtnFEMI/K7MDENG");
    EXPECT_EQ(s.size(), 21u);
    EXPECT_FALSE(s.empty());
}

TEST(Secret, RedactedNeverShowsTheValue) {
    const secret s("hunter2");
    EXPECT_EQ(s.redacted(), "<redacted 7 bytes>");
    EXPECT_EQ(s.redacted().find("hunter2"), std::string::npos);
}

TEST(Secret, CompareIsByValue) {
    EXPECT_TRUE(secret("abc") == secret("abc"));
    EXPECT_FALSE(secret("abc") == secret("abd"));
    EXPECT_FALSE(secret("abc") == secret("abcd"));
    EXPECT_TRUE(secret() == secret(""));
}

TEST(Secret, MovedFromIsEmpty) {
    secret a("key");
    secret b(std::move(a));
    EXPECT_EQ(b.reveal(), "key");
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the state is specified
    secret c;
    c = std::move(b);
    EXPECT_EQ(c.reveal(), "key");
    EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(Secret, CopyAssignReplacesValue) {
    secret a("first");
    const secret b("second");
    a = b;
    EXPECT_EQ(a.reveal(), "second");
    EXPECT_EQ(b.reveal(), "second");
}

}  // namespace
