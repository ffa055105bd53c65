#include "tfsnap/backup/lifecycle_guard.hpp"

#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/lifecycle/guard.hpp"

#include <map>

namespace tfsnap::backup {

boost::asio::awaitable<guard_report> run_lifecycle_guard(job_context& ctx, const config::environment& env,
                                                         environment_access access) {
    guard_report rep;
    if (env.source != config::source_kind::s3 || access.s3 == nullptr)
        co_return rep;
    s3::client& s3 = *access.s3;
    const auto now = ctx.clock.now();
    const auto lc = co_await ctx.buckets.lifecycle(s3, bucket_origin(env), env.bucket, now, false);
    if (lc.ec) {
        rep.error = "cannot read the lifecycle configuration of bucket " + env.bucket + ": " +
                    s3::describe(lc.ec, lc.info) +
                    " (tfsnap needs s3:GetLifecycleConfiguration to warn before S3 "
                    "expires a snapshotted version)";
        ctx.log.warning("lifecycle guard: " + rep.error, {{"env", env.name}});
        co_return rep;
    }
    const auto rules = lifecycle::applicable_rules(lc.rules, env.key);
    rep.rules_apply = !rules.empty();

    std::vector<catalog::index_entry> entries;
    if (auto s = ctx.catalog.list(env.name, entries)) {
        rep.error = "cannot read the catalog: " + s.info.path + ": " + s.info.message;
        co_return rep;
    }

    std::map<std::string, lifecycle::version_fate> by_version;
    if (rep.rules_apply) {
        const auto listed = co_await s3.list_object_versions(env.bucket, env.key);
        if (listed.ec) {
            rep.error = "cannot list the versions of s3://" + env.bucket + "/" + env.key + ": " +
                        s3::describe(listed.ec, listed.info);
            ctx.log.warning("lifecycle guard: " + rep.error, {{"env", env.name}});
            co_return rep;
        }
        for (auto& f : lifecycle::fates(rules, env.key, listed.entries)) {
            if (!f.noncurrent_since && f.delete_marker_at) {
                rep.live_state_warning =
                    "lifecycle rule " + f.rule_id + " will put a delete marker on the live state s3://" +
                    env.bucket + "/" + env.key + " at " + core::format_rfc3339(*f.delete_marker_at) +
                    ": Terraform will find no state after that. Exclude the key from the rule";
            }
            by_version.emplace(f.version_id, std::move(f));
        }
        if (!rep.live_state_warning.empty())
            ctx.log.error("lifecycle guard: " + rep.live_state_warning, {{"env", env.name}});
    }

    for (const auto& e : entries) {
        // the index says enough for most snapshots: read a manifest only when its version has a
        // fate to record, or an expires_at to clear (this runs after every backup)
        if (!e.expires_at && !by_version.contains(e.version_id))
            continue;
        manifest::manifest m;
        if (ctx.catalog.read_manifest(env.name, e.snapshot_id, m) || m.terraform_state.source != "s3")
            continue;
        const auto it = by_version.find(m.terraform_state.version_id);
        std::optional<std::string> expires;
        if (it != by_version.end() && it->second.expires_at)
            expires = core::format_rfc3339(*it->second.expires_at);
        if (expires != m.expires_at) {
            if (auto s = ctx.catalog.update(env.name, e.snapshot_id,
                                            [&](manifest::manifest& x) { x.expires_at = expires; })) {
                rep.error = "cannot update " + s.info.path + ": " + s.info.message;
                co_return rep;
            }
        }
        if (it == by_version.end() || (!it->second.expires_at && !it->second.uncertain))
            continue;
        guard_item item;
        item.snapshot_id = e.snapshot_id;
        item.version_id = m.terraform_state.version_id;
        item.expires_at = expires.value_or("");
        item.reason = it->second.reason;
        item.uncertain = it->second.uncertain;
        item.has_copy = m.copy.has_value();
        if (!item.has_copy && (expires || item.uncertain)) {
            if (env.copy.archives()) {
                const std::string key = archive_key(env, e.snapshot_id);
                // named: no class-type temporaries inside a co_await (GCC 12)
                std::string sha256 = m.checksums ? m.checksums->sha256 : std::string();
                auto r =
                    co_await archive_version(env, access, item.version_id, e.snapshot_id, std::move(sha256));
                if (!r.copy) {
                    item.error = "archive copy failed: " + r.error;
                } else {
                    const manifest::copy_info c = *r.copy;
                    if (auto s = ctx.catalog.update(env.name, e.snapshot_id,
                                                    [&](manifest::manifest& x) { x.copy = c; }))
                        item.error = "copied, but cannot record it: " + s.info.path + ": " + s.info.message;
                    else {
                        item.archived_now = true;
                        item.has_copy = true;
                        ++rep.archived;
                        ctx.log.notice("lifecycle guard: snapshot " + e.snapshot_id + " archived to s3://" +
                                           env.copy.bucket + "/" + key + " before its version expires" +
                                           (expires ? " at " + *expires : std::string()),
                                       {{"env", env.name}, {"snapshot", e.snapshot_id}});
                    }
                }
            }
            if (!item.has_copy) {
                ++rep.at_risk;
                ctx.log.warning(
                    "lifecycle guard: snapshot " + e.snapshot_id + " pins version " + item.version_id +
                        (expires ? ", which S3 deletes at " + *expires
                                 : std::string(", which S3 may delete")) +
                        " (" + item.reason + "), and has no copy" +
                        (item.error.empty() ? std::string(". Set copy.on_expiry: archive, or a copy mode")
                                            : ": " + item.error),
                    {{"env", env.name}, {"snapshot", e.snapshot_id}, {"event", "expiry-at-risk"}});
            }
        }
        rep.items.push_back(std::move(item));
    }
    co_return rep;
}

}  // namespace tfsnap::backup
