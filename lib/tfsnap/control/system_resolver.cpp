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

std::optional<std::string> system_name_resolver::user_name(std::uint32_t uid) const {
    passwd pw{};
    passwd* found = nullptr;
    std::optional<std::string> name;
    // the name lives in the buffer: copied before with_buffer frees it
    if (!with_buffer([&](char* b, std::size_t size) {
            const int rc = ::getpwuid_r(static_cast<uid_t>(uid), &pw, b, size, &found);
            if (rc == 0 && found != nullptr)
                name = found->pw_name;
            return rc;
        }))
        return std::nullopt;
    return name;
}

std::optional<std::vector<std::uint32_t>> system_name_resolver::user_groups(std::uint32_t uid,
                                                                            std::uint32_t gid) const {
    const auto name = user_name(uid);
    if (!name)
        return std::nullopt;
    std::vector<gid_t> groups(32);
    for (int attempt = 0; attempt < 8; ++attempt) {
        int n = static_cast<int>(groups.size());
        if (::getgrouplist(name->c_str(), static_cast<gid_t>(gid), groups.data(), &n) >= 0) {
            groups.resize(static_cast<std::size_t>(n));
            return std::vector<std::uint32_t>(groups.begin(), groups.end());
        }
        groups.resize(static_cast<std::size_t>(n) > groups.size() ? static_cast<std::size_t>(n)
                                                                  : groups.size() * 2);
    }
    return std::nullopt;
}

}  // namespace tfsnap::control
