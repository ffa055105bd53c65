#pragma once
// The audit log of restores: `<state_dir>/audit.log`, one JSON object per line, appended and
// fsynced before the restore reports its result. Lines are never rewritten; a reader skips a
// torn last line (a crash mid-write) and says so.
//
// Each line: {"at", "restore_id", "environment", "action", "who" {uid, user}, "requested_by",
// "reason", "plan" {...}, "steps" [{name, ok, detail, ms}], "result", "new_version_id",
// "message", "ms"}. Values are what the restore did; state contents never appear.
//
// Thread safety: none; one writer (the daemon's I/O thread). Blocking file I/O, a few KB.

#include "tfsnap/core/atomic_file.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::restore {

struct audit_step {
    std::string name;  // "check", "lock dynamodb", "safety snapshot", "write", "digest", "verify", ...
    bool ok = false;
    std::string detail;
    long long ms = 0;
};

struct audit_record {
    std::string at;  // RFC 3339
    std::string restore_id;
    std::string environment;
    std::string action;  // "restore", "undelete", "recover"
    long long uid = -1;
    std::string user;
    std::string requested_by;
    std::string reason;
    std::string plan_json;  // the plan as the API returned it (already JSON)
    std::vector<audit_step> steps;
    std::string result;  // "ok", "refused", "failed", "no-op", "recovered"
    std::string new_version_id;
    std::string message;
    long long ms = 0;
};

std::string to_json_line(const audit_record& r);  // one line, ending in '\n'

// Appends one line (O_APPEND, one write, fsync). The file is created 0600.
core::file_error append_audit(const std::filesystem::path& state_dir, const audit_record& r);

// Every complete line of the log (for tests and the API); `torn` counts lines that do not parse.
core::file_error read_audit(const std::filesystem::path& state_dir, std::vector<std::string>& lines,
                            int* torn);

}  // namespace tfsnap::restore
