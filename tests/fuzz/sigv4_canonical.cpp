// SigV4 canonicalisation (sigv4/signer.hpp) of requests whose parts come from outside: object
// keys and version ids from listings, query values, header values from configuration. The
// input drives a request; the properties are those AWS's rules promise.
#include "tfsnap/sigv4/signer.hpp"

#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <optional>
#include <string>

namespace {

using namespace tfsnap::sigv4;

bool unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

int hex(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;  // upper case only: uri_encode writes upper-case hex
}

// Decodes what uri_encode wrote; nullopt when it holds anything but unreserved characters,
// '/' (when allowed) and %XX.
std::optional<std::string> decode(std::string_view s, bool slash_allowed) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
                return std::nullopt;
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else if (unreserved(s[i]) || (slash_allowed && s[i] == '/')) {
            out += s[i];
        } else {
            return std::nullopt;
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const bool s3 = in.ConsumeBool();
    request req;
    req.method = in.ConsumeRandomLengthString(16);
    const std::string key = in.ConsumeRandomLengthString(256);
    req.path = s3 ? "/" + uri_encode(key, false) : in.ConsumeRandomLengthString(256);
    const std::size_t params = in.ConsumeIntegralInRange<std::size_t>(0, 8);
    for (std::size_t i = 0; i < params; ++i)
        req.query.emplace_back(in.ConsumeRandomLengthString(32), in.ConsumeRandomLengthString(64));
    req.headers.emplace_back("host", in.ConsumeRandomLengthString(64));
    const std::size_t headers = in.ConsumeIntegralInRange<std::size_t>(0, 8);
    for (std::size_t i = 0; i < headers; ++i)
        req.headers.emplace_back(in.ConsumeRandomLengthString(32), in.ConsumeRandomLengthString(128));
    req.payload_hash = in.ConsumeBool() ? std::string(unsigned_payload) : std::string(64, 'a');

    // uri_encode: only unreserved characters and %XX, and it decodes back
    for (const bool slash : {false, true}) {
        const std::string enc = uri_encode(key, !slash);
        const auto dec = decode(enc, slash);
        FUZZ_CHECK(dec.has_value());
        FUZZ_CHECK(*dec == key);
    }
    // the canonical query is sorted, and does not depend on the parameters' order
    const std::string q = canonical_query_string(req.query);
    param_list reversed(req.query.rbegin(), req.query.rend());
    FUZZ_CHECK(canonical_query_string(reversed) == q);
    // S3 signs its path as it is on the wire
    if (s3)
        FUZZ_CHECK(canonical_uri(req.path, true) == req.path);
    const std::string uri = canonical_uri(req.path, false);
    FUZZ_CHECK(!uri.empty() && uri.front() == '/');
    FUZZ_CHECK(uri.find("//") == std::string::npos);

    signing_params p{"us-east-1", s3 ? "s3" : "service", std::chrono::system_clock::time_point{}};
    p.s3 = s3;
    p.add_content_sha256 = s3;
    const std::string creq = canonical_request(req, p);
    FUZZ_CHECK(creq.rfind(req.method + "\n", 0) == 0);
    FUZZ_CHECK(creq.ends_with("\n" + req.payload_hash));
    const credentials creds{"AKIDEXAMPLE", tfsnap::core::secret("secret"), tfsnap::core::secret("")};
    signer sign;
    try {
        const param_list added = sign.sign_headers(req, creds, p);
        FUZZ_CHECK(!added.empty() && added.back().first == "authorization");
        const auto signed_names = signed_header_names([&] {
            param_list all = req.headers;
            all.insert(all.end(), added.begin(), added.end() - 1);
            return all;
        }());
        if (added.back().second.find("SignedHeaders=" + signed_names + ",") == std::string::npos)
            std::fprintf(stderr, "authorization: %s\nsigned_header_names: %s\n", added.back().second.c_str(),
                         signed_names.c_str());
        FUZZ_CHECK(added.back().second.find("SignedHeaders=" + signed_names + ",") != std::string::npos);
    } catch (const boost::system::system_error&) {
        // a request the signer refuses (a header it adds is already there): a clear error
    }
    return 0;
}
