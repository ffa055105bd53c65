#!/usr/bin/python3
"""Two processes on one state_dir: while tfsnapd restores environment a (frozen by the fault
proxy just before its write, with its DynamoDB lock and lockfile held and its journal on disk)
and backs up environment c (frozen mid-download, its scratch file in the catalog), foreground
commands on the same configuration must change nothing of the daemon's and refuse:

  - `tfsnapd restore b --config F --version-id V --reason r` (a dry run) and the same with
    `--execute TOKEN`, and `tfsnapd backup b --config F`: exit 75, naming the daemon's pid and
    telling to use tfsnapctl (or to stop the daemon); a's lock item, its lockfile, the daemon's
    journal under restore-journal/ and its scratch files under catalog/ are untouched (same
    bytes, same mtime); b is neither restored nor backed up;
  - a Terraform run on a then finds the lock held and cannot write;
  - `tfsnapd snapshots a --config F` still works (read-only);
  - a second `tfsnapd --config` on the same state_dir (another control socket) refuses to start,
    naming the pid;
and once released, the daemon's restore of a completes: a's state is the target, no lock is
left, and the -md5 digest is the MD5 of the state.
"""
import subprocess
import time

import rlib
from rlib import check, expect

KEY = "{}/terraform.tfstate"


def main():
    s = rlib.Setting(__doc__)
    aws = s.aws
    bucket = aws.make_bucket("rel2p")
    table = aws.make_table("rel2plocks")
    lineage = "5c1f1a9e-2b7d-4d7e-9a51-0f2d3c4b5a61"
    versions = {}
    for env in ("a", "b", "c"):
        # c's state is over the 1 MiB tfsnapd downloads into memory: its download has a scratch file
        pad = 2 * 1024 * 1024 // 5 if env == "c" else 0
        versions[env] = [aws.put(bucket, KEY.format(env), rlib.make_state(lineage, serial, pad=pad))
                         for serial in (1, 2)]
    old_a = rlib.make_state(lineage, 2)
    target_a = rlib.make_state(lineage, 1)

    s3p, ddbp = rlib.proxies(s)
    state_dir = s.path("state")

    def config(sock):
        envs = rlib.locked_environments(bucket, table, ("a", "b", "c"))
        return rlib.proxied_config(state_dir, sock, s3p, ddbp, envs, "shutdown_grace: 5s\n")

    d = rlib.Daemon(s, "daemon", config(s.path("ctl.sock")), state_dir, s.path("ctl.sock"))
    d.start()
    pid = d.proc.pid
    j = d.wait_job(d.backup("a"), 60)
    check(j and j["state"] == "succeeded", "a first backup of a succeeds", j)

    # --- a's restore, frozen before its write: both locks held, the journal written
    st, plan = d.plan("a", versions["a"][0], "two processes")
    check(st == 200 and plan.get("token"), "the plan of a's restore has a token", plan)
    hold_write = s3p.add_rule(method="PUT", path=f"^/{bucket}/a/terraform\\.tfstate$", action="hold",
                              hold_ms=110000)
    st, sub = d.execute("a", versions["a"][0], "two processes", plan["token"])
    check(st == 202, "a's restore is accepted", sub)
    restore_job = sub["job_id"]
    check(s3p.wait_held(hold_write, 60), "a's restore is frozen at its write (the proxy holds the PUT)",
          d.log_tail())
    lock_id_a = f"{bucket}/{KEY.format('a')}"
    lock_before = aws.lock_item(table, lock_id_a)
    check(lock_before is not None and "tfsnap-restore" in lock_before["Info"]["S"],
          "a's DynamoDB lock is held by the restore", lock_before)
    check(aws.tflock_present(bucket, KEY.format("a")), "a's lockfile is held by the restore")
    journal_before = rlib.tree(state_dir, "restore-journal")
    check(len(journal_before) == 1, "the restore's journal is on disk", journal_before)

    # --- c's backup, frozen mid-download: its scratch file exists
    hold_get = s3p.add_rule(method="GET", path=f"^/{bucket}/c/terraform\\.tfstate\\?", action="hold_response",
                            hold_after_bytes=1, hold_ms=110000)
    backup_c = d.backup("c")
    check(s3p.wait_held(hold_get, 60), "c's backup is frozen mid-download")
    scratch_before = {p: v for p, v in rlib.tree(state_dir, "catalog").items() if "/.tmp-" in p}
    check(len(scratch_before) == 1, "c's download has a scratch file under catalog/", scratch_before)

    def untouched(after_what):
        expect(aws.lock_item(table, lock_id_a) == lock_before,
               f"after {after_what}: a's DynamoDB lock item is untouched", aws.lock_item(table, lock_id_a))
        expect(aws.tflock_present(bucket, KEY.format("a")), f"after {after_what}: a's lockfile is still there")
        j_now = rlib.tree(state_dir, "restore-journal")
        expect(j_now == journal_before, f"after {after_what}: the daemon's journal is untouched", j_now)
        sc_now = {p: v for p, v in rlib.tree(state_dir, "catalog").items() if "/.tmp-" in p}
        expect(sc_now == scratch_before, f"after {after_what}: the daemon's scratch files are untouched", sc_now)

    def refused(what, p):
        out = p.stdout + p.stderr
        expect(p.returncode == 75, f"{what} exits 75 (EX_TEMPFAIL) while the daemon runs",
               f"exit {p.returncode}: {out[-600:]}")
        expect(str(pid) in p.stderr, f"{what} names the daemon's pid {pid} on stderr", p.stderr[-600:])
        expect("tfsnapctl" in p.stderr, f"{what} says to use tfsnapctl", p.stderr[-600:])

    fg = [s.args.tfsnapd]
    run = dict(capture_output=True, text=True, timeout=120, env=s.process_env())

    # --- 1. a foreground dry run for another environment
    p = subprocess.run(fg + ["restore", "b", "--config", d.config, "--version-id", versions["b"][0], "--reason",
                             "r"], **run)
    refused("tfsnapd restore b (dry run)", p)
    untouched("tfsnapd restore b (dry run)")

    # Terraform on a: the lock must still keep it out
    tf_locked = False
    try:
        aws.ddb.put_item(TableName=table,
                         Item={"LockID": {"S": lock_id_a}, "Info": {"S": '{"ID":"terraform-run","Who":"tf@ci"}'}},
                         ConditionExpression="attribute_not_exists(LockID)")
        tf_locked = True
    except aws.ddb.exceptions.ConditionalCheckFailedException:
        pass
    expect(not tf_locked, "a Terraform run cannot lock a while the daemon's restore holds it")
    if tf_locked:
        # what Terraform then does: write its state, set the digest, unlock
        tf_state = rlib.make_state(lineage, 7)
        aws.put(bucket, KEY.format("a"), tf_state)
        aws.set_digest(table, lock_id_a, rlib.md5(tf_state))
        aws.ddb.delete_item(TableName=table, Key={"LockID": {"S": lock_id_a}})

    # --- 2. a foreground backup of another environment
    snaps_b = len(d.snapshots("b"))
    p = subprocess.run(fg + ["backup", "b", "--config", d.config], **run)
    refused("tfsnapd backup b", p)
    if not tf_locked:
        untouched("tfsnapd backup b")
    expect(len(d.snapshots("b")) == snaps_b, "tfsnapd backup b took no snapshot", d.snapshots("b"))

    # --- 3. a foreground execute with a valid token (from the daemon's plan)
    st, plan_b = d.plan("b", versions["b"][0], "r")
    check(st == 200 and plan_b.get("token"), "the daemon plans b's restore", plan_b)
    p = subprocess.run(fg + ["restore", "b", "--config", d.config, "--version-id", versions["b"][0], "--reason",
                             "r", "--execute", plan_b["token"]], **run)
    refused("tfsnapd restore b --execute", p)
    if not tf_locked:
        untouched("tfsnapd restore b --execute")
    vb, _ = aws.current(bucket, KEY.format("b"))
    expect(vb == versions["b"][1], "b's state was not restored by the refused command", vb)
    expect(aws.lock_item(table, f"{bucket}/{KEY.format('b')}") is None, "no lock of b is left")

    # --- 4. read-only listing still works
    p = subprocess.run(fg + ["snapshots", "a", "--config", d.config, "--json"], **run)
    expect(p.returncode == 0 and '"snapshot_id"' in p.stdout, "tfsnapd snapshots a works next to the daemon",
           f"exit {p.returncode}: {p.stdout[-300:]} {p.stderr[-300:]}")

    # --- 5. a second daemon on the same state_dir
    d2 = rlib.Daemon(s, "second", config(s.path("ctl2.sock")), state_dir, s.path("ctl2.sock"))
    second = rlib.spawn([s.args.tfsnapd, "--config", d2.config], d2.log_path, s.process_env())
    try:
        rc = second.wait(timeout=30)
    except subprocess.TimeoutExpired:
        rc = None
        second.kill()
        second.wait()
    out2 = d2.log_tail()
    expect(rc is not None and rc != 0, "a second tfsnapd --config on the same state_dir refuses to start",
           f"exit {rc}; {out2[-600:]}")
    expect(str(pid) in out2, f"... naming the running daemon's pid {pid}", out2[-600:])
    if not tf_locked:
        untouched("a second tfsnapd --config")

    # --- the daemon goes on: both jobs complete, nothing of a is left locked
    s3p.release(hold_get)
    s3p.release(hold_write)
    jc = d.wait_job(backup_c, 120)
    expect(jc and jc["state"] == "succeeded", "c's backup completes", jc)
    ja = d.wait_job(restore_job, 120)
    expect(ja and ja["state"] == "succeeded", "a's restore completes", ja)
    v, now = aws.current(bucket, KEY.format("a"))
    expect(rlib.state_is(now, old_a, target_a) == "target", "a's state is the restore's target",
           now[:200] if now else now)
    expect(aws.lock_item(table, lock_id_a) is None, "a's DynamoDB lock is released",
           aws.lock_item(table, lock_id_a))
    expect(not aws.tflock_present(bucket, KEY.format("a")), "a's lockfile is released")
    expect(aws.digest(table, lock_id_a) == rlib.md5(now or b""), "a's -md5 digest is the MD5 of its state",
           aws.digest(table, lock_id_a))
    if tf_locked:
        expect(False, "a Terraform write made while the lock was gone survives",
               "the daemon's restore overwrote it (state serial 7 replaced)")
    ok, report = rlib.catalog_check(s, state_dir)
    expect(ok, "the catalog is consistent", report.get("problems"))
    rc, took = d.term(30)
    expect(rc == 0, "tfsnapd exits 0 on SIGTERM", (rc, d.log_tail()))


if __name__ == "__main__":
    rlib.run(main)
