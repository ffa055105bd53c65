// tfstate::parse_lock_info over a lock someone else wrote (the DynamoDB item's Info, the body of
// <key>.tflock). Properties: what parses writes back (to_json) to JSON that parses to the same
// lock, and describe_holder stays one line of bounded size.
#include "tfsnap/tfstate/lock_info.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::tfstate;
    std::string why;
    const auto lock = parse_lock_info(tfsnap::fuzz::as_text(data, size), &why);
    if (!lock) {
        FUZZ_CHECK(!why.empty());
        return 0;
    }
    const std::string json = to_json(*lock);
    const auto back = parse_lock_info(json, &why);
    FUZZ_CHECK(back.has_value());
    lock_info expected = *lock;
    if (expected.created.empty())
        expected.created = "0001-01-01T00:00:00Z";
    FUZZ_CHECK(*back == expected);
    const std::string line = describe_holder(*lock);
    FUZZ_CHECK(line.find('\n') == std::string::npos);
    FUZZ_CHECK(line.size() < 2000);
    return 0;
}
