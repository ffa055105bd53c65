#pragma once
// A credential or key held in memory.
//
// `secret` cannot be streamed, formatted or implicitly converted to a string, so it cannot reach
// a log line or an error message by accident. The only way to the bytes is `reveal()`, which
// code that signs or encrypts calls at the last moment; grep for it to audit every use.
// The bytes are wiped when the value is destroyed or reassigned.
//
// Thread safety: like std::string (const access from many threads is fine).

#include <iosfwd>
#include <string>
#include <string_view>

namespace tfsnap::core {

class secret {
public:
    secret() = default;
    explicit secret(std::string value) noexcept : value_(std::move(value)) {}
    secret(const secret& other) : value_(other.value_) {}
    secret(secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
    secret& operator=(const secret& other);
    secret& operator=(secret&& other) noexcept;
    ~secret() { wipe(); }

    // The secret's bytes. Never log or return them in an error.
    std::string_view reveal() const noexcept { return value_; }
    bool empty() const noexcept { return value_.empty(); }
    std::size_t size() const noexcept { return value_.size(); }

    // Constant-time comparison (no early exit on the first differing byte).
    friend bool operator==(const secret& a, const secret& b) noexcept;

    // What a secret looks like wherever it must be mentioned: "<redacted N bytes>".
    std::string redacted() const;

    // Deleted on purpose: a secret never goes to a stream.
    friend std::ostream& operator<<(std::ostream&, const secret&) = delete;

private:
    void wipe() noexcept;
    std::string value_;
};

}  // namespace tfsnap::core
