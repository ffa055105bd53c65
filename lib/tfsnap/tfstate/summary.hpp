#pragma once
// What a Terraform / OpenTofu state object is, and a summary of it, computed by streaming it
// through RapidJSON's SAX reader: no DOM is built, so memory stays flat whatever the state's
// size (a 100 MB state is summarised with a 64 KiB read buffer and one string per module path
// and per output name).
//
// Classification:
// - `state`: a JSON object with `"version": 4`; summarised.
// - `legacy`: `"version"` 3 or older (before Terraform 0.12); refused with errc::legacy_format.
// - `encrypted`: OpenTofu client-side encryption: an object whose top-level `encryption_version`
//   is a non-empty string, the sigil OpenTofu itself goes by (internal/encryption/base.go:
//   `basedata.Version`, "v0" today, beside `meta` and `encrypted_data`). Keys match as Go's
//   json.Unmarshal matches them (case-insensitively; the last of duplicates wins). A valid
//   snapshot whose contents cannot be read: no resources, no serial, no summary.
// - `opaque`: not JSON, or JSON that is not a state object; a valid snapshot, not summarised.
// A state object with a version newer than 4 is kind `state` with errc::unsupported_version and
// no summary; a version 4 state whose resources or outputs have the wrong shape carries
// errc::malformed. JSON nested deeper than limits.hpp's max_nesting (deeper than Terraform
// itself reads) is kind `opaque` with errc::too_deep: the parse stops there, nothing recurses.
//
// Errors: `ec` (tfstate::errc, or the OS error from opening / reading a file) and `message`.
// Neither ever contains state contents, which are user data.
//
// Thread safety: free functions with no shared state.

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::tfstate {

enum class state_kind { state, legacy, encrypted, opaque };

const char* to_string(state_kind k) noexcept;

struct state_summary {
    int version = 0;
    std::uint64_t serial = 0;
    std::string lineage;
    std::string terraform_version;
    std::size_t managed_resources = 0;  // `resources` entries with mode "managed"
    std::size_t data_resources = 0;     // `resources` entries with mode "data"
    std::size_t instances = 0;          // instances across all resources
    std::size_t modules = 0;            // distinct non-root `module` paths among resources
    std::vector<std::string> outputs;   // output names, sorted
};

struct inspection {
    state_kind kind = state_kind::opaque;
    int version = 0;                 // format version, when the object declares one
    std::string encryption_version;  // kind == encrypted: OpenTofu's format, e.g. "v0"
    state_summary summary;           // meaningful when kind == state and ok()
    boost::system::error_code ec;    // set when tfsnap refuses the state (or the file is unreadable)
    std::string message;             // says why, e.g. for errc::legacy_format the version found

    bool ok() const noexcept { return !ec; }
    bool summarised() const noexcept { return kind == state_kind::state && ok(); }
};

// `bytes` are the exact bytes of one state object version.
inspection inspect(std::string_view bytes);

// Streams the file; nothing but the read buffer and the summary is kept in memory. A file that
// cannot be opened or read gives the OS error in `ec` (kind stays `opaque`).
inspection inspect_file(const std::filesystem::path& path);

}  // namespace tfsnap::tfstate
