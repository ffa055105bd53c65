// catalog::parse_index over an environment's INDEX.json (a file on disk; rebuilt from the
// manifests when it does not parse). Property: what parses serialises back to an index that
// parses to the same entries.
#include "tfsnap/catalog/catalog.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using tfsnap::catalog::catalog;
    std::vector<tfsnap::catalog::index_entry> entries;
    if (!catalog::parse_index(tfsnap::fuzz::as_text(data, size), entries))
        return 0;
    const std::string text = catalog::serialize_index("env", entries);
    std::vector<tfsnap::catalog::index_entry> back;
    FUZZ_CHECK(catalog::parse_index(text, back));
    FUZZ_CHECK(back == entries);
    return 0;
}
