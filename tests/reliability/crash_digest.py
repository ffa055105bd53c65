#!/usr/bin/python3
"""kill -9 of tfsnapd after a restore wrote the state and before it set the -md5 digest: the next
start (start-up recovery, before READY=1) releases the restore's locks and finishes the digest,
so that Terraform can read the state ("state data in S3 does not have the expected content"
otherwise).

Two windows, each frozen by the fault proxy before the kill:
  - written: S3 has applied the write, and its answer is held (tfsnapd does not know yet);
  - digest:  tfsnapd knows the write, and its digest PutItem is held (not applied).
After the restart: no DynamoDB lock, no lockfile, the state is the old or the target version,
the -md5 digest equals the MD5 of the current state, the audit log records the recovery, and the
catalog is consistent with no temporary file left.
"""
import re

import rlib
from rlib import check, expect


def rx(s):
    return re.sub(r"([.^$*+?()\[\]{}|\\/])", r"\\\1", s)


def main():
    s = rlib.Setting(__doc__)
    aws = s.aws
    bucket = aws.make_bucket("relcrashmd5")
    table = aws.make_table("relcrashmd5locks")
    lineage = "a4f0c2d8-5e1b-4c3a-9f7d-2b6e8c0a1d3f"
    s3p, ddbp = rlib.proxies(s)
    state_dir = s.path("state")
    windows = ["written", "digest"]
    envs = rlib.locked_environments(bucket, table, windows)
    d = rlib.Daemon(s, "daemon", rlib.proxied_config(state_dir, s.path("ctl.sock"), s3p, ddbp, envs),
                    state_dir, s.path("ctl.sock"))

    for w in windows:
        rlib.log(f"\n==== kill -9 in the window: {w}")
        key = f"{w}/terraform.tfstate"
        lock_id = f"{bucket}/{key}"
        old, target = rlib.make_state(lineage, 6), rlib.make_state(lineage, 5)
        v_target = aws.put(bucket, key, target)
        aws.put(bucket, key, old)
        aws.set_digest(table, lock_id, rlib.md5(old))
        d.start()
        st, plan = d.plan(w, v_target, f"crash in {w}")
        check(st == 200 and plan.get("token"), f"{w}: the plan has a token", plan)
        if w == "written":
            rid, proxy = s3p.add_rule(method="PUT", path=f"^/{rx(bucket)}/{rx(key)}$", action="hold_response",
                                      hold_ms=60000), s3p
        else:
            rid, proxy = ddbp.add_rule(header="X-Amz-Target", header_value="PutItem$", body="-md5", action="hold",
                                       hold_ms=60000), ddbp
        st, sub = d.execute(w, v_target, f"crash in {w}", plan["token"])
        check(st == 202, f"{w}: accepted", sub)
        check(proxy.wait_held(rid, 60), f"{w}: frozen in the window", d.log_tail())
        _, now = aws.current(bucket, key)
        check(rlib.state_is(now, old, target) == "target", f"{w}: the state is written (the target's bytes)")
        check(aws.digest(table, lock_id) == rlib.md5(old), f"{w}: the digest is still the old state's")
        d.kill9()
        s3p.clear()
        ddbp.clear()
        recovered_before = sum(1 for a in d.audit() if a.get("action") == "recover" and a.get("environment") == w)

        d.start()
        _, now = aws.current(bucket, key)
        expect(aws.lock_item(table, lock_id) is None, f"{w}: after restart, no DynamoDB lock is left",
               aws.lock_item(table, lock_id))
        expect(not aws.tflock_present(bucket, key), f"{w}: after restart, no lockfile is left")
        expect(rlib.state_is(now, old, target) is not None, f"{w}: the state is the old or the target version")
        dg = aws.digest(table, lock_id)
        expect(dg == rlib.md5(now), f"{w}: after restart, the -md5 digest is the MD5 of the current state",
               f"digest {dg} (the old state's: {dg == rlib.md5(old)}), state MD5 {rlib.md5(now)}")
        recovered = sum(1 for a in d.audit() if a.get("action") == "recover" and a.get("environment") == w)
        expect(recovered == recovered_before + 1, f"{w}: the audit log records the recovery",
               recovered - recovered_before)
        ok, report = rlib.catalog_check(s, state_dir)
        expect(ok, f"{w}: the catalog is consistent", report.get("problems"))
        rc, _ = d.term(30)
        expect(rc == 0, f"{w}: tfsnapd exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    rlib.run(main)
