// tfstate::set_serial (a restore that rolls the serial forward) over any bytes. Properties: on
// success only the serial's digits change, the result reads back with the new serial, and the
// old serial is the one locate_serial found.
#include "tfsnap/tfstate/rewrite.hpp"

#include "fuzz_check.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::tfstate;
    const std::string_view in = tfsnap::fuzz::as_text(data, size);
    const serial_location at = locate_serial(in);
    const std::uint64_t serial = size * 2654435761ULL;  // any value, varied with the input
    const rewrite_result r = set_serial(in, serial);
    FUZZ_CHECK(r.ok() == at.ok());
    if (!r.ok()) {
        FUZZ_CHECK(r.bytes.empty());
        FUZZ_CHECK(!r.message.empty());
        return 0;
    }
    FUZZ_CHECK(r.old_serial == at.value);
    FUZZ_CHECK(at.offset + at.length <= in.size());
    const std::string digits = std::to_string(serial);
    FUZZ_CHECK(r.bytes.size() == in.size() - at.length + digits.size());
    FUZZ_CHECK(std::string_view(r.bytes).substr(0, at.offset) == in.substr(0, at.offset));
    FUZZ_CHECK(std::string_view(r.bytes).substr(at.offset, digits.size()) == digits);
    FUZZ_CHECK(std::string_view(r.bytes).substr(at.offset + digits.size()) ==
               in.substr(at.offset + at.length));
    FUZZ_CHECK(top_level_serial(r.bytes) == serial);
    return 0;
}
