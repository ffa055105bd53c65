// A 100 MB state summarised through the streaming (SAX) path, with peak RSS growth measured:
// resetting the high-water mark (writing "5" to /proc/self/clear_refs) sets VmHWM to the
// current RSS, so VmHWM afterwards minus VmHWM before is the growth the summary caused.
#include "tfsnap/tfstate/summary.hpp"

#include "test_util.hpp"

#include <fstream>

namespace tfsnap::tfstate {
namespace {

using test::read_json;
using test::states_dir;

// In KiB; -1 if unavailable.
long status_kib(const char* field) {
    std::ifstream in{"/proc/self/status"};
    std::string line;
    const std::string prefix = std::string{field} + ":";
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0) {
            return std::stol(line.substr(prefix.size()));
        }
    }
    return -1;
}

bool reset_peak_rss() {
    std::ofstream out{"/proc/self/clear_refs"};
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

TEST(Large, HundredMegabytesStreamedWithSmallPeakMemory) {
    const auto path = states_dir() / "large.tfstate";
    ASSERT_GE(std::filesystem::file_size(path), 100U * 1000 * 1000);
    const auto want = read_json(states_dir() / "large.summary.json");

    if (!reset_peak_rss()) {
        GTEST_SKIP() << "cannot reset the peak RSS through /proc/self/clear_refs";
    }
    const long before = status_kib("VmHWM");
    const auto got = inspect_file(path);
    const long after = status_kib("VmHWM");
    ASSERT_GE(before, 0);

    ASSERT_TRUE(got.summarised()) << got.message;
    EXPECT_EQ(got.summary.managed_resources, want["managed_resources"].GetUint64());
    EXPECT_EQ(got.summary.data_resources, want["data_resources"].GetUint64());
    EXPECT_EQ(got.summary.instances, want["instances"].GetUint64());
    EXPECT_EQ(got.summary.modules, want["modules"].GetUint64());
    EXPECT_EQ(got.summary.serial, want["serial"].GetUint64());
    EXPECT_EQ(got.summary.outputs, test::strings(want["outputs"]));

    const long growth_kib = after - before;
    RecordProperty("file_bytes", std::to_string(std::filesystem::file_size(path)));
    RecordProperty("peak_rss_growth_kib", std::to_string(growth_kib));
    std::cout << "peak RSS growth summarising " << std::filesystem::file_size(path)
              << " bytes: " << growth_kib << " KiB\n";
    EXPECT_LT(growth_kib, 32L * 1024);
}

}  // namespace
}  // namespace tfsnap::tfstate
