#include "tfsnap/control/system_resolver.hpp"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <string>
#include <vector>

namespace tfsnap::control {

namespace {

// Calls `lookup(buffer, size) -> errno value` with a buffer that grows while it reports ERANGE.
template <class Lookup>
bool with_buffer(Lookup lookup) {
    std::vector<char> buf(1024);
    for (;;) {
        const int rc = lookup(buf.data(), buf.size());
        if (rc != ERANGE)
            return rc == 0;
        if (buf.size() >= (std::size_t{1} << 20))
            return false;
        buf.resize(buf.size() * 2);
    }
}

}  // namespace

std::optional<std::uint32_t> system_name_resolver::user_id(std::string_view name) const {
    const std::string n(name);
    passwd pw{};
    passwd* found = nullptr;
    if (!with_buffer(
            [&](char* b, std::size_t size) { return ::getpwnam_r(n.c_str(), &pw, b, size, &found); }) ||
        found == nullptr)
        return std::nullopt;
    return static_cast<std::uint32_t>(found->pw_uid);
}

std::optional<std::uint32_t> system_name_resolver::group_id(std::string_view name) const {
    const std::string n(name);
    group gr{};
    group* found = nullptr;
    if (!with_buffer(
            [&](char* b, std::size_t size) { return ::getgrnam_r(n.c_str(), &gr, b, size, &found); }) ||
        found == nullptr)
        return std::nullopt;
    return static_cast<std::uint32_t>(found->gr_gid);
}

}  // namespace tfsnap::control
