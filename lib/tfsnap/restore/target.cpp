#include "tfsnap/restore/target.hpp"

#include "tfsnap/core/rfc3339.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace tfsnap::restore {

const char* describe(target_errc e) noexcept {
    switch (e) {
        case target_errc::no_versions:
            return "the state has no versions";
        case target_errc::too_early:
            return "no version of the state existed at the requested time";
    }
    return "unknown tfsnap.restore.target error";
}

const boost::system::error_category& target_category() noexcept {
    static const core::enum_category<target_errc> category{"tfsnap.restore.target", &describe};
    return category;
}

namespace {

// The entries of exactly `key`, newest first (see the header).
std::vector<const s3::version_entry*> newest_first(std::span<const s3::version_entry> entries,
                                                   std::string_view key) {
    std::vector<const s3::version_entry*> out;
    for (const auto& e : entries) {
        if (e.key == key)
            out.push_back(&e);
    }
    std::stable_sort(out.begin(), out.end(), [](const s3::version_entry* a, const s3::version_entry* b) {
        if (a->is_latest != b->is_latest)
            return a->is_latest;
        return a->last_modified > b->last_modified;
    });
    return out;
}

// RFC 3339 in UTC, with the milliseconds S3 keeps when there are any.
std::string format_time(s3::time_point t) {
    const auto secs = std::chrono::floor<std::chrono::seconds>(t);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
    std::string out = core::format_rfc3339(secs);
    if (ms != 0) {
        char frac[8];
        std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms % 1000));  // 0..999: 4 chars
        out.insert(out.size() - 1, frac);
    }
    return out;
}

}  // namespace

target_result resolve_at(std::span<const s3::version_entry> entries, std::string_view key,
                         std::chrono::sys_seconds t) {
    target_result out;
    const auto ordered = newest_first(entries, key);
    const s3::version_entry* oldest = nullptr;
    for (const auto* e : ordered) {
        if (e->delete_marker)
            continue;
        oldest = e;  // the last version in newest-first order
        if (e->last_modified <= t && !out.entry) {
            out.entry = *e;
        }
    }
    if (oldest == nullptr) {
        out.ec = target_errc::no_versions;
        out.message = ordered.empty() ? "no versions of " + std::string(key) + " are listed"
                                      : std::string(key) + " has only delete markers, no versions";
        return out;
    }
    if (!out.entry) {
        out.ec = target_errc::too_early;
        out.message = "no version of " + std::string(key) + " existed at " + core::format_rfc3339(t) +
                      ": the oldest version (" + oldest->version_id + ") is from " +
                      format_time(oldest->last_modified);
        return out;
    }
    // a delete marker newer than the chosen version but not after t: the state was deleted at t
    for (const auto* e : ordered) {
        if (e->last_modified > t)
            continue;
        out.deleted_at_time = e->delete_marker;
        break;
    }
    return out;
}

std::optional<s3::version_entry> current_entry(std::span<const s3::version_entry> entries,
                                               std::string_view key) {
    const auto ordered = newest_first(entries, key);
    if (ordered.empty())
        return std::nullopt;
    return *ordered.front();
}

std::optional<s3::version_entry> previous_version(std::span<const s3::version_entry> entries,
                                                  std::string_view key) {
    const auto ordered = newest_first(entries, key);
    if (ordered.empty() || !ordered.front()->delete_marker)
        return std::nullopt;
    for (const auto* e : ordered) {
        if (!e->delete_marker)
            return *e;
    }
    return std::nullopt;
}

}  // namespace tfsnap::restore
