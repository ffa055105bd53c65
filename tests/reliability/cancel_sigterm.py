#!/usr/bin/python3
"""SIGTERM past shutdown_grace (1s) at each step of a restore, with the DynamoDB lock and the
lockfile configured. The fault proxy freezes the request that begins or ends the step, tfsnapd
gets SIGTERM, and its grace runs out with the restore still waiting. Every time:

  - tfsnapd exits 0, within a bounded time;
  - the restore's locks are released (no DynamoDB LockID item, no current <key>.tflock);
  - its audit record is written (one more line for the environment in audit.log);
  - the state is the old version's bytes or the target's, nothing else;
and after the next start (start-up recovery done):
  - still no lock, the -md5 digest equals the MD5 of the current state, and the catalog is
    consistent with no temporary files left.

Steps: locked (DynamoDB has applied the lock's PutItem; with Terraform's order, file first, both
locks are held), safety snapshot (mid-download), write (before the PUT reaches S3), written (S3
has applied the write, its answer held), digest (before the digest PutItem), verify (its HEAD),
unlock (the DynamoDB DeleteItem).
"""
import os
import re
import time

import rlib
from rlib import check, expect

GRACE_S = 1
EXIT_WITHIN_S = 30  # the grace, plus the cleanup's own bounded time, with room for a loaded machine
# How long the proxy holds the frozen request. SIGTERM comes while it is held, and the grace runs
# out 1 s later. A job that is cancelled closes the connection, and the proxy drops the request;
# a cleanup that waits for it sees it go on after this long, as a slow network would: shorter
# than tfsnapd's own 30 s read timeout, so the test does not decide how the daemon cancels.
HOLD_MS = 5000


def rx(s):
    return re.sub(r"([.^$*+?()\[\]{}|\\/])", r"\\\1", s)


def main():
    s = rlib.Setting(__doc__)
    aws = s.aws
    bucket = aws.make_bucket("relterm")
    table = aws.make_table("reltermlocks")
    lineage = "0d9a3c1e-6b1f-4f3e-8c55-7a2b9e0f1d42"
    steps = ["locked", "safety-snapshot", "write", "written", "digest", "verify", "unlock"]
    if os.environ.get("TFSNAP_CANCEL_STEPS"):  # a subset, by hand: TFSNAP_CANCEL_STEPS=write,digest
        steps = [st for st in steps if st in os.environ["TFSNAP_CANCEL_STEPS"].split(",")]
    s3p, ddbp = rlib.proxies(s)
    state_dir = s.path("state")
    envs = rlib.locked_environments(bucket, table, steps)
    d = rlib.Daemon(s, "daemon", rlib.proxied_config(state_dir, s.path("ctl.sock"), s3p, ddbp, envs,
                                                     f"shutdown_grace: {GRACE_S}s\n"),
                    state_dir, s.path("ctl.sock"))
    summary = []

    for step in steps:
        log = rlib.log
        log(f"\n==== SIGTERM at step: {step}")
        key = f"{step}/terraform.tfstate"
        lock_id = f"{bucket}/{key}"
        old, target = rlib.make_state(lineage, 4), rlib.make_state(lineage, 3)
        v_target = aws.put(bucket, key, target)
        v_old = aws.put(bucket, key, old)
        aws.set_digest(table, lock_id, rlib.md5(old))
        if not d.alive():
            d.start()
        audits_before = sum(1 for a in d.audit() if a.get("environment") == step and a.get("action") == "restore")
        st, plan = d.plan(step, v_target, f"sigterm at {step}")
        check(st == 200 and plan.get("token"), f"{step}: the plan has a token", plan)

        put_item = dict(header="X-Amz-Target", header_value="PutItem$")
        if step == "locked":
            rid, proxy = ddbp.add_rule(**put_item, body="attribute_not_exists", action="hold_response",
                                       hold_ms=HOLD_MS), ddbp
        elif step == "safety-snapshot":
            rid, proxy = s3p.add_rule(method="GET", path=f"^/{rx(bucket)}/{rx(key)}\\?versionId={rx(v_old)}$",
                                      action="hold_response", hold_after_bytes=1, hold_ms=HOLD_MS), s3p
        elif step == "write":
            rid, proxy = s3p.add_rule(method="PUT", path=f"^/{rx(bucket)}/{rx(key)}$", action="hold",
                                      hold_ms=HOLD_MS), s3p
        elif step == "written":
            rid, proxy = s3p.add_rule(method="PUT", path=f"^/{rx(bucket)}/{rx(key)}$", action="hold_response",
                                      hold_ms=HOLD_MS), s3p
        elif step == "digest":
            rid, proxy = ddbp.add_rule(**put_item, body="-md5", action="hold", hold_ms=HOLD_MS), ddbp
        elif step == "verify":
            first = ddbp.add_rule(**put_item, body="-md5", action="hold_response", hold_ms=60000)
        elif step == "unlock":
            rid, proxy = ddbp.add_rule(header="X-Amz-Target", header_value="DeleteItem$", action="hold",
                                       hold_ms=HOLD_MS), ddbp

        st, sub = d.execute(step, v_target, f"sigterm at {step}", plan["token"])
        check(st == 202, f"{step}: the restore is accepted", sub)
        if step == "verify":
            check(ddbp.wait_held(first, 60), f"{step}: the restore reaches its digest", d.log_tail())
            rid, proxy = s3p.add_rule(method="HEAD", path=f"^/{rx(bucket)}/{rx(key)}$", action="hold",
                                      hold_ms=HOLD_MS), s3p
            ddbp.release(first)
        check(proxy.wait_held(rid, 60), f"{step}: the restore is frozen there",
              f"{d.log_tail()}\nproxy log: {proxy.log()[-8:]}")
        job = d.job(sub["job_id"])
        expect(job and job["state"] == "running", f"{step}: the restore job is running when SIGTERM comes", job)

        rc, took = d.term(EXIT_WITHIN_S)
        s3p.clear()
        ddbp.clear()
        ok_rc = expect(rc == 0, f"{step}: tfsnapd exits 0 after SIGTERM (took {took:.1f}s)",
                       f"exit {rc}; {d.log_tail(15)}")
        item = aws.lock_item(table, lock_id)
        ok_lock = expect(item is None, f"{step}: the DynamoDB lock is released when tfsnapd has exited", item)
        ok_file = expect(not aws.tflock_present(bucket, key), f"{step}: the lockfile is released when tfsnapd has exited")
        audits = sum(1 for a in d.audit() if a.get("environment") == step and a.get("action") == "restore")
        ok_audit = expect(audits == audits_before + 1, f"{step}: the restore's audit record is written",
                          f"{audits - audits_before} new record(s)")
        _, now = aws.current(bucket, key)
        ok_state = expect(rlib.state_is(now, old, target) is not None, f"{step}: the state is the old or the target version",
                          (now or b"")[:120])

        # the next start: recovery, then the digest and the catalog
        d.start()
        expect(aws.lock_item(table, lock_id) is None, f"{step}: after restart, no DynamoDB lock is left")
        expect(not aws.tflock_present(bucket, key), f"{step}: after restart, no lockfile is left")
        _, now = aws.current(bucket, key)
        dg = aws.digest(table, lock_id)
        ok_digest = expect(dg == rlib.md5(now), f"{step}: after restart, the -md5 digest is the MD5 of the state",
                           f"digest {dg}, state MD5 {rlib.md5(now)} ({rlib.state_is(now, old, target)})")
        ok, report = rlib.catalog_check(s, state_dir)
        ok_cat = expect(ok, f"{step}: after restart, the catalog is consistent", report.get("problems"))
        summary.append((step, rc, round(took, 1), ok_lock and ok_file, ok_audit, ok_state, ok_digest, ok_cat and ok_rc))

    rlib.log("\nstep             exit  secs  locks-released audit state digest catalog")
    for step, rc, took, locks, audit, state, digest, cat in summary:
        rlib.log(f"{step:16} {str(rc):5} {took:5} {str(locks):14} {str(audit):5} {str(state):5} {str(digest):6} {cat}")
    if d.alive():
        rc, _ = d.term(30)
        expect(rc == 0, "tfsnapd exits 0 at the end", rc)


if __name__ == "__main__":
    rlib.run(main)
