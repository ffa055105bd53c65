#include "tfsnap/notify/event.hpp"

#include <gtest/gtest.h>

#include <iterator>

namespace {

using namespace tfsnap;
using notify::event_kind;

constexpr event_kind all_kinds[] = {event_kind::failure, event_kind::success, event_kind::restore,
                                    event_kind::state_deleted, event_kind::expiry};

TEST(EventKind, NamesRoundTrip) {
    for (const auto k : all_kinds)
        EXPECT_EQ(notify::parse_event_kind(notify::to_string(k)), k) << notify::to_string(k);
    EXPECT_EQ(notify::to_string(event_kind::state_deleted), "state-deleted");
}

TEST(EventKind, ParseIsExact) {
    for (const char* bad : {"", "state_deleted", "Failure", "failure ", "expire", "success\n"})
        EXPECT_EQ(notify::parse_event_kind(bad), std::nullopt) << bad;
}

TEST(EventKind, SameNamesAndOrderAsTheConfiguration) {
    ASSERT_EQ(std::size(config::webhook_events), std::size(all_kinds));
    for (std::size_t i = 0; i < std::size(all_kinds); ++i)
        EXPECT_EQ(config::webhook_events[i], notify::to_string(all_kinds[i]));
}

TEST(EventFilter, OnlySubscribedKinds) {
    config::webhook_config hook;
    hook.events = {"failure", "state-deleted"};
    EXPECT_TRUE(notify::subscribes(hook, event_kind::failure));
    EXPECT_TRUE(notify::subscribes(hook, event_kind::state_deleted));
    EXPECT_FALSE(notify::subscribes(hook, event_kind::success));
    EXPECT_FALSE(notify::subscribes(hook, event_kind::restore));
    EXPECT_FALSE(notify::subscribes(hook, event_kind::expiry));
}

TEST(EventFilter, NoEventsNoSubscriptions) {
    const config::webhook_config hook;
    for (const auto k : all_kinds)
        EXPECT_FALSE(notify::subscribes(hook, k));
}

}  // namespace
