// tfsnap_seal_tool: seals a file the way the backup job's local copy will, for the system tests
// (tfsnapd itself only decrypts). Built for the tests only; never installed.
//
//   tfsnap_seal_tool KEYFILE SRC DEST     prints "<sealed sha256> <plaintext sha256>"
//
// Exit status: 0 ok, 1 failure (the message on stderr), 2 usage.

#include "tfsnap/crypto/sealed_file.hpp"

#include <iostream>
#include <string>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: tfsnap_seal_tool KEYFILE SRC DEST\n";
        return 2;
    }
    const auto key = tfsnap::crypto::load_key(argv[1]);
    if (!key.ok()) {
        std::cerr << "tfsnap_seal_tool: " << key.error.message << "\n";
        return 1;
    }
    const auto r = tfsnap::crypto::seal_file(*key.key, argv[2], argv[3]);
    if (!r.ok()) {
        std::cerr << "tfsnap_seal_tool: " << r.error.message << "\n";
        return 1;
    }
    std::cout << r.sealed_sha256 << " " << r.plaintext_sha256 << "\n";
    return 0;
}
