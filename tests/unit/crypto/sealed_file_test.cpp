#include "tfsnap/crypto/sealed_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace tfsnap;
using namespace tfsnap::crypto;

std::string hex_decode(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

std::string key_bytes(unsigned char first) {
    std::string k(32, '\0');
    for (std::size_t i = 0; i < k.size(); ++i)
        k[i] = static_cast<char>(first + i);
    return k;
}

sealing_key make_key(const std::string& raw) {
    auto k = sealing_key::from_bytes(core::secret(raw));
    if (!k)
        throw std::runtime_error("not a 32-byte key");
    return *k;
}

// Not a multiple of anything interesting, so a chunk boundary never lines up with a repeat.
std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>((i * 131 + i / 251) % 251);
    return s;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + p.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const fs::path& p, std::string_view data, mode_t mode = 0600) {
    fs::remove(p);
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        throw std::runtime_error("cannot create " + p.string());
    if (!data.empty() && ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
        ::close(fd);
        throw std::runtime_error("cannot write " + p.string());
    }
    ::fchmod(fd, mode);
    ::close(fd);
}

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0)
        throw std::runtime_error("cannot stat " + p.string());
    return st.st_mode & 07777;
}

// An independent AES-256-GCM decryption of the documented format, straight over EVP.
std::string evp_open(const std::string& key, const std::string& file) {
    if (file.size() < 56)
        throw std::runtime_error("short");
    const std::string header = file.substr(0, 40);
    const std::string ct = file.substr(40, file.size() - 56);
    const std::string tag = file.substr(file.size() - 16);
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                        &EVP_CIPHER_CTX_free);
    const auto u = [](const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); };
    std::string out(ct.size() + 16, '\0');
    int len = 0, total = 0;
    if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u(key), u(header) + 20) != 1 ||
        EVP_DecryptUpdate(ctx.get(), nullptr, &len, u(header), 40) != 1 ||
        EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, u(ct),
                          static_cast<int>(ct.size())) != 1)
        throw std::runtime_error("EVP");
    total = len;
    std::string tag_copy = tag;
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag_copy.data()) != 1)
        throw std::runtime_error("EVP tag");
    if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + total, &len) != 1)
        throw std::runtime_error("authentication failed");
    out.resize(static_cast<std::size_t>(total + len));
    return out;
}

class SealedFile : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "tfsnap-sealed-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    std::set<std::string> listing() const {
        std::set<std::string> names;
        for (const auto& e : fs::directory_iterator(dir_))
            names.insert(e.path().filename().string());
        return names;
    }

    fs::path dir_;
    std::string raw_ = key_bytes(0);
    sealing_key key_ = make_key(raw_);
    sealing_key other_ = make_key(key_bytes(100));
};

TEST_F(SealedFile, RoundTripAtChunkBoundaries) {
    constexpr std::size_t chunk = sealed_chunk_size;
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, chunk - 1, chunk, chunk + 1, 2 * chunk - 1,
                                2 * chunk, 2 * chunk + 1, std::size_t{5} * 1024 * 1024}) {
        SCOPED_TRACE(n);
        const std::string data = pattern(n);
        const fs::path sealed = dir_ / "state.sealed";
        const auto s = seal(key_, data, sealed);
        ASSERT_TRUE(s.ok()) << s.error.message;
        const std::string file = slurp(sealed);
        EXPECT_EQ(file.size(), n + 56);
        EXPECT_EQ(s.sealed_size, n + 56);
        EXPECT_EQ(s.plaintext_size, n);
        EXPECT_EQ(s.sealed_sha256, sha256_hex(file));
        EXPECT_EQ(s.plaintext_sha256, sha256_hex(data));
        EXPECT_EQ(evp_open(raw_, file), data);

        const auto o = open_to_file(key_, sealed, dir_ / "state");
        ASSERT_TRUE(o.ok()) << o.error.message;
        EXPECT_EQ(slurp(dir_ / "state"), data);
        EXPECT_EQ(o.plaintext_sha256, s.plaintext_sha256);
        EXPECT_EQ(o.sealed_sha256, s.sealed_sha256);
        EXPECT_EQ(o.header.plaintext_size, n);

        const auto str = open_to_string(key_, sealed, n);
        ASSERT_TRUE(str.ok()) << str.error.message;
        EXPECT_EQ(str.plaintext, data);

        const auto v = verify_sealed(key_, sealed);
        ASSERT_TRUE(v.ok()) << v.error.message;
        EXPECT_EQ(v.plaintext_sha256, s.plaintext_sha256);
        EXPECT_EQ(v.sealed_sha256, s.sealed_sha256);
        EXPECT_TRUE(v.plaintext.empty());

        // the same, streamed from a file
        const auto sf = seal_file(key_, dir_ / "state", dir_ / "again.sealed");
        ASSERT_TRUE(sf.ok()) << sf.error.message;
        EXPECT_EQ(sf.plaintext_sha256, s.plaintext_sha256);
        EXPECT_EQ(sf.sealed_sha256, sha256_hex(slurp(dir_ / "again.sealed")));
        EXPECT_EQ(evp_open(raw_, slurp(dir_ / "again.sealed")), data);

        EXPECT_EQ(listing(), (std::set<std::string>{"again.sealed", "state", "state.sealed"}));
        for (const auto& e : fs::directory_iterator(dir_))
            fs::remove(e.path());
    }
}

TEST_F(SealedFile, EveryOutputIsMode0600WhateverTheUmask) {
    for (const mode_t mask : {mode_t{0}, mode_t{022}, mode_t{0277}}) {
        SCOPED_TRACE(mask);
        const mode_t old = ::umask(mask);
        const auto s = seal(key_, "{}", dir_ / "a.sealed");
        const auto o = open_to_file(key_, dir_ / "a.sealed", dir_ / "a");
        const auto sf = seal_file(key_, dir_ / "a", dir_ / "b.sealed");
        const auto g = generate_key();
        const auto w = save_key(*g.key, dir_ / "k");
        ::umask(old);
        ASSERT_TRUE(s.ok() && o.ok() && sf.ok() && g.ok() && w.ok());
        for (const char* name : {"a.sealed", "a", "b.sealed", "k"})
            EXPECT_EQ(mode_of(dir_ / name), 0600u) << name;
        for (const auto& e : fs::directory_iterator(dir_))
            fs::remove(e.path());
    }
}

TEST_F(SealedFile, HeaderLayoutByteForByte) {
    const std::string data = "hello";
    ASSERT_TRUE(seal(key_, data, dir_ / "s").ok());
    const std::string f = slurp(dir_ / "s");
    ASSERT_EQ(f.size(), 40u + 5 + 16);
    EXPECT_EQ(f.substr(0, 8), std::string("TFSNAPC\0", 8));
    EXPECT_EQ(f[8], 1);   // version
    EXPECT_EQ(f[9], 1);   // AES-256-GCM
    EXPECT_EQ(f[10], 0);  // reserved
    EXPECT_EQ(f[11], 0);
    hasher h(algorithm::sha256);
    h.update("tfsnap-key-id");
    h.update(raw_);
    EXPECT_EQ(f.substr(12, 8), h.final_raw().substr(0, 8));
    EXPECT_EQ(to_hex(f.substr(12, 8)), key_.fingerprint());
    EXPECT_EQ(f.substr(32, 8), std::string("\0\0\0\0\0\0\0\5", 8));
    EXPECT_EQ(evp_open(raw_, f), data);

    // a fresh random nonce for every file
    ASSERT_TRUE(seal(key_, data, dir_ / "t").ok());
    const std::string g = slurp(dir_ / "t");
    EXPECT_EQ(g.substr(0, 20), f.substr(0, 20));
    EXPECT_NE(g.substr(20, 12), f.substr(20, 12));
    EXPECT_EQ(g.substr(32, 8), f.substr(32, 8));

    const auto i = inspect_header(dir_ / "s");
    ASSERT_TRUE(i.ok()) << i.error.message;
    EXPECT_EQ(i.header.version, 1);
    EXPECT_EQ(i.header.algorithm, 1);
    EXPECT_EQ(i.header.key_fingerprint, key_.fingerprint());
    EXPECT_EQ(i.header.nonce_hex, to_hex(f.substr(20, 12)));
    EXPECT_EQ(i.header.plaintext_size, 5u);
    EXPECT_EQ(i.header.file_size, 61u);
    EXPECT_EQ(i.header.expected_file_size(), 61u);
}

TEST_F(SealedFile, KeyFingerprintKnownAnswers) {
    // python3 -c 'import hashlib; print(hashlib.sha256(b"tfsnap-key-id" + bytes(32)).hexdigest()[:16])'
    EXPECT_EQ(make_key(std::string(32, '\0')).fingerprint(), "6a384739f02402a9");
    EXPECT_EQ(key_.fingerprint(), "1dc73b9dc24ea11f");  // bytes 0..31
    EXPECT_EQ(key_fingerprint(raw_), key_.fingerprint());
    EXPECT_FALSE(sealing_key::from_bytes(core::secret(std::string(31, 'k'))));
    EXPECT_FALSE(sealing_key::from_bytes(core::secret(std::string(33, 'k'))));
}

// Made with Python's `cryptography` (AESGCM) from the documented format: key bytes 0..31,
// nonce bytes 100..111, plaintext '{"version": 4}\n'.
TEST_F(SealedFile, OpensAFileMadeByAnotherImplementation) {
    const std::string file = hex_decode(
        "5446534e41504300010100001dc73b9dc24ea11f6465666768696a6b6c6d6e6f000000000000000f3339a8030b9a3ff15040"
        "65c8ee186035bde2ec79b2f258b0876657c8722941");
    spit(dir_ / "py.sealed", file);
    const auto o = open_to_string(key_, dir_ / "py.sealed", 1000);
    ASSERT_TRUE(o.ok()) << o.error.message;
    EXPECT_EQ(o.plaintext, "{\"version\": 4}\n");
    EXPECT_EQ(o.header.nonce_hex, "6465666768696a6b6c6d6e6f");
}

TEST_F(SealedFile, EverySingleByteFlipFails) {
    const std::string data = pattern(100);
    ASSERT_TRUE(seal(key_, data, dir_ / "good").ok());
    const std::string good = slurp(dir_ / "good");
    ASSERT_EQ(good.size(), 156u);
    fs::remove(dir_ / "good");
    const fs::path bad = dir_ / "bad.sealed";
    const fs::path out = dir_ / "out";
    for (std::size_t pos = 0; pos < good.size(); ++pos) {
        for (const unsigned char mask : {0x01, 0x80, 0xff}) {
            SCOPED_TRACE("byte " + std::to_string(pos) + " ^ " + std::to_string(mask));
            std::string f = good;
            f[pos] = static_cast<char>(f[pos] ^ mask);
            spit(bad, f);
            const auto o = open_to_file(key_, bad, out);
            ASSERT_FALSE(o.ok());
            if (pos < 8)
                EXPECT_EQ(o.ec, errc::bad_magic);
            else if (pos < 12)
                EXPECT_EQ(o.ec, errc::unsupported_version);
            else if (pos < 20)
                EXPECT_EQ(o.ec, errc::wrong_key);
            else if (pos >= 32 && pos < 40)
                EXPECT_TRUE(o.ec == errc::truncated || o.ec == errc::trailing_data) << o.ec.message();
            else
                EXPECT_EQ(o.ec, errc::authentication_failed);
            EXPECT_FALSE(o.error.message.empty());
            EXPECT_FALSE(verify_sealed(key_, bad).ok());
            const auto s = open_to_string(key_, bad, 1000);
            EXPECT_FALSE(s.ok());
            EXPECT_TRUE(s.plaintext.empty());
            // nothing but the input: no output, no temporary file
            EXPECT_EQ(listing(), std::set<std::string>{"bad.sealed"});
        }
    }
}

TEST_F(SealedFile, TruncationAtEveryLengthFails) {
    ASSERT_TRUE(seal(key_, pattern(100), dir_ / "good").ok());
    const std::string good = slurp(dir_ / "good");
    fs::remove(dir_ / "good");
    for (std::size_t len = 0; len < good.size(); ++len) {
        SCOPED_TRACE(len);
        spit(dir_ / "cut", good.substr(0, len));
        const auto o = open_to_file(key_, dir_ / "cut", dir_ / "out");
        EXPECT_EQ(o.ec, errc::truncated) << o.error.message;
        EXPECT_EQ(inspect_header(dir_ / "cut").ec, errc::truncated);
        EXPECT_EQ(verify_sealed(key_, dir_ / "cut").ec, errc::truncated);
        EXPECT_EQ(listing(), std::set<std::string>{"cut"});
    }
    // a large file cut inside a later chunk and just before the tag
    ASSERT_TRUE(seal(key_, pattern(3 * sealed_chunk_size + 10), dir_ / "big").ok());
    const std::string big = slurp(dir_ / "big");
    for (const std::size_t len :
         {std::size_t{40} + sealed_chunk_size * 2 + 7, big.size() - 16, big.size() - 1}) {
        SCOPED_TRACE(len);
        spit(dir_ / "cut", big.substr(0, len));
        const auto o = open_to_file(key_, dir_ / "cut", dir_ / "out");
        EXPECT_EQ(o.ec, errc::truncated) << o.error.message;
        EXPECT_FALSE(fs::exists(dir_ / "out"));
    }
}

TEST_F(SealedFile, DataAfterTheTagIsRefused) {
    ASSERT_TRUE(seal(key_, "abc", dir_ / "s").ok());
    spit(dir_ / "s", slurp(dir_ / "s") + "x");
    EXPECT_EQ(open_to_file(key_, dir_ / "s", dir_ / "out").ec, errc::trailing_data);
    EXPECT_EQ(inspect_header(dir_ / "s").ec, errc::trailing_data);
    EXPECT_FALSE(fs::exists(dir_ / "out"));
}

// Through a pipe the size is unknown up front, so truncation and trailing data are found while
// streaming.
TEST_F(SealedFile, StreamedInputChecksItsEnd) {
    ASSERT_TRUE(seal(key_, pattern(1000), dir_ / "s").ok());
    const std::string good = slurp(dir_ / "s");
    struct probe {
        std::string bytes;
        boost::system::error_code want;
    };
    for (const auto& p :
         {probe{good, {}}, probe{good.substr(0, 500), errc::truncated},
          probe{good.substr(0, good.size() - 3), errc::truncated}, probe{good + "!", errc::trailing_data}}) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        ASSERT_EQ(::write(fds[1], p.bytes.data(), p.bytes.size()), static_cast<ssize_t>(p.bytes.size()));
        ::close(fds[1]);
        const auto o = open_to_file(key_, "/dev/fd/" + std::to_string(fds[0]), dir_ / "out");
        ::close(fds[0]);
        EXPECT_EQ(o.ec, p.want) << o.error.message;
        EXPECT_EQ(fs::exists(dir_ / "out"), !p.want);
        fs::remove(dir_ / "out");
    }
}

TEST_F(SealedFile, WrongKeyNamesBothFingerprints) {
    ASSERT_TRUE(seal(key_, "secret state", dir_ / "s").ok());
    const auto o = open_to_file(other_, dir_ / "s", dir_ / "out");
    EXPECT_EQ(o.ec, errc::wrong_key);
    EXPECT_NE(o.error.message.find("was sealed with key " + key_.fingerprint() + ", the key given is " +
                                   other_.fingerprint()),
              std::string::npos)
        << o.error.message;
    EXPECT_EQ(verify_sealed(other_, dir_ / "s").ec, errc::wrong_key);
    EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(SealedFile, MatchingFingerprintButWrongKeyFailsAuthentication) {
    ASSERT_TRUE(seal(key_, pattern(5000), dir_ / "s").ok());
    std::string f = slurp(dir_ / "s");
    const std::string fp = hex_decode(other_.fingerprint());
    std::copy(fp.begin(), fp.end(), f.begin() + 12);
    spit(dir_ / "s", f);
    EXPECT_EQ(inspect_header(dir_ / "s").header.key_fingerprint, other_.fingerprint());
    const auto o = open_to_file(other_, dir_ / "s", dir_ / "out");
    EXPECT_EQ(o.ec, errc::authentication_failed);
    EXPECT_NE(o.error.message.find("corrupt or was modified"), std::string::npos) << o.error.message;
    // and the right key fails too: the fingerprint is authenticated data
    EXPECT_EQ(open_to_file(key_, dir_ / "s", dir_ / "out").ec, errc::wrong_key);
    EXPECT_EQ(listing(), std::set<std::string>{"s"});
}

TEST_F(SealedFile, HeaderProblemsWithoutAKey) {
    spit(dir_ / "plain", "{\"version\": 4, \"serial\": 1, \"lineage\": \"x\", \"outputs\": {}}");
    const auto h = inspect_header(dir_ / "plain");
    EXPECT_EQ(h.ec, errc::bad_magic);
    EXPECT_NE(h.error.message.find("not a tfsnap sealed file"), std::string::npos);

    ASSERT_TRUE(seal(key_, "x", dir_ / "s").ok());
    std::string f = slurp(dir_ / "s");
    f[8] = 2;
    spit(dir_ / "v2", f);
    const auto v2 = inspect_header(dir_ / "v2");
    EXPECT_EQ(v2.ec, errc::unsupported_version);
    EXPECT_NE(v2.error.message.find("format version 2"), std::string::npos) << v2.error.message;
    EXPECT_EQ(open_to_file(key_, dir_ / "v2", dir_ / "out").ec, errc::unsupported_version);

    const auto missing = inspect_header(dir_ / "missing");
    EXPECT_EQ(missing.ec, core::errc::not_found);
    EXPECT_EQ(missing.error.role, file_role::input);
    EXPECT_EQ(missing.error.sys_errno, ENOENT);
    EXPECT_EQ(open_to_file(key_, dir_ / "missing", dir_ / "out").ec, core::errc::not_found);
    EXPECT_EQ(seal_file(key_, dir_ / "missing", dir_ / "out").ec, core::errc::not_found);
    EXPECT_EQ(open_to_file(key_, dir_, dir_ / "out").ec, core::errc::io_error);
}

TEST_F(SealedFile, NeverOverwritesUnlessAsked) {
    ASSERT_TRUE(seal(key_, "new", dir_ / "s").ok());
    spit(dir_ / "out", "existing");
    const auto o = open_to_file(key_, dir_ / "s", dir_ / "out");
    EXPECT_EQ(o.ec, errc::destination_exists);
    EXPECT_EQ(o.error.role, file_role::output);
    EXPECT_EQ(slurp(dir_ / "out"), "existing");
    ASSERT_TRUE(open_to_file(key_, dir_ / "s", dir_ / "out", {.overwrite = true}).ok());
    EXPECT_EQ(slurp(dir_ / "out"), "new");

    EXPECT_EQ(seal(key_, "again", dir_ / "s").ec, errc::destination_exists);
    ASSERT_TRUE(seal(key_, "again", dir_ / "s", {.overwrite = true}).ok());
    EXPECT_EQ(open_to_string(key_, dir_ / "s", 100).plaintext, "again");
    EXPECT_EQ(listing(), (std::set<std::string>{"out", "s"}));

    const auto no_dir = seal(key_, "x", dir_ / "no" / "such" / "dir");
    EXPECT_EQ(no_dir.ec, core::errc::io_error);
    EXPECT_EQ(no_dir.error.role, file_role::output);
}

TEST_F(SealedFile, OpenToStringHonoursItsLimit) {
    ASSERT_TRUE(seal(key_, pattern(1000), dir_ / "s").ok());
    EXPECT_EQ(open_to_string(key_, dir_ / "s", 999).ec, errc::too_large);
    EXPECT_TRUE(open_to_string(key_, dir_ / "s", 1000).ok());
}

TEST(SealedFileKey, ParsesRawAndHex) {
    const std::string raw = key_bytes(7);
    const std::string hex = to_hex(raw);
    std::string upper = hex;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](char c) { return static_cast<char>(std::toupper(c)); });
    const auto want = make_key(raw);
    for (const std::string& text : {raw, hex, hex + "\n", upper, upper + "\n"}) {
        const auto k = parse_key(text, "/etc/tfsnap/copy.key");
        ASSERT_TRUE(k.ok()) << k.error.message;
        EXPECT_EQ(k.key->bytes(), want.bytes());
        EXPECT_EQ(k.key->fingerprint(), want.fingerprint());
    }
    // a raw key may contain any byte, newlines included
    const std::string raw_with_newline = std::string(31, 'x') + "\n";
    EXPECT_TRUE(parse_key(raw_with_newline, "k").ok());
}

TEST(SealedFileKey, RejectsEverythingElseAndSaysWhy) {
    const std::string hex = to_hex(key_bytes(7));
    const auto rejected = [](const std::string& text) {
        const auto k = parse_key(text, "/etc/tfsnap/copy.key");
        EXPECT_EQ(k.ec, errc::invalid_key);
        EXPECT_FALSE(k.key);
        EXPECT_EQ(k.error.role, file_role::key);
        EXPECT_NE(k.error.message.find("tfsnapd keygen --output FILE"), std::string::npos);
        EXPECT_NE(k.error.message.find("head -c 32 /dev/urandom > FILE"), std::string::npos);
        return k.error.message;
    };
    EXPECT_EQ(
        rejected(std::string(33, 'k'))
            .rfind("key file /etc/tfsnap/copy.key has 33 bytes; expected 32 raw bytes or 64 hex characters",
                   0),
        0u);
    EXPECT_NE(rejected("").find("is empty"), std::string::npos);
    EXPECT_NE(rejected(std::string(31, 'k')).find("has 31 bytes"), std::string::npos);
    EXPECT_NE(rejected(key_bytes(1) + "\n").find("has 33 bytes"), std::string::npos);
    EXPECT_NE(rejected(hex.substr(0, 63)).find("has 63 bytes"), std::string::npos);
    EXPECT_NE(rejected(hex + "0").find("has 65 bytes"), std::string::npos);
    EXPECT_NE(rejected(hex + "\n\n").find("has 66 bytes"), std::string::npos);
    EXPECT_NE(rejected(hex + "\r\n").find("\\r\\n"), std::string::npos);
    EXPECT_NE(rejected(" " + hex.substr(1)).find("byte 1 is not a hex digit"), std::string::npos);
    std::string bad = hex;
    bad[41] = 'g';
    const std::string msg = rejected(bad);
    EXPECT_NE(msg.find("byte 42 is not a hex digit"), std::string::npos) << msg;
    // never any of the key's characters
    EXPECT_EQ(msg.find(hex.substr(0, 8)), std::string::npos);
}

class KeyFile : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "tfsnap-key-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    fs::path dir_;
};

TEST_F(KeyFile, LoadsAndFlagsLoosePermissions) {
    const std::string hex = to_hex(key_bytes(9)) + "\n";
    spit(dir_ / "k", hex, 0600);
    auto k = load_key(dir_ / "k");
    ASSERT_TRUE(k.ok()) << k.error.message;
    EXPECT_FALSE(k.readable_by_others);
    EXPECT_EQ(k.key->fingerprint(), make_key(key_bytes(9)).fingerprint());
    for (const mode_t m : {mode_t{0640}, mode_t{0604}, mode_t{0644}}) {
        spit(dir_ / "k", hex, m);
        k = load_key(dir_ / "k");
        ASSERT_TRUE(k.ok());
        EXPECT_TRUE(k.readable_by_others) << std::oct << m;
    }
    spit(dir_ / "k", hex, 0400);
    EXPECT_FALSE(load_key(dir_ / "k").readable_by_others);

    const auto missing = load_key(dir_ / "missing");
    EXPECT_EQ(missing.ec, core::errc::not_found);
    EXPECT_EQ(missing.error.role, file_role::key);
    EXPECT_NE(missing.error.message.find(dir_.string() + "/missing"), std::string::npos);
    EXPECT_EQ(load_key(dir_).ec, core::errc::io_error);

    spit(dir_ / "big", std::string(5000, 'a'));
    const auto big = load_key(dir_ / "big");
    EXPECT_EQ(big.ec, errc::invalid_key);
    EXPECT_NE(big.error.message.find("has 5000 bytes"), std::string::npos) << big.error.message;
}

TEST_F(KeyFile, SystemdCredential) {
    for (const std::string_view bad : {"", ".", "..", "a/b", "../copy.key", "copy key"})
        EXPECT_EQ(load_key_credential(bad, dir_.string()).ec, errc::invalid_credential_name) << bad;
    EXPECT_EQ(load_key_credential(std::string(65, 'a'), dir_.string()).ec, errc::invalid_credential_name);
    EXPECT_TRUE(is_valid_key_credential_name("copy.key"));
    EXPECT_TRUE(is_valid_key_credential_name(std::string(64, 'a')));

    const auto unset = load_key_credential("copy.key", "");
    EXPECT_EQ(unset.ec, core::errc::not_found);
    EXPECT_NE(unset.error.message.find("CREDENTIALS_DIRECTORY"), std::string::npos);
    EXPECT_EQ(load_key_credential("copy.key", dir_.string()).ec, core::errc::not_found);

    spit(dir_ / "copy.key", key_bytes(3), 0400);
    const auto k = load_key_credential("copy.key", dir_.string());
    ASSERT_TRUE(k.ok()) << k.error.message;
    EXPECT_EQ(k.key->fingerprint(), make_key(key_bytes(3)).fingerprint());
}

TEST_F(KeyFile, GeneratesAndSavesKeys) {
    const auto a = generate_key();
    const auto b = generate_key();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a.key->bytes().size(), 32u);
    EXPECT_FALSE(a.key->bytes() == b.key->bytes());

    ASSERT_TRUE(save_key(*a.key, dir_ / "k").ok());
    EXPECT_EQ(mode_of(dir_ / "k"), 0600u);
    const std::string text = slurp(dir_ / "k");
    EXPECT_EQ(text.size(), 65u);
    EXPECT_EQ(text.back(), '\n');
    const auto loaded = load_key(dir_ / "k");
    ASSERT_TRUE(loaded.ok());
    EXPECT_TRUE(loaded.key->bytes() == a.key->bytes());

    const auto again = save_key(*b.key, dir_ / "k");
    EXPECT_EQ(again.ec, errc::destination_exists);
    EXPECT_EQ(slurp(dir_ / "k"), text);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

}  // namespace
