#include "tfsnap/metrics/detail/text.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>

namespace tfsnap::metrics::detail {

namespace {

bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// The length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s) noexcept {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
    const unsigned char c = b(0);
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2))
            return 0;
        if (c == 0xE0 && b(1) < 0xA0)  // overlong
            return 0;
        if (c == 0xED && b(1) >= 0xA0)  // UTF-16 surrogates
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3))
            return 0;
        if (c == 0xF0 && b(1) < 0x90)  // overlong
            return 0;
        if (c == 0xF4 && b(1) >= 0x90)  // above U+10FFFF
            return 0;
        return 4;
    }
    return 0;
}

}  // namespace

bool valid_metric_name(std::string_view name) noexcept {
    if (name.empty() || is_digit(name.front()))
        return false;
    for (const char c : name)
        if (!is_alpha(c) && !is_digit(c) && c != '_' && c != ':')
            return false;
    return true;
}

bool valid_label_name(std::string_view name) noexcept {
    if (name.empty() || is_digit(name.front()) || name.starts_with("__"))
        return false;
    for (const char c : name)
        if (!is_alpha(c) && !is_digit(c) && c != '_')
            return false;
    return true;
}

std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    while (!s.empty()) {
        const std::size_t n = utf8_sequence(s);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            s.remove_prefix(1);
        } else {
            out.append(s.substr(0, n));
            s.remove_prefix(n);
        }
    }
    return out;
}

void append_label_value(std::string& out, std::string_view value) {
    for (const char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
}

void append_help(std::string& out, std::string_view help) {
    for (const char c : help) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
}

void append_value(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[32];
    std::to_chars_result r{};
    // Counters, counts and Unix timestamps read better as integers than as "1.764e+09".
    constexpr double exact_integers = 9007199254740992.0;  // 2^53
    if (std::trunc(v) == v && std::fabs(v) < exact_integers)
        r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
    else
        r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

std::string format_value(double v) {
    std::string out;
    append_value(out, v);
    return out;
}

}  // namespace tfsnap::metrics::detail
