#include "tfsnap/core/json.hpp"

#include <rapidjson/error/en.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace tfsnap::core::detail {

json_status json_failure(rapidjson::ParseErrorCode code, std::size_t offset, bool too_deep,
                         std::size_t max_depth) {
    json_status s;
    s.code = code;
    s.offset = offset;
    const std::string at = " (at byte " + std::to_string(offset) + ")";
    if (too_deep) {
        s.ec = errc::json_too_deep;
        s.message = "nests deeper than " + std::to_string(max_depth) + " levels" + at;
    } else {
        s.ec = errc::invalid_json;
        s.message = std::string("not valid JSON: ") + rapidjson::GetParseError_En(code) + at;
    }
    return s;
}

bool is_valid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        if (b0 < 0x80) {
            ++i;
            continue;
        }
        std::size_t size = 0;
        unsigned char lo = 0x80, hi = 0xBF;  // the accepted range of the second byte
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            size = 2;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            size = 3;
            if (b0 == 0xE0)
                lo = 0xA0;  // overlong
            else if (b0 == 0xED)
                hi = 0x9F;  // surrogates
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            size = 4;
            if (b0 == 0xF0)
                lo = 0x90;  // overlong
            else if (b0 == 0xF4)
                hi = 0x8F;  // above U+10FFFF
        } else {
            return false;
        }
        if (s.size() - i < size)
            return false;
        const auto b1 = static_cast<unsigned char>(s[i + 1]);
        if (b1 < lo || b1 > hi)
            return false;
        for (std::size_t k = 2; k < size; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if (b < 0x80 || b > 0xBF)
                return false;
        }
        i += size;
    }
    return true;
}

exact_number read_exact_number(std::string_view t) noexcept {
    exact_number out;
    const char* first = t.data();
    const char* last = t.data() + t.size();
    if (t.empty())
        return out;
    if (t.find_first_of(".eE") == std::string_view::npos) {
        if (t.front() == '-') {
            std::int64_t v = 0;
            const auto [end, ec] = std::from_chars(first, last, v);
            if (ec == std::errc{} && end == last) {
                out.type = v >= std::numeric_limits<int>::min() ? exact_number::kind::int32
                                                                : exact_number::kind::int64;
                out.i = v;
                return out;
            }
        } else {
            std::uint64_t v = 0;
            const auto [end, ec] = std::from_chars(first, last, v);
            if (ec == std::errc{} && end == last) {
                out.type = v <= std::numeric_limits<unsigned>::max() ? exact_number::kind::uint32
                                                                     : exact_number::kind::uint64;
                out.u = v;
                return out;
            }
        }
        // beyond 64 bits: a double, as RapidJSON reads it
    }
    double d = 0;
    const auto [end, ec] = std::from_chars(first, last, d);
    if (ec == std::errc{} && end == last) {
        out.type = exact_number::kind::real;
        out.d = d;
        return out;
    }
    if (ec == std::errc::result_out_of_range) {
        // too large or too small: strtod says which (a tiny number is 0 or subnormal, as for RapidJSON)
        const std::string copy(t);
        const double s = std::strtod(copy.c_str(), nullptr);
        if (!std::isinf(s)) {
            out.type = exact_number::kind::real;
            out.d = s;
        }
    }
    return out;
}

}  // namespace tfsnap::core::detail
