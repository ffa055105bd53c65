#pragma once
// Loading and validating tfsnapd's YAML configuration.
//
// Every problem is collected; nothing stops at the first one. A result has either a config or
// at least one diagnostic, never both. Loading is pure apart from reading the file and the OS
// time zone database.
//
// Merging: `defaults.region/endpoint/dynamodb_endpoint/path_style` apply to environments that
// do not set them; `defaults.credentials`, `defaults.lock` and `defaults.copy` apply to those
// that do not have their own (an environment's own section replaces the default one whole);
// `defaults.schedule` is the template every schedule starts from; retention merges field by
// field: defaults < environment < schedule.

#include "tfsnap/config/config.hpp"
#include "tfsnap/config/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::config {

struct load_result {
    std::optional<daemon_config> config;  // set only when `diagnostics` is empty
    std::vector<diagnostic> diagnostics;  // in file order

    bool ok() const noexcept { return config.has_value(); }
    boost::system::error_code error() const noexcept;
};

// Parses `yaml`, naming `file_name` in diagnostics.
load_result load_string(std::string_view yaml, std::string file_name);

// Reads and parses the file at `path`. An unreadable file is one diagnostic without position.
load_result load_file(const std::string& path);

}  // namespace tfsnap::config
