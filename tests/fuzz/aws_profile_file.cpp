// The shared AWS config and credentials files (~/.aws/config, ~/.aws/credentials) and a systemd
// credential in that format: files the administrator, or whoever can write them, provides. The
// first byte picks the kind. Properties: secrets never land among plain settings, and every key
// has an origin.
#include "tfsnap/aws/profile_file.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::aws;
    if (size == 0)
        return 0;
    const auto kind = static_cast<profile_file_kind>(data[0] % 3);
    const parsed_profile_file r = parse_profile_file(tfsnap::fuzz::as_text(data + 1, size - 1), kind, "file");
    FUZZ_CHECK(r.ok() || !r.error.message.empty());
    for (const auto& [name, p] : r.profiles) {
        for (const auto& [key, value] : p.settings) {
            FUZZ_CHECK(!is_secret_key(key));
            FUZZ_CHECK(p.origins.contains(key));
        }
        for (const auto& [key, value] : p.secrets)
            FUZZ_CHECK(p.origins.contains(key));
    }
    return 0;
}
