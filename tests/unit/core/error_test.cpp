#include "tfsnap/core/error.hpp"
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace {

using tfsnap::core::errc;

TEST(CoreError, CategoryIsNamedAndMessagesAreFixed) {
    const boost::system::error_code ec = errc::timeout;
    EXPECT_STREQ(ec.category().name(), "tfsnap.core");
    EXPECT_EQ(ec.message(), "deadline expired");
    EXPECT_TRUE(ec.failed());
}

TEST(CoreError, EveryValueHasItsOwnMessage) {
    std::set<std::string> messages;
    for (const auto e :
         {errc::invalid_argument, errc::io_error, errc::timeout, errc::cancelled, errc::not_found}) {
        messages.insert(boost::system::error_code(e).message());
    }
    EXPECT_EQ(messages.size(), 5u);
    EXPECT_EQ(messages.count("unknown tfsnap.core error"), 0u);
}

TEST(CoreError, CodesCompareByCategory) {
    const boost::system::error_code a = errc::not_found;
    const boost::system::error_code b = errc::not_found;
    EXPECT_EQ(a, b);
    EXPECT_NE(
        a, boost::system::error_code(static_cast<int>(errc::not_found), boost::system::generic_category()));
}

}  // namespace
