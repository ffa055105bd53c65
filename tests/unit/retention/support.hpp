#pragma once
// Helpers shared by the retention tests: readable instants and a one-line-per-snapshot view
// of a plan.

#include "tfsnap/retention/policy.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::retention::test {

// "2026-11-20 10:00" read as wall-clock time in `zone` (the earlier instant when it occurs
// twice), or "2026-11-20 10:00Z" read as UTC.
inline sys_seconds at(std::string_view text, const date::time_zone& zone) {
    std::string s(text);
    const bool utc = !s.empty() && s.back() == 'Z';
    if (utc)
        s.pop_back();
    std::istringstream in(s);
    date::local_seconds local;
    in >> date::parse("%Y-%m-%d %H:%M", local);
    if (in.fail())
        throw std::invalid_argument("bad time in test: " + std::string(text));
    if (utc)
        return sys_seconds{local.time_since_epoch()};
    return zone.to_sys(local, date::choose::earliest);
}

inline sys_seconds at(std::string_view text) {
    return at(text, *date::locate_zone("UTC"));
}

// "id: reason; reason" for a kept snapshot, "id: -" for a deleted one, newest first.
inline std::vector<std::string> render(const plan& p) {
    std::vector<std::string> out;
    for (const auto& d : p.decisions) {
        std::string line = d.id + ":";
        if (!d.keep)
            line += " -";
        for (std::size_t i = 0; i < d.reasons.size(); ++i)
            line += (i == 0 ? " " : "; ") + d.reasons[i].text;
        out.push_back(std::move(line));
    }
    return out;
}

}  // namespace tfsnap::retention::test
