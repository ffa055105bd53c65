#pragma once
// Helpers shared by the cron unit tests.

#include "tfsnap/cron/expression.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::cron::test {

// "2026-03-29 01:00:00" (seconds optional) in UTC.
inline sys_seconds utc(const char* text) {
    std::istringstream in(text);
    sys_seconds t;
    in >> date::parse(std::string_view(text).size() > 16 ? "%F %T" : "%F %R", t);
    EXPECT_FALSE(in.fail()) << text;
    return t;
}

inline std::string show(std::optional<sys_seconds> t) {
    return t ? date::format("%F %T", *t) : std::string("none");
}

inline expression must_parse(std::string_view text) {
    auto r = expression::parse(text);
    EXPECT_TRUE(r.ok()) << text << ": " << r.error.message;
    if (!r.ok())
        return *expression::parse("* * * * *").expr;
    return *r.expr;
}

// The next `n` fire times after `start`, formatted as "YYYY-MM-DD HH:MM:SS" in UTC.
inline std::vector<std::string> next_n(const expression& e, sys_seconds start, const date::time_zone& zone,
                                       int n) {
    std::vector<std::string> out;
    std::optional<sys_seconds> t = start;
    for (int i = 0; i < n; ++i) {
        t = e.next(*t, zone);
        if (!t)
            break;
        out.push_back(show(t));
    }
    return out;
}

inline std::vector<std::string> prev_n(const expression& e, sys_seconds start, const date::time_zone& zone,
                                       int n) {
    std::vector<std::string> out;
    std::optional<sys_seconds> t = start;
    for (int i = 0; i < n; ++i) {
        t = e.prev(*t, zone);
        if (!t)
            break;
        out.push_back(show(t));
    }
    return out;
}

inline const date::time_zone& zone(std::string_view name) {
    return *date::locate_zone(name);
}

}  // namespace tfsnap::cron::test
