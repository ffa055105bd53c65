#include "tfsnap/config/load.hpp"

#include "tfsnap/config/validate.hpp"
#include "tfsnap/cron/expression.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>

namespace tfsnap::config {

boost::system::error_code load_result::error() const noexcept {
    if (ok())
        return {};
    if (diagnostics.size() == 1 && diagnostics.front().line == 0)
        return errc::unreadable;
    return errc::invalid;
}

namespace {

using keys = std::initializer_list<std::string_view>;

// "a.b" for plain keys; a key that is not a plain name is quoted: environments["prod/eu"]
std::string join(const std::string& path, std::string_view key) {
    const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
    });
    if (!plain)
        return path + "[\"" + std::string(key) + "\"]";
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

std::string list_of(keys ks) {
    std::string out;
    for (const auto k : ks) {
        if (!out.empty())
            out += ", ";
        out += k;
    }
    return out;
}

std::string kind_of(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Map:
            return "a map";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Null:
            return "nothing (null)";
        case YAML::NodeType::Scalar:
            return quoted(n.Scalar());
        case YAML::NodeType::Undefined:
            break;
    }
    return "nothing";
}

bool is_set(const YAML::Node& n) {
    return n.IsDefined() && !n.IsNull();
}

struct schedule_template {
    std::optional<std::string> cron, timezone;
    std::optional<missed_policy> missed;
    std::optional<concurrency_policy> concurrency;
    std::optional<duration> jitter;
};

struct verify_template {
    std::optional<bool> enabled;
    schedule_template when;
};

// Partial settings, as written in `defaults` or in one environment, before merging.
struct connection_settings {
    std::optional<std::string> region, endpoint, dynamodb_endpoint, ca_file;
    std::optional<bool> path_style;
    std::optional<credentials_config> credentials;
    std::optional<lock_config> lock;
    std::optional<copy_config> copy;
    std::optional<bool> always_snapshot;
    std::optional<verify_template> verify;
    std::optional<bool> conditional_writes;
    std::optional<bool> encrypt, skip_s3_checksum;
    std::optional<std::string> kms_key_id, acl;
    std::optional<std::string> terraform_bin;
    std::optional<duration> terraform_timeout;
    retention_policy retention;
};

class reader {
public:
    explicit reader(std::string file) : file_(std::move(file)) {}

    std::vector<diagnostic> take_diagnostics() { return std::move(diags_); }
    bool failed() const noexcept { return !diags_.empty(); }

    void report(const YAML::Mark& m, std::string path, std::string message, std::string hint = {}) {
        diagnostic d{file_,           m.line >= 0 ? m.line + 1 : 1, m.column >= 0 ? m.column + 1 : 1,
                     std::move(path), std::move(message),           std::move(hint)};
        diags_.push_back(std::move(d));
    }
    void report(const YAML::Node& at, std::string path, std::string message, std::string hint = {}) {
        report(at.Mark(), std::move(path), std::move(message), std::move(hint));
    }

    // A map whose keys are all in `allowed`, each at most once. Reports what is not, and returns
    // false only if `n` is not a map at all.
    bool expect_map(const YAML::Node& n, const std::string& path, keys allowed) {
        if (!n.IsMap()) {
            report(n, path, "expected a map of settings, got " + kind_of(n),
                   "valid keys: " + list_of(allowed));
            return false;
        }
        std::map<std::string, int> seen;
        const std::vector<std::string_view> candidates(allowed);
        for (const auto& kv : n) {
            const YAML::Node& key = kv.first;
            if (!key.IsScalar()) {
                report(key, path, "a key must be a plain name, got " + kind_of(key));
                continue;
            }
            const std::string& name = key.Scalar();
            if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
                auto guess = closest_match(name, candidates);
                if (guess)
                    suggested_.insert(join(path, *guess));
                report(key, join(path, name), "unknown key " + quoted(name),
                       guess ? "did you mean " + quoted(*guess) + "?" : "valid keys: " + list_of(allowed));
                continue;
            }
            check_unique_key(seen, key, path);
        }
        return true;
    }

    // A map of user-chosen names (environments); duplicates are reported.
    // A sub-section `key` of `map` that is present and a map with only `allowed` keys: its node and
    // YAML path. nullopt when it is absent, or is not a map (which is reported).
    struct section {
        YAML::Node node;
        std::string path;
    };
    std::optional<section> open_section(const YAML::Node& map, std::string_view key, const std::string& path,
                                        keys allowed) {
        const YAML::Node n = map[std::string(key)];
        if (!is_set(n))
            return std::nullopt;
        std::string p = join(path, key);
        if (!expect_map(n, p, allowed))
            return std::nullopt;
        return section{n, std::move(p)};
    }

    // Reports a missing required key, unless a typo of it was already reported (one mistake,
    // one message).
    void report_missing(const YAML::Node& at, const std::string& path, std::string_view key,
                        std::string hint) {
        if (suggested_.count(join(path, key)) != 0)
            return;
        report(at, path, "missing key " + quoted(key), std::move(hint));
    }

    void check_unique_key(std::map<std::string, int>& seen, const YAML::Node& key, const std::string& path) {
        const auto [it, inserted] = seen.emplace(key.Scalar(), key.Mark().line + 1);
        if (!inserted) {
            report(key, join(path, key.Scalar()), "duplicate key " + quoted(key.Scalar()),
                   "it is already set at line " + std::to_string(it->second) + "; keep one");
        }
    }

    std::optional<std::string> string_at(const YAML::Node& map, std::string_view key, const std::string& path,
                                         std::string_view example) {
        const YAML::Node n = map[std::string(key)];
        if (!is_set(n))
            return std::nullopt;
        if (!n.IsScalar()) {
            report(n, join(path, key), "expected a string, got " + kind_of(n),
                   "write for example " + quoted(example));
            return std::nullopt;
        }
        return n.Scalar();
    }

    std::optional<std::string> absolute_path_at(const YAML::Node& map, std::string_view key,
                                                const std::string& path, std::string_view example) {
        auto v = string_at(map, key, path, example);
        if (v && (v->empty() || v->front() != '/')) {
            report(map[std::string(key)], join(path, key), "the path " + quoted(*v) + " is not absolute",
                   "write a path that starts with '/', such as " + quoted(example));
            return std::nullopt;
        }
        return v;
    }

    std::optional<bool> bool_at(const YAML::Node& map, std::string_view key, const std::string& path) {
        const YAML::Node n = map[std::string(key)];
        if (!is_set(n))
            return std::nullopt;
        bool v = false;
        if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
            report(n, join(path, key), "expected true or false, got " + kind_of(n), "write true or false");
            return std::nullopt;
        }
        return v;
    }

    std::optional<std::int64_t> count_at(
        const YAML::Node& map, std::string_view key, const std::string& path,
        std::string_view negative_hint = "write 0 to keep none, or a positive count") {
        const YAML::Node n = map[std::string(key)];
        if (!is_set(n))
            return std::nullopt;
        long long v = 0;
        if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) {
            report(n, join(path, key), "expected a whole number, got " + kind_of(n),
                   "write a count such as 7");
            return std::nullopt;
        }
        if (v < 0) {
            report(n, join(path, key), "must not be negative, got " + std::to_string(v),
                   std::string(negative_hint));
            return std::nullopt;
        }
        return v;
    }

    std::optional<duration> duration_at(const YAML::Node& map, std::string_view key,
                                        const std::string& path) {
        const YAML::Node n = map[std::string(key)];
        if (!is_set(n))
            return std::nullopt;
        std::optional<duration> d;
        if (n.IsScalar())
            d = parse_duration(n.Scalar());
        if (!d) {
            report(n, join(path, key), "invalid duration " + kind_of(n),
                   "write a number and a unit, such as 90s, 5m, 12h or 7d");
        }
        return d;
    }

    template <class Enum>
    std::optional<Enum> enum_at(const YAML::Node& map, std::string_view key, const std::string& path,
                                std::initializer_list<std::pair<std::string_view, Enum>> values) {
        const YAML::Node n = map[std::string(key)];
        if (!is_set(n))
            return std::nullopt;
        std::vector<std::string_view> names;
        for (const auto& [name, value] : values) {
            if (n.IsScalar() && n.Scalar() == name)
                return value;
            names.push_back(name);
        }
        std::string valid;
        for (const auto name : names)
            valid += (valid.empty() ? "" : " or ") + std::string(name);
        auto guess = n.IsScalar() ? closest_match(n.Scalar(), names) : std::nullopt;
        report(n, join(path, key), "invalid value " + kind_of(n),
               guess ? "did you mean " + quoted(*guess) + "? valid: " + valid : "write " + valid);
        return std::nullopt;
    }

    std::vector<std::string> principals_at(const YAML::Node& map, std::string_view key,
                                           const std::string& path) {
        std::vector<std::string> out;
        const YAML::Node n = map[std::string(key)];
        if (!is_set(n))
            return out;
        if (!n.IsSequence()) {
            report(n, join(path, key), "expected a list, got " + kind_of(n),
                   "write for example [group:tfsnap]");
            return out;
        }
        for (std::size_t i = 0; i < n.size(); ++i) {
            const YAML::Node item = n[i];
            const std::string item_path = join(path, key) + "[" + std::to_string(i) + "]";
            if (!item.IsScalar() || !is_valid_principal(item.Scalar())) {
                report(item, item_path, "invalid principal " + kind_of(item),
                       "write group:NAME or user:NAME, such as group:tfsnap");
                continue;
            }
            out.push_back(item.Scalar());
        }
        return out;
    }

    // ---------------------------------------------------------------- sections

    void read_retention(const YAML::Node& map, const std::string& path, retention_policy& out) {
        const auto sec =
            open_section(map, "retention", path,
                         {"keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly",
                          "keep_yearly", "keep_within", "min_keep", "restore_pin"});
        if (!sec)
            return;
        const YAML::Node& n = sec->node;
        const std::string& p = sec->path;
        retention_policy r;
        r.keep_last = count_at(n, "keep_last", p);
        r.keep_daily = count_at(n, "keep_daily", p);
        r.keep_weekly = count_at(n, "keep_weekly", p);
        r.keep_monthly = count_at(n, "keep_monthly", p);
        r.keep_yearly = count_at(n, "keep_yearly", p);
        r.keep_hourly = count_at(n, "keep_hourly", p);
        r.keep_within = duration_at(n, "keep_within", p);
        r.min_keep =
            count_at(n, "min_keep", p, "write 0 for no floor, or how many snapshots to keep at least");
        r.restore_pin = duration_at(n, "restore_pin", p);
        out = out.merged_with(r);
    }

    std::optional<credentials_config> read_credentials(const YAML::Node& map, const std::string& path) {
        const auto sec = open_section(map, "credentials", path,
                                      {"profile", "role_arn", "role_session_name", "external_id",
                                       "web_identity_token_file", "systemd_credential"});
        if (!sec)
            return std::nullopt;
        const YAML::Node& n = sec->node;
        const std::string& p = sec->path;
        credentials_config c;
        c.profile = string_at(n, "profile", p, "default");
        c.role_arn = string_at(n, "role_arn", p, "arn:aws:iam::123456789012:role/tfsnap");
        c.role_session_name = string_at(n, "role_session_name", p, "tfsnap");
        c.external_id = string_at(n, "external_id", p, "ops-backups");
        c.web_identity_token_file = absolute_path_at(n, "web_identity_token_file", p, "/run/secrets/token");
        c.systemd_credential = string_at(n, "systemd_credential", p, "aws");
        if (c.role_arn &&
            !(c.role_arn->starts_with("arn:") && c.role_arn->find(":role/") != std::string::npos)) {
            report(n["role_arn"], join(p, "role_arn"), "not an IAM role ARN: " + quoted(*c.role_arn),
                   "write arn:aws:iam::ACCOUNT:role/NAME");
        }
        if (c.systemd_credential && !is_valid_name(*c.systemd_credential)) {
            report(n["systemd_credential"], join(p, "systemd_credential"),
                   "invalid credential name " + quoted(*c.systemd_credential),
                   "write the name given to LoadCredential=, 1-64 of A-Z a-z 0-9 . _ -");
        }
        if (c.profile && c.systemd_credential) {
            report(n["systemd_credential"], join(p, "systemd_credential"),
                   "profile and systemd_credential both name where the keys come from", "keep one of them");
        }
        for (const auto* k : {"web_identity_token_file", "role_session_name", "external_id"}) {
            if (is_set(n[k]) && !c.role_arn) {
                report(n[k], join(p, k), std::string(k) + " is set but role_arn is not",
                       "add role_arn: arn:aws:iam::ACCOUNT:role/NAME");
            }
        }
        return c;
    }

    std::optional<lock_config> read_lock(const YAML::Node& map, const std::string& path) {
        const auto sec = open_section(map, "lock", path, {"dynamodb_table", "lockfile"});
        if (!sec)
            return std::nullopt;
        const YAML::Node& n = sec->node;
        const std::string& p = sec->path;
        lock_config l;
        l.dynamodb_table = string_at(n, "dynamodb_table", p, "terraform-locks");
        l.lockfile = bool_at(n, "lockfile", p).value_or(false);
        if (l.dynamodb_table && !is_valid_dynamodb_table(*l.dynamodb_table)) {
            report(n["dynamodb_table"], join(p, "dynamodb_table"),
                   "invalid table name " + quoted(*l.dynamodb_table),
                   "DynamoDB table names are 3-255 of A-Z a-z 0-9 _ - .");
        }
        return l;
    }

    std::optional<copy_config> read_copy(const YAML::Node& map, const std::string& path) {
        const auto sec = open_section(
            map, "copy", path,
            {"mode", "bucket", "prefix", "sse", "kms_key_id", "key_file", "key_credential", "on_expiry"});
        if (!sec)
            return std::nullopt;
        const YAML::Node& n = sec->node;
        const std::string& p = sec->path;
        copy_config c;
        const auto mode = enum_at<copy_mode>(n, "mode", p,
                                             {{"server-side", copy_mode::server_side},
                                              {"local", copy_mode::local},
                                              {"none", copy_mode::none}});
        if (!is_set(n["mode"])) {
            report_missing(n, p, "mode", "add mode: server-side, local or none");
        }
        c.mode = mode.value_or(copy_mode::none);
        c.bucket = string_at(n, "bucket", p, "tfsnap-archive").value_or("");
        c.prefix = string_at(n, "prefix", p, "myorg/").value_or("");
        c.key_file = absolute_path_at(n, "key_file", p, "/etc/tfsnap/copy.key").value_or("");
        c.key_credential = string_at(n, "key_credential", p, "tfsnap-copy-key").value_or("");
        if (!c.key_credential.empty() && !is_valid_name(c.key_credential)) {
            report(n["key_credential"], join(p, "key_credential"),
                   "invalid credential name " + quoted(c.key_credential),
                   "write the name given to LoadCredential=, such as tfsnap-copy-key");
            c.key_credential.clear();
        }
        c.sse = enum_at<std::string_view>(n, "sse", p, {{"AES256", "AES256"}, {"aws:kms", "aws:kms"}})
                    .value_or("");
        c.kms_key_id = string_at(n, "kms_key_id", p, "alias/tfsnap").value_or("");
        const auto on_expiry = enum_at<expiry_action>(
            n, "on_expiry", p, {{"warn", expiry_action::warn}, {"archive", expiry_action::archive}});
        c.on_expiry = on_expiry.value_or(expiry_action::warn);
        if (!mode)
            return c;
        const bool wants_bucket = c.mode == copy_mode::server_side || c.on_expiry == expiry_action::archive;
        if (wants_bucket) {
            if (c.bucket.empty() && !is_set(n["bucket"])) {
                if (c.mode == copy_mode::server_side)
                    report(n["mode"], p, "mode server-side needs an archive bucket", "add bucket: NAME");
                else
                    report(n["on_expiry"], p, "on_expiry archive needs an archive bucket",
                           "add bucket: NAME");
            } else if (!c.bucket.empty() && !is_valid_bucket_name(c.bucket)) {
                report(n["bucket"], join(p, "bucket"), "invalid bucket name " + quoted(c.bucket),
                       "bucket names are 3-63 of a-z 0-9 . -, starting and ending with a letter or digit");
            }
        } else {
            for (const auto* k : {"bucket", "prefix", "sse", "kms_key_id"}) {
                if (is_set(n[k])) {
                    report(n[k], join(p, k),
                           std::string(k) + " is only used with mode server-side or on_expiry archive",
                           "set mode: server-side, or remove " + std::string(k));
                }
            }
        }
        if (is_set(n["kms_key_id"]) && c.sse != "aws:kms" && is_set(n["sse"])) {
            report(n["kms_key_id"], join(p, "kms_key_id"), "kms_key_id is only used with sse aws:kms",
                   "set sse: aws:kms, or remove kms_key_id");
        }
        if (c.mode == copy_mode::local) {
            if (!is_set(n["key_file"]) && !is_set(n["key_credential"])) {
                report(n["mode"], p, "mode local needs an encryption key",
                       "add key_file: /etc/tfsnap/copy.key (make one with tfsnapd keygen --output FILE), or "
                       "key_credential: NAME");
            } else if (is_set(n["key_file"]) && is_set(n["key_credential"])) {
                report(n["key_credential"], join(p, "key_credential"),
                       "key_file and key_credential both name the key", "keep one of them");
            }
        } else {
            for (const auto* k : {"key_file", "key_credential"}) {
                if (is_set(n[k])) {
                    report(n[k], join(p, k), std::string(k) + " is only used with mode local",
                           "set mode: local, or remove " + std::string(k));
                }
            }
        }
        return c;
    }

    // kind_of without the value: a webhook URL is a secret and must not reach a message.
    static std::string shape_of(const YAML::Node& n) { return n.IsScalar() ? "a single value" : kind_of(n); }

    // notify: { webhooks: [ { url | url_credential, events, slack_template, timeout, retries,
    // deadline } ] }
    void read_notify(const YAML::Node& root, notify_config& out) {
        const auto sec = open_section(root, "notify", "", {"webhooks"});
        if (!sec)
            return;
        const YAML::Node list = sec->node["webhooks"];
        if (!is_set(list))
            return;
        const std::string lp = join(sec->path, "webhooks");
        if (!list.IsSequence()) {
            report(list, lp, "expected a list of webhooks, got " + shape_of(list),
                   "write one entry per webhook: - { url: https://..., events: [failure] }");
            return;
        }
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (auto w = read_webhook(list[i], lp + "[" + std::to_string(i) + "]"))
                out.webhooks.push_back(std::move(*w));
        }
    }

    std::optional<webhook_config> read_webhook(const YAML::Node& n, const std::string& p) {
        if (!n.IsMap()) {
            report(n, p, "expected a map of webhook settings, got " + shape_of(n),
                   "write { url: https://..., events: [failure] }, or url_credential: NAME instead of url");
            return std::nullopt;
        }
        if (!expect_map(
                n, p,
                {"url", "url_credential", "events", "slack_template", "timeout", "retries", "deadline"})) {
            return std::nullopt;
        }
        webhook_config w;
        w.where = {n.Mark().line + 1, n.Mark().column + 1};
        read_webhook_url(n, p, w);

        std::string valid;
        for (const auto name : webhook_events)
            valid += (valid.empty() ? "" : ", ") + std::string(name);
        const YAML::Node ev = n["events"];
        const std::string ep = join(p, "events");
        if (!is_set(ev)) {
            w.events = {"failure", "restore", "state-deleted", "expiry"};
        } else if (!ev.IsSequence() || ev.size() == 0) {
            report(ev, ep,
                   ev.IsSequence() ? "the list of events is empty" : "expected a list, got " + kind_of(ev),
                   "write for example [failure, state-deleted]; valid events: " + valid);
        } else {
            bool chosen[std::size(webhook_events)] = {};
            for (std::size_t i = 0; i < ev.size(); ++i) {
                const YAML::Node item = ev[i];
                const std::string ip = ep + "[" + std::to_string(i) + "]";
                const auto* it = std::end(webhook_events);
                if (item.IsScalar())
                    it = std::find(std::begin(webhook_events), std::end(webhook_events), item.Scalar());
                if (it == std::end(webhook_events)) {
                    auto guess =
                        item.IsScalar() ? closest_match(item.Scalar(), webhook_events) : std::nullopt;
                    report(item, ip, "unknown event " + kind_of(item),
                           guess ? "did you mean " + quoted(*guess) + "? valid events: " + valid
                                 : "valid events: " + valid);
                    continue;
                }
                auto& taken = chosen[it - std::begin(webhook_events)];
                if (taken) {
                    report(item, ip, "event " + quoted(*it) + " is listed twice", "keep one");
                    continue;
                }
                taken = true;
            }
            for (std::size_t i = 0; i < std::size(webhook_events); ++i) {
                if (chosen[i])
                    w.events.emplace_back(webhook_events[i]);
            }
        }

        if (auto t = string_at(n, "slack_template", p, ":rotating_light: {event} {env}: {message}")) {
            if (t->empty()) {
                report(n["slack_template"], join(p, "slack_template"), "slack_template is empty",
                       "write a template such as \":rotating_light: {event} {env}: {message}\", or remove it "
                       "to send tfsnap's JSON document");
            } else {
                w.slack_template = *t;
            }
        }
        bool times_ok = true;
        for (const std::string_view k : {"timeout", "deadline"}) {
            const auto d = duration_at(n, k, p);
            times_ok = times_ok && (d || !is_set(n[std::string(k)]));
            if (!d)
                continue;
            if (*d <= duration{0}) {
                report(n[std::string(k)], join(p, k), std::string(k) + " must be longer than 0s",
                       "write a duration such as 10s");
                times_ok = false;
                continue;
            }
            (k == "timeout" ? w.timeout : w.deadline) = *d;
        }
        if (times_ok && w.timeout > w.deadline) {
            const std::string k = is_set(n["timeout"]) ? "timeout" : "deadline";
            report(
                n[k], join(p, k),
                "timeout " + format_duration(w.timeout) + " is longer than deadline " +
                    format_duration(w.deadline),
                "the deadline covers the whole delivery, retries included; raise deadline or lower timeout");
        }
        if (auto r = count_at(n, "retries", p, "write 0 for a single attempt, or up to 10 retries")) {
            if (*r > 10) {
                report(n["retries"], join(p, "retries"), "must be at most 10, got " + std::to_string(*r),
                       "write 0 to 10; the deadline bounds the delivery anyway");
            } else {
                w.retries = static_cast<int>(*r);
            }
        }
        return w;
    }

    // Exactly one of url and url_credential.
    void read_webhook_url(const YAML::Node& n, const std::string& p, webhook_config& w) {
        const auto url = string_at(n, "url", p, "https://hooks.example.com/...");
        if (url) {
            if (auto why = check_webhook_url(*url)) {
                report(n["url"], join(p, "url"), *why,
                       "write the URL the service gave you, such as https://hooks.slack.com/services/..., or "
                       "keep it in a systemd credential and write url_credential: NAME");
            } else {
                w.url = *url;
            }
        }
        const std::string cp = join(p, "url_credential");
        const std::string name_hint =
            "write the name given to LoadCredential=, 1-64 of A-Z a-z 0-9 . _ -, such as slack-webhook";
        if (auto name = string_at(n, "url_credential", p, "slack-webhook")) {
            if (name->find("://") != std::string::npos) {
                report(n["url_credential"], cp, "url_credential names a systemd credential, not a URL",
                       "write url: for the URL itself, or " + name_hint);
            } else if (name->find('/') != std::string::npos) {
                // not quoted: a URL without its scheme would still carry its token
                report(n["url_credential"], cp, "invalid credential name: it contains '/'", name_hint);
            } else if (!is_valid_name(*name)) {
                report(n["url_credential"], cp, "invalid credential name " + quoted(*name), name_hint);
            } else {
                w.url_credential = *name;
            }
        }
        if (is_set(n["url"]) && is_set(n["url_credential"])) {
            report(n["url_credential"], cp, "url and url_credential both name the webhook URL",
                   "keep one of them");
        } else if (!is_set(n["url"]) && !is_set(n["url_credential"]) && suggested_.count(cp) == 0) {
            report_missing(
                n, p, "url",
                "add url: https://..., or url_credential: NAME (a systemd credential holding the URL)");
        }
    }

    void read_connection(const YAML::Node& map, const std::string& path, connection_settings& s) {
        s.region = string_at(map, "region", path, "us-east-1");
        if (s.region && !is_valid_region(*s.region)) {
            report(map["region"], join(path, "region"), "invalid region " + quoted(*s.region),
                   "write an AWS region such as us-east-1 or eu-central-1");
            s.region.reset();
        }
        for (const auto* k : {"endpoint", "dynamodb_endpoint"}) {
            auto v = string_at(map, k, path, "https://s3.example.com");
            if (!v)
                continue;
            if (auto why = check_endpoint(*v)) {
                report(map[k], join(path, k), *why,
                       "write a URL such as http://127.0.0.1:7480, or null for AWS");
                continue;
            }
            (std::string_view(k) == "endpoint" ? s.endpoint : s.dynamodb_endpoint) = std::move(v);
        }
        s.path_style = bool_at(map, "path_style", path);
        s.ca_file = absolute_path_at(map, "ca_file", path, "/etc/ssl/certs/ca-certificates.crt");
        s.credentials = read_credentials(map, path);
        s.lock = read_lock(map, path);
        s.copy = read_copy(map, path);
        s.always_snapshot = bool_at(map, "always_snapshot", path);
        s.conditional_writes = bool_at(map, "conditional_writes", path);
        s.encrypt = bool_at(map, "encrypt", path);
        s.skip_s3_checksum = bool_at(map, "skip_s3_checksum", path);
        s.kms_key_id = string_at(map, "kms_key_id", path, "arn:aws:kms:us-east-1:111122223333:key/KEY-ID");
        if (s.kms_key_id && s.kms_key_id->empty()) {
            report(map["kms_key_id"], join(path, "kms_key_id"), "kms_key_id is empty",
                   "write the KMS key's ARN or id, or remove kms_key_id for AES256");
            s.kms_key_id.reset();
        }
        s.acl = string_at(map, "acl", path, "bucket-owner-full-control");
        if (s.acl && !is_canned_acl(*s.acl)) {
            report(map["acl"], join(path, "acl"), "unknown canned ACL " + quoted(*s.acl),
                   "write one of private, public-read, public-read-write, authenticated-read, aws-exec-read, "
                   "bucket-owner-read, bucket-owner-full-control, log-delivery-write, as the backend's acl");
            s.acl.reset();
        }
        s.terraform_bin = string_at(map, "terraform_bin", path, "/usr/bin/terraform");
        if (s.terraform_bin && s.terraform_bin->empty()) {
            report(map["terraform_bin"], join(path, "terraform_bin"), "terraform_bin is empty",
                   "write the Terraform binary, such as /usr/bin/terraform or tofu");
            s.terraform_bin.reset();
        }
        s.terraform_timeout = duration_at(map, "terraform_timeout", path);
        s.verify = read_verify(map, path);
        read_retention(map, path, s.retention);
    }

    // verify: false, or verify: { enabled, cron, timezone, jitter }
    std::optional<verify_template> read_verify(const YAML::Node& map, const std::string& path) {
        const YAML::Node n = map["verify"];
        if (!is_set(n))
            return std::nullopt;
        verify_template v;
        if (n.IsScalar()) {
            v.enabled = bool_at(map, "verify", path);
            return v;
        }
        const auto sec = open_section(map, "verify", path, {"enabled", "cron", "timezone", "jitter"});
        if (!sec)
            return std::nullopt;
        v.enabled = bool_at(sec->node, "enabled", sec->path);
        v.when = read_schedule_fields(sec->node, sec->path);
        return v;
    }

    schedule_template read_schedule_fields(const YAML::Node& n, const std::string& p) {
        schedule_template t;
        t.cron = string_at(n, "cron", p, "0 2 * * *");
        if (t.cron) {
            if (const auto parsed = cron::expression::parse(*t.cron); !parsed.ok()) {
                // point at the offending character in the file: the value's column, past its
                // opening quote, plus the column inside the expression
                YAML::Mark at = n["cron"].Mark();
                if (at.column >= 0 && parsed.error.column > 0) {
                    at.column += (n["cron"].Tag() == "!" ? 1 : 0) + static_cast<int>(parsed.error.column) - 1;
                }
                report(
                    at, join(p, "cron"), parsed.error.message,
                    "see the cron syntax in the README; `tfsnapd cron-next --expr` previews an expression");
                t.cron.reset();
            }
        }
        t.timezone = string_at(n, "timezone", p, "UTC");
        if (t.timezone && !is_valid_timezone(*t.timezone)) {
            auto guess = closest_timezone(*t.timezone);
            report(n["timezone"], join(p, "timezone"), "unknown time zone " + quoted(*t.timezone),
                   guess ? "did you mean " + quoted(*guess) + "?"
                         : "write an IANA zone such as UTC, Europe/Berlin or America/New_York");
            t.timezone.reset();
        }
        t.missed = enum_at<missed_policy>(
            n, "missed", p, {{"run-once", missed_policy::run_once}, {"skip", missed_policy::skip}});
        t.concurrency = enum_at<concurrency_policy>(
            n, "concurrency", p,
            {{"forbid", concurrency_policy::forbid}, {"replace", concurrency_policy::replace}});
        t.jitter = duration_at(n, "jitter", p);
        return t;
    }

    schedule make_schedule(std::string name, const schedule_template& base, const schedule_template& own) {
        schedule s;
        s.name = std::move(name);
        s.cron = own.cron.value_or(base.cron.value_or(""));
        s.timezone = own.timezone.value_or(base.timezone.value_or("UTC"));
        s.missed = own.missed.value_or(base.missed.value_or(missed_policy::run_once));
        s.concurrency = own.concurrency.value_or(base.concurrency.value_or(concurrency_policy::forbid));
        s.jitter = own.jitter.value_or(base.jitter.value_or(duration{0}));
        return s;
    }

    std::vector<schedule> read_schedules(const YAML::Node& env, const std::string& path,
                                         const schedule_template& base, const retention_policy& env_retention,
                                         const YAML::Node& env_key) {
        std::vector<schedule> out;
        const YAML::Node list = env["schedules"];
        if (!list.IsDefined()) {
            // no list: the defaults' schedule, if it names a cron, applies as "default"
            if (base.cron) {
                auto s = make_schedule("default", base, {});
                s.retention = env_retention;
                s.where = {env_key.Mark().line + 1, env_key.Mark().column + 1};
                out.push_back(std::move(s));
            }
            return out;
        }
        const std::string lp = join(path, "schedules");
        if (list.IsNull())
            return out;
        if (!list.IsSequence()) {
            report(list, lp, "expected a list of schedules, got " + kind_of(list),
                   "write for example [{ name: daily, cron: \"0 2 * * *\" }]");
            return out;
        }
        std::map<std::string, int> names;
        for (std::size_t i = 0; i < list.size(); ++i) {
            const YAML::Node n = list[i];
            const std::string p = lp + "[" + std::to_string(i) + "]";
            if (!expect_map(n, p,
                            {"name", "cron", "timezone", "missed", "concurrency", "jitter", "retention"})) {
                continue;
            }
            auto name = string_at(n, "name", p, "daily");
            if (!name) {
                if (!is_set(n["name"]))
                    report_missing(n, p, "name", "add name: daily (unique per environment)");
            } else if (!is_valid_name(*name)) {
                report(n["name"], join(p, "name"), "invalid schedule name " + quoted(*name),
                       "use 1-64 of A-Z a-z 0-9 . _ -, not starting with .");
                name.reset();
            } else if (const auto [it, fresh] = names.emplace(*name, n["name"].Mark().line + 1); !fresh) {
                report(n["name"], join(p, "name"), "duplicate schedule name " + quoted(*name),
                       "the name is already used at line " + std::to_string(it->second) + "; rename one");
                name.reset();
            }
            const auto own = read_schedule_fields(n, p);
            if (!own.cron && !base.cron && !is_set(n["cron"])) {
                report_missing(n, p, "cron", "add cron: \"0 2 * * *\" (or set defaults.schedule.cron)");
            }
            auto s = make_schedule(name.value_or(""), base, own);
            s.retention = env_retention;
            read_retention(n, p, s.retention);
            s.where = {n.Mark().line + 1, n.Mark().column + 1};
            out.push_back(std::move(s));
        }
        return out;
    }

    void read_s3_location(const YAML::Node& key, const YAML::Node& n, const std::string& p, environment& e) {
        auto bucket = string_at(n, "bucket", p, "my-terraform-state");
        if (!bucket) {
            if (!is_set(n["bucket"]))
                report_missing(key, p, "bucket", "add bucket: NAME-OF-STATE-BUCKET");
        } else if (!is_valid_bucket_name(*bucket)) {
            report(n["bucket"], join(p, "bucket"), "invalid bucket name " + quoted(*bucket),
                   "bucket names are 3-63 of a-z 0-9 . -, starting and ending with a letter or digit");
        } else {
            e.bucket = *bucket;
        }
        auto state_key = string_at(n, "key", p, "prod/terraform.tfstate");
        if (!state_key) {
            if (!is_set(n["key"]))
                report_missing(key, p, "key", "add key: PATH/terraform.tfstate");
        } else if (auto why = check_state_key(*state_key)) {
            report(n["key"], join(p, "key"), *why, "write the backend's key, such as prod/terraform.tfstate");
        } else {
            e.key = *state_key;
            e.backend_key = *state_key;
        }
        e.workspace = string_at(n, "workspace", p, "staging");
        if (e.workspace && !is_valid_name(*e.workspace)) {
            report(n["workspace"], join(p, "workspace"), "invalid workspace name " + quoted(*e.workspace),
                   "write the workspace as `terraform workspace list` shows it, such as staging");
            e.workspace.reset();
        }
        if (auto prefix = string_at(n, "workspace_key_prefix", p, "env:")) {
            if (prefix->empty() || prefix->front() == '/' || prefix->back() == '/') {
                report(
                    n["workspace_key_prefix"], join(p, "workspace_key_prefix"),
                    "invalid workspace_key_prefix " + quoted(*prefix),
                    "write the backend's workspace_key_prefix without leading or trailing /, such as env:");
            } else {
                e.workspace_key_prefix = *prefix;
            }
        }
        if (e.workspace && *e.workspace != "default" && !e.key.empty())
            e.key = e.workspace_key_prefix + "/" + *e.workspace + "/" + e.backend_key;
    }

    std::optional<environment> read_environment(const YAML::Node& key, const YAML::Node& n,
                                                const connection_settings& defaults,
                                                const schedule_template& base) {
        const std::string& name = key.Scalar();
        const std::string p = join("environments", name);
        if (!is_valid_name(name)) {
            report(key, p, "invalid environment name " + quoted(name),
                   "use 1-64 of A-Z a-z 0-9 . _ -, not starting with ., such as prod-eu");
        }
        if (!expect_map(n, p,
                        {"source",
                         "path",
                         "bucket",
                         "key",
                         "workspace",
                         "workspace_key_prefix",
                         "region",
                         "endpoint",
                         "dynamodb_endpoint",
                         "path_style",
                         "ca_file",
                         "credentials",
                         "lock",
                         "schedules",
                         "retention",
                         "copy",
                         "always_snapshot",
                         "verify",
                         "conditional_writes",
                         "encrypt",
                         "kms_key_id",
                         "acl",
                         "skip_s3_checksum",
                         "terraform_dir",
                         "terraform_bin",
                         "terraform_timeout"})) {
            return std::nullopt;
        }
        environment e;
        e.name = name;
        e.where = {key.Mark().line + 1, key.Mark().column + 1};

        e.source =
            enum_at<source_kind>(n, "source", p, {{"s3", source_kind::s3}, {"file", source_kind::file}})
                .value_or(source_kind::s3);
        if (e.source == source_kind::file) {
            if (auto file = absolute_path_at(n, "path", p, "/srv/infra/dev/terraform.tfstate")) {
                e.path = *file;
            } else if (!is_set(n["path"])) {
                report_missing(key, p, "path", "add path: /ABSOLUTE/PATH/terraform.tfstate");
            }
            for (const auto* k : {"bucket", "key", "workspace", "workspace_key_prefix", "lock",
                                  "conditional_writes", "encrypt", "kms_key_id", "acl", "skip_s3_checksum"}) {
                if (is_set(n[k])) {
                    report(n[k], join(p, k), std::string(k) + " is only used with source s3",
                           "remove " + std::string(k) + ", or set source: s3");
                }
            }
        } else if (is_set(n["path"])) {
            report(n["path"], join(p, "path"), "path is only used with source file",
                   "remove path, or set source: file for a local terraform.tfstate");
        }

        if (e.source == source_kind::s3)
            read_s3_location(key, n, p, e);

        connection_settings own;
        own.retention = defaults.retention;
        read_connection(n, p, own);
        e.region = own.region.value_or(defaults.region.value_or("us-east-1"));
        e.endpoint = own.endpoint ? own.endpoint : defaults.endpoint;
        e.dynamodb_endpoint = own.dynamodb_endpoint ? own.dynamodb_endpoint : defaults.dynamodb_endpoint;
        e.path_style = own.path_style.value_or(defaults.path_style.value_or(false));
        e.ca_file = own.ca_file ? own.ca_file : defaults.ca_file;
        e.credentials = own.credentials.value_or(defaults.credentials.value_or(credentials_config{}));
        e.lock = own.lock.value_or(defaults.lock.value_or(lock_config{}));
        e.copy = own.copy.value_or(defaults.copy.value_or(copy_config{}));
        if (e.copy.archives() && e.copy.prefix.empty())
            e.copy.prefix = name + "/";
        e.always_snapshot = own.always_snapshot.value_or(defaults.always_snapshot.value_or(false));
        // AWS S3 honours If-Match / If-None-Match; other stores may not (radosgw 16 on versioned buckets)
        e.conditional_writes = own.conditional_writes.value_or(
            defaults.conditional_writes.value_or(!e.endpoint || is_aws_endpoint(*e.endpoint)));
        e.writes.encrypt = own.encrypt.value_or(defaults.encrypt.value_or(false));
        e.writes.kms_key_id = own.kms_key_id.value_or(defaults.kms_key_id.value_or(""));
        e.writes.acl = own.acl.value_or(defaults.acl.value_or(""));
        e.writes.skip_s3_checksum = own.skip_s3_checksum.value_or(defaults.skip_s3_checksum.value_or(false));
        if (!e.writes.kms_key_id.empty() && !e.writes.encrypt) {
            const bool here = own.kms_key_id.has_value();
            report(here ? n["kms_key_id"] : key, join(p, "kms_key_id"),
                   "kms_key_id is set but encrypt is not: Terraform's backend ignores the key then",
                   "add encrypt: true beside kms_key_id, as in the backend block");
        }
        e.terraform_bin = own.terraform_bin.value_or(defaults.terraform_bin.value_or("terraform"));
        e.terraform_timeout =
            own.terraform_timeout.value_or(defaults.terraform_timeout.value_or(e.terraform_timeout));
        e.verify = merge_verify(defaults.verify, own.verify, base);
        if (e.source == source_kind::file) {
            e.lock = lock_config{};
            if (e.copy.mode == copy_mode::server_side) {
                report(is_set(n["copy"]) ? n["copy"] : key, join(p, "copy"),
                       "copy mode server-side needs an S3 source; a local state has no S3 version to copy",
                       "set copy: { mode: none } (the catalog keeps the bytes) or mode: local (encrypted)");
            }
            e.copy.on_expiry = expiry_action::warn;
        }
        e.retention = own.retention;
        e.terraform_dir = absolute_path_at(n, "terraform_dir", p, "/srv/infra/prod");
        e.schedules = read_schedules(n, p, base, e.retention, key);
        return e;
    }

    verify_config merge_verify(const std::optional<verify_template>& defaults,
                               const std::optional<verify_template>& own, const schedule_template& base) {
        verify_config v;
        const verify_template none;
        const auto& d = defaults ? *defaults : none;
        const auto& o = own ? *own : none;
        v.enabled = o.enabled.value_or(d.enabled.value_or(true));
        v.cron = o.when.cron.value_or(d.when.cron.value_or(v.cron));
        v.timezone = o.when.timezone.value_or(d.when.timezone.value_or(v.timezone));
        v.jitter = o.when.jitter.value_or(d.when.jitter.value_or(base.jitter.value_or(duration{0})));
        return v;
    }

    // control.max_connections, max_connections_per_uid, reserved_for_operators,
    // max_long_polls_per_uid and name_cache_ttl: each count at least 1 (reserved_for_operators
    // may be 0), and the reserved part smaller than the whole.
    void read_control_limits(const YAML::Node& c, control_config& out) {
        const auto at_least_one = [&](std::string_view key, std::int64_t& into, std::string_view hint) {
            const auto n = count_at(c, key, "control", hint);
            if (!n)
                return;
            if (*n < 1) {
                report(c[std::string(key)], join("control", key), "must be at least 1, got 0",
                       std::string(hint));
                return;
            }
            into = *n;
        };
        at_least_one("max_connections", out.max_connections,
                     "write how many control connections may be open at once, such as 32");
        at_least_one("max_connections_per_uid", out.max_connections_per_uid,
                     "write how many connections one user may hold open, such as 8");
        at_least_one("max_long_polls_per_uid", out.max_long_polls_per_uid,
                     "write how many job waits one user may have open at once, such as 4");
        if (const auto n = count_at(c, "reserved_for_operators", "control",
                                    "write 0 to keep no connections for operators, or a count such as 8")) {
            if (*n >= out.max_connections) {
                report(
                    c["reserved_for_operators"], "control.reserved_for_operators",
                    "must be smaller than control.max_connections (" + std::to_string(out.max_connections) +
                        "), got " + std::to_string(*n),
                    "keep some connections for readers, such as " + std::to_string(out.max_connections / 4));
            } else {
                out.reserved_for_operators = *n;
            }
        } else if (out.reserved_for_operators >= out.max_connections) {
            // the default (8) with a small max_connections: keep a quarter
            out.reserved_for_operators = out.max_connections / 4;
        }
        if (auto d = duration_at(c, "name_cache_ttl", "control"))
            out.name_cache_ttl = *d;
    }

    std::optional<daemon_config> read_root(const YAML::Node& root) {
        if (!root.IsDefined() || root.IsNull()) {
            report(YAML::Mark(), "", "the file is empty",
                   "start from /usr/share/doc/tfsnap/example.yaml or config/example.yaml");
            return std::nullopt;
        }
        if (!expect_map(
                root, "",
                {"state_dir", "max_concurrent_jobs", "worker_threads", "shutdown_grace", "job_retention",
                 "control", "catalog", "metrics", "notify", "defaults", "environments"}))
            return std::nullopt;
        daemon_config cfg;
        cfg.file = file_;
        if (auto d = absolute_path_at(root, "state_dir", "", "/var/lib/tfsnap"))
            cfg.state_dir = *d;
        if (auto n = count_at(root, "max_concurrent_jobs", "")) {
            if (*n < 1) {
                report(root["max_concurrent_jobs"], "max_concurrent_jobs", "must be at least 1, got 0",
                       "write how many backups may run at once, such as 4");
            } else {
                cfg.max_concurrent_jobs = *n;
            }
        }

        if (auto n = count_at(root, "worker_threads", "")) {
            if (*n < 1 || *n > 64) {
                report(root["worker_threads"], "worker_threads",
                       "must be between 1 and 64, got " + std::to_string(*n),
                       "write how many threads hash and parse states, such as 2 (or leave it out: one "
                       "per core)");
            } else {
                cfg.worker_threads = *n;
            }
        }

        if (const YAML::Node c = root["control"];
            is_set(c) &&
            expect_map(c, "control",
                       {"socket", "readers", "operators", "max_connections", "max_connections_per_uid",
                        "reserved_for_operators", "max_long_polls_per_uid", "name_cache_ttl"})) {
            if (auto s = absolute_path_at(c, "socket", "control", "/run/tfsnap/control.sock"))
                cfg.control.socket = *s;
            cfg.control.readers = principals_at(c, "readers", "control");
            cfg.control.operators = principals_at(c, "operators", "control");
            read_control_limits(c, cfg.control);
        }

        if (auto d = duration_at(root, "shutdown_grace", ""))
            cfg.shutdown_grace = *d;
        if (auto d = duration_at(root, "job_retention", ""))
            cfg.job_retention = *d;
        read_notify(root, cfg.notify);
        if (const auto sec = open_section(root, "catalog", "", {"git", "git_timeout"})) {
            cfg.catalog.git = bool_at(sec->node, "git", sec->path).value_or(false);
            if (auto t = duration_at(sec->node, "git_timeout", sec->path))
                cfg.catalog.git_timeout = *t;
        }

        if (const auto sec = open_section(root, "metrics", "", {"listen"})) {
            if (auto l = string_at(sec->node, "listen", sec->path, "127.0.0.1:9464")) {
                auto problem = check_loopback_listen(*l);
                if (problem.empty())
                    cfg.metrics.listen = *l;
                else
                    report(sec->node["listen"], "metrics.listen", problem,
                           "write a loopback address and port, such as 127.0.0.1:9464 or [::1]:9464");
            }
        }

        connection_settings defaults;
        schedule_template base;
        if (const YAML::Node d = root["defaults"];
            is_set(d) &&
            expect_map(
                d, "defaults",
                {"region", "endpoint", "dynamodb_endpoint", "path_style", "ca_file", "credentials",
                 "schedule", "retention", "lock", "copy", "always_snapshot", "verify", "conditional_writes",
                 "encrypt", "kms_key_id", "acl", "skip_s3_checksum", "terraform_bin", "terraform_timeout"})) {
            read_connection(d, "defaults", defaults);
            if (const YAML::Node s = d["schedule"];
                is_set(s) &&
                expect_map(s, "defaults.schedule", {"cron", "timezone", "missed", "concurrency", "jitter"})) {
                base = read_schedule_fields(s, "defaults.schedule");
            }
        }

        const YAML::Node envs = root["environments"];
        if (!is_set(envs)) {
            report_missing(root, "", "environments", "add environments: with at least one state to protect");
        } else if (!envs.IsMap() || envs.size() == 0) {
            report(envs, "environments", "expected a map of environments, got " + kind_of(envs),
                   "write environments:, then one indented NAME: { bucket: ..., key: ... } per state");
        } else {
            std::map<std::string, int> seen;
            for (const auto& kv : envs) {
                if (!kv.first.IsScalar()) {
                    report(kv.first, "environments",
                           "an environment name must be a plain name, got " + kind_of(kv.first));
                    continue;
                }
                const auto before = diags_.size();
                check_unique_key(seen, kv.first, "environments");
                if (diags_.size() != before)
                    continue;
                if (auto e = read_environment(kv.first, kv.second, defaults, base)) {
                    cfg.environments.push_back(std::move(*e));
                }
            }
        }
        return cfg;
    }

private:
    std::string file_;
    std::vector<diagnostic> diags_;
    std::set<std::string> suggested_;  // paths already named by a "did you mean"
};

// The first tab in the leading white space of a line, if any.
std::optional<YAML::Mark> find_indentation_tab(std::string_view text) {
    int line = 0;
    bool at_line_start = true;
    int column = 0;
    for (const char c : text) {
        if (c == '\n') {
            ++line;
            column = 0;
            at_line_start = true;
            continue;
        }
        if (at_line_start && c == '\t') {
            YAML::Mark m;
            m.line = line;
            m.column = column;
            return m;
        }
        if (c != ' ')
            at_line_start = false;
        ++column;
    }
    return std::nullopt;
}

}  // namespace

load_result load_string(std::string_view yaml, std::string file_name) {
    load_result result;
    reader r(file_name);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::DeepRecursion& e) {
        // yaml-cpp's parser recurses per level and stops itself (DepthGuard) with "bad file"
        r.report(e.mark, "", "the YAML nests too deeply to be read",
                 "tfsnapd's configuration nests a few levels; look for runaway '[' or '{' here");
        result.diagnostics = r.take_diagnostics();
        return result;
    } catch (const YAML::ParserException& e) {
        // yaml-cpp's message for tab indentation ("illegal map value") does not say "tab"
        if (const auto tab = find_indentation_tab(yaml)) {
            r.report(*tab, "", "a tab is used for indentation",
                     "YAML indents with spaces only; replace the tab");
        } else {
            r.report(e.mark, "", "YAML syntax error: " + e.msg, "fix the YAML syntax at this position");
        }
        result.diagnostics = r.take_diagnostics();
        return result;
    }
    auto cfg = r.read_root(root);
    if (!r.failed()) {
        result.config = std::move(cfg);
    }
    result.diagnostics = r.take_diagnostics();
    std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(), [](const auto& a, const auto& b) {
        return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    return result;
}

load_result load_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        load_result result;
        const int err = errno;
        result.diagnostics.push_back({path, 0, 0, "",
                                      std::string("cannot read the file: ") + std::strerror(err),
                                      "check the path and its permissions"});
        return result;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        load_result result;
        result.diagnostics.push_back({path, 0, 0, "", "reading the file failed", "check the file system"});
        return result;
    }
    return load_string(text.str(), path);
}

}  // namespace tfsnap::config
