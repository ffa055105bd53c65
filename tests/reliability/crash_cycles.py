#!/usr/bin/python3
"""kill -9 of tfsnapd at random points over many mixed backup and restore cycles.

Three environments in one versioned bucket, each with a DynamoDB lock and a lockfile, behind
fault proxies that add a random latency (0-120 ms) to every request to widen the windows
between steps. Each cycle:

  1. start tfsnapd and wait for READY=1 (sent after start-up recovery), then check:
     - tfsnap_catalog_check: every MANIFEST.json parses with well-formed checksums, every index
       equals its rebuild, no ".tmp-*", ".del-*" or "*.tmp" is left under state_dir;
     - every snapshot the API listed before the kill is still in the catalog;
     - no restore journal is left, no DynamoDB LockID item, no current <key>.tflock;
     - each state is the old version's bytes or the restore target's (nothing else);
     - each -md5 digest equals the MD5 of the current state;
  2. now and then, a Terraform-style write of a new version (lock, write, digest, unlock);
  3. for each environment at random: a backup, a restore of a random older version (plan, then
     execute), or nothing;
  4. after a random 0-2.5 s, list the snapshots and jobs, and kill -9.

TFSNAP_CRASH_CYCLES (default 30; the full run is 200) and TFSNAP_CRASH_SEED (default: from the
clock, printed) set the run. The summary line "crash-cycles: {...}" gives the figures.
"""
import json
import os
import random
import time

import rlib
from rlib import check, expect

ENVS = ["e0", "e1", "e2"]
DELAY_MAX_MS = 120


def main():
    s = rlib.Setting(__doc__)
    cycles = int(os.environ.get("TFSNAP_CRASH_CYCLES", "30"))
    seed = int(os.environ.get("TFSNAP_CRASH_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    rlib.log(f"crash cycles: {cycles}, seed {seed} (TFSNAP_CRASH_SEED={seed} repeats the choices)")
    aws = s.aws
    bucket = aws.make_bucket("relcrash")
    table = aws.make_table("relcrashlocks")
    lineage = "e1d2c3b4-a596-4877-8899-aabbccddeeff"
    originals = {}  # env -> [(version, bytes)] of the first versions, the restore targets
    known = {}  # env -> the bytes the state must have now (after the last check)
    serial = {}
    for env in ENVS:
        originals[env] = []
        for n in range(1, 7):
            b = rlib.make_state(lineage, n, pad=rng.randrange(0, 4000))
            originals[env].append((aws.put(bucket, f"{env}/terraform.tfstate", b), b))
        known[env] = originals[env][-1][1]
        serial[env] = 6
        aws.set_digest(table, f"{bucket}/{env}/terraform.tfstate", rlib.md5(known[env]))

    s3p, ddbp = rlib.proxies(s)
    for p in (s3p, ddbp):
        p.set_random(seed=seed, delay_max_ms=DELAY_MAX_MS)
    state_dir = s.path("state")
    envs = rlib.locked_environments(bucket, table, ENVS)
    d = rlib.Daemon(s, "daemon", rlib.proxied_config(state_dir, s.path("ctl.sock"), s3p, ddbp, envs,
                                                     "shutdown_grace: 1s\n"),
                    state_dir, s.path("ctl.sock"))

    committed = {e: set() for e in ENVS}  # snapshot ids the API listed before a kill
    stats = dict(cycles=0, kills=0, backups=0, restores=0, restores_done_before_kill=0,
                 restores_cut_by_kill=0, terraform_writes=0, snapshots_listed=0, lost=0, locks_left=0,
                 journals_left=0, bad_state=0, bad_digest=0, catalog_problems=0, recoveries=0,
                 restart_s_max=0.0, restart_s_sum=0.0)
    violations = []
    in_flight = {}  # env -> (old bytes, target bytes, job id)
    t_start = time.monotonic()

    seen_problems = set()  # a problem that stays from cycle to cycle counts once

    def violation(kind, msg, key=None):
        if key is not None:
            if key in seen_problems:
                return
            seen_problems.add(key)
        stats[kind] += 1
        if len(violations) < 40:
            violations.append(f"cycle {stats['cycles']}: {msg}")
        rlib.log(f"VIOLATION cycle {stats['cycles']}: {msg}")

    def check_after_start():
        ok, report = rlib.catalog_check(s, state_dir)
        for p in report.get("problems", []) if not ok else []:
            violation("catalog_problems", f"catalog: {p}", key=p)
        for j in report.get("journals", []):
            violation("journals_left", f"a restore journal file is left after recovery: {j}", key=j)
        listed = {e: {x["snapshot_id"] for x in report.get("environments", {}).get(e, [])} for e in ENVS}
        for e in ENVS:
            lost = committed[e] - listed[e]
            if lost:
                violation("lost", f"{e}: snapshots listed before the kill are gone: {sorted(lost)}")
            key = f"{e}/terraform.tfstate"
            lock_id = f"{bucket}/{key}"
            item = aws.lock_item(table, lock_id)
            if item is not None:
                violation("locks_left", f"{e}: DynamoDB lock left after recovery: {item['Info']['S'][:120]}")
            if aws.tflock_present(bucket, key):
                violation("locks_left", f"{e}: lockfile left after recovery")
            _, now = aws.current(bucket, key)
            if e in in_flight:
                old, target, _ = in_flight[e]
                what = rlib.state_is(now, old, target)
            else:
                what = "old" if now == known[e] else None
            if what is None:
                violation("bad_state", f"{e}: the state is neither the old nor the target version "
                                       f"({(now or b'')[:80]!r})")
            if now is not None:
                known[e] = now
            dg = aws.digest(table, lock_id)
            if dg != rlib.md5(now or b""):
                violation("bad_digest", f"{e}: -md5 digest {dg} is not the MD5 of the state ({rlib.md5(now or b'')}"
                                        f", {what})")
                aws.set_digest(table, lock_id, rlib.md5(now or b""))  # as an operator would, to go on
            if item is not None:  # go on from a clean slate, counted above
                aws.ddb.delete_item(TableName=table, Key={"LockID": {"S": lock_id}})
            if aws.tflock_present(bucket, key):
                aws.s3.delete_object(Bucket=bucket, Key=key + ".tflock")
        in_flight.clear()

    for cycle in range(1, cycles + 1):
        stats["cycles"] = cycle
        took = d.start()
        stats["restart_s_max"] = max(stats["restart_s_max"], took)
        stats["restart_s_sum"] += took
        check_after_start()

        # Terraform writes now and then (under its lock, as Terraform does)
        for e in ENVS:
            if rng.random() < 0.15:
                serial[e] += 1
                b = rlib.make_state(lineage, serial[e], pad=rng.randrange(0, 4000))
                aws.put(bucket, f"{e}/terraform.tfstate", b)
                aws.set_digest(table, f"{bucket}/{e}/terraform.tfstate", rlib.md5(b))
                known[e] = b
                stats["terraform_writes"] += 1

        jobs = {}
        for e in ENVS:
            r = rng.random()
            if r < 0.4:
                jid = d.backup(e)
                if jid:
                    jobs[jid] = ("backup", e)
                    stats["backups"] += 1
            elif r < 0.85:
                version, target = rng.choice(originals[e][:-1])
                if target == known[e]:
                    continue
                st, plan = d.plan(e, version, f"crash cycle {cycle}")
                if st != 200 or not plan.get("token"):
                    continue  # e.g. a lock left by a concurrent job: the plan says so
                st, sub = d.execute(e, version, f"crash cycle {cycle}", plan["token"])
                if st == 202:
                    jobs[sub["job_id"]] = ("restore", e)
                    in_flight[e] = (known[e], target, sub["job_id"])
                    stats["restores"] += 1

        time.sleep(rng.uniform(0, 2.5))
        # what the API reports just before the kill
        for e in ENVS:
            snaps = d.snapshots(e) or []
            committed[e] |= {x["snapshot_id"] for x in snaps}
        for jid, (kind, e) in jobs.items():
            j = d.job(jid)
            if kind == "restore" and j and j["state"] not in ("queued", "running"):
                stats["restores_done_before_kill"] += 1
                if j["state"] == "succeeded" and e in in_flight:
                    old, target, _ = in_flight[e]
                    in_flight[e] = (target, target, jid)  # done: only the target is right now
            elif kind == "restore":
                stats["restores_cut_by_kill"] += 1
        d.kill9()
        stats["kills"] += 1
        time.sleep(DELAY_MAX_MS / 1000)  # requests the proxies were still delaying are dropped

    # the last start: recovery, the same checks, and a clean stop
    took = d.start()
    check_after_start()
    stats["recoveries"] = sum(1 for a in d.audit() if a.get("action") == "recover")
    stats["snapshots_listed"] = sum(len(v) for v in committed.values())
    rc, _ = d.term(30)
    expect(rc == 0, "tfsnapd exits 0 on SIGTERM after the last cycle", rc)
    stats["restart_s_avg"] = round(stats.pop("restart_s_sum") / max(1, cycles), 2)
    stats["restart_s_max"] = round(stats["restart_s_max"], 2)
    stats["seconds"] = round(time.monotonic() - t_start)
    stats["seed"] = seed
    stats["proxy_requests"] = s3p.stats()["requests"] + ddbp.stats()["requests"]
    rlib.log("crash-cycles: " + json.dumps(stats, sort_keys=True))
    for kind in ("lost", "locks_left", "journals_left", "bad_state", "bad_digest", "catalog_problems"):
        expect(stats[kind] == 0, f"{kind}: 0 over {cycles} cycles", stats[kind])
    # a problem that stays is counted once, in the cycle it appeared
    if violations:
        rlib.log("first violations:\n  " + "\n  ".join(violations))
    check(stats["restores_cut_by_kill"] > 0 or cycles < 10, "some restores were cut by a kill", stats)


if __name__ == "__main__":
    rlib.run(main)
