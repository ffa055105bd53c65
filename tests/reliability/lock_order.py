#!/usr/bin/python3
"""A restore takes both locks in Terraform's order and releases them in Terraform's order
(hashicorp/terraform and opentofu/opentofu internal/backend/remote-state/s3/client.go): the S3
lockfile (<key>.tflock) first, then the DynamoDB item; released file first, then DynamoDB.

Both fault proxies log every request with the time its head arrived; a restore (and an undelete)
through them is checked against that order.
"""
import rlib
from rlib import check, expect


def main():
    s = rlib.Setting(__doc__)
    aws = s.aws
    bucket = aws.make_bucket("relorder")
    table = aws.make_table("relorderlocks")
    lineage = "c0ffee00-1234-4abc-9def-0123456789ab"
    s3p, ddbp = rlib.proxies(s)
    state_dir = s.path("state")
    envs = rlib.locked_environments(bucket, table, ["prod"])
    d = rlib.Daemon(s, "daemon", rlib.proxied_config(state_dir, s.path("ctl.sock"), s3p, ddbp, envs),
                    state_dir, s.path("ctl.sock"))
    key = "prod/terraform.tfstate"
    tflock = f"/{bucket}/{key}.tflock"
    d.start()

    for action in ("restore", "undelete"):
        v1 = aws.put(bucket, key, rlib.make_state(lineage, 1))
        aws.put(bucket, key, rlib.make_state(lineage, 2))
        if action == "undelete":
            aws.s3.delete_object(Bucket=bucket, Key=key)
            st, plan = d.api("POST", "/v1/environments/prod/undeletes", {"reason": "order", "dry_run": True})
        else:
            st, plan = d.plan("prod", v1, "order")
        check(st == 200 and plan.get("token"), f"{action}: planned", plan)
        n3, n4 = s3p.stats()["requests"], ddbp.stats()["requests"]
        if action == "undelete":
            st, sub = d.api("POST", "/v1/environments/prod/undeletes",
                            {"reason": "order", "dry_run": False, "token": plan["token"]})
        else:
            st, sub = d.execute("prod", v1, "order", plan["token"])
        j = d.wait_job(sub["job_id"], 120)
        check(j and j["state"] == "succeeded", f"{action}: succeeds", j)

        s3log, dblog = s3p.log(n3), ddbp.log(n4)
        file_put = [e["at_us"] for e in s3log if e["method"] == "PUT" and e["target"] == tflock]
        file_del = [e["at_us"] for e in s3log if e["method"] == "DELETE" and e["target"].startswith(tflock)]
        db_put = [e["at_us"] for e in dblog if e["amz_target"].endswith(".PutItem")]
        db_del = [e["at_us"] for e in dblog if e["amz_target"].endswith(".DeleteItem")]
        check(file_put and file_del and db_put and db_del, f"{action}: both locks were taken and released",
              (file_put, file_del, db_put, db_del))
        # the first PutItem is the lock (the digest's comes after the write)
        expect(file_put[0] < db_put[0], f"{action}: the lockfile is taken before the DynamoDB lock",
               f"lockfile PUT at {file_put[0]}, DynamoDB PutItem at {db_put[0]} (µs)")
        expect(file_del[-1] < db_del[-1], f"{action}: the lockfile is released before the DynamoDB lock",
               f"lockfile DELETE at {file_del[-1]}, DynamoDB DeleteItem at {db_del[-1]} (µs)")
        expect(aws.lock_item(table, f"{bucket}/{key}") is None, f"{action}: no DynamoDB lock is left")
        expect(not aws.tflock_present(bucket, key), f"{action}: no lockfile is left")

    rc, _ = d.term(30)
    expect(rc == 0, "tfsnapd exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    rlib.run(main)
