// tfstate::inspect over the bytes of a state object version (from S3, or a local file): the
// classification and summary a backup records. Any bytes must give an answer, never a crash.
#include "tfsnap/tfstate/summary.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::tfstate;
    const inspection got = inspect(tfsnap::fuzz::as_text(data, size));
    FUZZ_CHECK(!got.summarised() || got.summary.version == 4);
    FUZZ_CHECK(got.kind == state_kind::encrypted || got.encryption_version.empty());
    FUZZ_CHECK(got.ok() || !got.message.empty());
    FUZZ_CHECK(got.summary.instances == 0 || got.summarised());
    return 0;
}
