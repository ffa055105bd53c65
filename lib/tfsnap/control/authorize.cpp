#include "tfsnap/control/authorize.hpp"

#include <algorithm>

namespace tfsnap::control {

namespace {

bool matches(const peer_credentials& peer, const std::string& principal, const name_resolver& names) {
    constexpr std::string_view user_prefix = "user:";
    constexpr std::string_view group_prefix = "group:";
    const std::string_view p = principal;
    if (p.starts_with(user_prefix)) {
        const auto uid = names.user_id(p.substr(user_prefix.size()));
        return uid && *uid == peer.uid;
    }
    if (p.starts_with(group_prefix)) {
        const auto gid = names.group_id(p.substr(group_prefix.size()));
        return gid && peer.in_group(*gid);
    }
    return false;
}

const std::string* first_match(const peer_credentials& peer, const std::vector<std::string>& principals,
                               const name_resolver& names) {
    const auto it = std::find_if(principals.begin(), principals.end(),
                                 [&](const auto& p) { return matches(peer, p, names); });
    return it == principals.end() ? nullptr : &*it;
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : ", ") + s;
    return out;
}

}  // namespace

bool peer_credentials::in_group(std::uint32_t g) const noexcept {
    return gid == g || std::find(groups.begin(), groups.end(), g) != groups.end();
}

authorization authorize(const peer_credentials& peer, role needed, const config::control_config& access,
                        const name_resolver& names) {
    authorization a;
    if (peer.uid == 0) {
        a.allowed = true;
        a.granted = role::operator_;
        a.principal = "uid 0";
        return a;
    }
    if (const auto* p = first_match(peer, access.operators, names)) {
        a.allowed = true;
        a.granted = role::operator_;
        a.principal = *p;
        return a;
    }
    if (needed == role::reader) {
        if (const auto* p = first_match(peer, access.readers, names)) {
            a.allowed = true;
            a.granted = role::reader;
            a.principal = *p;
            return a;
        }
    }

    // Those who have the role: operators always; readers too when reading.
    std::vector<std::string> principals;
    if (needed == role::reader)
        principals = access.readers;
    for (const auto& p : access.operators) {
        if (std::find(principals.begin(), principals.end(), p) == principals.end())
            principals.push_back(p);
    }
    std::string message = "this request needs the " + std::string(to_string(needed)) + " role (uid " +
                          std::to_string(peer.uid) + " has not got it); ";
    if (principals.empty()) {
        message +=
            "no principals are configured for it, so only root has it (control.readers, control.operators)";
    } else {
        message += "it is granted to root and to " + join(principals);
    }
    error_response e = json_error(403, "forbidden", std::move(message));
    e.needed = needed;
    e.principals = std::move(principals);
    a.denial = std::move(e);
    return a;
}

}  // namespace tfsnap::control
