// Job ids across restarts: the mark in <state_dir>/job-ids, reserved in blocks, and what a
// missing, corrupt or unwritable file leads to (never a stop, never an id below an earlier one).
#include "tfsnap/scheduler/job_id_store.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tfsnap::scheduler {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::chrono::system_clock::time_point now{std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} +
                                                3h};
const std::uint64_t now_ms = static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());

class JobIdStore : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tfsnap-job-ids-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        fs::permissions(dir_, fs::perms::owner_all);
        fs::remove_all(dir_);
    }
    std::string read(const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    void write(const fs::path& p, std::string_view text) {
        std::ofstream out(p, std::ios::binary);
        out << text;
    }
    fs::path dir_;
};

TEST_F(JobIdStore, AFirstStartCountsFromOneAndReservesABlock) {
    job_id_store store(dir_, 1000);
    const auto r = store.start(now);
    EXPECT_EQ(r.first_id, 1u);
    EXPECT_TRUE(r.problem.empty()) << r.problem;
    EXPECT_EQ(read(dir_ / "job-ids"), "tfsnap-job-ids 1 1001\n");
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / "job-ids").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(fs::exists(dir_ / ".job-ids.tmp"));
}

TEST_F(JobIdStore, ARestartStartsAboveEveryIdHandedOut) {
    std::uint64_t last = 0;
    {
        job_id_store store(dir_, 1000);
        auto id = store.start(now).first_id;
        for (int i = 0; i < 2600; ++i, ++id) {
            EXPECT_EQ(store.used(id), "");
            last = id;
        }
        EXPECT_GT(store.reserved(), last);
    }
    job_id_store again(dir_, 1000);
    const auto r = again.start(now);
    EXPECT_GT(r.first_id, last);
    EXPECT_TRUE(r.problem.empty()) << r.problem;
}

TEST_F(JobIdStore, OneWritePerHalfBlock) {
    job_id_store store(dir_, 1000);
    const auto first = store.start(now).first_id;
    const auto after_start = fs::last_write_time(dir_ / "job-ids");
    for (std::uint64_t id = first; id < first + 499; ++id)
        EXPECT_EQ(store.used(id), "");
    EXPECT_EQ(read(dir_ / "job-ids"), "tfsnap-job-ids 1 1001\n");
    EXPECT_EQ(fs::last_write_time(dir_ / "job-ids"), after_start);
    // half the block used: the next one is reserved, well before the mark is reached
    EXPECT_EQ(store.used(first + 500), "");
    EXPECT_EQ(read(dir_ / "job-ids"), "tfsnap-job-ids 1 2001\n");
}

TEST_F(JobIdStore, ACorruptFileStartsAtTheTime) {
    write(dir_ / "job-ids", "tfsnap-job-ids 1 twelve\n");
    job_id_store store(dir_, 1000);
    const auto r = store.start(now);
    EXPECT_EQ(r.first_id, now_ms);
    EXPECT_NE(r.problem.find("cannot be read or is not a job id mark"), std::string::npos) << r.problem;
    // and the mark is good again
    EXPECT_EQ(read(dir_ / "job-ids"), job_id_store::serialize(now_ms + 1000));
}

TEST_F(JobIdStore, AMissingFileAfterAnEarlierRunStartsAtTheTime) {
    write(dir_ / "schedules.stamps", "tfsnap-schedule-stamps 1\n");
    job_id_store store(dir_, 1000);
    const auto r = store.start(now);
    EXPECT_EQ(r.first_id, now_ms);
    EXPECT_NE(r.problem.find("is missing although"), std::string::npos) << r.problem;

    fs::remove(dir_ / "schedules.stamps");
    fs::remove(dir_ / "job-ids");
    fs::create_directories(dir_ / "catalog" / "prod");
    job_id_store other(dir_, 1000);
    EXPECT_EQ(other.start(now).first_id, now_ms);
}

TEST_F(JobIdStore, AFileThatCannotBeWrittenIsAProblemNotAStop) {
    // the temporary file's name taken by a directory: no write succeeds, even as root
    fs::create_directories(dir_ / ".job-ids.tmp");
    job_id_store store(dir_, 1000);
    const auto r = store.start(now);
    EXPECT_EQ(r.first_id, 1u);
    EXPECT_NE(r.problem.find("job ids may repeat after the next restart"), std::string::npos) << r.problem;
    // a failed write is retried a block later, not at every job
    EXPECT_EQ(store.used(2), "");
}

TEST_F(JobIdStore, TheFileFormat) {
    EXPECT_EQ(job_id_store::parse("tfsnap-job-ids 1 42\n"), 42u);
    EXPECT_EQ(job_id_store::parse(job_id_store::serialize(1736935800123)), 1736935800123u);
    for (const char* bad : {"", "tfsnap-job-ids 1 42", "tfsnap-job-ids 1 0\n", "tfsnap-job-ids 1 -1\n",
                            "tfsnap-job-ids 1 042\n", "tfsnap-job-ids 2 42\n", "tfsnap-job-ids 1 42 \n",
                            "tfsnap-job-ids 1 99999999999999999999\n", "tfsnap-job-ids 1 9007199254740992\n"})
        EXPECT_EQ(job_id_store::parse(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace tfsnap::scheduler
