#include "tfsnap/core/secret.hpp"

namespace tfsnap::core {

secret& secret::operator=(const secret& other) {
    if (this != &other) {
        wipe();
        value_ = other.value_;
    }
    return *this;
}

secret& secret::operator=(secret&& other) noexcept {
    if (this != &other) {
        wipe();
        value_ = std::move(other.value_);
        other.wipe();
    }
    return *this;
}

void secret::wipe() noexcept {
    // volatile stores are not removed by the optimiser, unlike a plain memset before free
    volatile char* p = value_.data();
    for (std::size_t i = 0; i < value_.size(); ++i)
        p[i] = 0;
    value_.clear();
}

bool operator==(const secret& a, const secret& b) noexcept {
    const auto x = a.reveal(), y = b.reveal();
    unsigned char diff = x.size() == y.size() ? 0 : 1;
    const std::size_t n = x.size() < y.size() ? x.size() : y.size();
    for (std::size_t i = 0; i < n; ++i)
        diff |= static_cast<unsigned char>(x[i] ^ y[i]);
    return diff == 0;
}

std::string secret::redacted() const {
    return "<redacted " + std::to_string(value_.size()) + " bytes>";
}

}  // namespace tfsnap::core
