#include "tfsnap/control/body.hpp"

#include "tfsnap/config/validate.hpp"
#include "tfsnap/core/json.hpp"
#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/manifest/manifest.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <initializer_list>
#include <span>
#include <vector>

namespace tfsnap::control {

namespace {

error_response body_error(std::string code, std::string message, std::string field) {
    error_response e = json_error(400, std::move(code), std::move(message));
    e.field = std::move(field);
    return e;
}

bool is_blank(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

bool is_printable_ascii(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// One JSON object checked against a schema: the fields it may have, and typed access to them.
// The first error sticks; later calls do nothing.
class object_reader {
public:
    object_reader(std::string_view body, std::initializer_list<std::string_view> known) : known_(known) {
        if (is_blank(body)) {
            doc_.SetObject();
            return;
        }
        // iterative and depth-bounded: a 64 KiB body of nested arrays must not exhaust the stack
        const auto parsed = core::parse_json<rapidjson::kParseValidateEncodingFlag>(doc_, body);
        if (parsed.ec == core::errc::json_too_deep) {
            fail(body_error("invalid_json", "the body " + parsed.message, ""));
            return;
        }
        if (!parsed.ok()) {
            fail(body_error("invalid_json", "the body is " + parsed.message, ""));
            return;
        }
        if (!doc_.IsObject()) {
            fail(body_error("invalid_json", "the body must be a JSON object", ""));
            return;
        }
        std::vector<std::string_view> seen;
        for (const auto& m : doc_.GetObject()) {
            const std::string_view name(m.name.GetString(), m.name.GetStringLength());
            if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
                fail(body_error("invalid_json", "field \"" + std::string(name) + "\" is given twice",
                                std::string(name)));
                return;
            }
            seen.push_back(name);
            if (std::find(known_.begin(), known_.end(), name) == known_.end()) {
                std::string message = "unknown field \"" + std::string(name) + "\"";
                const std::span<const std::string_view> candidates(known_);
                if (const auto hint = config::closest_match(name, candidates))
                    message += " (did you mean \"" + *hint + "\"?)";
                else if (known_.empty())
                    message += " (this request takes an empty object)";
                fail(body_error("unknown_field", std::move(message), std::string(name)));
                return;
            }
        }
    }

    bool ok() const noexcept { return !error_; }
    std::optional<error_response>& error() noexcept { return error_; }

    void fail(error_response e) {
        if (!error_)
            error_ = std::move(e);
    }

    bool has(std::string_view name) const { return ok() && find(name) != nullptr; }

    std::optional<std::string> string(std::string_view name) {
        const auto* v = find(name);
        if (!ok() || v == nullptr)
            return std::nullopt;
        if (!v->IsString()) {
            fail(body_error("invalid_field", "field \"" + std::string(name) + "\" must be a string",
                            std::string(name)));
            return std::nullopt;
        }
        return std::string(v->GetString(), v->GetStringLength());
    }

    std::optional<bool> boolean(std::string_view name) {
        const auto* v = find(name);
        if (!ok() || v == nullptr)
            return std::nullopt;
        if (!v->IsBool()) {
            fail(body_error("invalid_field", "field \"" + std::string(name) + "\" must be true or false",
                            std::string(name)));
            return std::nullopt;
        }
        return v->GetBool();
    }

private:
    const rapidjson::Value* find(std::string_view name) const {
        if (!doc_.IsObject())
            return nullptr;
        const auto it = doc_.FindMember(rapidjson::StringRef(name.data(), name.size()));
        return it == doc_.MemberEnd() ? nullptr : &it->value;
    }

    std::vector<std::string_view> known_;
    rapidjson::Document doc_;
    std::optional<error_response> error_;
};

template <class T>
parsed_body<T> finish(object_reader& r, T value) {
    parsed_body<T> out;
    if (r.ok())
        out.value = std::move(value);
    else
        out.error = std::move(r.error());
    return out;
}

void check_snapshot_id(object_reader& r, const std::optional<std::string>& id) {
    if (id && !manifest::is_valid_snapshot_id(*id))
        r.fail(body_error("invalid_field", "snapshot_id is not a snapshot id (YYYY-MM-DDTHH-MM-SSZ[-N])",
                          "snapshot_id"));
}

void check_reason(object_reader& r, const std::optional<std::string>& reason) {
    if (!r.ok())
        return;
    if (!reason || is_blank(*reason)) {
        r.fail(body_error("missing_field", "\"reason\" is required: it goes into the lock and the audit log",
                          "reason"));
    } else if (reason->size() > max_reason_size) {
        r.fail(body_error("invalid_field",
                          "reason is longer than " + std::to_string(max_reason_size) + " bytes", "reason"));
    }
}

// The dry-run/token rule shared by restores and undeletes.
void check_token(object_reader& r, bool dry_run, const std::string& token, bool has_token) {
    if (!r.ok())
        return;
    if (dry_run && has_token) {
        r.fail(body_error(
            "invalid_field",
            "a dry run takes no token; send \"dry_run\": false with the token to execute the plan", "token"));
    } else if (!dry_run && token.empty()) {
        r.fail(body_error(
            "missing_field",
            "\"dry_run\": false needs the \"token\" of a dry run (make one first: it shows what will "
            "change)",
            "token"));
    } else if (token.size() > max_token_size || !is_printable_ascii(token)) {
        r.fail(body_error("invalid_field", "token is not a plan token", "token"));
    }
}

}  // namespace

parsed_body<backup_body> parse_backup_body(std::string_view body) {
    object_reader r(body, {"schedule"});
    backup_body b;
    b.schedule = r.string("schedule");
    if (b.schedule && !config::is_valid_name(*b.schedule))
        r.fail(body_error("invalid_field", "schedule is not a valid schedule name", "schedule"));
    return finish(r, std::move(b));
}

parsed_body<restore_body> parse_restore_body(std::string_view body) {
    object_reader r(body, {"snapshot_id", "version_id", "at", "mode", "dry_run", "reason", "force_lineage",
                           "roll_forward_serial", "token"});
    restore_body b;
    b.snapshot_id = r.string("snapshot_id");
    check_snapshot_id(r, b.snapshot_id);
    b.version_id = r.string("version_id");
    if (b.version_id &&
        (b.version_id->empty() || b.version_id->size() > 1024 || !is_printable_ascii(*b.version_id)))
        r.fail(body_error("invalid_field", "version_id is not an S3 version id", "version_id"));
    if (const auto at = r.string("at")) {
        b.at = core::parse_rfc3339(*at);
        if (!b.at)
            r.fail(body_error("invalid_field", "at must be an RFC 3339 time such as 2026-11-21T17:00:00Z",
                              "at"));
    }
    if (r.ok()) {
        const int targets =
            int(b.snapshot_id.has_value()) + int(b.version_id.has_value()) + int(b.at.has_value());
        if (targets != 1) {
            r.fail(body_error("missing_field",
                              targets == 0 ? "name what to restore: one of snapshot_id, version_id, at"
                                           : "give only one of snapshot_id, version_id, at",
                              targets == 0 ? "snapshot_id" : ""));
        }
    }
    if (const auto mode = r.string("mode")) {
        if (*mode != "state-only" && *mode != "full")
            r.fail(body_error("invalid_field", "mode must be \"state-only\" or \"full\"", "mode"));
        b.mode = *mode;
    }
    b.dry_run = r.boolean("dry_run").value_or(true);
    const auto reason = r.string("reason");
    check_reason(r, reason);
    b.reason = reason.value_or("");
    b.force_lineage = r.boolean("force_lineage").value_or(false);
    b.roll_forward_serial = r.boolean("roll_forward_serial").value_or(true);  // the default: see restore.hpp
    const bool has_token = r.has("token");
    b.token = r.string("token").value_or("");
    check_token(r, b.dry_run, b.token, has_token);
    return finish(r, std::move(b));
}

parsed_body<undelete_body> parse_undelete_body(std::string_view body) {
    object_reader r(body, {"dry_run", "reason", "token"});
    undelete_body b;
    b.dry_run = r.boolean("dry_run").value_or(true);
    const auto reason = r.string("reason");
    check_reason(r, reason);
    b.reason = reason.value_or("");
    const bool has_token = r.has("token");
    b.token = r.string("token").value_or("");
    check_token(r, b.dry_run, b.token, has_token);
    return finish(r, std::move(b));
}

parsed_body<verification_body> parse_verification_body(std::string_view body) {
    object_reader r(body, {"snapshot_id"});
    verification_body b;
    b.snapshot_id = r.string("snapshot_id");
    check_snapshot_id(r, b.snapshot_id);
    return finish(r, std::move(b));
}

parsed_body<empty_body> parse_empty_body(std::string_view body) {
    object_reader r(body, {});
    return finish(r, empty_body{});
}

}  // namespace tfsnap::control
