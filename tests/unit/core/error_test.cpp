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

namespace {

TEST(CoreCondition, ModuleCodesMapToConditions) {
    using tfsnap::core::condition;
    const boost::system::error_code timeout = errc::timeout;
    const boost::system::error_code not_found = errc::not_found;
    EXPECT_TRUE(timeout == condition::transient);
    EXPECT_FALSE(timeout == condition::not_processed);
    EXPECT_FALSE(not_found == condition::transient);
    EXPECT_FALSE(boost::system::error_code() == condition::transient);
    const boost::system::error_condition c = condition::not_processed;
    EXPECT_STREQ(c.category().name(), "tfsnap.condition");
}

}  // namespace
