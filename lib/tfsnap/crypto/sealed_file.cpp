#include "tfsnap/crypto/sealed_file.hpp"

#include "tfsnap/core/atomic_file.hpp"

#include <fcntl.h>
#include <stdio.h>   // renameat2, RENAME_NOREPLACE
#include <stdlib.h>  // mkostemp
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

namespace tfsnap::crypto {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view fingerprint_label = "tfsnap-key-id";
constexpr std::string_view key_expected = "; expected 32 raw bytes or 64 hex characters";
constexpr std::string_view key_howto =
    " (create one with `tfsnapd keygen --output FILE` or `head -c 32 /dev/urandom > FILE`)";
// A key file is tiny; anything bigger is reported by size without being read.
constexpr std::size_t key_file_max = 4096;
constexpr std::size_t temp_name_max = 200;

// ---------------------------------------------------------------------------------------------
// Errors

struct failure {
    boost::system::error_code ec;
    error_info info;

    explicit operator bool() const noexcept { return static_cast<bool>(ec); }
};

failure fail(boost::system::error_code ec, file_role role, const fs::path& path, std::string message,
             int sys_errno = 0) {
    return {ec, {role, path.string(), sys_errno, std::move(message)}};
}

// `op` is "cannot open" and the like. ENOENT on an input or key file is not_found.
failure io_fail(file_role role, const fs::path& path, std::string_view op, int err) {
    if (err == 0)
        err = EIO;
    const bool missing = err == ENOENT && (role == file_role::input || role == file_role::key);
    return fail(missing ? core::errc::not_found : core::errc::io_error, role, path,
                std::string(op) + " " + path.string() + ": " + std::strerror(err), err);
}

failure from_file_error(file_role role, const core::file_error& e) {
    return io_fail(role, e.path, e.op, e.err);
}

failure openssl_fail(std::string_view what) {
    // OpenSSL's error queue is per thread and shared with TLS; leave nothing in it.
    ERR_clear_error();
    return fail(errc::openssl_failure, file_role::none, {}, "OpenSSL call " + std::string(what) + " failed");
}

template <class Result>
Result to_result(failure f) {
    Result r;
    r.ec = f.ec;
    r.error = std::move(f.info);
    return r;
}

// ---------------------------------------------------------------------------------------------
// POSIX helpers

class fd_guard {
public:
    fd_guard() = default;
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() { reset(); }
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// Reads until `size` bytes or end of file. Returns the count, or -1 with errno set.
ssize_t read_full(int fd, void* buf, std::size_t size) {
    auto* p = static_cast<unsigned char*>(buf);
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::read(fd, p + done, size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    return static_cast<ssize_t>(done);
}

bool write_all(int fd, const void* buf, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(buf);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

fs::path dir_of(const fs::path& p) {
    const auto dir = p.parent_path();
    return dir.empty() ? fs::path(".") : dir;
}

// A new file in the destination's directory that becomes the destination on commit() and is
// removed otherwise.
class temp_output {
public:
    temp_output() = default;
    temp_output(const temp_output&) = delete;
    temp_output& operator=(const temp_output&) = delete;
    ~temp_output() {
        fd_.reset();
        if (!temp_.empty() && !committed_)
            ::unlink(temp_.c_str());
    }

    failure create(const fs::path& dest, bool overwrite) {
        dest_ = dest;
        overwrite_ = overwrite;
        const std::string name = dest.filename().string();
        if (name.empty() || name == "." || name == "..")
            return fail(core::errc::io_error, file_role::output, dest, dest.string() + " is not a file name",
                        EISDIR);
        struct stat st {};
        if (!overwrite && ::lstat(dest.c_str(), &st) == 0) {
            return fail(errc::destination_exists, file_role::output, dest,
                        dest.string() + " exists; refusing to overwrite it", EEXIST);
        }
        std::string pattern = (dir_of(dest) / (".tmp-" + name.substr(0, temp_name_max) + "-XXXXXX")).string();
        const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
        if (fd < 0)
            return io_fail(file_role::output, dir_of(dest), "cannot create a temporary file in", errno);
        fd_.reset(fd);
        temp_ = pattern;
        // mkostemp's 0600 is subject to the umask; the result must be exactly 0600.
        if (::fchmod(fd, 0600) != 0)
            return io_fail(file_role::output, temp_, "cannot chmod", errno);
        return {};
    }

    failure write(const void* data, std::size_t size) {
        if (!write_all(fd_.get(), data, size))
            return io_fail(file_role::output, temp_, "cannot write", errno);
        return {};
    }

    failure commit() {
        if (::fsync(fd_.get()) != 0)
            return io_fail(file_role::output, temp_, "cannot fsync", errno);
        if (::close(fd_.release()) != 0)
            return io_fail(file_role::output, temp_, "cannot close", errno);
        if (overwrite_) {
            if (::rename(temp_.c_str(), dest_.c_str()) != 0)
                return io_fail(file_role::output, dest_, "cannot rename " + temp_.string() + " to", errno);
        } else if (auto f = rename_no_replace())
            return f;
        committed_ = true;
        if (const auto e = core::fsync_dir(dir_of(dest_)))
            return from_file_error(file_role::output, e);
        return {};
    }

private:
    failure rename_no_replace() {
        int rc = ::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, dest_.c_str(), RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
            // The file system has no RENAME_NOREPLACE; link(2) refuses to replace as well.
            rc = ::link(temp_.c_str(), dest_.c_str());
            if (rc == 0)
                ::unlink(temp_.c_str());
        }
        if (rc == 0)
            return {};
        if (errno == EEXIST) {
            return fail(errc::destination_exists, file_role::output, dest_,
                        dest_.string() + " exists; refusing to overwrite it", EEXIST);
        }
        return io_fail(file_role::output, dest_, "cannot rename " + temp_.string() + " to", errno);
    }

    fs::path dest_, temp_;
    fd_guard fd_;
    bool overwrite_ = false;
    bool committed_ = false;
};

// ---------------------------------------------------------------------------------------------
// OpenSSL helpers

struct cipher_free {
    void operator()(EVP_CIPHER* p) const noexcept { EVP_CIPHER_free(p); }
};
struct cipher_ctx_free {
    void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
using cipher_ptr = std::unique_ptr<EVP_CIPHER, cipher_free>;
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_free>;

// Fetched once (see fetched_md in hash.cpp); null when the provider has no AES-256-GCM.
const EVP_CIPHER* aes_256_gcm() {
    static const cipher_ptr cipher{EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr)};
    return cipher.get();
}

const unsigned char* key_data(const sealing_key& key) {
    return reinterpret_cast<const unsigned char*>(key.bytes().reveal().data());
}

std::string_view as_chars(const unsigned char* p, std::size_t n) {
    return {reinterpret_cast<const char*>(p), n};
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// ---------------------------------------------------------------------------------------------
// The header

using header_bytes = std::array<unsigned char, sealed_header_size>;

header_bytes encode_header(std::string_view fingerprint_hex, const unsigned char* nonce, std::uint64_t n) {
    header_bytes h{};
    std::memcpy(h.data(), sealed_magic.data(), sealed_magic.size());
    h[8] = sealed_format_version;
    h[9] = sealed_algorithm_aes_256_gcm;
    for (std::size_t i = 0; i < sealed_fingerprint_size; ++i) {
        h[12 + i] = static_cast<unsigned char>(hex_value(fingerprint_hex[2 * i]) << 4 |
                                               hex_value(fingerprint_hex[2 * i + 1]));
    }
    std::memcpy(h.data() + 20, nonce, sealed_nonce_size);
    for (int i = 0; i < 8; ++i)
        h[32 + i] = static_cast<unsigned char>(n >> (56 - 8 * i));
    return h;
}

struct sealed_input {
    fd_guard fd;
    header_bytes raw{};
    sealed_header header;
    bool regular = false;
};

std::string size_text(std::uint64_t n) {
    return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

// Opens `path` and reads and checks its header; with `check_size`, also the file's size against
// the header (regular files only: a pipe's size is unknown until it ends).
failure open_sealed(const fs::path& path, sealed_input& in) {
    in.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.fd.get() < 0)
        return io_fail(file_role::input, path, "cannot open", errno);
    struct stat st {};
    if (::fstat(in.fd.get(), &st) != 0)
        return io_fail(file_role::input, path, "cannot stat", errno);
    if (S_ISDIR(st.st_mode))
        return io_fail(file_role::input, path, "cannot read", EISDIR);
    in.regular = S_ISREG(st.st_mode);
    in.header.file_size = in.regular ? static_cast<std::uint64_t>(st.st_size) : 0;

    const ssize_t got = read_full(in.fd.get(), in.raw.data(), in.raw.size());
    if (got < 0)
        return io_fail(file_role::input, path, "cannot read", errno);
    const auto have = static_cast<std::size_t>(got);
    const std::size_t magic_have = std::min(have, sealed_magic.size());
    if (std::memcmp(in.raw.data(), sealed_magic.data(), magic_have) != 0) {
        return fail(errc::bad_magic, file_role::input, path,
                    path.string() + " is not a tfsnap sealed file (it does not start with \"TFSNAPC\")");
    }
    if (have < in.raw.size()) {
        return fail(errc::truncated, file_role::input, path,
                    path.string() + " is truncated: it has " + size_text(have) + ", less than the " +
                        std::to_string(sealed_header_size) + "-byte header of a sealed file");
    }
    auto& h = in.header;
    h.version = in.raw[8];
    h.algorithm = in.raw[9];
    h.key_fingerprint = to_hex(as_chars(in.raw.data() + 12, sealed_fingerprint_size));
    h.nonce_hex = to_hex(as_chars(in.raw.data() + 20, sealed_nonce_size));
    for (int i = 0; i < 8; ++i)
        h.plaintext_size = h.plaintext_size << 8 | in.raw[32 + i];
    if (h.version != sealed_format_version || h.algorithm != sealed_algorithm_aes_256_gcm ||
        in.raw[10] != 0 || in.raw[11] != 0) {
        return fail(errc::unsupported_version, file_role::input, path,
                    path.string() + " is a tfsnap sealed file of format version " +
                        std::to_string(h.version) + ", algorithm " + std::to_string(h.algorithm) +
                        (in.raw[10] != 0 || in.raw[11] != 0 ? " with non-zero reserved bytes" : "") +
                        "; this tfsnap reads version 1, algorithm 1 (AES-256-GCM): use a newer tfsnap, or "
                        "the file is corrupt");
    }
    return {};
}

failure check_size(const fs::path& path, const sealed_input& in) {
    const auto& h = in.header;
    constexpr std::uint64_t overhead = sealed_header_size + sealed_tag_size;
    if (in.regular) {
        const std::string expected = h.plaintext_size <= UINT64_MAX - overhead
                                         ? " (" + size_text(h.expected_file_size()) + " in all)"
                                         : std::string();
        if (h.file_size < overhead || h.file_size - overhead < h.plaintext_size) {
            return fail(errc::truncated, file_role::input, path,
                        path.string() + " is truncated: it has " + size_text(h.file_size) +
                            ", but its header says it holds " + size_text(h.plaintext_size) +
                            " of plaintext" + expected);
        }
        if (h.file_size - overhead > h.plaintext_size) {
            return fail(errc::trailing_data, file_role::input, path,
                        path.string() + " has " + size_text(h.file_size) + ", but its header says it holds " +
                            size_text(h.plaintext_size) + " of plaintext" + expected +
                            ": data was added after the authentication tag");
        }
    }
    if (h.plaintext_size > sealed_max_plaintext) {
        return fail(errc::authentication_failed, file_role::input, path,
                    path.string() + "'s header claims " + size_text(h.plaintext_size) +
                        " of plaintext, more than AES-GCM can seal: the file is corrupt or was modified");
    }
    return {};
}

// ---------------------------------------------------------------------------------------------
// Sealing

class memory_source {
public:
    explicit memory_source(std::string_view data) : data_(data) {}
    std::uint64_t size() const noexcept { return data_.size(); }
    failure next(std::size_t want, const unsigned char*& p) {
        p = reinterpret_cast<const unsigned char*>(data_.data());
        data_.remove_prefix(want);
        return {};
    }
    failure finish() { return {}; }

private:
    std::string_view data_;
};

class file_source {
public:
    failure open(const fs::path& path) {
        path_ = path;
        fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd_.get() < 0)
            return io_fail(file_role::input, path, "cannot open", errno);
        struct stat st {};
        if (::fstat(fd_.get(), &st) != 0)
            return io_fail(file_role::input, path, "cannot stat", errno);
        if (!S_ISREG(st.st_mode)) {
            return fail(core::errc::io_error, file_role::input, path,
                        path.string() + " is not a regular file (its size must be known before sealing)",
                        EINVAL);
        }
        size_ = static_cast<std::uint64_t>(st.st_size);
        buf_.resize(sealed_chunk_size);
        return {};
    }
    std::uint64_t size() const noexcept { return size_; }
    failure next(std::size_t want, const unsigned char*& p) {
        const ssize_t got = read_full(fd_.get(), buf_.data(), want);
        if (got < 0)
            return io_fail(file_role::input, path_, "cannot read", errno);
        if (static_cast<std::size_t>(got) < want)
            return changed();
        p = buf_.data();
        return {};
    }
    failure finish() {
        unsigned char extra = 0;
        const ssize_t got = read_full(fd_.get(), &extra, 1);
        if (got < 0)
            return io_fail(file_role::input, path_, "cannot read", errno);
        return got > 0 ? changed() : failure{};
    }

private:
    failure changed() const {
        return fail(core::errc::io_error, file_role::input, path_,
                    path_.string() + " changed size while it was being sealed; nothing was written");
    }
    fs::path path_;
    fd_guard fd_;
    std::uint64_t size_ = 0;
    std::vector<unsigned char> buf_;
};

// `src_path` is empty when sealing from memory.
template <class Source>
seal_result seal_from(const sealing_key& key, Source& src, const fs::path& src_path, const fs::path& dest,
                      seal_options options) {
    const std::uint64_t n = src.size();
    if (n > sealed_max_plaintext) {
        return to_result<seal_result>(fail(
            errc::too_large, src_path.empty() ? file_role::none : file_role::input, src_path,
            "cannot seal " + size_text(n) + ": AES-GCM seals at most " + size_text(sealed_max_plaintext)));
    }
    const EVP_CIPHER* cipher = aes_256_gcm();
    if (cipher == nullptr)
        return to_result<seal_result>(openssl_fail("EVP_CIPHER_fetch(AES-256-GCM)"));
    std::array<unsigned char, sealed_nonce_size> nonce{};
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1)
        return to_result<seal_result>(openssl_fail("RAND_bytes"));
    const header_bytes header = encode_header(key.fingerprint(), nonce.data(), n);

    const cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
    if (!ctx)
        return to_result<seal_result>(openssl_fail("EVP_CIPHER_CTX_new"));
    int outl = 0;
    if (EVP_EncryptInit_ex2(ctx.get(), cipher, key_data(key), nonce.data(), nullptr) != 1)
        return to_result<seal_result>(openssl_fail("EVP_EncryptInit_ex2"));
    if (EVP_EncryptUpdate(ctx.get(), nullptr, &outl, header.data(), static_cast<int>(header.size())) != 1)
        return to_result<seal_result>(openssl_fail("EVP_EncryptUpdate (AAD)"));

    temp_output out;
    if (auto f = out.create(dest, options.overwrite))
        return to_result<seal_result>(std::move(f));
    hasher sealed_hash(algorithm::sha256), plain_hash(algorithm::sha256);
    if (auto f = out.write(header.data(), header.size()))
        return to_result<seal_result>(std::move(f));
    sealed_hash.update(as_chars(header.data(), header.size()));

    std::vector<unsigned char> buf(sealed_chunk_size);
    for (std::uint64_t remaining = n; remaining > 0;) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, sealed_chunk_size));
        const unsigned char* p = nullptr;
        if (auto f = src.next(want, p))
            return to_result<seal_result>(std::move(f));
        plain_hash.update(as_chars(p, want));
        if (EVP_EncryptUpdate(ctx.get(), buf.data(), &outl, p, static_cast<int>(want)) != 1 ||
            static_cast<std::size_t>(outl) != want)
            return to_result<seal_result>(openssl_fail("EVP_EncryptUpdate"));
        if (auto f = out.write(buf.data(), want))
            return to_result<seal_result>(std::move(f));
        sealed_hash.update(as_chars(buf.data(), want));
        remaining -= want;
    }
    if (auto f = src.finish())
        return to_result<seal_result>(std::move(f));
    // GCM is a stream mode: Final produces no more ciphertext, only the tag.
    if (EVP_EncryptFinal_ex(ctx.get(), buf.data(), &outl) != 1 || outl != 0)
        return to_result<seal_result>(openssl_fail("EVP_EncryptFinal_ex"));
    std::array<unsigned char, sealed_tag_size> tag{};
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag.size()), tag.data()) != 1)
        return to_result<seal_result>(openssl_fail("EVP_CIPHER_CTX_ctrl(GET_TAG)"));
    if (auto f = out.write(tag.data(), tag.size()))
        return to_result<seal_result>(std::move(f));
    sealed_hash.update(as_chars(tag.data(), tag.size()));
    if (auto f = out.commit())
        return to_result<seal_result>(std::move(f));

    seal_result r;
    r.sealed_sha256 = sealed_hash.final_hex();
    r.plaintext_sha256 = plain_hash.final_hex();
    r.plaintext_size = n;
    r.sealed_size = n + sealed_header_size + sealed_tag_size;
    return r;
}

// ---------------------------------------------------------------------------------------------
// Opening

enum class sink { none, file, string };

open_result open_sealed_to(const sealing_key& key, const fs::path& path, sink to, const fs::path* dest,
                           open_options options, std::uint64_t limit) {
    sealed_input in;
    if (auto f = open_sealed(path, in))
        return to_result<open_result>(std::move(f));
    open_result r;
    r.header = in.header;
    auto failed = [&](failure f) {
        r.ec = f.ec;
        r.error = std::move(f.info);
        return std::move(r);
    };
    if (in.header.key_fingerprint != key.fingerprint()) {
        return failed(fail(errc::wrong_key, file_role::input, path,
                           path.string() + " was sealed with key " + in.header.key_fingerprint +
                               ", the key given is " + key.fingerprint()));
    }
    if (auto f = check_size(path, in))
        return failed(std::move(f));
    const std::uint64_t n = in.header.plaintext_size;
    if (to == sink::string && n > limit) {
        return failed(fail(errc::too_large, file_role::input, path,
                           path.string() + " holds " + size_text(n) +
                               " of plaintext, more than the limit of " + size_text(limit)));
    }

    const EVP_CIPHER* cipher = aes_256_gcm();
    if (cipher == nullptr)
        return failed(openssl_fail("EVP_CIPHER_fetch(AES-256-GCM)"));
    const cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
    if (!ctx)
        return failed(openssl_fail("EVP_CIPHER_CTX_new"));
    int outl = 0;
    if (EVP_DecryptInit_ex2(ctx.get(), cipher, key_data(key), in.raw.data() + 20, nullptr) != 1)
        return failed(openssl_fail("EVP_DecryptInit_ex2"));
    if (EVP_DecryptUpdate(ctx.get(), nullptr, &outl, in.raw.data(), static_cast<int>(in.raw.size())) != 1)
        return failed(openssl_fail("EVP_DecryptUpdate (AAD)"));

    temp_output out;
    if (to == sink::file) {
        if (auto f = out.create(*dest, options.overwrite))
            return failed(std::move(f));
    }
    std::string plaintext;
    if (to == sink::string)
        plaintext.reserve(static_cast<std::size_t>(n));
    hasher sealed_hash(algorithm::sha256), plain_hash(algorithm::sha256);
    sealed_hash.update(as_chars(in.raw.data(), in.raw.size()));

    const auto truncated_stream = [&] {
        return fail(errc::truncated, file_role::input, path,
                    path.string() + " is truncated: it ended before the " + size_text(n) +
                        " of plaintext and the tag its header announces");
    };
    std::vector<unsigned char> cbuf(sealed_chunk_size), pbuf(sealed_chunk_size);
    for (std::uint64_t remaining = n; remaining > 0;) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, sealed_chunk_size));
        const ssize_t got = read_full(in.fd.get(), cbuf.data(), want);
        if (got < 0)
            return failed(io_fail(file_role::input, path, "cannot read", errno));
        if (static_cast<std::size_t>(got) < want)
            return failed(truncated_stream());
        sealed_hash.update(as_chars(cbuf.data(), want));
        if (EVP_DecryptUpdate(ctx.get(), pbuf.data(), &outl, cbuf.data(), static_cast<int>(want)) != 1 ||
            static_cast<std::size_t>(outl) != want)
            return failed(openssl_fail("EVP_DecryptUpdate"));
        plain_hash.update(as_chars(pbuf.data(), want));
        if (to == sink::file) {
            if (auto f = out.write(pbuf.data(), want))
                return failed(std::move(f));
        } else if (to == sink::string) {
            plaintext.append(reinterpret_cast<const char*>(pbuf.data()), want);
        }
        remaining -= want;
    }
    std::array<unsigned char, sealed_tag_size> tag{};
    const ssize_t got = read_full(in.fd.get(), tag.data(), tag.size());
    if (got < 0)
        return failed(io_fail(file_role::input, path, "cannot read", errno));
    if (static_cast<std::size_t>(got) < tag.size())
        return failed(truncated_stream());
    sealed_hash.update(as_chars(tag.data(), tag.size()));
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag.size()), tag.data()) != 1)
        return failed(openssl_fail("EVP_CIPHER_CTX_ctrl(SET_TAG)"));
    if (EVP_DecryptFinal_ex(ctx.get(), pbuf.data(), &outl) != 1) {
        ERR_clear_error();
        return failed(fail(errc::authentication_failed, file_role::input, path,
                           path.string() +
                               " failed authentication: the file is corrupt or was modified (its "
                               "key fingerprint " +
                               key.fingerprint() + " matches the key given)"));
    }
    unsigned char extra = 0;
    const ssize_t more = read_full(in.fd.get(), &extra, 1);
    if (more < 0)
        return failed(io_fail(file_role::input, path, "cannot read", errno));
    if (more > 0) {
        return failed(fail(errc::trailing_data, file_role::input, path,
                           path.string() + " has data after its authentication tag"));
    }
    if (to == sink::file) {
        if (auto f = out.commit())
            return failed(std::move(f));
    }
    r.plaintext_sha256 = plain_hash.final_hex();
    r.sealed_sha256 = sealed_hash.final_hex();
    r.plaintext = std::move(plaintext);
    return r;
}

// Unexpected failures (an OpenSSL digest failing) throw inside; every entry point reports them
// as a result instead.
template <class Result, class Fn>
Result guarded(Fn&& fn) {
    try {
        return fn();
    } catch (const boost::system::system_error& e) {
        ERR_clear_error();
        return to_result<Result>(fail(e.code(), file_role::none, {}, e.what()));
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Keys

std::string key_fingerprint(std::string_view key) {
    hasher h(algorithm::sha256);
    h.update(fingerprint_label);
    h.update(key);
    return to_hex(std::string_view(h.final_raw()).substr(0, sealed_fingerprint_size));
}

std::optional<sealing_key> sealing_key::from_bytes(core::secret bytes) {
    if (bytes.size() != size)
        return std::nullopt;
    std::string fp = key_fingerprint(bytes.reveal());
    return sealing_key(std::move(bytes), std::move(fp));
}

namespace {

key_result invalid_key(std::string_view path, const std::string& what) {
    return to_result<key_result>(fail(
        errc::invalid_key, file_role::key, std::string(path),
        "key file " + std::string(path) + " " + what + std::string(key_expected) + std::string(key_howto)));
}

}  // namespace

key_result parse_key(std::string_view contents, std::string_view path) {
    return guarded<key_result>([&] {
        key_result r;
        const auto invalid = [&](const std::string& what) { return invalid_key(path, what); };
        if (contents.size() == sealing_key::size) {
            r.key = sealing_key::from_bytes(core::secret(std::string(contents)));
            return r;
        }
        std::string_view hex = contents;
        if (hex.size() == 2 * sealing_key::size + 1 && hex.back() == '\n')
            hex.remove_suffix(1);
        if (hex.size() != 2 * sealing_key::size) {
            if (contents.empty())
                return invalid("is empty");
            if (contents.size() == 2 * sealing_key::size + 2 &&
                contents.substr(contents.size() - 2) == "\r\n")
                return invalid("has 66 bytes, ending in \\r\\n (only one \\n may follow the hex characters)");
            return invalid("has " + size_text(contents.size()));
        }
        // Filled in place and moved into the secret, so no copy of the key is left unwiped.
        std::string raw(sealing_key::size, '\0');
        for (std::size_t i = 0; i < sealing_key::size; ++i) {
            const int hi = hex_value(hex[2 * i]);
            const int lo = hex_value(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                OPENSSL_cleanse(raw.data(), raw.size());
                const std::size_t at = hi < 0 ? 2 * i : 2 * i + 1;
                return invalid("has " + size_text(contents.size()) + ", but not 64 hex characters (byte " +
                               std::to_string(at + 1) + " is not a hex digit)");
            }
            raw[i] = static_cast<char>(hi << 4 | lo);
        }
        r.key = sealing_key::from_bytes(core::secret(std::move(raw)));
        return r;
    });
}

key_result load_key(const fs::path& path) {
    fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
        return to_result<key_result>(io_fail(file_role::key, path, "cannot open key file", errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return to_result<key_result>(io_fail(file_role::key, path, "cannot stat key file", errno));
    if (S_ISDIR(st.st_mode))
        return to_result<key_result>(io_fail(file_role::key, path, "cannot read key file", EISDIR));
    const bool regular = S_ISREG(st.st_mode);
    if (regular && static_cast<std::uint64_t>(st.st_size) > key_file_max)
        return invalid_key(path.string(), "has " + size_text(static_cast<std::uint64_t>(st.st_size)));
    struct buffer {
        std::array<char, key_file_max + 1> bytes{};
        ~buffer() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
    } buf;
    const ssize_t got = read_full(fd.get(), buf.bytes.data(), buf.bytes.size());
    if (got < 0)
        return to_result<key_result>(io_fail(file_role::key, path, "cannot read key file", errno));
    if (static_cast<std::size_t>(got) > key_file_max)
        return invalid_key(path.string(), "has more than " + size_text(key_file_max));
    auto r = parse_key(std::string_view(buf.bytes.data(), static_cast<std::size_t>(got)), path.string());
    r.readable_by_others = regular && (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
    return r;
}

bool is_valid_key_credential_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64 || name == "." || name == "..")
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '_' || c == '-';
    });
}

key_result load_key_credential(std::string_view name, std::string_view credentials_directory) {
    if (!is_valid_key_credential_name(name)) {
        return to_result<key_result>(fail(errc::invalid_credential_name, file_role::key, {},
                                          "a credential name is 1-64 of A-Z a-z 0-9 . _ - and not . or ..; "
                                          "got \"" +
                                              std::string(name.substr(0, 80)) + "\""));
    }
    if (credentials_directory.empty()) {
        return to_result<key_result>(
            fail(core::errc::not_found, file_role::key, {},
                 "CREDENTIALS_DIRECTORY is not set: the key credential " + std::string(name) +
                     " needs LoadCredential=" + std::string(name) + ":FILE or LoadCredentialEncrypted=" +
                     std::string(name) + ":FILE in the unit (or systemd-run -p ...)",
                 ENOENT));
    }
    return load_key(fs::path(credentials_directory) / std::string(name));
}

key_result generate_key() {
    return guarded<key_result>([] {
        std::string raw(sealing_key::size, '\0');
        if (RAND_priv_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) !=
            1) {
            OPENSSL_cleanse(raw.data(), raw.size());
            return to_result<key_result>(openssl_fail("RAND_priv_bytes"));
        }
        key_result r;
        r.key = sealing_key::from_bytes(core::secret(std::move(raw)));
        return r;
    });
}

write_result save_key(const sealing_key& key, const fs::path& path) {
    constexpr char digits[] = "0123456789abcdef";
    const auto bytes = key.bytes().reveal();
    std::string text(2 * bytes.size() + 1, '\n');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        text[2 * i] = digits[b >> 4];
        text[2 * i + 1] = digits[b & 0x0f];
    }
    const core::secret wiped_on_return(std::move(text));
    temp_output out;
    if (auto f = out.create(path, false))
        return to_result<write_result>(std::move(f));
    const auto data = wiped_on_return.reveal();
    if (auto f = out.write(data.data(), data.size()))
        return to_result<write_result>(std::move(f));
    if (auto f = out.commit())
        return to_result<write_result>(std::move(f));
    return {};
}

// ---------------------------------------------------------------------------------------------
// Sealed files

header_result inspect_header(const fs::path& path) {
    sealed_input in;
    header_result r;
    failure f = open_sealed(path, in);
    if (!f)
        f = check_size(path, in);
    r.header = in.header;
    r.ec = f.ec;
    r.error = std::move(f.info);
    return r;
}

seal_result seal(const sealing_key& key, std::string_view plaintext, const fs::path& dest,
                 seal_options options) {
    return guarded<seal_result>([&] {
        memory_source src(plaintext);
        return seal_from(key, src, {}, dest, options);
    });
}

seal_result seal_file(const sealing_key& key, const fs::path& src, const fs::path& dest,
                      seal_options options) {
    return guarded<seal_result>([&] {
        file_source in;
        if (auto f = in.open(src))
            return to_result<seal_result>(std::move(f));
        return seal_from(key, in, src, dest, options);
    });
}

open_result open_to_file(const sealing_key& key, const fs::path& sealed, const fs::path& dest,
                         open_options options) {
    return guarded<open_result>(
        [&] { return open_sealed_to(key, sealed, sink::file, &dest, options, UINT64_MAX); });
}

open_result open_to_string(const sealing_key& key, const fs::path& sealed, std::uint64_t limit) {
    return guarded<open_result>(
        [&] { return open_sealed_to(key, sealed, sink::string, nullptr, {}, limit); });
}

open_result verify_sealed(const sealing_key& key, const fs::path& sealed) {
    return guarded<open_result>(
        [&] { return open_sealed_to(key, sealed, sink::none, nullptr, {}, UINT64_MAX); });
}

}  // namespace tfsnap::crypto
