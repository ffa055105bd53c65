#include "tfsnap/process/detail/capture.hpp"

#include <algorithm>

namespace tfsnap::process::detail {

void capture::append(std::string_view bytes) {
    total_ += bytes.size();
    if (head_.size() < head_limit_) {
        const std::size_t n = std::min(head_limit_ - head_.size(), bytes.size());
        head_.append(bytes.substr(0, n));
        bytes.remove_prefix(n);
    }
    if (bytes.size() >= tail_limit_) {
        tail_.assign(bytes.substr(bytes.size() - tail_limit_));
        return;
    }
    tail_.append(bytes);
    // trimming only past twice the limit keeps appends amortised O(n)
    if (tail_.size() > 2 * tail_limit_)
        tail_.erase(0, tail_.size() - tail_limit_);
}

std::string capture::str() const {
    const std::size_t tail_size = std::min(tail_.size(), tail_limit_);
    const std::string_view tail = std::string_view(tail_).substr(tail_.size() - tail_size);
    const std::uint64_t omitted = total_ - head_.size() - tail_size;
    std::string out;
    out.reserve(head_.size() + tail_size + 40);
    out += head_;
    if (omitted > 0) {
        if (!out.empty() && out.back() != '\n')
            out += '\n';
        out += "[... " + std::to_string(omitted) + " bytes omitted ...]\n";
    }
    out += tail;
    return out;
}

}  // namespace tfsnap::process::detail
