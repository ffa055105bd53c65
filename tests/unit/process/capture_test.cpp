// The bounded output buffer: everything below the limit, head and tail above it.
#include "tfsnap/process/detail/capture.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tfsnap::process::detail {
namespace {

TEST(ProcessCapture, KeepsEverythingWithinTheLimit) {
    capture c(10);
    c.append("abc");
    c.append("defghij");
    EXPECT_EQ(c.str(), "abcdefghij");
    EXPECT_EQ(c.total(), 10u);
}

TEST(ProcessCapture, KeepsHeadAndTailWithAMarker) {
    capture c(10);
    c.append("01234");
    for (int i = 0; i < 100; ++i)
        c.append("x");
    c.append("56789");
    EXPECT_EQ(c.total(), 110u);
    EXPECT_EQ(c.str(), "01234\n[... 100 bytes omitted ...]\n56789");
}

TEST(ProcessCapture, TailSlidesAcrossManySmallAppends) {
    capture c(8);
    std::string all;
    for (int i = 0; i < 1000; ++i) {
        const std::string piece = std::to_string(i) + "\n";
        all += piece;
        c.append(piece);
    }
    EXPECT_EQ(c.total(), all.size());
    const std::string out = c.str();
    EXPECT_EQ(out.substr(0, 4), all.substr(0, 4));
    EXPECT_EQ(out.substr(out.size() - 4), all.substr(all.size() - 4));
    EXPECT_NE(out.find("[... " + std::to_string(all.size() - 8) + " bytes omitted ...]\n"),
              std::string::npos);
}

TEST(ProcessCapture, OneLargeAppend) {
    capture c(6);
    c.append("abcdefghijklmnop");
    EXPECT_EQ(c.str(), "abc\n[... 10 bytes omitted ...]\nnop");
}

TEST(ProcessCapture, ZeroLimitKeepsOnlyTheCount) {
    capture c(0);
    c.append("abc");
    EXPECT_EQ(c.total(), 3u);
    EXPECT_EQ(c.str(), "[... 3 bytes omitted ...]\n");
}

}  // namespace
}  // namespace tfsnap::process::detail
