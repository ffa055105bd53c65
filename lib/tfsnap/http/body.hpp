#pragma once
// Request bodies (sources) and response bodies (sinks).
//
// A response body is never required to sit in memory: the client hands it to a `body_sink`
// in chunks as it arrives. `file_sink` writes a file, `hashing_sink` computes MD5 and SHA-256
// on the way to another sink, `string_sink` keeps a bounded copy in memory.
//
// Retries: the client calls `begin()` before each attempt, so a sink discards what a failed
// attempt wrote (the file is truncated, the hashes restart).
//
// Thread safety: none; a sink belongs to one request at a time.

#include "tfsnap/crypto/hash.hpp"

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace tfsnap::http {

// What a request carries: nothing, bytes in memory (not copied: the caller keeps them alive
// for the duration of the request), or a whole file, streamed.
class body_source {
public:
    enum class kind { none, memory, file };

    static body_source none() { return {}; }
    static body_source memory(std::string_view bytes) { return body_source(kind::memory, bytes, {}); }
    static body_source file(std::string path) { return body_source(kind::file, {}, std::move(path)); }

    kind type() const noexcept { return kind_; }
    std::string_view bytes() const noexcept { return bytes_; }
    const std::string& path() const noexcept { return path_; }

private:
    body_source() = default;
    body_source(kind k, std::string_view b, std::string p) : kind_(k), bytes_(b), path_(std::move(p)) {}
    kind kind_ = kind::none;
    std::string_view bytes_;
    std::string path_;
};

class body_sink {
public:
    virtual ~body_sink() = default;
    // Start of an attempt: forget anything written before.
    virtual boost::system::error_code begin() = 0;
    // The response status is known, before any body byte (lets a sink route an error body
    // elsewhere than a success body).
    virtual boost::system::error_code on_status(unsigned /*status*/) { return {}; }
    virtual boost::system::error_code write(std::string_view chunk) = 0;
    // The whole body arrived.
    virtual boost::system::error_code finish() = 0;
};

// Drops the body (HEAD, or responses whose body does not matter).
class discard_sink final : public body_sink {
public:
    boost::system::error_code begin() override { return {}; }
    boost::system::error_code write(std::string_view) override { return {}; }
    boost::system::error_code finish() override { return {}; }
};

// Keeps the body in memory, up to `limit` bytes (errc::body_too_large beyond).
class string_sink final : public body_sink {
public:
    explicit string_sink(std::size_t limit = 16 * 1024 * 1024) : limit_(limit) {}
    boost::system::error_code begin() override;
    boost::system::error_code write(std::string_view chunk) override;
    boost::system::error_code finish() override { return {}; }
    const std::string& data() const noexcept { return data_; }
    std::string take() noexcept { return std::move(data_); }

private:
    std::size_t limit_;
    std::string data_;
};

// Writes the body to `path`, created with mode 0600 (truncated if it exists). finish()
// fsyncs when asked to. The file is closed by finish() or the destructor.
class file_sink final : public body_sink {
public:
    explicit file_sink(std::string path, bool fsync_on_finish = false)
        : path_(std::move(path)), fsync_(fsync_on_finish) {}
    ~file_sink() override;
    file_sink(const file_sink&) = delete;
    file_sink& operator=(const file_sink&) = delete;

    boost::system::error_code begin() override;
    boost::system::error_code write(std::string_view chunk) override;
    boost::system::error_code finish() override;
    std::uint64_t bytes_written() const noexcept { return written_; }

private:
    std::string path_;
    bool fsync_;
    int fd_ = -1;
    std::uint64_t written_ = 0;
};

// MD5 and SHA-256 of the body, and its length, computed while it passes on to `next`.
class hashing_sink final : public body_sink {
public:
    explicit hashing_sink(body_sink& next) : next_(next) {}
    boost::system::error_code begin() override;
    boost::system::error_code write(std::string_view chunk) override;
    boost::system::error_code finish() override;

    // Valid after finish().
    const std::string& md5_hex() const noexcept { return md5_hex_; }
    const std::string& sha256_hex() const noexcept { return sha256_hex_; }
    std::uint64_t size() const noexcept { return size_; }

private:
    body_sink& next_;
    crypto::hasher md5_{crypto::algorithm::md5};
    crypto::hasher sha256_{crypto::algorithm::sha256};
    std::string md5_hex_, sha256_hex_;
    std::uint64_t size_ = 0;
};

}  // namespace tfsnap::http
