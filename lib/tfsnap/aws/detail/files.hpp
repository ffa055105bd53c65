#pragma once
// Reading the small local files the providers use (shared credentials/config files, token
// files, systemd credentials). The content is held in a core::secret because most of these
// files contain secrets.
//
// Reads are synchronous: the files are local and small (capped at `max_size`), so they do not
// stall the I/O thread noticeably.

#include "tfsnap/core/secret.hpp"

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <map>
#include <string>

namespace tfsnap::aws::detail {

struct file_content {
    boost::system::error_code ec;  // errno values in the generic category; file_too_large when capped
    core::secret text;
};

inline constexpr std::size_t max_credentials_file_size = 1024 * 1024;

file_content read_small_file(const std::string& path, std::size_t max_size = max_credentials_file_size);

// Leading "~/" replaced by `home` (empty home: unchanged).
std::string expand_home(const std::string& path, const std::string& home);

}  // namespace tfsnap::aws::detail
