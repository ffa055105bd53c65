#include "tfsnap/core/dir_owner.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using tfsnap::core::claim_dir;

namespace {

class DirOwner : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("tfsnap-dir-owner-" + std::to_string(::getpid()));
        fs::remove_all(root_);
        fs::create_directories(root_);
    }
    void TearDown() override { fs::remove_all(root_); }
    fs::path root_;
};

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

TEST_F(DirOwner, FirstClaimOwnsAndCreatesPrivateDirectories) {
    const mode_t old = ::umask(022);
    const auto dir = root_ / "a" / "state";
    auto c = claim_dir(dir, "tfsnapd --config x.yaml");
    ::umask(old);
    ASSERT_TRUE(c.owner) << c.error.message();
    EXPECT_FALSE(c.busy);
    EXPECT_EQ(mode_of(root_ / "a"), 0700u);
    EXPECT_EQ(mode_of(dir), 0700u);
    EXPECT_EQ(mode_of(dir / "tfsnapd.lock"), 0600u);
    std::string line;
    std::getline(std::ifstream(dir / "tfsnapd.lock"), line);
    EXPECT_EQ(line, std::to_string(::getpid()) + " tfsnapd --config x.yaml");
}

TEST_F(DirOwner, SecondClaimIsBusyAndNamesTheHolder) {
    auto first = claim_dir(root_, "tfsnapd --config a.yaml");
    ASSERT_TRUE(first.owner);
    auto second = claim_dir(root_, "tfsnapd restore prod");
    EXPECT_FALSE(second.owner);
    EXPECT_TRUE(second.busy);
    EXPECT_FALSE(second.error);
    EXPECT_EQ(second.holder_pid(), ::getpid());
    EXPECT_EQ(second.holder, std::to_string(::getpid()) + " tfsnapd --config a.yaml");
    // the refused claim changed nothing: the holder's line is still there
    std::string line;
    std::getline(std::ifstream(root_ / "tfsnapd.lock"), line);
    EXPECT_EQ(line, second.holder);
}

TEST_F(DirOwner, ReleasedWhenTheOwnerGoes) {
    {
        auto first = claim_dir(root_, "one");
        ASSERT_TRUE(first.owner);
    }
    auto again = claim_dir(root_, "two");
    EXPECT_TRUE(again.owner);
}

TEST_F(DirOwner, MovedOwnerKeepsTheLock) {
    auto first = claim_dir(root_, "one");
    ASSERT_TRUE(first.owner);
    tfsnap::core::dir_owner moved = std::move(*first.owner);
    first.owner.reset();
    EXPECT_TRUE(claim_dir(root_, "two").busy);
}

TEST_F(DirOwner, ADeadProcessHoldsNothing) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto c = claim_dir(root_, "child");
        const char ok = c.owner ? '1' : '0';
        (void)!::write(ready[1], &ok, 1);
        ::pause();  // killed below, as kill -9 would
        ::_exit(0);
    }
    char ok = 0;
    ASSERT_EQ(::read(ready[0], &ok, 1), 1);
    ASSERT_EQ(ok, '1');
    const auto busy = claim_dir(root_, "parent");
    EXPECT_TRUE(busy.busy);
    EXPECT_EQ(busy.holder_pid(), child);
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(claim_dir(root_, "parent").owner);
    ::close(ready[0]);
    ::close(ready[1]);
}

TEST_F(DirOwner, AFileInTheWayIsAnError) {
    std::ofstream(root_ / "file") << "x";
    const auto c = claim_dir(root_ / "file" / "state", "x");
    EXPECT_FALSE(c.owner);
    EXPECT_FALSE(c.busy);
    EXPECT_TRUE(c.error);
}

}  // namespace
