// config::load_string over tfsnapd's YAML configuration (read at start and on every reload).
// Property: a result has a config or diagnostics, never both, and every diagnostic has a
// message and a position in the file (or none at all).
#include "tfsnap/config/load.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::config;
    const load_result r = load_string(tfsnap::fuzz::as_text(data, size), "tfsnapd.yaml");
    FUZZ_CHECK(r.ok() != !r.diagnostics.empty());
    for (const auto& d : r.diagnostics) {
        FUZZ_CHECK(!d.message.empty());
        FUZZ_CHECK(d.file == "tfsnapd.yaml");
        FUZZ_CHECK(d.line >= 0 && d.column >= 0);
    }
    return 0;
}
