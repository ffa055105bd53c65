#include "tfsnap/sigv4/detail/canonical.hpp"
#include "tfsnap/core/error.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <array>
#include <vector>

namespace tfsnap::sigv4 {

namespace {

constexpr char hex_upper[] = "0123456789ABCDEF";

constexpr bool is_unreserved(unsigned char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

constexpr std::array<bool, 256> make_unreserved_table() {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c)
        t[static_cast<std::size_t>(c)] = is_unreserved(static_cast<unsigned char>(c));
    return t;
}
constexpr auto unreserved = make_unreserved_table();

// Appends runs of characters that stay as they are in one go; this is on every signature's path.
void append_uri_encoded(std::string& out, std::string_view s, bool encode_slash) {
    auto keep = [encode_slash](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return unreserved[c] || (c == '/' && !encode_slash);
    };
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t j = i;
        while (j < s.size() && keep(s[j]))
            ++j;
        out.append(s.data() + i, j - i);
        if (j == s.size())
            break;
        const auto c = static_cast<unsigned char>(s[j]);
        const char escaped[3] = {'%', hex_upper[c >> 4], hex_upper[c & 0x0f]};
        out.append(escaped, 3);
        i = j + 1;
    }
}

constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// Trim, and turn every inner run of whitespace into one space (AWS: "Trimall"); the suite's
// get-header-value-trim case shows this applies inside quoted strings too.
void append_trimmed(std::string& out, std::string_view v) {
    bool first = true;
    std::size_t i = 0;
    while (true) {
        while (i < v.size() && is_space(v[i]))
            ++i;
        if (i == v.size())
            return;
        std::size_t j = i;
        while (j < v.size() && !is_space(v[j]))
            ++j;
        if (!first)
            out += ' ';
        out.append(v.data() + i, j - i);
        first = false;
        i = j;
    }
}

std::string lower(std::string_view s) {
    std::string out(s.size(), '\0');
    std::transform(s.begin(), s.end(), out.begin(), ascii_lower);
    return out;
}

}  // namespace

namespace detail {

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

void throw_invalid_argument(const char* what) {
    throw boost::system::system_error(make_error_code(core::errc::invalid_argument), what);
}

canonical_headers canonicalize_headers(std::span<const param> a, std::span<const param> b) {
    struct entry {
        std::string name;
        std::string_view value;
    };
    std::vector<entry> entries;
    entries.reserve(a.size() + b.size());
    for (const auto& h : a)
        entries.push_back({lower(h.first), h.second});
    for (const auto& h : b)
        entries.push_back({lower(h.first), h.second});
    // stable: values of a repeated name are joined in the order the caller gave them
    std::stable_sort(entries.begin(), entries.end(),
                     [](const entry& x, const entry& y) { return x.name < y.name; });

    canonical_headers out;
    std::size_t size = 0;
    for (const auto& e : entries)
        size += e.name.size() + e.value.size() + 2;
    out.block.reserve(size);
    out.signed_names.reserve(size);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i > 0 && entries[i].name == entries[i - 1].name) {
            out.block += ',';
        } else {
            if (i > 0) {
                out.block += '\n';
                out.signed_names += ';';
            }
            out.block += entries[i].name;
            out.block += ':';
            out.signed_names += entries[i].name;
        }
        append_trimmed(out.block, entries[i].value);
    }
    if (!entries.empty())
        out.block += '\n';
    return out;
}

std::string canonical_query(std::span<const param> a, std::span<const param> b) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(a.size() + b.size());
    std::size_t size = 0;
    for (const auto* list : {&a, &b}) {
        for (const auto& [name, value] : *list) {
            encoded.emplace_back(uri_encode(name, true), uri_encode(value, true));
            size += encoded.back().first.size() + encoded.back().second.size() + 2;
        }
    }
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    out.reserve(size);
    for (const auto& [name, value] : encoded) {
        if (!out.empty())
            out += '&';
        out += name;
        out += '=';
        out += value;
    }
    return out;
}

std::string build_canonical_request(std::string_view method, std::string_view path, std::string_view query,
                                    const canonical_headers& headers, std::string_view payload_hash,
                                    bool s3) {
    const std::string uri = canonical_uri(path, s3);
    std::string out;
    out.reserve(method.size() + uri.size() + query.size() + headers.block.size() +
                headers.signed_names.size() + payload_hash.size() + 5);
    out += method;
    out += '\n';
    out += uri;
    out += '\n';
    out += query;
    out += '\n';
    out += headers.block;
    out += '\n';
    out += headers.signed_names;
    out += '\n';
    out += payload_hash;
    return out;
}

}  // namespace detail

std::string uri_encode(std::string_view s, bool encode_slash) {
    std::string out;
    out.reserve(s.size() + s.size() / 2);
    append_uri_encoded(out, s, encode_slash);
    return out;
}

std::string canonical_uri(std::string_view path, bool s3) {
    if (path.empty())
        return "/";
    if (s3)
        return std::string(path);

    // RFC 3986 section 5.2.4 dot-segment removal, with empty segments ("//") dropped as well.
    // A path ending in "/", "/." or "/.." names a directory and keeps its trailing slash.
    std::vector<std::string_view> segments;
    bool trailing_slash = false;
    std::size_t start = path.front() == '/' ? 1 : 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        const std::string_view segment = path.substr(start, end - start);
        if (segment.empty() || segment == ".") {
            trailing_slash = true;
        } else if (segment == "..") {
            if (!segments.empty())
                segments.pop_back();
            trailing_slash = true;
        } else {
            segments.push_back(segment);
            trailing_slash = false;
        }
        start = end + 1;
    }

    std::string out;
    out.reserve(path.size() * 2 + 1);
    for (const auto segment : segments) {
        out += '/';
        append_uri_encoded(out, segment, true);
    }
    if (segments.empty() || trailing_slash)
        out += '/';
    return out;
}

std::string canonical_query_string(const param_list& query) {
    return detail::canonical_query(query, {});
}

std::string signed_header_names(const param_list& headers) {
    std::vector<std::string> names;
    names.reserve(headers.size());
    for (const auto& h : headers)
        names.push_back(lower(h.first));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        // by position, not by what was written: an empty name still takes its place, as in
        // canonicalize_headers (the signer's own list)
        if (i > 0)
            out += ';';
        out += names[i];
    }
    return out;
}

std::string canonical_request(const request& req, const signing_params& p) {
    return detail::build_canonical_request(req.method, req.path, canonical_query_string(req.query),
                                           detail::canonicalize_headers(req.headers, {}), req.payload_hash,
                                           p.s3);
}

}  // namespace tfsnap::sigv4
