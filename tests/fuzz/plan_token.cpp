// restore::verify_token over the token a restore request carries (POST .../restores {"token"}):
// anyone who can reach the control socket chooses these bytes. The key is fixed, so the fuzzer
// can only reach the payload through the MAC by replaying tokens issued below; the second half
// of the input drives issue_token's claims, whose round trip must be exact.
#include "tfsnap/restore/plan_token.hpp"

#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <array>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::restore;
    static const std::array<std::byte, 32> key = [] {
        std::array<std::byte, 32> k{};
        for (std::size_t i = 0; i < k.size(); ++i)
            k[i] = static_cast<std::byte>(i * 7 + 1);
        return k;
    }();
    const std::chrono::sys_seconds now{std::chrono::seconds{1'800'000'000}};

    FuzzedDataProvider in(data, size);
    const std::string token = in.ConsumeRandomLengthString(4096);
    const token_result r = verify_token(token, key, now);
    FUZZ_CHECK(r.ok() || !r.message.empty());

    plan_claims c;
    c.environment = in.ConsumeRandomLengthString(64);
    c.action = in.ConsumeBool() ? "restore" : "undelete";
    c.target_version = in.ConsumeRandomLengthString(128);
    c.current_version = in.ConsumeRandomLengthString(128);
    c.current_etag = in.ConsumeRandomLengthString(64);
    c.mode = in.ConsumeBool() ? "state-only" : "full";
    c.force_lineage = in.ConsumeBool();
    c.roll_forward_serial = in.ConsumeBool();
    c.requested_by = in.ConsumeRandomLengthString(64);
    c.expires_at = now.time_since_epoch().count() + in.ConsumeIntegralInRange<std::int64_t>(1, 900);
    const std::string issued = issue_token(c, key);
    const token_result back = verify_token(issued, key, now);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(back.claims == c);
    FUZZ_CHECK(!claims_mismatch(back.claims, c));
    return 0;
}
