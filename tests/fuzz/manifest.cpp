// manifest::read over a MANIFEST.json from the catalog (a file on disk anyone with write access
// to the catalog, or a restored backup, may have changed). Property: what reads writes back to
// bytes that read to the same manifest, and writing is stable.
#include "tfsnap/manifest/manifest.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::manifest;
    const read_result r = read(tfsnap::fuzz::as_text(data, size));
    if (r.ec) {
        FUZZ_CHECK(!r.detail.empty());
        FUZZ_CHECK(r.value == manifest{});
        return 0;
    }
    const std::string text = write(r.value);
    const read_result back = read(text);
    FUZZ_CHECK(!back.ec);
    FUZZ_CHECK(back.value == r.value);
    FUZZ_CHECK(write(back.value) == text);
    FUZZ_CHECK(is_valid_snapshot_id(r.value.snapshot_id));
    return 0;
}
