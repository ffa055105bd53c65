#include "identity.hpp"

#include "tfsnap/control/system_resolver.hpp"
#include "tfsnap/core/atomic_file.hpp"

#include <openssl/rand.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace tfsnap::daemon {

namespace fs = std::filesystem;

std::string host_name() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
}

std::string user_name(uid_t uid) {
    if (const auto name = control::system_name_resolver().user_name(static_cast<std::uint32_t>(uid)))
        return *name;
    return "uid" + std::to_string(uid);
}

std::vector<std::byte> plan_token_key(const std::string& state_dir, std::string& problem) {
    const fs::path path = fs::path(state_dir) / "plan-token.key";
    std::string bytes;
    if (!core::read_file(path, bytes) && bytes.size() == 32)
        return {reinterpret_cast<const std::byte*>(bytes.data()),
                reinterpret_cast<const std::byte*>(bytes.data()) + 32};
    std::vector<std::byte> key(32);
    if (RAND_priv_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1)
        throw std::runtime_error("cannot generate the plan-token key");
    std::error_code ec;
    fs::create_directories(state_dir, ec);
    const std::string data(reinterpret_cast<const char*>(key.data()), key.size());
    if (auto e = core::write_file_atomic(path, fs::path(state_dir) / ".tmp-plan-token.key", data, 0600))
        problem = e.message();
    return key;
}

}  // namespace tfsnap::daemon
