// The parsers of S3's XML answers (s3/parse.hpp) and of its date headers: whatever the endpoint
// (or something between) sends. The first byte picks the parser, the rest is the document.
#include "tfsnap/s3/parse.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::s3;
    if (size == 0)
        return 0;
    const std::string_view doc = tfsnap::fuzz::as_text(data + 1, size - 1);
    switch (data[0] % 7) {
        case 0:
            if (const auto e = parse_error(doc))
                FUZZ_CHECK(!e->code.empty());
            break;
        case 1:
            if (const auto p = parse_list_versions(doc)) {
                // a truncated page always says where the next one starts
                FUZZ_CHECK(!p->truncated || !p->next_key_marker.empty());
                for (const auto& v : p->entries) {
                    FUZZ_CHECK(!v.key.empty() && !v.version_id.empty());
                    FUZZ_CHECK(v.delete_marker || (v.etag.size() >= 2 && v.etag.front() == '"'));
                }
            }
            break;
        case 2:
            (void)parse_versioning(doc);
            break;
        case 3:
            (void)parse_lifecycle(doc);
            break;
        case 4:
            if (const auto c = parse_copy_result(doc))
                FUZZ_CHECK(c->etag.size() >= 2 && c->etag.front() == '"' && c->etag.back() == '"');
            break;
        case 5:
            (void)parse_http_date(doc);
            (void)parse_iso8601(doc);
            break;
        default: {
            const std::string q = quote_etag(doc);
            FUZZ_CHECK(quote_etag(q) == q);
            break;
        }
    }
    return 0;
}
