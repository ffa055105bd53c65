// The catalog's git history, against the real git in a temporary directory.
#include "tfsnap/catalog_git/recorder.hpp"

#include "tfsnap/process/run.hpp"

#include "support/run_sync.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tfsnap::catalog_git {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

class Recorder : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tfsnap-catalog-git-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        root_ = dir_ / "catalog";
        fs::create_directories(root_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    status sync(asio::awaitable<status> a) { return tfsnap::test::run_sync(io_, std::move(a)); }

    // A snapshot as the catalog lays it out, with a local state copy that must stay out of git.
    void snapshot(const std::string& env, const std::string& id) {
        const fs::path d = root_ / env / id;
        fs::create_directories(d);
        std::ofstream(d / "MANIFEST.json")
            << "{\"environment\":\"" << env << "\",\"snapshot_id\":\"" << id << "\"}\n";
        std::ofstream(d / "state") << "{\"secret\":\"hunter2\"}\n";
        std::ofstream(d / "state.enc") << "encrypted\n";
        std::ofstream(root_ / env / "INDEX.json") << "index after " << id << "\n";
    }

    // Runs git in the catalog and returns its output (stdout and stderr).
    std::string git(std::vector<std::string> args) {
        process::spec s;
        s.argv = {"git", "--git-dir=" + (root_ / ".git").string(), "--work-tree=" + root_.string()};
        s.argv.insert(s.argv.end(), args.begin(), args.end());
        s.cwd = root_.string();
        s.env_set = {{"GIT_CONFIG_NOSYSTEM", "1"}, {"GIT_CONFIG_GLOBAL", "/dev/null"}, {"LC_ALL", "C"}};
        const auto r = tfsnap::test::run_sync(io_, process::run(std::move(s)));
        EXPECT_FALSE(r.ec) << process::describe(r, "git");
        return r.output;
    }
    std::string subjects() { return git({"log", "--format=%s"}); }

    asio::io_context io_;
    fs::path dir_;
    fs::path root_;
};

TEST(RecorderGit, IsInstalled) {
    asio::io_context io;
    process::spec s;
    s.argv = {"git", "--version"};
    const auto r = tfsnap::test::run_sync(io, process::run(std::move(s)));
    ASSERT_FALSE(r.ec) << process::describe(r, "git") << " (install the Debian package git)";
    EXPECT_EQ(r.output.rfind("git version ", 0), 0u);
}

TEST_F(Recorder, InitCreatesARepositoryWithIgnoreRules) {
    recorder rec(root_, {});
    const auto s = sync(rec.init());
    ASSERT_FALSE(s) << s.info.message;
    EXPECT_TRUE(fs::is_directory(root_ / ".git"));
    EXPECT_EQ(git({"symbolic-ref", "--short", "HEAD"}), "main\n");
    EXPECT_EQ(subjects(), "tfsnap: start the catalog history\n");
    EXPECT_EQ(git({"ls-files"}), ".gitignore\n");
    EXPECT_EQ(git({"log", "-1", "--format=%an <%ae>|%cn <%ce>"}),
              "tfsnap <tfsnap@localhost>|tfsnap <tfsnap@localhost>\n");
}

TEST_F(Recorder, InitImportsAnExistingCatalogAndIsANoOpTheSecondTime) {
    snapshot("prod", "2025-01-15T10-30-00Z");
    fs::create_directories(root_ / "prod" / ".tmp-INDEX.json-1-1");
    recorder rec(root_, {.author_name = "Backup Bot", .author_email = "bot@example.com"});
    ASSERT_FALSE(sync(rec.init()));
    EXPECT_EQ(git({"ls-files"}), ".gitignore\nprod/2025-01-15T10-30-00Z/MANIFEST.json\nprod/INDEX.json\n");
    EXPECT_EQ(git({"log", "-1", "--format=%an <%ae>"}), "Backup Bot <bot@example.com>\n");
    const std::string head = git({"rev-parse", "HEAD"});

    ASSERT_FALSE(sync(rec.init()));
    recorder again(root_, {});
    ASSERT_FALSE(sync(again.init()));
    EXPECT_EQ(git({"rev-parse", "HEAD"}), head);
    EXPECT_EQ(subjects(), "tfsnap: start the catalog history\n");
}

TEST_F(Recorder, InitRestoresAChangedGitignore) {
    recorder rec(root_, {});
    ASSERT_FALSE(sync(rec.init()));
    std::ofstream(root_ / ".gitignore") << "*\n";
    ASSERT_FALSE(sync(rec.init()));
    std::string text;
    std::getline(std::ifstream(root_ / ".gitignore"), text, '\0');
    EXPECT_EQ(text, recorder::gitignore());
    EXPECT_EQ(subjects(), "tfsnap: update .gitignore\ntfsnap: start the catalog history\n");
    EXPECT_EQ(git({"status", "--porcelain"}), "");
}

TEST_F(Recorder, InitRemovesAStaleIndexLock) {
    recorder rec(root_, {});
    ASSERT_FALSE(sync(rec.init()));
    std::ofstream(root_ / ".git" / "index.lock") << "";
    ASSERT_FALSE(sync(rec.init()));
    snapshot("prod", "2025-01-15T10-30-00Z");
    const auto s = sync(rec.record_snapshot("prod", "2025-01-15T10-30-00Z"));
    EXPECT_FALSE(s) << s.info.message;
}

TEST_F(Recorder, RecordsSnapshotsAsCommitsAndTags) {
    recorder rec(root_, {});
    ASSERT_FALSE(sync(rec.init()));
    snapshot("prod", "2025-01-15T10-30-00Z");
    auto s = sync(rec.record_snapshot("prod", "2025-01-15T10-30-00Z"));
    ASSERT_FALSE(s) << s.info.message;
    snapshot("prod", "2025-01-15T11-30-00Z");
    snapshot("staging", "2025-01-15T11-30-00Z-2");
    s = sync(rec.record_snapshot("prod", "2025-01-15T11-30-00Z"));
    ASSERT_FALSE(s) << s.info.message;

    EXPECT_EQ(subjects(),
              "backup-state/prod/2025-01-15T11-30-00Z\n"
              "backup-state/prod/2025-01-15T10-30-00Z\n"
              "tfsnap: start the catalog history\n");
    EXPECT_EQ(git({"tag", "--list"}),
              "backup-state/prod/2025-01-15T10-30-00Z\n"
              "backup-state/prod/2025-01-15T11-30-00Z\n");
    EXPECT_EQ(git({"rev-parse", "backup-state/prod/2025-01-15T11-30-00Z^{commit}"}),
              git({"rev-parse", "HEAD"}));
    // only <env> is staged; the state copies are never tracked
    EXPECT_EQ(git({"ls-files"}),
              ".gitignore\n"
              "prod/2025-01-15T10-30-00Z/MANIFEST.json\n"
              "prod/2025-01-15T11-30-00Z/MANIFEST.json\n"
              "prod/INDEX.json\n");
    EXPECT_EQ(git({"show", "--format=", "--name-only", "HEAD"}),
              "prod/2025-01-15T11-30-00Z/MANIFEST.json\nprod/INDEX.json\n");

    s = sync(rec.record_snapshot("staging", "2025-01-15T11-30-00Z-2"));
    ASSERT_FALSE(s) << s.info.message;
    EXPECT_EQ(git({"status", "--porcelain"}), "");
}

TEST_F(Recorder, RecordingTwiceIsATagExistsError) {
    recorder rec(root_, {});
    ASSERT_FALSE(sync(rec.init()));
    snapshot("prod", "2025-01-15T10-30-00Z");
    ASSERT_FALSE(sync(rec.record_snapshot("prod", "2025-01-15T10-30-00Z")));
    const std::string head = git({"rev-parse", "HEAD"});
    const auto s = sync(rec.record_snapshot("prod", "2025-01-15T10-30-00Z"));
    EXPECT_EQ(s.ec, errc::tag_exists);
    EXPECT_NE(s.info.message.find("backup-state/prod/2025-01-15T10-30-00Z already exists"), std::string::npos)
        << s.info.message;
    EXPECT_EQ(git({"rev-parse", "HEAD"}), head);
}

TEST_F(Recorder, RemovalIsACommitAndTagsStay) {
    recorder rec(root_, {});
    ASSERT_FALSE(sync(rec.init()));
    snapshot("prod", "2025-01-15T10-30-00Z");
    ASSERT_FALSE(sync(rec.record_snapshot("prod", "2025-01-15T10-30-00Z")));
    snapshot("prod", "2025-01-15T11-30-00Z");
    ASSERT_FALSE(sync(rec.record_snapshot("prod", "2025-01-15T11-30-00Z")));

    fs::remove_all(root_ / "prod" / "2025-01-15T10-30-00Z");
    std::ofstream(root_ / "prod" / "INDEX.json") << "pruned\n";
    auto s = sync(rec.record_removal("prod", {"2025-01-15T10-30-00Z"}, "prune-state/prod: retention"));
    ASSERT_FALSE(s) << s.info.message;
    EXPECT_EQ(git({"log", "-1", "--format=%B"}),
              "prune-state/prod: retention\n\n"
              "Removed snapshots (their tags are kept):\n"
              "backup-state/prod/2025-01-15T10-30-00Z\n\n");
    EXPECT_EQ(git({"tag", "--list"}),
              "backup-state/prod/2025-01-15T10-30-00Z\n"
              "backup-state/prod/2025-01-15T11-30-00Z\n");
    EXPECT_EQ(git({"ls-files", "prod"}), "prod/2025-01-15T11-30-00Z/MANIFEST.json\nprod/INDEX.json\n");

    // nothing left to commit: no empty commit
    const std::string head = git({"rev-parse", "HEAD"});
    s = sync(rec.record_removal("prod", {"2025-01-15T10-30-00Z"}, ""));
    ASSERT_FALSE(s) << s.info.message;
    EXPECT_EQ(git({"rev-parse", "HEAD"}), head);

    // a blank message gets the default subject
    fs::remove_all(root_ / "prod" / "2025-01-15T11-30-00Z");
    s = sync(rec.record_removal("prod", {"2025-01-15T11-30-00Z"}, " "));
    ASSERT_FALSE(s) << s.info.message;
    EXPECT_EQ(git({"log", "-1", "--format=%s"}), "remove-state/prod\n");
}

TEST_F(Recorder, InvalidNamesAreRefusedBeforeGitRuns) {
    // no init: a git command would fail differently
    recorder rec(root_, {.git = "/nonexistent/git"});
    for (const std::string& env :
         std::vector<std::string>{"", "..", ".git", "a..b", "x.lock", "a/b", "-rf", std::string(65, 'a')}) {
        const auto s = sync(rec.record_snapshot(env, "2025-01-15T10-30-00Z"));
        EXPECT_EQ(s.ec, env == "-rf" ? errc::not_initialized : errc::invalid_environment) << env;
    }
    for (const std::string& id :
         std::vector<std::string>{"", "latest", "../x", "2025-01-15T10:30:00Z", "2025-01-15T10-30-00Z/.."}) {
        EXPECT_EQ(sync(rec.record_snapshot("prod", id)).ec, errc::invalid_snapshot_id) << id;
        EXPECT_EQ(sync(rec.record_removal("prod", {"2025-01-15T10-30-00Z", id}, "m")).ec,
                  errc::invalid_snapshot_id)
            << id;
    }
    EXPECT_EQ(sync(rec.record_removal("a..b", {}, "m")).ec, errc::invalid_environment);
    EXPECT_EQ(sync(rec.record_snapshot("prod", "2025-01-15T10-30-00Z")).ec, errc::not_initialized);
}

TEST_F(Recorder, LeadingDashEnvironmentIsAPathNotAnOption) {
    recorder rec(root_, {});
    ASSERT_FALSE(sync(rec.init()));
    snapshot("-n", "2025-01-15T10-30-00Z");
    const auto s = sync(rec.record_snapshot("-n", "2025-01-15T10-30-00Z"));
    ASSERT_FALSE(s) << s.info.message;
    EXPECT_EQ(git({"ls-files", "--", "-n"}), "-n/2025-01-15T10-30-00Z/MANIFEST.json\n-n/INDEX.json\n");
}

TEST_F(Recorder, MissingSnapshotIsRefused) {
    recorder rec(root_, {});
    ASSERT_FALSE(sync(rec.init()));
    const auto s = sync(rec.record_snapshot("prod", "2025-01-15T10-30-00Z"));
    EXPECT_EQ(s.ec, errc::snapshot_not_found);
    EXPECT_EQ(git({"tag", "--list"}), "");
}

TEST_F(Recorder, MissingGitIsAClearError) {
    recorder rec(root_, {.git = "/nonexistent/git"});
    const auto s = sync(rec.init());
    EXPECT_EQ(s.ec, errc::git_not_found);
    EXPECT_EQ(s.info.command, "git init");
    EXPECT_EQ(s.info.message, "git init could not be started: program not found");
}

TEST_F(Recorder, GitFailureCarriesGitsOutput) {
    recorder rec(root_, {});
    ASSERT_FALSE(sync(rec.init()));
    snapshot("prod", "2025-01-15T10-30-00Z");
    // a file where git wants to create the tag's directory
    fs::create_directories(root_ / ".git" / "refs" / "tags");
    std::ofstream(root_ / ".git" / "refs" / "tags" / "backup-state") << "not a directory\n";
    const auto s = sync(rec.record_snapshot("prod", "2025-01-15T10-30-00Z"));
    EXPECT_EQ(s.ec, errc::git_failed);
    EXPECT_EQ(s.info.command, "git tag");
    EXPECT_NE(s.info.message.find("git tag exited with status"), std::string::npos) << s.info.message;
    EXPECT_NE(s.info.message.find("backup-state/prod/2025-01-15T10-30-00Z"), std::string::npos)
        << s.info.message;
}

TEST_F(Recorder, NotARepositoryInsideAnotherRepository) {
    // a repository around the catalog must never be used
    {
        process::spec s;
        s.argv = {"git", "init", "--quiet", dir_.string()};
        s.env_set = {{"GIT_CONFIG_NOSYSTEM", "1"}, {"GIT_CONFIG_GLOBAL", "/dev/null"}};
        ASSERT_FALSE(tfsnap::test::run_sync(io_, process::run(std::move(s))).ec);
    }
    recorder rec(root_, {});
    snapshot("prod", "2025-01-15T10-30-00Z");
    EXPECT_EQ(sync(rec.record_snapshot("prod", "2025-01-15T10-30-00Z")).ec, errc::not_initialized);
    ASSERT_FALSE(sync(rec.init()));
    EXPECT_TRUE(fs::is_directory(root_ / ".git"));
    ASSERT_FALSE(sync(rec.record_snapshot("prod", "2025-01-15T10-30-00Z")));
}

}  // namespace
}  // namespace tfsnap::catalog_git
