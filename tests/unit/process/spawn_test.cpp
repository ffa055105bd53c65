// The POSIX helpers: the child's environment and the PATH lookup.
#include "tfsnap/process/detail/spawn.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tfsnap::process::detail {
namespace {

namespace fs = std::filesystem;

TEST(ProcessEnvironment, UnsetsOverridesAndAdds) {
    const char* parent[] = {"A=1", "B=2", "C=3", "PATH=/bin", "junk", nullptr};
    spec s;
    s.env_unset = {"B"};
    s.env_set = {{"C", "new"}, {"D", "4"}, {"D", "5"}};
    const auto env = child_environment(parent, s);
    EXPECT_EQ(env, (std::vector<std::string>{"A=1", "PATH=/bin", "C=new", "D=5"}));
    ASSERT_NE(find_variable(env, "PATH"), nullptr);
    EXPECT_EQ(*find_variable(env, "PATH"), "PATH=/bin");
    EXPECT_EQ(find_variable(env, "B"), nullptr);
    EXPECT_EQ(find_variable(env, "PAT"), nullptr);
}

class ProcessLookup : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tfsnap-process-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "a");
        fs::create_directories(dir_ / "b");
    }
    void TearDown() override { fs::remove_all(dir_); }
    void make(const fs::path& p, mode_t mode) {
        std::ofstream(p) << "#!/bin/sh\n";
        ::chmod(p.c_str(), mode);
    }
    fs::path dir_;
};

TEST_F(ProcessLookup, FirstExecutableWins) {
    make(dir_ / "a" / "tool", 0644);
    make(dir_ / "b" / "tool", 0755);
    const std::string path = "relative::" + (dir_ / "a").string() + ":" + (dir_ / "b").string() + "/";
    const auto found = find_program("tool", path);
    EXPECT_EQ(found.err, 0);
    EXPECT_EQ(found.path, (dir_ / "b" / "tool").string());
}

TEST_F(ProcessLookup, NotExecutableIsEacces) {
    make(dir_ / "a" / "tool", 0644);
    EXPECT_EQ(find_program("tool", (dir_ / "a").string()).err, EACCES);
}

TEST_F(ProcessLookup, MissingIsEnoent) {
    EXPECT_EQ(find_program("tool", (dir_ / "a").string()).err, ENOENT);
    EXPECT_EQ(find_program("tool", "").err, ENOENT);
}

TEST_F(ProcessLookup, DirectoriesAreSkipped) {
    fs::create_directories(dir_ / "a" / "tool");
    EXPECT_EQ(find_program("tool", (dir_ / "a").string()).err, ENOENT);
}

}  // namespace
}  // namespace tfsnap::process::detail
