#!/usr/bin/python3
"""A Terraform write between a restore's check and its lock is never overwritten.

The fault proxy holds the restore's first lock request (the .tflock or the DynamoDB PutItem,
whichever the daemon takes first), and while it waits, "Terraform" locks the state (DynamoDB,
conditional PutItem), writes a new version, sets the -md5 digest and unlocks. Then the restore
goes on. For
  - a restore onto a deleted state (the current entry is a delete marker),
  - an undelete,
  - a restore onto a live state (the control case),
the restore must not succeed ("state changed": refused, or failed before writing), and after
it: the state is Terraform's version, the -md5 digest is the MD5 of Terraform's bytes, no lock is
left, and the audit record is written.
"""
import re

import rlib
from rlib import check, expect


def rx(s):
    return re.sub(r"([.^$*+?()\[\]{}|\\/])", r"\\\1", s)


def main():
    s = rlib.Setting(__doc__)
    aws = s.aws
    bucket = aws.make_bucket("relrecheck")
    table = aws.make_table("relrechecklocks")
    lineage = "3b8d2e6f-9a4c-4f1b-8e07-c5d1a2b3f4e5"
    s3p, ddbp = rlib.proxies(s)
    state_dir = s.path("state")
    cases = [("restore-onto-deleted", "restore", True), ("undelete", "undelete", True),
             ("restore-onto-live", "restore", False)]
    envs = rlib.locked_environments(bucket, table, [name for name, _, _ in cases])
    d = rlib.Daemon(s, "daemon", rlib.proxied_config(state_dir, s.path("ctl.sock"), s3p, ddbp, envs),
                    state_dir, s.path("ctl.sock"))
    d.start()

    for name, action, deleted in cases:
        rlib.log(f"\n==== {name}")
        key = f"{name}/terraform.tfstate"
        lock_id = f"{bucket}/{key}"
        v1 = aws.put(bucket, key, rlib.make_state(lineage, 1))
        aws.put(bucket, key, rlib.make_state(lineage, 2))
        if deleted:
            aws.s3.delete_object(Bucket=bucket, Key=key)
        reason = f"recheck {name}"
        audits_before = sum(1 for a in d.audit() if a.get("environment") == name)
        if action == "restore":
            st, plan = d.plan(name, v1, reason)
        else:
            st, plan = d.api("POST", f"/v1/environments/{name}/undeletes", {"reason": reason, "dry_run": True})
        check(st == 200 and plan.get("token"), f"{name}: the plan has a token", plan)

        hold_file = s3p.add_rule(path=f"^/{rx(bucket)}/{rx(key)}\\.tflock", action="hold", hold_ms=60000)
        hold_db = ddbp.add_rule(header="X-Amz-Target", header_value="PutItem$", body="attribute_not_exists",
                                action="hold", hold_ms=60000)
        if action == "restore":
            st, sub = d.execute(name, v1, reason, plan["token"])
        else:
            st, sub = d.api("POST", f"/v1/environments/{name}/undeletes",
                            {"reason": reason, "dry_run": False, "token": plan["token"]})
        check(st == 202, f"{name}: accepted", sub)
        held = rlib.wait_for(lambda: s3p.rule(hold_file)["holding"] or ddbp.rule(hold_db)["holding"], 60)
        check(held, f"{name}: the restore waits at its first lock request", d.log_tail())

        # Terraform, between the restore's check and its lock
        aws.ddb.put_item(TableName=table,
                         Item={"LockID": {"S": lock_id}, "Info": {"S": '{"ID":"tf-apply","Who":"tf@ci"}'}},
                         ConditionExpression="attribute_not_exists(LockID)")
        tf_bytes = rlib.make_state(lineage, 3)
        tf_version = aws.put(bucket, key, tf_bytes)
        aws.set_digest(table, lock_id, rlib.md5(tf_bytes))
        aws.ddb.delete_item(TableName=table, Key={"LockID": {"S": lock_id}})

        s3p.clear()
        ddbp.clear()
        j = d.wait_job(sub["job_id"], 120)
        res = (j or {}).get("result") or {}
        expect(j is not None and res.get("result") in ("refused", "failed"),
               f"{name}: the restore does not succeed (refused: the state changed since the plan)",
               (j or {}).get("detail"))
        v, now = aws.current(bucket, key)
        expect(v == tf_version and now == tf_bytes, f"{name}: Terraform's write is still the current state",
               f"current version {v} (Terraform wrote {tf_version})")
        dg = aws.digest(table, lock_id)
        expect(dg == rlib.md5(tf_bytes), f"{name}: the -md5 digest is still Terraform's", dg)
        expect(aws.lock_item(table, lock_id) is None, f"{name}: no DynamoDB lock is left",
               aws.lock_item(table, lock_id))
        expect(not aws.tflock_present(bucket, key), f"{name}: no lockfile is left")
        audits = sum(1 for a in d.audit() if a.get("environment") == name)
        expect(audits == audits_before + 1, f"{name}: the audit record is written", audits - audits_before)

    rc, _ = d.term(30)
    expect(rc == 0, "tfsnapd exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    rlib.run(main)
