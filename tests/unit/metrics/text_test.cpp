// The lexical rules of the text format: names, escaping, number formatting, UTF-8 repair.
#include "tfsnap/metrics/detail/text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace {

using namespace tfsnap::metrics::detail;

TEST(MetricsText, MetricNames) {
    for (const char* ok : {"a", "_", ":", "tfsnap_backup_total", "job:rate5m", "A9_:b", "_x"})
        EXPECT_TRUE(valid_metric_name(ok)) << ok;
    for (const char* bad : {"", "9a", "a-b", "a b", "a.b", "é", "a\n", "tfsnap{x}"})
        EXPECT_FALSE(valid_metric_name(bad)) << bad;
}

TEST(MetricsText, LabelNames) {
    for (const char* ok : {"env", "_x", "le", "a9", "_"})
        EXPECT_TRUE(valid_label_name(ok)) << ok;
    for (const char* bad : {"", "9a", "a:b", "a-b", "__name__", "__x", "é"})
        EXPECT_FALSE(valid_label_name(bad)) << bad;
}

TEST(MetricsText, LabelValueEscaping) {
    const auto esc = [](std::string_view v) {
        std::string out;
        append_label_value(out, v);
        return out;
    };
    EXPECT_EQ(esc("plain"), "plain");
    EXPECT_EQ(esc(R"(C:\DIR\FILE.TXT)"), R"(C:\\DIR\\FILE.TXT)");
    EXPECT_EQ(esc("Cannot find file:\n\"FILE.TXT\""), R"(Cannot find file:\n\"FILE.TXT\")");
    EXPECT_EQ(esc("tab\tand\rcr"), "tab\tand\rcr");  // only \\, \" and \n are escaped
    EXPECT_EQ(esc("\\n"), R"(\\n)");
    EXPECT_EQ(esc(""), "");
}

TEST(MetricsText, HelpEscaping) {
    const auto esc = [](std::string_view v) {
        std::string out;
        append_help(out, v);
        return out;
    };
    EXPECT_EQ(esc("two\nlines"), R"(two\nlines)");
    EXPECT_EQ(esc(R"(a\b)"), R"(a\\b)");
    EXPECT_EQ(esc(R"(keeps "quotes")"), R"(keeps "quotes")");
}

TEST(MetricsText, Values) {
    struct row {
        double v;
        const char* text;
    };
    const row rows[] = {
        {0, "0"},
        {-0.0, "0"},
        {1, "1"},
        {-2, "-2"},
        {1027, "1027"},
        {1764000000, "1764000000"},  // a Unix time, not 1.764e+09
        {9007199254740991.0, "9007199254740991"},
        {9007199254740992.0, "9007199254740992"},  // 2^53 itself: shortest form
        {0.05, "0.05"},
        {0.1, "0.1"},
        {2.5, "2.5"},
        {-0.25, "-0.25"},
        {1.5e-7, "1.5e-07"},
        {1e300, "1e+300"},
        {0.1 + 0.2, "0.30000000000000004"},
        {std::numeric_limits<double>::infinity(), "+Inf"},
        {-std::numeric_limits<double>::infinity(), "-Inf"},
        {std::numeric_limits<double>::quiet_NaN(), "NaN"},
    };
    for (const auto& r : rows)
        EXPECT_EQ(format_value(r.v), r.text) << r.v;
}

TEST(MetricsText, ValuesRoundTrip) {
    for (const double v : {0.1, 1.0 / 3, 123456.789, 6.02214076e23, 5e-324, 1.7976931348623157e308, -1e-5}) {
        const std::string s = format_value(v);
        EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
    }
}

TEST(MetricsText, Utf8) {
    EXPECT_EQ(sanitize_utf8("prod"), "prod");
    EXPECT_EQ(sanitize_utf8("m\xC3\xBCnchen \xE2\x82\xAC \xF0\x9F\x98\x80"),
              "m\xC3\xBCnchen \xE2\x82\xAC \xF0\x9F\x98\x80");
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(sanitize_utf8("a\xFFz"), "a" + fffd + "z");
    EXPECT_EQ(sanitize_utf8("\x80"), fffd);                                   // stray continuation byte
    EXPECT_EQ(sanitize_utf8("\xC3"), fffd);                                   // truncated
    EXPECT_EQ(sanitize_utf8("\xC0\xAF"), fffd + fffd);                        // overlong '/'
    EXPECT_EQ(sanitize_utf8("\xE0\x80\xAF"), fffd + fffd + fffd);             // overlong, 3 bytes
    EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), fffd + fffd + fffd);             // surrogate U+D800
    EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // > U+10FFFF
    EXPECT_EQ(sanitize_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

}  // namespace
