#include "tfsnap/s3/parse.hpp"

#include <date/date.h>
#include <pugixml.hpp>

#include <charconv>
#include <sstream>

namespace tfsnap::s3 {

namespace {

bool load(pugi::xml_document& doc, std::string_view xml) {
    return doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
}

std::string text(const pugi::xml_node& n, const char* child) {
    return n.child(child).text().as_string();
}

std::optional<int> int_child(const pugi::xml_node& n, const char* child) {
    const auto c = n.child(child);
    if (!c)
        return std::nullopt;
    const std::string_view t = c.text().as_string();
    int v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc{} || end != t.data() + t.size() || v < 0)
        return std::nullopt;
    return v;
}

std::optional<std::uint64_t> u64(std::string_view t) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc{} || end != t.data() + t.size())
        return std::nullopt;
    return v;
}

}  // namespace

std::optional<error_document> parse_error(std::string_view xml) {
    pugi::xml_document doc;
    if (!load(doc, xml))
        return std::nullopt;
    const auto e = doc.child("Error");
    if (!e)
        return std::nullopt;
    error_document d{text(e, "Code"), text(e, "Message"), text(e, "RequestId"), text(e, "Resource")};
    if (d.code.empty())
        return std::nullopt;
    return d;
}

std::optional<version_page> parse_list_versions(std::string_view xml) {
    pugi::xml_document doc;
    if (!load(doc, xml))
        return std::nullopt;
    const auto root = doc.child("ListVersionsResult");
    if (!root)
        return std::nullopt;
    version_page page;
    page.truncated = std::string_view(root.child("IsTruncated").text().as_string()) == "true";
    page.next_key_marker = text(root, "NextKeyMarker");
    page.next_version_id_marker = text(root, "NextVersionIdMarker");
    for (const auto& n : root.children()) {
        const std::string_view name = n.name();
        if (name != "Version" && name != "DeleteMarker")
            continue;
        version_entry v;
        v.delete_marker = name == "DeleteMarker";
        v.key = text(n, "Key");
        v.version_id = text(n, "VersionId");
        v.is_latest = std::string_view(n.child("IsLatest").text().as_string()) == "true";
        const auto lm = parse_iso8601(text(n, "LastModified"));
        if (v.key.empty() || v.version_id.empty() || !lm)
            return std::nullopt;
        v.last_modified = *lm;
        if (!v.delete_marker) {
            v.etag = quote_etag(text(n, "ETag"));
            const auto size = u64(text(n, "Size"));
            if (!size)
                return std::nullopt;
            v.size = *size;
        }
        page.entries.push_back(std::move(v));
    }
    if (page.truncated && page.next_key_marker.empty())
        return std::nullopt;  // a loop would never end
    return page;
}

std::optional<versioning_status> parse_versioning(std::string_view xml) {
    pugi::xml_document doc;
    if (!load(doc, xml))
        return std::nullopt;
    const auto root = doc.child("VersioningConfiguration");
    if (!root)
        return std::nullopt;
    const std::string_view status = root.child("Status").text().as_string();
    if (status.empty())
        return versioning_status::never_enabled;
    if (status == "Enabled")
        return versioning_status::enabled;
    if (status == "Suspended")
        return versioning_status::suspended;
    return std::nullopt;
}

std::optional<std::vector<lifecycle_rule>> parse_lifecycle(std::string_view xml) {
    pugi::xml_document doc;
    if (!load(doc, xml))
        return std::nullopt;
    const auto root = doc.child("LifecycleConfiguration");
    if (!root)
        return std::nullopt;
    std::vector<lifecycle_rule> rules;
    for (const auto& r : root.children("Rule")) {
        lifecycle_rule rule;
        rule.id = text(r, "ID");
        rule.enabled = std::string_view(r.child("Status").text().as_string()) == "Enabled";
        if (const auto f = r.child("Filter")) {
            rule.prefix = f.child("Prefix") ? text(f, "Prefix") : text(f.child("And"), "Prefix");
            rule.has_tag_filter = f.child("Tag") || f.child("And").child("Tag");
        } else {
            rule.prefix = text(r, "Prefix");
        }
        if (const auto e = r.child("Expiration")) {
            rule.expiration_days = int_child(e, "Days");
            if (e.child("Date"))
                rule.expiration_date = parse_iso8601(text(e, "Date"));
            rule.expired_object_delete_marker =
                std::string_view(e.child("ExpiredObjectDeleteMarker").text().as_string()) == "true";
        }
        if (const auto nc = r.child("NoncurrentVersionExpiration")) {
            rule.noncurrent_days = int_child(nc, "NoncurrentDays");
            rule.newer_noncurrent_versions = int_child(nc, "NewerNoncurrentVersions");
        }
        rules.push_back(std::move(rule));
    }
    return rules;
}

std::optional<copy_document> parse_copy_result(std::string_view xml) {
    pugi::xml_document doc;
    if (!load(doc, xml))
        return std::nullopt;
    const auto root = doc.child("CopyObjectResult");
    if (!root)
        return std::nullopt;
    const std::string etag = text(root, "ETag");
    if (etag.empty())
        return std::nullopt;
    return copy_document{quote_etag(etag)};
}

// time_point counts nanoseconds in 64 bits (years 1678 to 2262): a date outside that range is
// refused, not converted with a signed overflow.
namespace {

template <class Duration>
bool representable(date::sys_time<Duration> tp) {
    constexpr auto lo = std::chrono::duration_cast<Duration>(time_point::min().time_since_epoch());
    constexpr auto hi = std::chrono::duration_cast<Duration>(time_point::max().time_since_epoch());
    return tp.time_since_epoch() > lo && tp.time_since_epoch() < hi;
}

}  // namespace

std::optional<time_point> parse_http_date(std::string_view text) {
    std::istringstream in{std::string(text)};
    date::sys_seconds tp;
    in >> date::parse("%a, %d %b %Y %H:%M:%S GMT", tp);
    if (in.fail() || !representable(tp))
        return std::nullopt;
    return time_point(tp);
}

std::optional<time_point> parse_iso8601(std::string_view text) {
    std::string s(text);
    if (s.ends_with("+00:00"))
        s.replace(s.size() - 6, 6, "Z");
    if (!s.ends_with("Z"))
        return std::nullopt;
    std::istringstream in{s};
    date::sys_time<std::chrono::milliseconds> tp;
    in >> date::parse("%FT%TZ", tp);
    if (in.fail() || !representable(tp))
        return std::nullopt;
    return std::chrono::time_point_cast<time_point::duration>(tp);
}

std::string quote_etag(std::string_view etag) {
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
        return std::string(etag);
    return "\"" + std::string(etag) + "\"";
}

}  // namespace tfsnap::s3
