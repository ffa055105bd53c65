#include "tfsnap/lifecycle/guard.hpp"

#include "tfsnap/core/rfc3339.hpp"

#include <algorithm>
#include <cstddef>

namespace tfsnap::lifecycle {

namespace {

using std::chrono::days;

sys_seconds to_seconds(s3::time_point t) {
    return std::chrono::floor<std::chrono::seconds>(t);
}

// "rounding the resulting time to the next day midnight UTC"; a time that already is midnight
// stays (see the header)
sys_seconds midnight_at_or_after(sys_seconds t) {
    return std::chrono::ceil<days>(t);
}

std::string at(sys_seconds t) {
    return core::format_rfc3339(t);
}

std::string writes(int n) {
    return std::to_string(n) + (n == 1 ? " more write" : " more writes");
}

std::string of_rule(const s3::lifecycle_rule& r) {
    std::string s = "rule " + r.id;
    if (r.has_tag_filter)
        s += " (tag filter: tfsnap cannot tell whether it applies)";
    return s;
}

// One way S3 may delete a version (or add a delete marker), by one rule.
struct candidate {
    sys_seconds when;
    const s3::lifecycle_rule* rule = nullptr;
    std::string reason;
    bool uncertain = false;
};

// the earliest wins; on a tie, the rule tfsnap can evaluate
bool earlier(const candidate& a, const std::optional<candidate>& best) {
    if (!best)
        return true;
    if (a.when != best->when)
        return a.when < best->when;
    return !a.rule->has_tag_filter && best->rule->has_tag_filter;
}

void offer(std::optional<candidate>& best, candidate c) {
    if (earlier(c, best))
        best = std::move(c);
}

// When the current version `v` gets a delete marker from an Expiration rule, if any rule has one.
std::optional<candidate> delete_marker(std::span<const s3::lifecycle_rule> rules,
                                       const s3::version_entry& v) {
    std::optional<candidate> best;
    const sys_seconds written = to_seconds(v.last_modified);
    for (const auto& r : rules) {
        if (r.expiration_days && *r.expiration_days > 0) {
            offer(best, {midnight_at_or_after(written + days{*r.expiration_days}), &r,
                         "Expiration Days " + std::to_string(*r.expiration_days) + " of " + of_rule(r)});
        }
        if (r.expiration_date) {
            // a date in the past makes every matching object eligible at once
            offer(best, {std::max(to_seconds(*r.expiration_date), written), &r,
                         "Expiration Date " + at(to_seconds(*r.expiration_date)) + " of " + of_rule(r)});
        }
    }
    return best;
}

// What the NoncurrentDays rules do to a version that is noncurrent from `since`, with `rank`
// newer noncurrent versions. `shift`: when the current version gets a delete marker, which
// gives this version one more newer noncurrent version from then on.
struct noncurrent_outcome {
    std::optional<candidate> best;
    // the earliest date a NewerNoncurrentVersions rule could delete it after more writes
    std::optional<candidate> held;
    std::string held_note;  // what `held` adds to the reason of `best`
};

noncurrent_outcome noncurrent(std::span<const s3::lifecycle_rule> rules, sys_seconds since, int rank,
                              const std::optional<candidate>& shift) {
    noncurrent_outcome out;
    for (const auto& r : rules) {
        if (!r.noncurrent_days || *r.noncurrent_days <= 0)
            continue;
        const int n = *r.noncurrent_days;
        const sys_seconds due = midnight_at_or_after(since + days{n});
        std::string reason = "NoncurrentDays " + std::to_string(n) + " of " + of_rule(r) +
                             " (noncurrent since " + at(since) + ")";
        const auto kept = r.newer_noncurrent_versions.value_or(0);
        if (kept <= rank) {
            offer(out.best, {due, &r, std::move(reason)});
            continue;
        }
        const std::string newest = "the " + std::to_string(kept) + " newest noncurrent versions";
        if (shift && rank + 1 == kept) {
            // the delete marker makes the current version noncurrent too, which pushes this one
            // out of the kept set; when S3 then runs is not documented
            offer(out.best,
                  {std::max(due, shift->when), &r,
                   reason + ", once the delete marker of " + shift->rule->id + " at " + at(shift->when) +
                       " pushes it out of " + newest + " that NewerNoncurrentVersions keeps",
                   true});
            continue;
        }
        const int more = kept - rank - (shift ? 1 : 0);
        const std::string then = "after " + writes(more) + " of the key it expires by NoncurrentDays " +
                                 std::to_string(n) + " (noncurrent since " + at(since) + "), not before " +
                                 at(due);
        candidate h{due, &r,
                    "one of " + newest + " kept by NewerNoncurrentVersions of " + of_rule(r) + ": " + then};
        if (earlier(h, out.held)) {
            out.held = std::move(h);
            out.held_note = "sooner if it leaves " + newest + " of rule " + r.id + ": " + then;
        }
    }
    return out;
}

// Fills expires_at, rule_id, reason and uncertain from the outcome; `prefix` describes how the
// version became noncurrent when that is still to come (a delete marker).
void settle(version_fate& f, noncurrent_outcome o, const std::string& prefix) {
    if (o.best) {
        f.expires_at = o.best->when;
        f.rule_id = o.best->rule->id;
        f.reason = prefix + o.best->reason;
        f.uncertain = f.uncertain || o.best->uncertain || o.best->rule->has_tag_filter;
        if (o.held && o.held->when < o.best->when) {
            f.uncertain = true;
            f.reason += "; " + o.held_note;
        }
        return;
    }
    if (o.held) {
        f.rule_id = o.held->rule->id;
        f.reason = prefix + o.held->reason;
        f.uncertain = true;
    }
}

}  // namespace

std::vector<s3::lifecycle_rule> applicable_rules(std::span<const s3::lifecycle_rule> rules,
                                                 std::string_view key) {
    std::vector<s3::lifecycle_rule> out;
    for (const auto& r : rules) {
        if (r.enabled && key.starts_with(r.prefix))
            out.push_back(r);
    }
    return out;
}

std::vector<version_fate> fates(std::span<const s3::lifecycle_rule> all_rules, std::string_view key,
                                std::span<const s3::version_entry> versions) {
    std::vector<const s3::version_entry*> entries;
    for (const auto& v : versions) {
        if (v.key == key)
            entries.push_back(&v);
    }
    std::sort(entries.begin(), entries.end(), [](const s3::version_entry* a, const s3::version_entry* b) {
        if (a->is_latest != b->is_latest)
            return a->is_latest;
        if (a->last_modified != b->last_modified)
            return a->last_modified > b->last_modified;
        if (a->version_id != b->version_id)
            return a->version_id < b->version_id;
        return !a->delete_marker && b->delete_marker;
    });
    const auto rules = applicable_rules(all_rules, key);

    std::vector<version_fate> out;
    std::optional<candidate> marker;  // the delete marker an Expiration rule adds to the current version
    int rank = 0;                     // noncurrent versions newer than the entry at hand
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = *entries[i];
        if (e.delete_marker)
            continue;
        version_fate f;
        f.version_id = e.version_id;
        if (i == 0) {
            marker = delete_marker(rules, e);
            if (!marker) {
                const s3::lifecycle_rule* r = nullptr;
                for (const auto& c : rules) {
                    if (c.noncurrent_days && *c.noncurrent_days > 0 &&
                        (!r || *c.noncurrent_days < *r->noncurrent_days))
                        r = &c;
                }
                f.reason = r ? "current version: NoncurrentDays " + std::to_string(*r->noncurrent_days) +
                                   " of " + of_rule(*r) + " counts from when it is overwritten or deleted"
                             : "current version: no rule deletes it";
                out.push_back(std::move(f));
                continue;
            }
            f.delete_marker_at = marker->when;
            f.uncertain = marker->rule->has_tag_filter;
            const std::string prefix = marker->reason + " adds a delete marker at " + at(marker->when);
            auto o = noncurrent(rules, marker->when, 0, std::nullopt);
            if (o.best || o.held) {
                settle(f, std::move(o), prefix + "; then ");
            } else {
                f.rule_id = marker->rule->id;
                f.reason = prefix + "; no rule then deletes the noncurrent version";
            }
            out.push_back(std::move(f));
            continue;
        }
        f.noncurrent_since = to_seconds(entries[i - 1]->last_modified);
        settle(f, noncurrent(rules, *f.noncurrent_since, rank, marker), "");
        if (f.reason.empty())
            f.reason = "noncurrent since " + at(*f.noncurrent_since) + ": no rule deletes it";
        out.push_back(std::move(f));
        ++rank;
    }
    return out;
}

}  // namespace tfsnap::lifecycle
