// journal_sink: the records it builds (pure), the journald socket when the machine has one,
// and the stderr-is-the-journal test of sd-daemon(3).

#include "tfsnap/systemd/journal_sink.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace {

using tfsnap::core::log_field;
using tfsnap::core::log_level;
using tfsnap::systemd::journal_field_name;

TEST(JournalFieldName, UpperCasesWithThePrefix) {
    EXPECT_EQ(journal_field_name("env"), "TFSNAP_ENV");
    EXPECT_EQ(journal_field_name("job"), "TFSNAP_JOB");
    EXPECT_EQ(journal_field_name("snapshot"), "TFSNAP_SNAPSHOT");
    EXPECT_EQ(journal_field_name("event"), "TFSNAP_EVENT");
    EXPECT_EQ(journal_field_name("version_id"), "TFSNAP_VERSION_ID");
    EXPECT_EQ(journal_field_name("HTTP_STATUS"), "TFSNAP_HTTP_STATUS");
    EXPECT_EQ(journal_field_name("s3"), "TFSNAP_S3");
}

TEST(JournalFieldName, SanitisesToTheJournalAlphabet) {
    EXPECT_EQ(journal_field_name("snapshot-id"), "TFSNAP_SNAPSHOT_ID");
    EXPECT_EQ(journal_field_name("http.status"), "TFSNAP_HTTP_STATUS");
    EXPECT_EQ(journal_field_name("a b=c\nd"), "TFSNAP_A_B_C_D");
    EXPECT_EQ(journal_field_name("caf\xc3\xa9"), "TFSNAP_CAF__");  // each non-ASCII byte
    EXPECT_EQ(journal_field_name("_x"), "TFSNAP__X");  // never a trusted "_" field: the prefix comes first
    EXPECT_EQ(journal_field_name("1st"), "TFSNAP_1ST");
    EXPECT_EQ(journal_field_name(""), "TFSNAP_FIELD");
}

TEST(JournalFieldName, CutToSixtyFourBytes) {
    const auto name = journal_field_name(std::string(100, 'k'));
    EXPECT_EQ(name.size(), 64u);
    EXPECT_EQ(name, "TFSNAP_" + std::string(57, 'K'));
}

TEST(JournalEntry, PriorityMessageIdentifierThenFields) {
    const std::vector<log_field> fields{
        {"env", "myorg"}, {"job", "j-42"}, {"snapshot", "2025-01-15T10-30-00Z"}};
    const auto items =
        tfsnap::systemd::journal_entry("tfsnapd", log_level::warning, "snapshot taken", fields);
    const std::vector<std::string> want{
        "PRIORITY=4",       "MESSAGE=snapshot taken", "SYSLOG_IDENTIFIER=tfsnapd",
        "TFSNAP_ENV=myorg", "TFSNAP_JOB=j-42",        "TFSNAP_SNAPSHOT=2025-01-15T10-30-00Z",
    };
    EXPECT_EQ(items, want);
}

TEST(JournalEntry, PrioritiesFollowSyslog) {
    const std::vector<std::pair<log_level, std::string>> cases{{log_level::debug, "PRIORITY=7"},
                                                               {log_level::info, "PRIORITY=6"},
                                                               {log_level::notice, "PRIORITY=5"},
                                                               {log_level::warning, "PRIORITY=4"},
                                                               {log_level::error, "PRIORITY=3"}};
    for (const auto& [level, want] : cases)
        EXPECT_EQ(tfsnap::systemd::journal_entry("x", level, "m", {}).front(), want);
}

TEST(JournalEntry, ValuesAreSentAsTheyAre) {
    // the native protocol carries newlines: a multi-line message stays one record
    const std::vector<log_field> fields{{"event", "a\nb"}};
    const auto items = tfsnap::systemd::journal_entry("tfsnapd", log_level::error, "line 1\nline 2", fields);
    ASSERT_EQ(items.size(), 4u);
    EXPECT_EQ(items[1], "MESSAGE=line 1\nline 2");
    EXPECT_EQ(items[3], "TFSNAP_EVENT=a\nb");
}

// A transport in place of sd_journal_sendv(): keeps the items, returns `result`.
struct fake_journal {
    static inline std::vector<std::string> items;
    static inline int result = 0;
    static int send(const struct iovec* iov, int n) {
        items.clear();
        for (int i = 0; i < n; ++i)
            items.emplace_back(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
        return result;
    }
};

TEST(JournalSink, SendsTheRecordAsItems) {
    fake_journal::result = 0;
    tfsnap::core::memory_sink fallback;
    tfsnap::systemd::journal_sink sink("tfsnapd", &fallback, &fake_journal::send);
    const tfsnap::core::logger log(sink, log_level::debug);
    log.notice("restore done\nverified", {{"env", "myorg"}, {"snapshot-id", "2025-01-15T10-30-00Z"}});

    const std::vector<std::string> want{"PRIORITY=5", "MESSAGE=restore done\nverified",
                                        "SYSLOG_IDENTIFIER=tfsnapd", "TFSNAP_ENV=myorg",
                                        "TFSNAP_SNAPSHOT_ID=2025-01-15T10-30-00Z"};
    EXPECT_EQ(fake_journal::items, want);
    EXPECT_EQ(sink.failures(), 0u);
    EXPECT_TRUE(fallback.records().empty());
}

TEST(JournalSink, RefusedRecordsGoToTheFallback) {
    fake_journal::result = -EAGAIN;
    tfsnap::core::memory_sink fallback;
    tfsnap::systemd::journal_sink sink("tfsnapd", &fallback, &fake_journal::send);
    const tfsnap::core::logger log(sink);
    log.warning("snapshot taken", {{"env", "myorg"}});

    EXPECT_EQ(sink.failures(), 1u);
    ASSERT_EQ(fallback.records().size(), 1u);
    EXPECT_EQ(fallback.records()[0].level, log_level::warning);
    EXPECT_EQ(fallback.records()[0].message, "snapshot taken");
    ASSERT_EQ(fallback.records()[0].fields.size(), 1u);
    EXPECT_EQ(fallback.records()[0].fields[0].key, "env");  // the fallback renders its own way

    // without a fallback the record is only counted
    tfsnap::systemd::journal_sink bare("tfsnapd", nullptr, &fake_journal::send);
    bare.write(log_level::info, "x", {});
    EXPECT_EQ(bare.failures(), 1u);
    fake_journal::result = 0;
}

bool journal_socket_exists() {
    return std::filesystem::exists("/run/systemd/journal/socket");
}

// The real transport. Without journald, libsystemd reports success and drops the record: why
// the daemon chooses this sink only when stderr_is_journal().
TEST(JournalSink, WithoutJournaldLibsystemdDropsRecordsSilently) {
    if (journal_socket_exists())
        GTEST_SKIP() << "this machine runs journald";
    tfsnap::core::memory_sink fallback;
    tfsnap::systemd::journal_sink sink("tfsnapd", &fallback);
    sink.write(log_level::info, "nobody hears this", std::vector<log_field>{{"event", "unit-test"}});
    EXPECT_EQ(sink.failures(), 0u);
    EXPECT_TRUE(fallback.records().empty());
}

TEST(JournalSink, WithJournaldRecordsAreAccepted) {
    if (!journal_socket_exists())
        GTEST_SKIP()
            << "no /run/systemd/journal/socket here; the items sent are tested with a fake transport";
    tfsnap::core::memory_sink fallback;
    tfsnap::systemd::journal_sink sink("tfsnapd-unit-test", &fallback);
    sink.write(log_level::debug, "tfsnap unit test record", std::vector<log_field>{{"event", "unit-test"}});
    EXPECT_EQ(sink.failures(), 0u);
    EXPECT_TRUE(fallback.records().empty());
}

TEST(JournalStream, Matching) {
    using tfsnap::systemd::journal_stream_matches;
    EXPECT_TRUE(journal_stream_matches("8:12345", 8, 12345));
    EXPECT_TRUE(journal_stream_matches("18446744073709551615:1", 18446744073709551615ull, 1));
    EXPECT_FALSE(journal_stream_matches("8:12345", 8, 12346));
    EXPECT_FALSE(journal_stream_matches("8:12345", 9, 12345));
    for (const char* bad : {"", ":", "8", "8:", ":12345", "8:12345:1", "x:1", "8:1x", "-8:1", " 8:1", "8 :1"})
        EXPECT_FALSE(journal_stream_matches(bad, 8, 1)) << '"' << bad << '"';
}

// Sets $JOURNAL_STREAM for a test, and puts the old value back.
class JournalStreamTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (const char* v = std::getenv("JOURNAL_STREAM"))
            old_ = v;
        char tmpl[] = "/tmp/tfsnap-js-XXXXXX";
        fd_ = ::mkstemp(tmpl);
        ASSERT_GE(fd_, 0) << std::strerror(errno);
        path_ = tmpl;
        struct stat st {};
        ASSERT_EQ(::fstat(fd_, &st), 0);
        stream_ = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    }
    void TearDown() override {
        if (old_)
            ::setenv("JOURNAL_STREAM", old_->c_str(), 1);
        else
            ::unsetenv("JOURNAL_STREAM");
        ::close(fd_);
        ::unlink(path_.c_str());
    }

    std::optional<std::string> old_;
    int fd_ = -1;
    std::string path_;
    std::string stream_;  // "<dev>:<ino>" of fd_
};

TEST_F(JournalStreamTest, DescriptorMatchesTheVariable) {
    ::setenv("JOURNAL_STREAM", stream_.c_str(), 1);
    EXPECT_TRUE(tfsnap::systemd::is_journal_stream(fd_));

    const int other = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(other, 0);
    EXPECT_FALSE(tfsnap::systemd::is_journal_stream(other));
    ::close(other);

    ::unsetenv("JOURNAL_STREAM");
    EXPECT_FALSE(tfsnap::systemd::is_journal_stream(fd_));
    ::setenv("JOURNAL_STREAM", "", 1);
    EXPECT_FALSE(tfsnap::systemd::is_journal_stream(fd_));
}

TEST_F(JournalStreamTest, StderrIsTheJournalOnlyWhenItIsThatStream) {
    ::setenv("JOURNAL_STREAM", stream_.c_str(), 1);
    // the test's own stderr is something else: inherited variable, redirected stderr
    EXPECT_FALSE(tfsnap::systemd::stderr_is_journal());

    // put the file at fd 2 for a moment (nothing is printed meanwhile)
    const int saved = ::fcntl(2, F_DUPFD_CLOEXEC, 10);
    ASSERT_GE(saved, 0);
    ASSERT_EQ(::dup2(fd_, 2), 2);
    const bool with_file = tfsnap::systemd::stderr_is_journal();
    ::unsetenv("JOURNAL_STREAM");
    const bool without_variable = tfsnap::systemd::stderr_is_journal();
    ::dup2(saved, 2);
    ::close(saved);

    EXPECT_TRUE(with_file);
    EXPECT_FALSE(without_variable);
}

}  // namespace
