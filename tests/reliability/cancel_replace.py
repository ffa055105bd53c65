#!/usr/bin/python3
"""A schedule with `concurrency: replace` (every second: cron "* * * * * *") firing while an
operator's restore of the same environment runs: the operator's restore is never cancelled.

The restore is frozen by the fault proxy at its write (both locks held) for several seconds, so
the schedule fires several times during it. Then:
  - the restore completes (job succeeded, result ok), and the state is the target;
  - its locks are released (no DynamoDB LockID item, no current <key>.tflock) and its audit
    record is written;
  - no restore or undelete job is ever "replaced" or "cancelled";
  - every scheduled job that fired during the restore waited (queued) or was skipped, and its
    record says why (a non-empty detail; a queued one may be replaced by the next tick);
and the same holds for an undelete of a deleted state, frozen at the removal of its delete
marker.
"""
import re
import time

import rlib
from rlib import check, expect

FREEZE_S = 5


def rx(s):
    return re.sub(r"([.^$*+?()\[\]{}|\\/])", r"\\\1", s)


def jobs(d):
    st, b = d.api("GET", "/v1/jobs")
    return b["jobs"] if st == 200 else []


def main():
    s = rlib.Setting(__doc__)
    aws = s.aws
    bucket = aws.make_bucket("relrepl")
    table = aws.make_table("relrepllocks")
    lineage = "7e3c9b20-41aa-4c6e-b1d2-8f0e6a5c3b19"
    s3p, ddbp = rlib.proxies(s)
    state_dir = s.path("state")
    envs = rlib.locked_environments(bucket, table, ("prod", "gone"), """
    schedules:
      - { name: tick, cron: "* * * * * *", concurrency: replace }""")
    d = rlib.Daemon(s, "daemon", rlib.proxied_config(state_dir, s.path("ctl.sock"), s3p, ddbp, envs,
                                                     "shutdown_grace: 5s\n"),
                    state_dir, s.path("ctl.sock"))

    def one(action, env):
        key = f"{env}/terraform.tfstate"
        lock_id = f"{bucket}/{key}"
        rlib.log(f"\n==== {action} during a replacing schedule")
        old, target = rlib.make_state(lineage, 11), rlib.make_state(lineage, 10)
        v_target = aws.put(bucket, key, target)
        v_old = aws.put(bucket, key, old)
        if action == "undelete":
            aws.s3.delete_object(Bucket=bucket, Key=key)  # a delete marker on top of v_old
            old, target = None, old
        aws.set_digest(table, lock_id, rlib.md5(old or b""))
        audits_before = sum(1 for a in d.audit() if a.get("action") == action and a.get("environment") == env)
        reason = f"{action} under a replacing schedule"
        if action == "restore":
            st, plan = d.plan(env, v_target, reason)
        else:
            st, plan = d.api("POST", f"/v1/environments/{env}/undeletes", {"reason": reason, "dry_run": True})
        check(st == 200 and plan.get("token"), f"{action}: the plan has a token", plan)
        if action == "restore":
            rid = s3p.add_rule(method="PUT", path=f"^/{rx(bucket)}/{rx(key)}$", action="hold",
                               hold_ms=FREEZE_S * 1000 + 60000)
            st, sub = d.execute(env, v_target, reason, plan["token"])
        else:
            rid = s3p.add_rule(method="DELETE", path=f"^/{rx(bucket)}/{rx(key)}\\?versionId=", action="hold",
                               hold_ms=FREEZE_S * 1000 + 60000)
            st, sub = d.api("POST", f"/v1/environments/{env}/undeletes",
                            {"reason": reason, "dry_run": False, "token": plan["token"]})
        check(st == 202, f"{action}: accepted", sub)
        job_id = sub["job_id"]
        # the schedule ticks every second from here on; a job that gets replaced never arrives
        def arrived_or_ended():
            if s3p.rule(rid)["holding"] > 0:
                return "held"
            j = d.job(job_id)
            return "ended" if j and j["state"] not in ("queued", "running") else None

        held = rlib.wait_for(arrived_or_ended, 30) == "held"
        expect(held, f"{action}: reaches its write (frozen there, its locks held)",
               d.job(job_id) or d.log_tail())
        if held:
            time.sleep(FREEZE_S)
        mid = {j["id"]: j for j in jobs(d)}
        me = mid.get(job_id)
        expect(me and me["state"] == "running", f"{action}: still running after {FREEZE_S}s of ticks", me)
        s3p.release(rid)
        j = d.wait_job(job_id, 120)
        expect(j and j["state"] == "succeeded", f"{action}: the operator's {action} completes", j)
        expect(j and j.get("result") and j["result"].get("result") == "ok", f"{action}: its result is ok",
               j and j.get("result"))
        _, now = aws.current(bucket, key)
        expect(now == target or rlib.state_is(now, old, target) == "target", f"{action}: the state is the target",
               (now or b"")[:100])
        expect(aws.lock_item(table, lock_id) is None, f"{action}: the DynamoDB lock is released",
               aws.lock_item(table, lock_id))
        expect(not aws.tflock_present(bucket, key), f"{action}: the lockfile is released")
        audits = sum(1 for a in d.audit() if a.get("action") == action and a.get("environment") == env)
        expect(audits == audits_before + 1, f"{action}: its audit record is written",
               f"{audits - audits_before} new")
        expect(aws.digest(table, lock_id) == rlib.md5(now or b""), f"{action}: the -md5 digest is right")

        all_jobs = jobs(d)
        ops = [x for x in all_jobs if x["kind"] in ("restore", "undelete") and x["environment"] == env]
        bad = [x for x in ops if x["state"] in ("replaced", "cancelled")]
        expect(not bad, f"{action}: no restore or undelete was replaced or cancelled", bad)
        # scheduled jobs fired while the operator's job ran: each waited or was skipped, with a reason
        during = [x for x in mid.values()
                  if x["schedule"] == "tick" and x["environment"] == env and int(x["id"]) > int(job_id)]
        expect(len(during) >= 1, f"{action}: the schedule fired during it", list(mid.values())[:5])
        # (a queued tick may itself be replaced by the next tick: that is replace between schedules)
        unexplained = [x for x in during
                       if not (x["state"] in ("queued", "replaced") or x["state"].startswith("skipped"))
                       or not x["detail"]]
        expect(not unexplained, f"{action}: each of those waited (queued) or was skipped, saying why",
               unexplained[:3])
        rlib.log(f"{action}: {len(during)} scheduled job(s) fired during it: "
                 f"{sorted(set((x['state'], x['detail']) for x in during))[:4]}")

    d.start()
    one("restore", "prod")
    one("undelete", "gone")
    # the schedule still ticks every second: a backup in flight has its scratch file, so the
    # catalog is checked once tfsnapd has stopped (a cancelled backup removes its own)
    rc, _ = d.term(30)
    expect(rc == 0, "tfsnapd exits 0 on SIGTERM", rc)
    ok, report = rlib.catalog_check(s, state_dir)
    expect(ok, "the catalog is consistent", report.get("problems"))


if __name__ == "__main__":
    rlib.run(main)
