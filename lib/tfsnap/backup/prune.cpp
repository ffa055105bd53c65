#include "tfsnap/backup/prune.hpp"

#include "tfsnap/core/rfc3339.hpp"
#include "tfsnap/retention/policy.hpp"

#include <date/tz.h>

#include <algorithm>
#include <map>

namespace tfsnap::backup {

namespace {

struct group {
    const config::retention_policy* policy = nullptr;
    const date::time_zone* zone = nullptr;
    std::vector<retention::snapshot> snapshots;
};

const date::time_zone* zone_or_utc(const std::string& name) {
    try {
        return date::locate_zone(name);
    } catch (const std::exception&) {
        return date::locate_zone("UTC");
    }
}

}  // namespace

boost::asio::awaitable<prune_report> prune(job_context& ctx, const config::environment& env,
                                           environment_access access, bool dry_run) {
    prune_report rep;
    rep.dry_run = dry_run;
    std::vector<catalog::index_entry> entries;
    if (auto s = ctx.catalog.list(env.name, entries)) {
        rep.error = "cannot read the catalog: " + s.info.path + ": " + s.info.message;
        co_return rep;
    }

    std::map<std::string, manifest::manifest> manifests;
    std::map<std::string, group> groups;  // "" is the environment's own retention
    for (const auto& e : entries) {
        manifest::manifest m;
        if (auto s = ctx.catalog.read_manifest(env.name, e.snapshot_id, m)) {
            // an unreadable manifest is kept, never deleted blind
            rep.error = "cannot read " + s.info.path + ": " + s.info.message;
            co_return rep;
        }
        const auto created = core::parse_rfc3339(m.created_at);
        if (!created) {
            rep.error = "snapshot " + m.snapshot_id + " has an unreadable created_at; nothing was pruned";
            co_return rep;
        }
        retention::snapshot snap{m.snapshot_id, *created, std::nullopt, m.schedule == safety_schedule};
        if (m.pinned_until)
            snap.pinned_until = core::parse_rfc3339(*m.pinned_until);
        const auto sched = std::find_if(env.schedules.begin(), env.schedules.end(),
                                        [&](const config::schedule& s) { return s.name == m.schedule; });
        const std::string key = sched != env.schedules.end() ? sched->name : std::string();
        auto& g = groups[key];
        if (g.policy == nullptr) {
            g.policy = sched != env.schedules.end() ? &sched->retention : &env.retention;
            g.zone = zone_or_utc(
                sched != env.schedules.end()
                    ? sched->timezone
                    : (env.schedules.empty() ? std::string("UTC") : env.schedules.front().timezone));
        }
        g.snapshots.push_back(std::move(snap));
        manifests.emplace(m.snapshot_id, std::move(m));
    }

    const auto now = std::chrono::floor<std::chrono::seconds>(ctx.clock.now());
    for (auto& [name, g] : groups) {
        const auto plan = retention::apply(*g.policy, g.snapshots, now, *g.zone);
        for (const auto& d : plan.decisions) {
            prune_item item;
            item.snapshot_id = d.id;
            item.schedule = manifests.at(d.id).schedule;
            item.keep = d.keep;
            for (const auto& r : d.reasons)
                item.reasons.push_back(r.text);
            rep.items.push_back(std::move(item));
        }
    }
    std::sort(rep.items.begin(), rep.items.end(), [](const prune_item& a, const prune_item& b) {
        return manifest::snapshot_id_less(b.snapshot_id, a.snapshot_id);
    });

    for (auto& item : rep.items) {
        if (item.keep) {
            ++rep.kept;
            continue;
        }
        ++rep.deleted;
        if (dry_run)
            continue;
        const auto& m = manifests.at(item.snapshot_id);
        if (m.copy && m.copy->mode == "s3") {
            const auto& c = *m.copy;
            if (c.bucket == env.bucket && c.key == env.key) {
                // never delete a version of the live state, whatever a manifest says
                item.error = "its copy names the live state s3://" + c.bucket + "/" + c.key + "; not deleted";
            } else {
                s3::client* archive = access.archive != nullptr ? access.archive : access.s3;
                if (archive == nullptr) {
                    item.error = "no S3 client for the archive bucket " + c.bucket;
                } else {
                    const auto r = co_await archive->delete_object(c.bucket, c.key, c.version_id);
                    if (r.ec && r.ec != s3::errc::no_such_key && r.ec != s3::errc::no_such_version)
                        item.error = "cannot delete its copy: " + s3::describe(r.ec, r.info);
                }
            }
        }
        if (item.error.empty()) {
            if (auto s = ctx.catalog.remove(env.name, item.snapshot_id))
                item.error = "cannot remove it from the catalog: " + s.info.path + ": " + s.info.message;
        }
        if (item.error.empty()) {
            item.deleted = true;
        } else {
            --rep.deleted;
            ++rep.failed;
            ctx.log.warning("prune: snapshot " + item.snapshot_id + " kept: " + item.error,
                            {{"env", env.name}});
        }
    }
    if (!dry_run && rep.deleted > 0 && ctx.record_removal) {
        std::vector<std::string> removed;
        for (const auto& item : rep.items)
            if (item.deleted)
                removed.push_back(item.snapshot_id);
        std::string env_name = env.name;  // named, not temporaries in the co_await (GCC 12)
        auto recording = ctx.record_removal(std::move(env_name), std::move(removed));
        if (const std::string problem = co_await std::move(recording); !problem.empty())
            ctx.log.warning("prune: catalog git: " + problem, {{"env", env.name}});
    }
    if (!dry_run && rep.deleted > 0)
        ctx.log.info("prune: deleted " + std::to_string(rep.deleted) + " snapshot(s), kept " +
                         std::to_string(rep.kept),
                     {{"env", env.name}});
    co_return rep;
}

}  // namespace tfsnap::backup
