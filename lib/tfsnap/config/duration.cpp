#include "tfsnap/config/duration.hpp"

#include <cstdint>
#include <limits>

namespace tfsnap::config {

std::optional<duration> parse_duration(std::string_view text) noexcept {
    if (text == "0")
        return duration{0};
    if (text.empty())
        return std::nullopt;
    std::int64_t total = 0;
    std::size_t i = 0;
    char last_unit = 0;
    static constexpr std::string_view order = "wdhms";
    while (i < text.size()) {
        std::int64_t n = 0;
        const std::size_t digits_start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (n > (std::numeric_limits<std::int64_t>::max() - 9) / 10)
                return std::nullopt;
            n = n * 10 + (text[i] - '0');
            ++i;
        }
        if (i == digits_start || i == text.size())
            return std::nullopt;
        const char unit = text[i++];
        std::int64_t scale = 0;
        switch (unit) {
            case 's':
                scale = 1;
                break;
            case 'm':
                scale = 60;
                break;
            case 'h':
                scale = 3600;
                break;
            case 'd':
                scale = 86400;
                break;
            case 'w':
                scale = 7 * 86400;
                break;
            default:
                return std::nullopt;
        }
        // units must go from large to small, each once: "1h30m" but not "30m1h" or "1m1m"
        if (last_unit != 0 && order.find(unit) <= order.find(last_unit))
            return std::nullopt;
        last_unit = unit;
        if (n > (std::numeric_limits<std::int64_t>::max() - total) / scale)
            return std::nullopt;
        total += n * scale;
    }
    return duration{total};
}

std::string format_duration(duration d) {
    auto s = d.count();
    if (s == 0)
        return "0s";
    std::string out;
    if (s < 0) {
        out += '-';
        s = -s;
    }
    const struct {
        std::int64_t scale;
        char unit;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    for (const auto& u : units) {
        if (s >= u.scale) {
            out += std::to_string(s / u.scale);
            out += u.unit;
            s %= u.scale;
        }
    }
    return out;
}

}  // namespace tfsnap::config
