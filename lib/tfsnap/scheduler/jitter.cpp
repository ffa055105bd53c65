#include "tfsnap/scheduler/jitter.hpp"

namespace tfsnap::scheduler {

std::uint64_t fnv1a_64(std::string_view data, std::uint64_t seed) noexcept {
    std::uint64_t h = seed;
    for (const char c : data) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return h;
}

std::chrono::seconds jitter_offset(std::string_view environment, std::string_view schedule,
                                   std::chrono::seconds jitter) noexcept {
    if (jitter.count() <= 0)
        return std::chrono::seconds{0};
    std::uint64_t h = fnv1a_64(environment);
    h = fnv1a_64(std::string_view("\0", 1), h);
    h = fnv1a_64(schedule, h);
    return std::chrono::seconds{static_cast<std::int64_t>(h % static_cast<std::uint64_t>(jitter.count()))};
}

}  // namespace tfsnap::scheduler
