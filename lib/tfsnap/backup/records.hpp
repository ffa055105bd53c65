#pragma once
// The small JSON records the jobs keep beside an environment's snapshots (catalog records):
// LAST_BACKUP.json (the last backup check), EVENTS.json (state events such as a deleted state,
// newest last, the last 100), VERIFY.json (the last verify; see verify_job.hpp).

#include "tfsnap/catalog/catalog.hpp"

#include <string>
#include <vector>

namespace tfsnap::backup {

struct backup_check {
    std::string checked_at;  // RFC 3339
    std::string result;      // "snapshot", "unchanged", "state-deleted", "failed"
    std::string schedule;
    std::string version_id;
    std::string snapshot_id;
    std::string message;
};

struct state_event {
    std::string at;          // RFC 3339
    std::string kind;        // "state-deleted"
    std::string version_id;  // the delete marker's version id, when known
    std::string message;
};

std::string serialize(const backup_check& c);
bool parse(std::string_view json, backup_check& out);

// Appends `e` to EVENTS.json (read, add, keep the last 100, replace atomically).
catalog::status append_event(catalog::catalog& cat, std::string_view env, const state_event& e);
catalog::status read_events(catalog::catalog& cat, std::string_view env, std::vector<state_event>& out);

}  // namespace tfsnap::backup
