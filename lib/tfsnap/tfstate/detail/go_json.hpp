#pragma once
// How Go's encoding/json writes and matches strings, for the JSON that Terraform itself reads and
// writes (LockInfo, and the keys of a state object). Pure.
//
// The rules are those of Go 1.22 and later (Terraform 1.8+), src/encoding/json/encode.go
// `appendString` and src/encoding/json/fold.go `foldName`; Go's UTF-8 decoding is
// src/unicode/utf8/utf8.go `DecodeRune`.

#include <string>
#include <string_view>

namespace tfsnap::tfstate::detail {

// One step of Go's utf8.DecodeRune: the rune at the front of `s` and its length in bytes. An
// invalid or truncated sequence (overlong forms, surrogates, above U+10FFFF) gives U+FFFD with
// size 1, so the caller skips exactly one byte. `s` must not be empty.
struct go_rune {
    char32_t rune;
    std::size_t size;
};
go_rune go_decode_rune(std::string_view s) noexcept;

// `s` as json.Marshal writes a Go string (with HTML escaping, which json.Marshal always does):
// quoted; `"` and `\` backslash-escaped; \b \f \n \r \t short forms; other bytes below 0x20 and
// `<`, `>`, `&` as \u00XX (lower-case hex); U+2028 and U+2029 as \u2028 and \u2029; every byte of
// invalid UTF-8 as \ufffd; everything else (DEL included) as is.
std::string go_quote(std::string_view s);

// `s` as json.Unmarshal stores it in a Go string: each byte of invalid UTF-8 becomes U+FFFD.
std::string go_coerce_utf8(std::string_view s);

// Whether json.Unmarshal matches the object key `key` (already unescaped) to a struct field named
// `ascii_name`: an exact match, or equal under Go's folding (ASCII case, and the four non-ASCII
// runes that fold to ASCII letters: U+017F ſ and U+212A K (Kelvin), U+0130 İ and U+0131 ı).
bool go_key_matches(std::string_view key, std::string_view ascii_name) noexcept;

}  // namespace tfsnap::tfstate::detail
