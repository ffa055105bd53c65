#pragma once
// Differences between two version 4 states, for a restore plan: resource instances by full
// address (see address.hpp), outputs by name, and serial / lineage / terraform_version.
//
// Each state is parsed into a DOM one at a time and reduced to an index of address -> 64-bit
// hash of the instance's canonical form (object keys sorted, plus the resource's provider),
// so only one DOM is alive at once and the result holds no attribute values.
//
// Outputs are compared on value, type and sensitivity; the result carries only their names,
// never values (sensitive or not).
//
// Errors: both inputs must be version 4 states; otherwise `ec` is errc::legacy_format,
// unsupported_version, malformed, encrypted or not_a_state and `message` says which side.
//
// Thread safety: free functions with no shared state.

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::tfstate {

enum class change_kind { added, removed, changed };

const char* to_string(change_kind k) noexcept;

struct resource_change {
    std::string address;  // e.g. module.net.aws_subnet.this["a"]
    change_kind kind = change_kind::changed;

    friend bool operator==(const resource_change&, const resource_change&) = default;
};

struct output_change {
    std::string name;
    change_kind kind = change_kind::changed;
    bool sensitive = false;  // sensitive before or after

    friend bool operator==(const output_change&, const output_change&) = default;
};

template <class T>
struct field_change {
    bool changed = false;
    T before{};
    T after{};
};

struct state_diff {
    std::vector<resource_change> resources;  // sorted by address
    std::vector<output_change> outputs;      // sorted by name
    field_change<std::uint64_t> serial;
    field_change<std::string> lineage;
    field_change<std::string> terraform_version;

    // No resource, output, lineage or terraform_version difference (serial alone may differ).
    bool same_content() const noexcept {
        return resources.empty() && outputs.empty() && !lineage.changed && !terraform_version.changed;
    }
};

struct diff_result {
    state_diff diff;
    boost::system::error_code ec;
    std::string message;  // "before: ..." or "after: ..."; never state contents

    bool ok() const noexcept { return !ec; }
};

diff_result diff(std::string_view before, std::string_view after);

}  // namespace tfsnap::tfstate
