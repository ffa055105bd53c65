// AWS's SigV4 test suite (the v4 folder of the suite aws-c-auth ships), one test per case folder.
//
// Each folder holds the unsigned request (request.txt), the signing context (context.json) and,
// for both ways of signing (Authorization header and presigned query), the expected canonical
// request, string to sign, signature and signed request. The suite lives outside the
// repository; TFSNAP_SIGV4_SUITE names another copy (the suite's root or its v4 folder).
//
// The whole format is understood, so any case of the suite dropped into the folder runs:
// - header values folded over several lines (a line that starts with a space or a tab continues
//   the previous header, as in get-header-value-multiline): joined with a space, which the
//   canonical form then collapses;
// - "omit_session_token": true in context.json (post-sts-header-after): the request is signed
//   without the session token, which is added afterwards, as X-Amz-Security-Token, to the
//   signed request's headers and to the presigned query (before X-Amz-Signature).
// Two synthetic cases, written to a temporary folder by the tests below with expected values
// computed independently of tfsnap's signer (OpenSSL's SHA-256 and HMAC over hand-written
// canonical requests), check both even when the local copy of the suite has neither.

#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/sigv4/signer.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace tfsnap;
using sigv4::param_list;

// Parameter values that stand for "no case folders", so that they still yield one test.
const std::string suite_missing = "<missing>";
const std::string suite_empty = "<empty>";

fs::path suite_dir() {
    if (const char* env = std::getenv("TFSNAP_SIGV4_SUITE"); env != nullptr && *env != '\0') {
        const fs::path dir = env;
        std::error_code ec;
        return fs::is_directory(dir / "v4", ec) ? dir / "v4" : dir;
    }
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
// whitespace continues the previous header's value (HTTP/1.1's obs-fold): it is joined to it
// with a space, as a server unfolds it (RFC 9112 5.2), and the canonical form collapses the run.
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
            m.headers.back().second += ' ';
            m.headers.back().second += line;
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

// Checks one case folder against what the suite expects (gtest failures name the step).
void run_case(const fs::path& dir) {
    SCOPED_TRACE(dir.filename().string());
    const context ctx = load_context(dir / "context.json");
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
    // omit_session_token: sign as if there were no token, then send it anyway
    const std::string token = ctx.token;
    const bool token_after = ctx.omit_session_token && !token.empty();
    const sigv4::credentials creds{ctx.access_key_id, core::secret(ctx.secret_access_key),
                                   core::secret(token_after ? std::string() : token)};
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

        // The signed request holds the original headers plus exactly the ones the signer added
        // (and the unsigned token, when it is sent after signing).
        param_list sent = added;
        if (token_after) {
            ASSERT_FALSE(find_header(added, "x-amz-security-token"));
            sent.emplace_back("x-amz-security-token", token);
        }
        const http_message expected = parse_http(read_file(dir / "header-signed-request.txt"));
        ASSERT_TRUE(find_header(added, "authorization"));
        for (const auto& [name, value] : sent)
            EXPECT_EQ(find_header(expected.headers, name), value) << name;
        for (const auto& [name, value] : expected.headers) {
            if (!find_header(msg.headers, name)) {
                EXPECT_TRUE(find_header(sent, name)) << "the signer did not add " << name;
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
        param_list sent = query;
        if (token_after)
            sent.insert(sent.end() - 1, {"X-Amz-Security-Token", token});
        const http_message expected = parse_http(read_file(dir / "query-signed-request.txt"));
        EXPECT_EQ(sorted(sent), sorted(expected.query));
        EXPECT_EQ(sigv4::canonical_query_string(sent), sigv4::canonical_query_string(expected.query));
    }
}

class AwsSigV4Suite : public testing::TestWithParam<std::string> {};

TEST_P(AwsSigV4Suite, HeaderAndQuerySigning) {
    if (GetParam() == suite_missing)
        GTEST_SKIP() << "AWS SigV4 suite not found at " << suite_dir().string()
                     << " (set TFSNAP_SIGV4_SUITE)";
    ASSERT_NE(GetParam(), suite_empty) << "no case folders in " << suite_dir().string();
    run_case(suite_dir() / GetParam());
}

INSTANTIATE_TEST_SUITE_P(V4, AwsSigV4Suite, testing::ValuesIn(suite_cases()), test_name);

// ------------------------------------------------------------------ synthetic cases of the format

std::string hex(const unsigned char* p, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

std::string openssl_sha256_hex(std::string_view s) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EXPECT_EQ(EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr), 1);
    return hex(md, n);
}

std::string openssl_hmac(std::string_view key, std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EXPECT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                   reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &n),
              nullptr);
    return {reinterpret_cast<const char*>(md), n};
}

// The string to sign and signature of a hand-written canonical request, with OpenSSL alone (no
// tfsnap code), for the suite's credentials, date and scope.
struct expected_signing {
    std::string string_to_sign;
    std::string signature;
};
expected_signing sign_independently(const std::string& canonical_request) {
    const std::string sts = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n" +
                            openssl_sha256_hex(canonical_request);
    std::string key = openssl_hmac("AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830");
    key = openssl_hmac(key, "us-east-1");
    key = openssl_hmac(key, "service");
    key = openssl_hmac(key, "aws4_request");
    const std::string sig = openssl_hmac(key, sts);
    return {sts, hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size())};
}

class SuiteFormat : public testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::path(testing::TempDir()) / ("tfsnap-sigv4-case-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    void write(const std::string& name, const std::string& text) {
        std::ofstream(dir_ / name, std::ios::binary) << text;
    }

    // <kind>-canonical-request.txt, -string-to-sign.txt and -signature.txt for this canonical
    // request, signed independently of tfsnap's signer; returns the signature
    std::string write_expected(const std::string& kind, const std::string& canonical_request) {
        const auto e = sign_independently(canonical_request);
        write(kind + "-canonical-request.txt", canonical_request);
        write(kind + "-string-to-sign.txt", e.string_to_sign);
        write(kind + "-signature.txt", e.signature);
        return e.signature;
    }

    // context.json with the suite's usual values
    void write_context(const std::string& token, bool omit_session_token) {
        write("context.json",
              R"({"credentials": {"access_key_id": "AKIDEXAMPLE",
            "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")" +
                  (token.empty() ? std::string() : R"(, "token": ")" + token + "\"") +
                  R"(}, "expiration_in_seconds": 3600, "normalize": true, "region": "us-east-1",
            "service": "service", "sign_body": false, "timestamp": "2015-08-30T12:36:00Z",
            "omit_session_token": )" +
                  (omit_session_token ? "true" : "false") + "}");
    }

    fs::path dir_;
};

// A value folded over three lines, continued with spaces and with a tab.
TEST_F(SuiteFormat, FoldedHeaderValues) {
    write_context("", false);
    const std::string headers = "Host:example.amazonaws.com\nX-Folded:first\n  second\n\tthird   part\n";
    write("request.txt", "GET / HTTP/1.1\n" + headers);

    const std::string header_creq =
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
        "x-folded:first second third part\n\nhost;x-amz-date;x-folded\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const auto h_signature = write_expected("header", header_creq);
    write(
        "header-signed-request.txt",
        "GET / HTTP/1.1\n" + headers + "X-Amz-Date:20150830T123600Z\n" +
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-folded, Signature=" +
            h_signature + "\n\n");

    const std::string query =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2F"
        "aws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host%3Bx-folded";
    const std::string query_creq =
        "GET\n/\n" + query +
        "\nhost:example.amazonaws.com\nx-folded:first second third part\n\n"
        "host;x-folded\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const auto q_signature = write_expected("query", query_creq);
    write("query-signed-request.txt",
          "GET /?" + query + "&X-Amz-Signature=" + q_signature + " HTTP/1.1\n" + headers + "\n");

    run_case(dir_);
    // the fold is one header, not three
    const auto parsed = parse_http(read_file(dir_ / "request.txt"));
    EXPECT_EQ(parsed.headers.size(), 2U);
}

// omit_session_token: the token is neither signed nor in the canonical request, but is sent.
TEST_F(SuiteFormat, OmitSessionToken) {
    const std::string token = "AQoDYXdzEPT//////////wEXAMPLE+token=";
    write_context(token, true);
    write("request.txt", "POST / HTTP/1.1\nHost:example.amazonaws.com\n");

    const std::string header_creq =
        "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const auto h_signature = write_expected("header", header_creq);
    write(
        "header-signed-request.txt",
        "POST / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Security-Token:" + token +
            "\nX-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=" +
            h_signature + "\n\n");

    const std::string query =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2F"
        "aws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host";
    const std::string query_creq = "POST\n/\n" + query +
                                   "\nhost:example.amazonaws.com\n\nhost\n"
                                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const auto q_signature = write_expected("query", query_creq);
    write("query-signed-request.txt",
          "POST /?" + query + "&X-Amz-Security-Token=" + sigv4::uri_encode(token, true) +
              "&X-Amz-Signature=" + q_signature + " HTTP/1.1\nHost:example.amazonaws.com\n\n");

    run_case(dir_);
    EXPECT_TRUE(load_context(dir_ / "context.json").omit_session_token);
}

}  // namespace
