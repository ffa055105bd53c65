#include "tfsnap/http/body.hpp"

#include "tfsnap/http/error.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

using namespace tfsnap::http;
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(HttpBody, StringSinkEnforcesItsLimit) {
    string_sink s(5);
    ASSERT_FALSE(s.begin());
    EXPECT_FALSE(s.write("abc"));
    EXPECT_FALSE(s.write("de"));
    EXPECT_EQ(s.write("f"), errc::body_too_large);
    EXPECT_EQ(s.data(), "abcde");
    ASSERT_FALSE(s.begin());  // a retry starts afresh
    EXPECT_EQ(s.data(), "");
}

TEST(HttpBody, FileSinkWritesPrivateFileAndRestartsOnBegin) {
    const fs::path dir = fs::temp_directory_path() / ("tfsnap-body-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto path = dir / "state";
    {
        file_sink f(path.string(), true);
        ASSERT_FALSE(f.begin());
        ASSERT_FALSE(f.write("first attempt, cut short"));
        ASSERT_FALSE(f.begin());
        ASSERT_FALSE(f.write("hello "));
        ASSERT_FALSE(f.write("world"));
        ASSERT_FALSE(f.finish());
        EXPECT_EQ(f.bytes_written(), 11u);
    }
    EXPECT_EQ(read_file(path), "hello world");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    fs::remove_all(dir);
}

TEST(HttpBody, FileSinkReportsAnUnwritableDirectory) {
    file_sink f("/nonexistent-dir/x");
    const auto ec = f.begin();
    EXPECT_EQ(ec, boost::system::errc::no_such_file_or_directory);
}

TEST(HttpBody, HashingSinkComputesDigestsOfWhatPassesThrough) {
    string_sink inner;
    hashing_sink h(inner);
    ASSERT_FALSE(h.begin());
    ASSERT_FALSE(h.write("garbage from a failed attempt"));
    ASSERT_FALSE(h.begin());
    ASSERT_FALSE(h.write("a"));
    ASSERT_FALSE(h.write("bc"));
    ASSERT_FALSE(h.finish());
    EXPECT_EQ(inner.data(), "abc");
    EXPECT_EQ(h.size(), 3u);
    EXPECT_EQ(h.md5_hex(), "900150983cd24fb0d6963f7d28e17f72");
    EXPECT_EQ(h.sha256_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
