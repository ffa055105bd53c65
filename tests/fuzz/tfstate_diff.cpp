// tfstate::diff of two states (a restore plan: the current version against the target), both
// from S3. The input is split in two at the first NUL byte (none: the second state is empty).
// Properties: a state diffed with itself has no change; swapping the sides swaps added and
// removed.
#include "tfsnap/tfstate/diff.hpp"

#include "fuzz_check.hpp"

#include <algorithm>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::tfstate;
    const std::string_view in = tfsnap::fuzz::as_text(data, size);
    const auto nul = in.find('\0');
    const std::string_view before = in.substr(0, nul);
    const std::string_view after = nul == std::string_view::npos ? std::string_view{} : in.substr(nul + 1);

    const diff_result d = diff(before, after);
    FUZZ_CHECK(d.ok() || !d.message.empty());
    if (d.ok()) {
        FUZZ_CHECK(std::is_sorted(d.diff.resources.begin(), d.diff.resources.end(),
                                  [](const auto& a, const auto& b) { return a.address < b.address; }));
        const diff_result back = diff(after, before);
        FUZZ_CHECK(back.ok());
        FUZZ_CHECK(back.diff.resources.size() == d.diff.resources.size());
        FUZZ_CHECK(back.diff.outputs.size() == d.diff.outputs.size());
        for (std::size_t i = 0; i < d.diff.resources.size(); ++i) {
            const auto k = d.diff.resources[i].kind;
            const auto r = back.diff.resources[i].kind;
            FUZZ_CHECK(k == change_kind::changed ? r == change_kind::changed
                                                 : r != k && r != change_kind::changed);
        }
    }
    const diff_result same = diff(before, before);
    if (same.ok()) {
        FUZZ_CHECK(same.diff.resources.empty());
        FUZZ_CHECK(same.diff.outputs.empty());
        FUZZ_CHECK(same.diff.same_content());
    }
    return 0;
}
