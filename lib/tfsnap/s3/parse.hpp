#pragma once
// Parsers for S3's XML documents and date formats. Pure; the input is untrusted, so every
// function returns nullopt rather than failing on malformed input.

#include "tfsnap/s3/types.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::s3 {

struct error_document {
    std::string code;
    std::string message;
    std::string request_id;
    std::string resource;
};
// <Error><Code>..</Code><Message>..</Message><RequestId>..</RequestId></Error>
std::optional<error_document> parse_error(std::string_view xml);

struct version_page {
    std::vector<version_entry> entries;  // in document order (by key, newest first)
    bool truncated = false;
    std::string next_key_marker;
    std::string next_version_id_marker;
};
std::optional<version_page> parse_list_versions(std::string_view xml);

std::optional<versioning_status> parse_versioning(std::string_view xml);
std::optional<std::vector<lifecycle_rule>> parse_lifecycle(std::string_view xml);

struct copy_document {
    std::string etag;  // quoted (radosgw sends it unquoted; it is normalised)
};
// nullopt also when the 200 response holds an <Error> (CopyObject can fail after its 200).
std::optional<copy_document> parse_copy_result(std::string_view xml);

// "Sun, 22 Nov 2026 02:11:50 GMT"
std::optional<time_point> parse_http_date(std::string_view text);
// "2026-11-22T02:11:50.903Z" or "2026-11-22T02:11:50Z" (or "+00:00")
std::optional<time_point> parse_iso8601(std::string_view text);

// `"abc"` for abc, unchanged when already quoted.
std::string quote_etag(std::string_view etag);

}  // namespace tfsnap::s3
