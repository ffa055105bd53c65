#include "tfsnap/scheduler/stamp_store.hpp"
#include "tfsnap/scheduler/error.hpp"

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tfsnap::scheduler {
namespace {

namespace fs = std::filesystem;
using test::at;

class StampStore : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tfsnap-stamps-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    void write(const fs::path& p, std::string_view text) {
        std::ofstream out(p, std::ios::binary);
        out << text;
    }
    fs::path dir_;
};

TEST_F(StampStore, MissingFileIsEmpty) {
    file_stamp_store store(dir_);
    const auto r = store.load();
    EXPECT_FALSE(r.ec);
    EXPECT_TRUE(r.stamps.empty());
}

TEST_F(StampStore, SaveThenReload) {
    const stamp_map stamps{{"prod/nightly", at(3, 2)}, {"staging.eu_1/weekly-full", at(6, 3)}};
    {
        file_stamp_store store(dir_);
        const auto r = store.save(stamps);
        ASSERT_FALSE(r.ec) << r.detail;
        EXPECT_FALSE(fs::exists(store.temp_path()));
        EXPECT_TRUE(fs::exists(store.path()));
    }
    file_stamp_store again(dir_);
    const auto r = again.load();
    ASSERT_FALSE(r.ec) << r.detail;
    EXPECT_EQ(r.stamps, stamps);

    // A second save replaces the first.
    const stamp_map later{{"prod/nightly", at(4, 2)}};
    ASSERT_FALSE(again.save(later).ec);
    EXPECT_EQ(again.load().stamps, later);
}

TEST_F(StampStore, StrayTempFileIsRemovedAndIgnored) {
    file_stamp_store store(dir_);
    ASSERT_FALSE(store.save({{"prod/nightly", at(1, 2)}}).ec);
    write(store.temp_path(), "tfsnap-schedule-stamps 1\nprod/nightly 12");  // a torn write
    const auto r = store.load();
    ASSERT_FALSE(r.ec) << r.detail;
    EXPECT_EQ(r.stamps.at("prod/nightly"), at(1, 2));
    EXPECT_FALSE(fs::exists(store.temp_path()));
}

TEST_F(StampStore, CorruptFileIsAClearError) {
    file_stamp_store store(dir_);
    for (const std::string_view text : {
             std::string_view("garbage\n"),
             std::string_view(""),
             std::string_view("tfsnap-schedule-stamps 1\nprod/nightly notanumber\n"),
             std::string_view("tfsnap-schedule-stamps 1\nprod/nightly 1704074400"),
             std::string_view("tfsnap-schedule-stamps 1\nnoslash 1704074400\n"),
             std::string_view("tfsnap-schedule-stamps 1\nprod/a 1\nprod/a 2\n"),
         }) {
        write(store.path(), text);
        const auto r = store.load();
        EXPECT_EQ(r.ec, make_error_code(errc::corrupt_stamps)) << text;
        EXPECT_NE(r.detail.find("schedules.stamps"), std::string::npos) << r.detail;
        EXPECT_NE(r.detail.find("line "), std::string::npos) << r.detail;
        EXPECT_TRUE(r.stamps.empty());
    }
    EXPECT_EQ(std::string(make_error_code(errc::corrupt_stamps).category().name()), "tfsnap.scheduler");
}

TEST_F(StampStore, UnwritableDirectoryIsAnError) {
    file_stamp_store store(dir_ / "missing");
    const auto r = store.save({{"prod/nightly", at(1, 2)}});
    EXPECT_EQ(r.ec, make_error_code(errc::stamps_io));
    EXPECT_FALSE(r.detail.empty());
}

TEST(StampFormat, RoundTrips) {
    const stamp_map stamps{{"a/b", at(0)}, {"c/d", std::chrono::sys_seconds{std::chrono::seconds{-5}}}};
    const auto text = file_stamp_store::serialize(stamps);
    EXPECT_EQ(text.substr(0, 25), "tfsnap-schedule-stamps 1\n");
    const auto r = file_stamp_store::parse(text);
    ASSERT_FALSE(r.ec) << r.detail;
    EXPECT_EQ(r.stamps, stamps);
}

}  // namespace
}  // namespace tfsnap::scheduler
