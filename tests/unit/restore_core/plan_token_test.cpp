#include "tfsnap/restore/plan_token.hpp"

#include "tfsnap/crypto/hash.hpp"

#include <gtest/gtest.h>
#include <boost/system/system_error.hpp>

#include <vector>

namespace tfsnap::restore {
namespace {

using namespace std::chrono_literals;

const std::chrono::sys_seconds now =
    std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + 5h + 19min + 12s;

std::vector<std::byte> key_of(std::uint8_t fill) {
    return std::vector<std::byte>(32, std::byte{fill});
}

plan_claims sample() {
    plan_claims c;
    c.environment = "prod";
    c.action = "restore";
    c.target_version = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo";
    c.current_version = "null";
    c.current_etag = "\"9b2cf535f27731c974343645a3985328\"";
    c.mode = "state-only";
    c.force_lineage = false;
    c.roll_forward_serial = true;
    c.requested_by = "alice@ops-1";
    c.expires_at = (now + token_lifetime).time_since_epoch().count();
    return c;
}

// The token's first part, decoded (test-side base64url, independent of the implementation's).
std::string payload_of(const std::string& token) {
    std::string b64 = token.substr(0, token.find('.'));
    for (char& c : b64) {
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
    }
    while (b64.size() % 4 != 0)
        b64 += '=';
    std::string out;
    EXPECT_TRUE(crypto::base64_decode(b64, out));
    return out;
}

std::string base64url(std::string_view raw) {
    std::string s = crypto::base64_encode(raw);
    while (!s.empty() && s.back() == '=')
        s.pop_back();
    for (char& c : s) {
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    return s;
}

// A token over any payload, signed with `key`: what a holder of the key could make.
std::string signed_token(std::string_view payload, const std::vector<std::byte>& key) {
    const std::string mac =
        crypto::hmac_sha256({reinterpret_cast<const char*>(key.data()), key.size()}, payload);
    return base64url(payload) + "." + base64url(mac);
}

TEST(PlanToken, IssuedTokenVerifies) {
    const auto key = key_of(7);
    const auto c = sample();
    const auto token = issue_token(c, key);
    const auto r = verify_token(token, key, now);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.claims, c);
}

TEST(PlanToken, ClaimsWithAnyTextRoundTrip) {
    const auto key = key_of(7);
    auto c = sample();
    c.environment = "env \"quoted\" \\ / \n\t\x01 caf\xc3\xa9 \xf0\x9f\x94\xa5";
    c.action = "undelete";
    c.mode = "full";
    c.force_lineage = true;
    c.roll_forward_serial = false;
    c.current_etag = "";
    c.expires_at = -5;
    const auto r = verify_token(issue_token(c, key), key, std::chrono::sys_seconds{std::chrono::seconds{-6}});
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.claims, c);
}

TEST(PlanToken, FormatIsBase64urlPayloadDotMac) {
    const auto key = key_of(7);
    const auto token = issue_token(sample(), key);
    ASSERT_EQ(std::count(token.begin(), token.end(), '.'), 1);
    for (const char ch : token) {
        const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                        ch == '-' || ch == '_' || ch == '.';
        EXPECT_TRUE(ok) << "character " << static_cast<int>(ch);
    }
    // the MAC part: 32 bytes, 43 characters unpadded
    EXPECT_EQ(token.size() - token.find('.') - 1, 43U);
    // the canonical payload, pinned: a change here invalidates tokens across an upgrade
    EXPECT_EQ(payload_of(token),
              R"({"v":1,"environment":"prod","action":"restore",)"
              R"("target_version":"3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",)"
              R"("current_version":"null","current_etag":"\"9b2cf535f27731c974343645a3985328\"",)"
              R"("mode":"state-only","force_lineage":false,"roll_forward_serial":true,)"
              R"("requested_by":"alice@ops-1","expires_at":1795325652})");
    // and the MAC is HMAC-SHA256 over exactly those bytes
    EXPECT_EQ(token, signed_token(payload_of(token), key));
}

TEST(PlanToken, Deterministic) {
    const auto key = key_of(7);
    EXPECT_EQ(issue_token(sample(), key), issue_token(sample(), key));
    EXPECT_NE(issue_token(sample(), key), issue_token(sample(), key_of(8)));
}

TEST(PlanToken, ExpiresAfterFifteenMinutes) {
    EXPECT_EQ(token_lifetime, 15min);
    const auto key = key_of(7);
    const auto token = issue_token(sample(), key);
    EXPECT_TRUE(verify_token(token, key, now).ok());
    EXPECT_TRUE(verify_token(token, key, now + 15min - 1s).ok());
    const auto at_expiry = verify_token(token, key, now + 15min);
    EXPECT_EQ(at_expiry.ec, token_errc::expired);
    EXPECT_EQ(at_expiry.message, "the plan token expired at 2026-11-22T05:34:12Z");
    EXPECT_EQ(verify_token(token, key, now + 24h).ec, token_errc::expired);
}

TEST(PlanToken, AnotherKeyIsTampered) {
    // e.g. a token from before tfsnapd restarted (the key is random per start)
    const auto token = issue_token(sample(), key_of(7));
    const auto r = verify_token(token, key_of(8), now);
    EXPECT_EQ(r.ec, token_errc::tampered);
    EXPECT_NE(r.message.find("restarted"), std::string::npos);
}

TEST(PlanToken, EveryFlippedByteIsRefused) {
    const auto key = key_of(7);
    const auto token = issue_token(sample(), key);
    int tampered = 0;
    int malformed = 0;
    for (std::size_t i = 0; i < token.size(); ++i) {
        for (const unsigned char mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80}) {
            std::string t = token;
            t[i] = static_cast<char>(static_cast<unsigned char>(t[i]) ^ mask);
            const auto r = verify_token(t, key, now);
            ASSERT_FALSE(r.ok()) << "flipping bit " << static_cast<int>(mask) << " of byte " << i
                                 << " was accepted";
            ASSERT_TRUE(r.ec == token_errc::tampered || r.ec == token_errc::malformed) << r.ec.message();
            (r.ec == token_errc::tampered ? tampered : malformed)++;
        }
    }
    // both paths are exercised: most flips stay in the alphabet and fail the MAC
    EXPECT_GT(tampered, 0);
    EXPECT_GT(malformed, 0);
}

TEST(PlanToken, ModifiedClaimsWithTheOldMacAreTampered) {
    const auto key = key_of(7);
    const auto token = issue_token(sample(), key);
    auto other = sample();
    other.environment = "staging";
    const auto forged = issue_token(other, key_of(9));  // right shape, wrong MAC
    const std::string spliced = forged.substr(0, forged.find('.')) + token.substr(token.find('.'));
    EXPECT_EQ(verify_token(spliced, key, now).ec, token_errc::tampered);
    // extending the expiry is tampering too
    auto later = sample();
    later.expires_at += 3600;
    const auto f2 = issue_token(later, key_of(9));
    EXPECT_EQ(verify_token(f2.substr(0, f2.find('.')) + token.substr(token.find('.')), key, now).ec,
              token_errc::tampered);
}

TEST(PlanToken, TruncationsAreRefused) {
    const auto key = key_of(7);
    const auto token = issue_token(sample(), key);
    for (std::size_t n = 0; n < token.size(); ++n) {
        const auto r = verify_token(std::string_view(token).substr(0, n), key, now);
        EXPECT_FALSE(r.ok()) << n;
    }
    EXPECT_FALSE(verify_token(token + "A", key, now).ok());
    EXPECT_FALSE(verify_token(token + "=", key, now).ok());
    EXPECT_FALSE(verify_token(" " + token, key, now).ok());
}

TEST(PlanToken, MalformedShapes) {
    const auto key = key_of(7);
    const auto token = issue_token(sample(), key);
    const std::string payload = token.substr(0, token.find('.'));
    const std::string mac = token.substr(token.find('.') + 1);
    const std::string cases[] = {
        "",
        ".",
        "abc",
        payload,
        payload + ".",
        "." + mac,
        payload + "." + mac + "." + mac,
        payload + "." + mac + "=",          // padding is not base64url here
        payload + "=." + mac,               //
        payload + "." + mac.substr(0, 42),  // 31 bytes of MAC
        payload + "." + mac + "A",          // 33 bytes of MAC
        "!!!!." + mac,
        payload + ".+/+/" + mac.substr(4),  // the standard alphabet is not base64url
    };
    for (const auto& t : cases) {
        const auto r = verify_token(t, key, now);
        EXPECT_EQ(r.ec, token_errc::malformed) << t;
        EXPECT_EQ(r.message.find(payload), std::string::npos);
    }
}

TEST(PlanToken, SignedButUnreadablePayloadsAreMalformed) {
    // what only a holder of the key could make: another format version, extra or missing keys
    const auto key = key_of(7);
    const std::string good = payload_of(issue_token(sample(), key));
    EXPECT_TRUE(verify_token(signed_token(good, key), key, now).ok());

    std::vector<std::string> bad = {
        "not json",
        "[]",
        "{}",
        "",
    };
    auto replace = [&](const std::string& from, const std::string& to) {
        std::string s = good;
        const auto at = s.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        s.replace(at, from.size(), to);
        return s;
    };
    bad.push_back(replace(R"("v":1)", R"("v":2)"));
    bad.push_back(replace(R"("v":1,)", ""));
    bad.push_back(replace(R"("mode":"state-only",)", ""));
    bad.push_back(replace(R"("mode":"state-only",)", R"("mode":"state-only","mode":"full",)"));
    bad.push_back(replace(R"("mode":"state-only",)", R"("mode":"state-only","extra":1,)"));
    bad.push_back(replace(R"("force_lineage":false)", R"("force_lineage":0)"));
    bad.push_back(replace(R"("expires_at":1795325652)", R"("expires_at":"1795325652")"));
    bad.push_back(replace(R"("expires_at":1795325652)", R"("expires_at":1795325652.5)"));
    bad.push_back(replace(R"("environment":"prod")", R"("environment":null)"));
    bad.push_back(good + " trailing");
    for (const auto& p : bad) {
        const auto r = verify_token(signed_token(p, key), key, now);
        EXPECT_EQ(r.ec, token_errc::malformed) << p;
    }
}

TEST(PlanToken, ShortKeysAreAProgrammingError) {
    const std::vector<std::byte> short_key(15, std::byte{1});
    EXPECT_THROW(issue_token(sample(), short_key), boost::system::system_error);
    EXPECT_THROW(verify_token("a.b", short_key, now), boost::system::system_error);
    EXPECT_THROW(issue_token(sample(), {}), boost::system::system_error);
    const std::vector<std::byte> min_key(min_token_key_size, std::byte{1});
    EXPECT_TRUE(verify_token(issue_token(sample(), min_key), min_key, now).ok());
}

TEST(PlanToken, ErrorCategory) {
    const boost::system::error_code ec = token_errc::tampered;
    EXPECT_STREQ(ec.category().name(), "tfsnap.restore.token");
    EXPECT_EQ(ec.message(), "the plan token's signature does not match");
    EXPECT_EQ(boost::system::error_code(token_errc::expired).message(), "the plan token has expired");
    EXPECT_EQ(boost::system::error_code(token_errc::malformed).message(), "not a tfsnap plan token");
}

// ------------------------------------------------------------------------------- claims_mismatch

TEST(ClaimsMismatch, EqualClaimsAgree) {
    EXPECT_FALSE(claims_mismatch(sample(), sample()));
    auto other = sample();
    other.expires_at = 0;  // the token's own, not the request's
    EXPECT_FALSE(claims_mismatch(sample(), other));
}

TEST(ClaimsMismatch, NamesTheFieldAndBothValues) {
    auto req = sample();
    req.environment = "staging";
    EXPECT_EQ(claims_mismatch(sample(), req),
              R"(environment is "prod" in the token but "staging" in the request)");
}

TEST(ClaimsMismatch, EveryFieldIsCompared) {
    struct change {
        const char* name;
        void (*apply)(plan_claims&);
    };
    const change changes[] = {
        {"environment", [](plan_claims& c) { c.environment = "x"; }},
        {"action", [](plan_claims& c) { c.action = "undelete"; }},
        {"target_version", [](plan_claims& c) { c.target_version = "v2"; }},
        {"current_version", [](plan_claims& c) { c.current_version = "v3"; }},
        {"current_etag", [](plan_claims& c) { c.current_etag = "\"other\""; }},
        {"mode", [](plan_claims& c) { c.mode = "full"; }},
        {"force_lineage", [](plan_claims& c) { c.force_lineage = true; }},
        {"roll_forward_serial", [](plan_claims& c) { c.roll_forward_serial = false; }},
        {"requested_by", [](plan_claims& c) { c.requested_by = "mallory@ops-9"; }},
    };
    for (const auto& ch : changes) {
        auto req = sample();
        ch.apply(req);
        const auto diff = claims_mismatch(sample(), req);
        ASSERT_TRUE(diff) << ch.name;
        EXPECT_EQ(diff->rfind(std::string(ch.name) + " is ", 0), 0U) << *diff;
        EXPECT_EQ(diff->find(';'), std::string::npos) << *diff;
    }
    auto req = sample();
    req.force_lineage = true;
    EXPECT_EQ(claims_mismatch(sample(), req), "force_lineage is false in the token but true in the request");
}

TEST(ClaimsMismatch, SeveralDifferencesAreAllNamed) {
    auto req = sample();
    req.environment = "staging";
    req.mode = "full";
    EXPECT_EQ(claims_mismatch(sample(), req),
              R"(environment is "prod" in the token but "staging" in the request; )"
              R"(mode is "state-only" in the token but "full" in the request)");
}

// --------------------------------------------------------------------------- check_request_token

// What tfsnapd knows when a restore is asked for: the request's own claims, not the versions.
plan_claims request_of(const plan_claims& c) {
    plan_claims r = c;
    r.target_version.clear();
    r.current_version.clear();
    r.current_etag.clear();
    r.expires_at = 0;
    return r;
}

TEST(CheckRequestToken, TheTokenOfThisRequestPasses) {
    const auto key = key_of(7);
    const auto token = issue_token(sample(), key);
    const auto r = check_request_token(token, key, now, request_of(sample()));
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.claims, sample());  // the plan's versions, for the execution
}

TEST(CheckRequestToken, ForgedExpiredAndForeignTokensAreRefused) {
    const auto key = key_of(7);
    const auto token = issue_token(sample(), key);
    EXPECT_EQ(check_request_token("not-a-token", key, now, request_of(sample())).ec, token_errc::malformed);
    EXPECT_EQ(check_request_token(token, key_of(8), now, request_of(sample())).ec, token_errc::tampered);
    EXPECT_EQ(check_request_token(token, key, now + token_lifetime, request_of(sample())).ec,
              token_errc::expired);
    auto other = request_of(sample());
    other.requested_by = "mallory@ops-9";
    other.mode = "full";
    const auto r = check_request_token(token, key, now, other);
    EXPECT_EQ(r.ec, token_errc::mismatch);
    EXPECT_EQ(r.message, R"(mode is "state-only" in the token but "full" in the request; )"
                         R"(requested_by is "alice@ops-1" in the token but "mallory@ops-9" in the request)");
    EXPECT_EQ(boost::system::error_code(token_errc::mismatch).message(),
              "the plan token was made for another request");
}

}  // namespace
}  // namespace tfsnap::restore
