#pragma once
// Byte-exact rewriting of a state's serial, for a restore that rolls the serial forward, which is
// the default. A restore that wrote an old version with its own, lower serial would leave the
// bucket's newest state below serials that already exist: `terraform state push` refuses only a
// copy of the same lineage with a *lower* serial than the remote one, so stale local copies with a
// serial in between would then be accepted, and later applies would write serials that already
// exist in the bucket's history. Rolled forward (the current serial + 1, or the target's own when
// higher), the restored state is the newest and both are refused.
//
// set_serial() changes only the digits of the top-level "serial" value: every other byte
// (whitespace, key order, escapes, the trailing newline) is kept, so the result differs from the
// input in that one number and nothing else. The value is found by streaming the input through
// RapidJSON's SAX reader (iteratively, numbers as raw text, with the stream's offset at each
// value): no DOM is built, a 100 MB state costs the output copy and a few KB of parser stack.
// The whole input is validated as JSON, so invalid JSON is refused, not half rewritten.
//
// Which key is "serial" is decided as Terraform decides it: states are read with Go's
// json.Unmarshal into a struct with `Serial uint64 \`json:"serial"\``
// (hashicorp/terraform internal/states/statefile/version4.go, readStateV4), which matches keys
// case-insensitively and after unescaping ("Serial", "s\u0065rial" are serial too). Only keys of
// the root object count; "serial" inside resources, outputs or strings is never touched.
//
// Errors (tfstate::errc) with a message that never quotes the state (user data):
// - not_a_state: not JSON, or not a JSON object;
// - no_serial: no top-level serial;
// - bad_serial: its value is not what Go reads into a uint64 (a string, null, negative, a
//   fraction or exponent, above 2^64-1);
// - ambiguous_serial: more than one top-level key reads as serial (Go would take the last one;
//   tfsnap refuses to guess).
//
// Thread safety: free functions with no shared state.

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tfsnap::tfstate {

// Where the top-level serial's digits are.
struct serial_location {
    boost::system::error_code ec;
    std::string message;
    std::size_t offset = 0;  // of the first digit
    std::size_t length = 0;  // of the number's text
    std::uint64_t value = 0;

    bool ok() const noexcept { return !ec; }
};

serial_location locate_serial(std::string_view state_bytes);

struct rewrite_result {
    boost::system::error_code ec;
    std::string message;
    std::string bytes;             // the rewritten state; empty on error
    std::uint64_t old_serial = 0;  // the serial the input had

    bool ok() const noexcept { return !ec; }
};

rewrite_result set_serial(std::string_view state_bytes, std::uint64_t serial);

// The top-level serial, or nullopt for any of the errors above.
std::optional<std::uint64_t> top_level_serial(std::string_view state_bytes);

}  // namespace tfsnap::tfstate
