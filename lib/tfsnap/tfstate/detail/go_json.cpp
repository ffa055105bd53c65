#include "tfsnap/tfstate/detail/go_json.hpp"

namespace tfsnap::tfstate::detail {

namespace {

constexpr char32_t rune_error = 0xFFFD;
constexpr char hex_digits[] = "0123456789abcdef";

bool continuation(unsigned char c) noexcept {
    return c >= 0x80 && c <= 0xBF;
}

// Go's htmlSafeSet: printable ASCII (and DEL) except `"`, `\`, `<`, `>` and `&`.
bool html_safe(unsigned char c) noexcept {
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
}

// The ASCII letter a non-ASCII rune folds to under Go's foldName (ToUpper(ToLower(r))), or 0.
char fold_to_ascii(char32_t r) noexcept {
    switch (r) {
        case 0x017F:  // LATIN SMALL LETTER LONG S: upper case is 'S'
            return 'S';
        case 0x212A:  // KELVIN SIGN: lower case is 'k'
            return 'K';
        case 0x0130:  // LATIN CAPITAL LETTER I WITH DOT ABOVE: lower case is 'i'
        case 0x0131:  // LATIN SMALL LETTER DOTLESS I: upper case is 'I'
            return 'I';
        default:
            return 0;
    }
}

char ascii_upper(char c) noexcept {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - ('a' - 'A')) : c;
}

}  // namespace

go_rune go_decode_rune(std::string_view s) noexcept {
    const auto b0 = static_cast<unsigned char>(s[0]);
    if (b0 < 0x80)
        return {b0, 1};
    std::size_t size = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the accepted range of the second byte
    char32_t r = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        size = 2;
        r = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        size = 3;
        r = b0 & 0x0F;
        if (b0 == 0xE0)
            lo = 0xA0;  // no overlong forms
        else if (b0 == 0xED)
            hi = 0x9F;  // no surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        size = 4;
        r = b0 & 0x07;
        if (b0 == 0xF0)
            lo = 0x90;  // no overlong forms
        else if (b0 == 0xF4)
            hi = 0x8F;  // nothing above U+10FFFF
    } else {
        return {rune_error, 1};
    }
    if (s.size() < size)
        return {rune_error, 1};
    const auto b1 = static_cast<unsigned char>(s[1]);
    if (b1 < lo || b1 > hi)
        return {rune_error, 1};
    r = r << 6 | (b1 & 0x3F);
    for (std::size_t i = 2; i < size; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (!continuation(b))
            return {rune_error, 1};
        r = r << 6 | (b & 0x3F);
    }
    return {r, size};
}

std::string go_quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) {
            if (html_safe(b)) {
                out += static_cast<char>(b);
            } else {
                switch (b) {
                    case '"':
                    case '\\':
                        out += '\\';
                        out += static_cast<char>(b);
                        break;
                    // \b and \f have short forms since Go 1.22 (earlier Go wrote \u0008, \u000c)
                    case '\b':
                        out += "\\b";
                        break;
                    case '\f':
                        out += "\\f";
                        break;
                    case '\n':
                        out += "\\n";
                        break;
                    case '\r':
                        out += "\\r";
                        break;
                    case '\t':
                        out += "\\t";
                        break;
                    default:
                        out += "\\u00";
                        out += hex_digits[b >> 4];
                        out += hex_digits[b & 0x0F];
                        break;
                }
            }
            ++i;
            continue;
        }
        const go_rune r = go_decode_rune(s.substr(i));
        if (r.rune == rune_error && r.size == 1) {
            out += "\\ufffd";
        } else if (r.rune == 0x2028 || r.rune == 0x2029) {
            out += "\\u202";
            out += hex_digits[r.rune & 0x0F];
        } else {
            out.append(s.substr(i, r.size));
        }
        i += r.size;
    }
    out += '"';
    return out;
}

std::string go_coerce_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            out += s[i++];
            continue;
        }
        const go_rune r = go_decode_rune(s.substr(i));
        if (r.rune == rune_error && r.size == 1)
            out += "\xEF\xBF\xBD";
        else
            out.append(s.substr(i, r.size));
        i += r.size;
    }
    return out;
}

bool go_key_matches(std::string_view key, std::string_view ascii_name) noexcept {
    if (key == ascii_name)
        return true;
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < key.size()) {
        if (j == ascii_name.size())
            return false;
        char folded = 0;
        const auto b = static_cast<unsigned char>(key[i]);
        if (b < 0x80) {
            folded = ascii_upper(static_cast<char>(b));
            ++i;
        } else {
            const go_rune r = go_decode_rune(key.substr(i));
            folded = fold_to_ascii(r.rune);
            if (folded == 0)
                return false;
            i += r.size;
        }
        if (folded != ascii_upper(ascii_name[j]))
            return false;
        ++j;
    }
    return j == ascii_name.size();
}

}  // namespace tfsnap::tfstate::detail
