#pragma once
// Keeps a bounded sample of a byte stream: the first half of the limit, and the last half
// (a sliding window). No I/O; used by run() for the child's output.
//
// Thread safety: none.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tfsnap::process::detail {

class capture {
public:
    explicit capture(std::size_t limit) noexcept : head_limit_(limit / 2), tail_limit_(limit - limit / 2) {}

    void append(std::string_view bytes);

    // Everything when the total fits in the limit; otherwise the head, a line
    // "[... N bytes omitted ...]", and the tail.
    std::string str() const;
    std::uint64_t total() const noexcept { return total_; }

private:
    std::size_t head_limit_;
    std::size_t tail_limit_;
    std::string head_;
    std::string tail_;  // may hold up to twice tail_limit_ before it is trimmed
    std::uint64_t total_ = 0;
};

}  // namespace tfsnap::process::detail
