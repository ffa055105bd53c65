// AWS's SigV4 test suite (the v4 folder of the suite aws-c-auth ships), one test per case folder.
//
// Each folder holds the unsigned request (request.txt), the signing context (context.json) and,
// for both ways of signing (Authorization header and presigned query), the expected canonical
// request, string to sign, signature and signed request. The suite lives outside the
// repository; TFSNAP_SIGV4_SUITE names another copy.

#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace tfsnap;
using sigv4::param_list;

// Parameter values that stand for "no case folders", so that they still yield one test.
const std::string suite_missing = "<missing>";
const std::string suite_empty = "<empty>";

fs::path suite_dir() {
    if (const char* env = std::getenv("TFSNAP_SIGV4_SUITE"); env != nullptr && *env != '\0')
        return env;
    // from the source tree, so the result does not depend on ctest's working directory
    return fs::path(TFSNAP_SOURCE_DIR) / ".." / "shared" / "testdata" / "aws-signing-test-suite" / "v4";
}

std::vector<std::string> suite_cases() {
    const fs::path dir = suite_dir();
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return {suite_missing};
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_directory(ec) && fs::exists(entry.path() / "request.txt", ec))
            names.push_back(entry.path().filename().string());
    }
    if (names.empty())
        return {suite_empty};
    std::sort(names.begin(), names.end());
    return names;
}

std::string test_name(const testing::TestParamInfo<std::string>& info) {
    if (info.param == suite_missing)
        return "SuiteNotFound";
    if (info.param == suite_empty)
        return "SuiteEmpty";
    std::string name = info.param;
    for (char& c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!ok)
            c = '_';
    }
    return name;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        ADD_FAILURE() << "cannot read " << path;
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string percent_decode(std::string_view s) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

param_list parse_query(std::string_view q) {
    param_list out;
    while (!q.empty()) {
        const std::size_t amp = q.find('&');
        const std::string_view pair = q.substr(0, amp);
        const std::size_t eq = pair.find('=');
        if (!pair.empty()) {
            out.emplace_back(percent_decode(pair.substr(0, eq)), eq == std::string_view::npos
                                                                     ? std::string()
                                                                     : percent_decode(pair.substr(eq + 1)));
        }
        q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    }
    return out;
}

struct http_message {
    std::string method;
    std::string path;  // as written, which the suite treats as the path on the wire
    param_list query;
    param_list headers;
    std::string body;
};

// "METHOD target HTTP/1.1", then "Name:value" lines, a blank line and the body. The target may
// hold a space (get-space-*), so it ends at the last " HTTP/". A line that starts with
// whitespace continues the previous header; it is kept as one more value of that header.
http_message parse_http(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (true) {
        const std::size_t nl = text.find('\n', start);
        std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        lines.push_back(std::move(line));
        if (nl == std::string::npos)
            break;
        start = nl + 1;
    }

    http_message m;
    const std::string& first = lines.front();
    const std::size_t sp = first.find(' ');
    const std::size_t version = first.rfind(" HTTP/");
    m.method = first.substr(0, sp);
    const std::string target = first.substr(sp + 1, version - sp - 1);
    const std::size_t qmark = target.find('?');
    m.path = target.substr(0, qmark);
    if (qmark != std::string::npos)
        m.query = parse_query(std::string_view(target).substr(qmark + 1));

    std::size_t i = 1;
    for (; i < lines.size() && !lines[i].empty(); ++i) {
        const std::string& line = lines[i];
        if ((line.front() == ' ' || line.front() == '\t') && !m.headers.empty()) {
            m.headers.emplace_back(m.headers.back().first, line);
            continue;
        }
        const std::size_t colon = line.find(':');
        m.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    }
    for (std::size_t j = i + 1; j < lines.size(); ++j) {
        if (j > i + 1)
            m.body += '\n';
        m.body += lines[j];
    }
    return m;
}

std::optional<std::string> find_header(const param_list& headers, std::string_view name) {
    for (const auto& [n, v] : headers) {
        const bool same = std::equal(n.begin(), n.end(), name.begin(), name.end(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        });
        if (same)
            return v;
    }
    return std::nullopt;
}

struct context {
    std::string access_key_id;
    std::string secret_access_key;
    std::string token;
    std::string region;
    std::string service;
    std::chrono::system_clock::time_point time;
    bool normalize = true;
    bool sign_body = false;
    bool omit_session_token = false;
    std::chrono::seconds expires{0};
};

std::chrono::system_clock::time_point parse_timestamp(const std::string& text) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    EXPECT_EQ(std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &s), 6) << text;
    using namespace std::chrono;
    return sys_days{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}} + hours{h} +
           minutes{mi} + seconds{s};
}

context load_context(const fs::path& path) {
    const std::string text = read_file(path);
    rapidjson::Document doc;
    doc.Parse(text.c_str(), text.size());
    context c;
    if (doc.HasParseError() || !doc.IsObject()) {
        ADD_FAILURE() << "invalid JSON in " << path;
        return c;
    }
    auto str = [](const rapidjson::Value& obj, const char* key) {
        const auto it = obj.FindMember(key);
        return it != obj.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString())
                                                             : std::string();
    };
    auto flag = [](const rapidjson::Value& obj, const char* key, bool fallback) {
        const auto it = obj.FindMember(key);
        return it != obj.MemberEnd() && it->value.IsBool() ? it->value.GetBool() : fallback;
    };
    if (const auto creds = doc.FindMember("credentials");
        creds != doc.MemberEnd() && creds->value.IsObject()) {
        c.access_key_id = str(creds->value, "access_key_id");
        c.secret_access_key = str(creds->value, "secret_access_key");
        c.token = str(creds->value, "token");
    }
    c.region = str(doc, "region");
    c.service = str(doc, "service");
    c.time = parse_timestamp(str(doc, "timestamp"));
    c.normalize = flag(doc, "normalize", true);
    c.sign_body = flag(doc, "sign_body", false);
    c.omit_session_token = flag(doc, "omit_session_token", false);
    if (const auto e = doc.FindMember("expiration_in_seconds"); e != doc.MemberEnd() && e->value.IsInt())
        c.expires = std::chrono::seconds{e->value.GetInt()};
    return c;
}

param_list sorted(param_list list) {
    std::sort(list.begin(), list.end());
    return list;
}

class AwsSigV4Suite : public testing::TestWithParam<std::string> {};

TEST_P(AwsSigV4Suite, HeaderAndQuerySigning) {
    if (GetParam() == suite_missing)
        GTEST_SKIP() << "AWS SigV4 suite not found at " << suite_dir().string()
                     << " (set TFSNAP_SIGV4_SUITE)";
    ASSERT_NE(GetParam(), suite_empty) << "no case folders in " << suite_dir().string();

    const fs::path dir = suite_dir() / GetParam();
    const context ctx = load_context(dir / "context.json");
    // tfsnap always signs the session token; the suite's cases all expect that too
    ASSERT_FALSE(ctx.omit_session_token) << "a case that leaves the token unsigned";
    ASSERT_GT(ctx.expires.count(), 0);
    const http_message msg = parse_http(read_file(dir / "request.txt"));

    sigv4::request req{msg.method, msg.path, msg.query, msg.headers, crypto::sha256_hex(msg.body)};
    sigv4::signing_params p{ctx.region, ctx.service, ctx.time};
    p.add_content_sha256 = ctx.sign_body;
    if (!ctx.normalize) {
        // The "unnormalized" cases sign the path encoded once and not normalised. That is S3's
        // rule applied to the path as a client puts it on the wire (request.txt writes it
        // unencoded, e.g. "/example space/").
        p.s3 = true;
        req.path = sigv4::uri_encode(msg.path, false);
    }
    const sigv4::credentials creds{ctx.access_key_id, core::secret(ctx.secret_access_key),
                                   core::secret(ctx.token)};
    sigv4::signer signer;

    {
        SCOPED_TRACE("Authorization header");
        const param_list added = signer.sign_headers(req, creds, p);

        sigv4::request with_added = req;
        for (const auto& h : added) {
            if (h.first != "authorization")
                with_added.headers.push_back(h);
        }
        const std::string creq = sigv4::canonical_request(with_added, p);
        EXPECT_EQ(creq, read_file(dir / "header-canonical-request.txt"));
        const std::string sts = sigv4::string_to_sign(creq, p);
        EXPECT_EQ(sts, read_file(dir / "header-string-to-sign.txt"));
        EXPECT_EQ(sigv4::signature(sigv4::signing_key(creds.secret_access_key, p), sts),
                  read_file(dir / "header-signature.txt"));

        // The signed request holds the original headers plus exactly the ones the signer added.
        const http_message expected = parse_http(read_file(dir / "header-signed-request.txt"));
        ASSERT_TRUE(find_header(added, "authorization"));
        for (const auto& [name, value] : added)
            EXPECT_EQ(find_header(expected.headers, name), value) << name;
        for (const auto& [name, value] : expected.headers) {
            if (!find_header(msg.headers, name)) {
                EXPECT_TRUE(find_header(added, name)) << "the signer did not add " << name;
            }
        }
    }
    {
        SCOPED_TRACE("presigned query");
        sigv4::signing_params qp = p;
        qp.add_content_sha256 = false;
        const param_list query = signer.presign_query(req, creds, qp, ctx.expires);

        ASSERT_FALSE(query.empty());
        ASSERT_EQ(query.back().first, "X-Amz-Signature");
        sigv4::request presigned = req;
        presigned.query.assign(query.begin(), query.end() - 1);
        const std::string creq = sigv4::canonical_request(presigned, qp);
        EXPECT_EQ(creq, read_file(dir / "query-canonical-request.txt"));
        const std::string sts = sigv4::string_to_sign(creq, qp);
        EXPECT_EQ(sts, read_file(dir / "query-string-to-sign.txt"));
        const std::string sig = sigv4::signature(sigv4::signing_key(creds.secret_access_key, qp), sts);
        EXPECT_EQ(sig, read_file(dir / "query-signature.txt"));
        EXPECT_EQ(query.back().second, sig);

        // Same parameters as the signed request's query; the order on the wire is free.
        const http_message expected = parse_http(read_file(dir / "query-signed-request.txt"));
        EXPECT_EQ(sorted(query), sorted(expected.query));
        EXPECT_EQ(sigv4::canonical_query_string(query), sigv4::canonical_query_string(expected.query));
    }
}

INSTANTIATE_TEST_SUITE_P(V4, AwsSigV4Suite, testing::ValuesIn(suite_cases()), test_name);

}  // namespace
