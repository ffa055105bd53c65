#include "tfsnap/crypto/hash.hpp"

#include <array>

namespace tfsnap::crypto {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";
constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr int b64_invalid = -1;
constexpr int b64_pad = -2;

constexpr std::array<int, 256> make_b64_table() {
    std::array<int, 256> t{};
    for (auto& v : t)
        v = b64_invalid;
    for (int i = 0; i < 64; ++i)
        t[static_cast<unsigned char>(b64_alphabet[i])] = i;
    t['='] = b64_pad;
    return t;
}
constexpr auto b64_table = make_b64_table();

}  // namespace

std::string to_hex(std::string_view raw) {
    std::string out(raw.size() * 2, '\0');
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const auto b = static_cast<unsigned char>(raw[i]);
        out[2 * i] = hex_digits[b >> 4];
        out[2 * i + 1] = hex_digits[b & 0x0f];
    }
    return out;
}

std::string base64_encode(std::string_view raw) {
    std::string out;
    out.reserve((raw.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= raw.size(); i += 3) {
        const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(raw[i])) << 16 |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(raw[i + 1])) << 8 |
                                static_cast<unsigned char>(raw[i + 2]);
        out += b64_alphabet[n >> 18 & 63];
        out += b64_alphabet[n >> 12 & 63];
        out += b64_alphabet[n >> 6 & 63];
        out += b64_alphabet[n & 63];
    }
    const std::size_t rest = raw.size() - i;
    if (rest > 0) {
        std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(raw[i])) << 16;
        if (rest == 2)
            n |= static_cast<std::uint32_t>(static_cast<unsigned char>(raw[i + 1])) << 8;
        out += b64_alphabet[n >> 18 & 63];
        out += b64_alphabet[n >> 12 & 63];
        out += rest == 2 ? b64_alphabet[n >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

bool base64_decode(std::string_view text, std::string& out) {
    if (text.size() % 4 != 0)
        return false;
    std::string result;
    result.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int v[4];
        for (int j = 0; j < 4; ++j)
            v[j] = b64_table[static_cast<unsigned char>(text[i + j])];
        if (v[0] < 0 || v[1] < 0)
            return false;
        int pads = 0;
        if (v[3] == b64_pad) {
            if (!last)
                return false;
            pads = v[2] == b64_pad ? 2 : 1;
            if (pads == 1 && v[2] < 0)
                return false;
        } else if (v[2] < 0 || v[3] < 0) {
            return false;
        }
        // Padding bits must be zero: RFC 4648 section 3.5 allows rejecting non-canonical
        // encodings, and accepting them would let two texts decode to the same bytes.
        if (pads == 2 && (v[1] & 0x0f) != 0)
            return false;
        if (pads == 1 && (v[2] & 0x03) != 0)
            return false;
        const std::uint32_t n = static_cast<std::uint32_t>(v[0]) << 18 |
                                static_cast<std::uint32_t>(v[1]) << 12 |
                                static_cast<std::uint32_t>(pads == 2 ? 0 : v[2]) << 6 |
                                static_cast<std::uint32_t>(pads >= 1 ? 0 : v[3]);
        result += static_cast<char>(n >> 16 & 0xff);
        if (pads < 2)
            result += static_cast<char>(n >> 8 & 0xff);
        if (pads < 1)
            result += static_cast<char>(n & 0xff);
    }
    out = std::move(result);
    return true;
}

}  // namespace tfsnap::crypto
