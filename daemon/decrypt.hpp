#pragma once
// `tfsnapd decrypt` and `tfsnapd keygen`: the encrypted local copies (crypto/sealed_file.hpp),
// usable by an administrator without the daemon running.
//
//   tfsnapd decrypt FILE (--key KEYFILE | --key-credential NAME) [--output OUT] [--force]
//   tfsnapd keygen --output FILE
//
// decrypt writes the plaintext to OUT (created with mode 0600, only after the whole file has
// been authenticated; an existing OUT is kept unless --force) or, when OUT is "-" or absent, to
// `out` (at most 1 GiB: it is authenticated in memory before a byte is written).
// --key-credential reads the key from $CREDENTIALS_DIRECTORY/NAME (LoadCredential=), which the
// caller passes as `credentials_directory` (empty when unset).
// keygen writes a new random key as 64 hex characters and a newline, mode 0600, never replacing
// a file, and prints its fingerprint.
//
// Exit status (sysexits.h): 0 ok; 64 usage; 65 the data is bad (corrupt, truncated, modified,
// sealed with another key, not a sealed file, an invalid key file); 66 FILE or the key file is
// missing or unreadable; 70 an internal (OpenSSL) failure; 73 the output exists or cannot be
// created; 74 an error writing to standard output.

#include <iosfwd>
#include <string_view>
#include <vector>

namespace tfsnap::daemon {

int decrypt_main(const std::vector<std::string_view>& args, std::string_view credentials_directory,
                 std::ostream& out, std::ostream& err);

int keygen_main(const std::vector<std::string_view>& args, std::ostream& out, std::ostream& err);

}  // namespace tfsnap::daemon
