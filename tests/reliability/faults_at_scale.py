#!/usr/bin/python3
"""Backups and restores at scale with 10% of S3 and DynamoDB requests failing.

ENVS environments (each with a DynamoDB lock and a lockfile) behind two fault proxies that give
10% of requests a fault drawn from: connection reset, 500, 503 SlowDown (DynamoDB: its
ThrottlingException), a stall past the client's deadline (35 s; tfsnapd's HTTP read timeout is
30 s and has no setting), and a truncated body. Each of ROUNDS rounds: Terraform writes a new
version of every state (straight to S3, under its lock), tfsnapd backs up every environment
(through the API), then restores RESTORES/ROUNDS random environments to a random older
version (plan, then execute; a plan that fails on a fault is tried again, up to 3 times, as an
operator would).

Then, with the faults off:
  - every backup job succeeded or failed with a message; every restore is done, refused or
    failed with a message;
  - no snapshot is lost or corrupt: tfsnap_catalog_check passes, every snapshot a job reported
    is in the catalog, and every manifest's SHA-256 is that of its S3 version's bytes;
  - no lock is left (no DynamoDB LockID item, no current <key>.tflock), and each -md5 digest is
    the MD5 of its state;
  - the faults were retried: the daemon's tfsnap_s3_requests_total counts the failed attempts,
    next to what the proxies injected.

TFSNAP_SCALE_ENVS, TFSNAP_SCALE_ROUNDS and TFSNAP_SCALE_RESTORES set the size (defaults 20, 2, 4;
the full run is 100, 10, 100: 1,000 backups and 100 restores); TFSNAP_SCALE_SEED the proxies'
seed. The summary line "faults-at-scale: {...}" gives the figures.
"""
import hashlib
import json
import os
import random
import re
import time

import rlib
from rlib import check, expect

KINDS = ["reset", "internal_error", "slow_down", "stall", "truncate"]
SHARE = 0.10
STALL_MS = 35000


def main():
    s = rlib.Setting(__doc__)
    n_envs = int(os.environ.get("TFSNAP_SCALE_ENVS", "20"))
    rounds = int(os.environ.get("TFSNAP_SCALE_ROUNDS", "2"))
    n_restores = int(os.environ.get("TFSNAP_SCALE_RESTORES", "4"))
    seed = int(os.environ.get("TFSNAP_SCALE_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    rlib.log(f"faults at scale: {n_envs} environments x {rounds} rounds, {n_restores} restores, "
             f"{SHARE:.0%} faults, seed {seed}")
    aws = s.aws
    bucket = aws.make_bucket("relscale")
    table = aws.make_table("relscalelocks")
    lineage = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
    envs = [f"s{i:03d}" for i in range(n_envs)]
    key = {e: f"{e}/terraform.tfstate" for e in envs}
    versions = {e: [] for e in envs}  # (version id, bytes) written by "Terraform"
    serial = {e: 0 for e in envs}

    s3p, ddbp = rlib.proxies(s)
    state_dir = s.path("state")
    env_yaml = rlib.locked_environments(bucket, table, envs)
    d = rlib.Daemon(s, "daemon", rlib.proxied_config(state_dir, s.path("ctl.sock"), s3p, ddbp, env_yaml,
                                                     "max_concurrent_jobs: 16\nshutdown_grace: 5s\n"),
                    state_dir, s.path("ctl.sock"))

    def terraform_write(e):
        serial[e] += 1
        b = rlib.make_state(lineage, serial[e], pad=rng.randrange(0, 3000))
        v = aws.put(bucket, key[e], b)
        aws.set_digest(table, f"{bucket}/{key[e]}", rlib.md5(b))
        versions[e].append((v, b))

    for e in envs:
        terraform_write(e)
    d.start()
    for p in (s3p, ddbp):
        p.set_random(share=SHARE, seed=seed, kinds=KINDS, stall_ms=STALL_MS, truncate_after=200)
    t0 = time.monotonic()

    backups = {}  # job id -> env
    restores = {}  # job id -> env
    plans = dict(tried=0, refused=0)
    restore_rounds = set(range(rounds)) if n_restores else set()
    per_round = [n_restores // rounds + (1 if r < n_restores % rounds else 0) for r in range(rounds)]

    def wait_all(ids, limit_s):
        end = time.monotonic() + limit_s
        out = {}
        for jid in ids:
            j = d.wait_job(jid, max(1, end - time.monotonic()))
            out[jid] = j
        return out

    finished = {}
    for r in range(rounds):
        tr = time.monotonic()
        for e in envs:
            terraform_write(e)
        ids = []
        for e in envs:
            jid = d.backup(e)
            if jid is None:
                check(False, f"round {r}: the backup of {e} is accepted")
            backups[jid] = e
            ids.append(jid)
        finished.update(wait_all(ids, 900))
        rids = []
        if r in restore_rounds:
            for e in rng.sample(envs, min(per_round[r], len(envs))):
                version, target = rng.choice(versions[e][:-1])
                token = None
                for attempt in range(3):
                    plans["tried"] += 1
                    st, plan = d.plan(e, version, f"scale round {r}")
                    if st == 200 and plan.get("token"):
                        token = plan["token"]
                        break
                    plans["refused"] += 1
                if token is None:
                    continue
                st, sub = d.execute(e, version, f"scale round {r}", token)
                if st == 202:
                    restores[sub["job_id"]] = e
                    rids.append(sub["job_id"])
        finished.update(wait_all(rids, 900))
        rlib.log(f"round {r}: {len(ids)} backups, {len(rids)} restores, {time.monotonic() - tr:.0f}s; "
                 f"injected so far: S3 {s3p.stats()['total_injected']}, DynamoDB {ddbp.stats()['total_injected']}")

    # faults off for the checks
    s3_stats, db_stats = s3p.stats(), ddbp.stats()
    for p in (s3p, ddbp):
        p.set_random(share=0)
    elapsed = round(time.monotonic() - t0)

    # 1. every job ended, with a message when it failed
    outcome = {"backup": {}, "restore": {}}
    reported_snapshots = {}  # (env, snapshot id) -> version
    backup_details = {}  # the first word of each backup job's detail: snapshot, unchanged, ...
    unexplained = []
    for jid, j in finished.items():
        kind = "restore" if jid in restores else "backup"
        state = j["state"] if j else "unknown"
        outcome[kind][state] = outcome[kind].get(state, 0) + 1
        if not j or state not in ("succeeded", "failed") or (state == "failed" and not j.get("detail")):
            unexplained.append((kind, jid, j))
        if kind == "backup" and j:
            first_word = (j.get("detail") or "").split(":")[0]
            backup_details[first_word] = backup_details.get(first_word, 0) + 1
            m = re.search(r"snapshot (\S+) of version ([^ ,]+)", j.get("detail", ""))
            if state == "succeeded" and m:
                reported_snapshots[(backups[jid], m.group(1))] = m.group(2)
    expect(not unexplained, "every job succeeded, or failed with a message", unexplained[:5])
    restore_results = {}
    for jid in restores:
        res = ((finished.get(jid) or {}).get("result") or {}).get("result", "none")
        restore_results[res] = restore_results.get(res, 0) + 1
    expect(set(restore_results) <= {"ok", "no-op", "refused", "failed"},
           "every restore is done, refused or failed", restore_results)

    # 2. snapshots: none lost, none corrupt
    ok, report = rlib.catalog_check(s, state_dir)
    expect(ok, "tfsnap_catalog_check passes", report.get("problems", [])[:5])
    in_catalog = {}
    for e, snaps in report.get("environments", {}).items():
        for x in snaps:
            in_catalog[(e, x["snapshot_id"])] = x
    lost = [k for k, v in reported_snapshots.items() if k not in in_catalog or in_catalog[k]["version_id"] != v]
    expect(not lost, f"every snapshot a backup reported is in the catalog ({len(reported_snapshots)})", lost[:5])
    corrupt = []
    for (e, sid), x in in_catalog.items():
        body = aws.version_bytes(bucket, key[e], x["version_id"])
        if hashlib.sha256(body).hexdigest() != x["sha256"] or hashlib.md5(body).hexdigest() != x["md5"]:
            corrupt.append((e, sid))
    expect(not corrupt, f"every manifest's checksums are its S3 version's ({len(in_catalog)} snapshots)",
           corrupt[:5])

    # 3. locks and digests. A restore whose unlock failed past its retries and its cleanup's deadline
    # keeps its journal, and the daemon tries it again every minute: give that two rounds.
    def held_locks():
        held = []
        for e in envs:
            if aws.lock_item(table, f"{bucket}/{key[e]}") is not None:
                held.append(f"{e}: DynamoDB")
            if aws.tflock_present(bucket, key[e]):
                held.append(f"{e}: lockfile")
        return held

    locks_at_end = held_locks()
    locks_left = locks_at_end
    if locks_at_end:
        rlib.wait_for(lambda: not held_locks(), 150, 5.0)
        locks_left = held_locks()
        rlib.log(f"locks held when the run ended: {locks_at_end}; left after the journal retry: {locks_left}")
    bad_digest = []
    for e in envs:
        lock_id = f"{bucket}/{key[e]}"
        _, now = aws.current(bucket, key[e])
        if aws.digest(table, lock_id) != rlib.md5(now or b""):
            bad_digest.append(e)
    if locks_left:  # what the restores of those environments said
        for e in sorted({x.split(":")[0] for x in locks_left}):
            for jid, env in restores.items():
                if env == e:
                    j = finished.get(jid) or {}
                    rlib.log(f"  {e}: restore job {jid}: {j.get('state')}: {j.get('detail')}")
    expect(not locks_left, "no lock is left", locks_left[:5])
    expect(not bad_digest, "every -md5 digest is the MD5 of its state", bad_digest[:5])

    # 4. retries
    attempts = d.metric("tfsnap_s3_requests_total")
    failed_attempts = sum(d.metric("tfsnap_s3_requests_total", {"code": c}) for c in ("error", "500", "503"))
    injected_s3 = s3_stats["total_injected"] - (s3_stats["injected"]["truncate"] - s3_stats["truncated_bodies"])
    expect(failed_attempts > 0 or injected_s3 == 0, "the daemon saw and retried the injected S3 faults",
           (failed_attempts, injected_s3))
    rc, _ = d.term(60)
    expect(rc == 0, "tfsnapd exits 0 on SIGTERM", rc)

    summary = dict(envs=n_envs, rounds=rounds, seed=seed, seconds=elapsed,
                   backup_jobs=len(backups), backups=outcome["backup"], backup_details=backup_details, restore_jobs=len(restores),
                   restores=outcome["restore"], restore_results=restore_results, plans=plans,
                   snapshots_reported=len(reported_snapshots), snapshots_in_catalog=len(in_catalog),
                   lost=len(lost), corrupt=len(corrupt), locks_at_end=len(locks_at_end), locks_left=len(locks_left), bad_digests=len(bad_digest),
                   s3_requests=s3_stats["requests"], s3_injected=s3_stats["injected"],
                   s3_truncated_bodies=s3_stats["truncated_bodies"], dynamodb_requests=db_stats["requests"],
                   dynamodb_injected=db_stats["injected"], daemon_s3_attempts=int(attempts),
                   daemon_s3_failed_attempts=int(failed_attempts))
    rlib.log("faults-at-scale: " + json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    rlib.run(main)
