// What the credential services answer (aws/responses.hpp): IMDS and container (ECS) JSON, their
// error documents, and STS's XML (AssumeRole, AssumeRoleWithWebIdentity, ErrorResponse). The
// first byte picks the parser, the rest is the body. Property: a success always carries an
// access key and a secret.
#include "tfsnap/aws/responses.hpp"

#include "fuzz_check.hpp"

namespace {

void check(const tfsnap::aws::parsed_credentials& r) {
    if (r.ok()) {
        FUZZ_CHECK(!r.creds.access_key_id.empty());
        FUZZ_CHECK(!r.creds.secret_access_key.empty());
    } else {
        FUZZ_CHECK(!r.error.message.empty());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::aws;
    if (size == 0)
        return 0;
    const std::string_view body = tfsnap::fuzz::as_text(data + 1, size - 1);
    switch (data[0] % 6) {
        case 0:
            check(parse_container_credentials(body, container_kind::imds));
            break;
        case 1:
            check(parse_container_credentials(body, container_kind::ecs));
            break;
        case 2:
            (void)parse_container_error(body);
            break;
        case 3:
            check(parse_sts_credentials(body, "AssumeRole"));
            break;
        case 4:
            check(parse_sts_credentials(body, "AssumeRoleWithWebIdentity"));
            break;
        default:
            if (const auto e = parse_sts_error(body))
                FUZZ_CHECK(!e->code.empty());
            if (const auto t = parse_iso8601(body))
                (void)format_iso8601(*t);
            break;
    }
    return 0;
}
