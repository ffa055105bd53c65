#include "tfsnap/core/logger.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace {

using namespace tfsnap::core;

TEST(Logger, FiltersBelowMinimumLevel) {
    memory_sink sink;
    logger log(sink, log_level::warning);
    log.info("not shown");
    log.warning("shown", {{"env", "prod"}});
    log.error("also shown");
    ASSERT_EQ(sink.records().size(), 2u);
    EXPECT_EQ(sink.records()[0].message, "shown");
    ASSERT_EQ(sink.records()[0].fields.size(), 1u);
    EXPECT_EQ(sink.records()[0].fields[0].key, "env");
    EXPECT_EQ(sink.records()[0].fields[0].value, "prod");
    EXPECT_EQ(sink.records()[1].level, log_level::error);
}

TEST(Logger, MinimumLevelCanChange) {
    memory_sink sink;
    logger log(sink, log_level::error);
    log.debug("a");
    log.set_min_level(log_level::debug);
    log.debug("b");
    ASSERT_EQ(sink.records().size(), 1u);
    EXPECT_EQ(sink.records()[0].message, "b");
}

TEST(Logger, StreamSinkWritesOneLinePerRecord) {
    std::ostringstream out;
    stream_sink sink(out);
    logger log(sink, log_level::debug);
    log.info("backup done", {{"env", "prod"}, {"snapshot", "2026-11-22T02-00-00Z"}});
    log.error("two\nlines", {{"reason", "has space"}, {"empty", ""}});
    EXPECT_EQ(out.str(),
              "info backup done env=prod snapshot=2026-11-22T02-00-00Z\n"
              "error two\\nlines reason=\"has space\" empty=\"\"\n");
}

TEST(Logger, ControlCharactersAreEscaped) {
    const log_field f{"v", std::string("a\x01"
                                       "b\"c\\d",
                                       7)};
    EXPECT_EQ(format_log_line(log_level::notice, "m\tx", {&f, 1}), "notice m\\tx v=\"a\\x01b\\\"c\\\\d\"");
}

TEST(Logger, SyslogPrioritiesMatchJournald) {
    EXPECT_EQ(syslog_priority(log_level::error), 3);
    EXPECT_EQ(syslog_priority(log_level::warning), 4);
    EXPECT_EQ(syslog_priority(log_level::notice), 5);
    EXPECT_EQ(syslog_priority(log_level::info), 6);
    EXPECT_EQ(syslog_priority(log_level::debug), 7);
}

}  // namespace
