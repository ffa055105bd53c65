#!/usr/bin/python3
"""A lock that a restore could not release is released by the running daemon, not at its next start.

A restore whose unlock requests all fail (the lockfile's DELETE and the DynamoDB DeleteItem answer
500 past every retry) ends with its journal kept and both locks still held. Once S3 and DynamoDB
answer again, tfsnapd's housekeeping (every minute) must release both, remove the journal and
audit the recovery, while it keeps running: Terraform must not wait for a restart of tfsnapd.
"""
import os
import time

import rlib
from rlib import check, expect


def main():
    s = rlib.Setting(__doc__)
    aws = s.aws
    bucket = aws.make_bucket("relretry")
    table = aws.make_table("relretrylocks")
    lineage = "5d1e7c2a-9b3f-4e8d-a6c0-1f2e3d4c5b6a"
    s3p, ddbp = rlib.proxies(s)
    state_dir = s.path("state")
    envs = rlib.locked_environments(bucket, table, ["prod"])
    d = rlib.Daemon(s, "daemon", rlib.proxied_config(state_dir, s.path("ctl.sock"), s3p, ddbp, envs),
                    state_dir, s.path("ctl.sock"))
    key = "prod/terraform.tfstate"
    lock_id = f"{bucket}/{key}"
    v1 = aws.put(bucket, key, rlib.make_state(lineage, 1))
    aws.put(bucket, key, rlib.make_state(lineage, 2))
    d.start()

    st, plan = d.plan("prod", v1, "release retry")
    check(st == 200 and plan.get("token"), "the restore is planned", plan)
    fail_file = s3p.add_rule(method="DELETE", path=f"^/{bucket}/prod/terraform\\.tfstate\\.tflock",
                             action="internal_error", times=0)
    fail_item = ddbp.add_rule(header="X-Amz-Target", header_value="DeleteItem$", action="internal_error", times=0)
    st, sub = d.execute("prod", v1, "release retry", plan["token"])
    check(st == 202, "the restore is accepted", sub)
    j = d.wait_job(sub["job_id"], 180)
    check(j is not None and j["state"] in ("succeeded", "failed"), "the restore ends", j)
    detail = (j or {}).get("detail", "")
    expect("could not be released" in detail, "the restore says a lock could not be released", detail)
    journals = os.path.join(state_dir, "restore-journal")
    check(aws.lock_item(table, lock_id) is not None, "the DynamoDB lock is still held (its release failed)")
    check(aws.tflock_present(bucket, key), "the lockfile is still there (its release failed)")
    check([f for f in os.listdir(journals) if f.endswith(".json")], "the journal is kept")

    # S3 and DynamoDB answer again: the running daemon releases both within its next rounds
    s3p.remove(fail_file)
    ddbp.remove(fail_item)
    t0 = time.monotonic()
    gone = rlib.wait_for(lambda: aws.lock_item(table, lock_id) is None and not aws.tflock_present(bucket, key)
                         and not [f for f in os.listdir(journals) if f.endswith(".json")], 150, 1.0)
    expect(gone, "the running daemon releases both locks and removes the journal (within 150 s)",
           f"DynamoDB lock {aws.lock_item(table, lock_id)}, lockfile {aws.tflock_present(bucket, key)}, "
           f"journals {os.listdir(journals)}; {d.log_tail(20)}")
    if gone:
        rlib.log(f"released {time.monotonic() - t0:.0f} s after S3 and DynamoDB answered again")
    expect(d.alive(), "tfsnapd is still running (no restart was needed)")
    actions = [a.get("action") for a in d.audit()]
    expect("recover" in actions, "the recovery is audited", actions)
    _, now = aws.current(bucket, key)
    expect(aws.digest(table, lock_id) == rlib.md5(now), "the -md5 digest is the current state's MD5")

    rc, _ = d.term(30)
    expect(rc == 0, "tfsnapd exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    rlib.run(main)
