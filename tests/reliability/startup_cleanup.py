#!/usr/bin/python3
"""What kill -9 leaves in state_dir mid-write is gone once tfsnapd has started (READY=1).

Every writer under state_dir writes a temporary file, fsyncs it and renames it into place; a
kill -9 between the two leaves the temporary file. The crash-cycle test met one of them
(restore-journal/.<id>.json.tmp, a journal write cut by the kill) still there 35 restarts later.
This test lays down each writer's temporary file, under the name that writer uses, then starts
tfsnapd on the state_dir and checks that none is left and nothing else was removed:

  catalog/<env>/.tmp-get-<pid>-<n>                 a backup's download        (catalog::scratch_path)
  catalog/<env>/.del-<id>                          a snapshot being deleted   (catalog::remove)
  catalog/<env>/<id>/.tmp-MANIFEST.json-<pid>-<n>  a manifest being rewritten (catalog::update)
  catalog/<env>/.tmp-INDEX.json-<pid>-<n>          the index being rewritten
  restore-journal/.<restore id>.json.tmp           a restore journal write    (restore/journal.cpp)
  schedules.stamps.tmp                             the last-run stamps        (scheduler/stamp_store.cpp)
  .tmp-plan-token.key                              the plan-token key         (daemon/identity.cpp)
"""
import os

import rlib
from rlib import check, expect


def main():
    s = rlib.Setting(__doc__)
    aws = s.aws
    bucket = aws.make_bucket("relclean")
    lineage = "11111111-2222-4333-8444-555555555555"
    aws.put(bucket, "prod/terraform.tfstate", rlib.make_state(lineage, 1))
    state_dir = s.path("state")
    d = rlib.Daemon(s, "daemon", f"""state_dir: {state_dir}
control: {{ socket: {s.path('ctl.sock')} }}
defaults:
  endpoint: {s.env['S3_ENDPOINT']}
  dynamodb_endpoint: {s.env['DYNAMODB_ENDPOINT']}
  path_style: true
environments:
  prod:
    bucket: {bucket}
    key: prod/terraform.tfstate
""", state_dir, s.path("ctl.sock"))
    d.start()
    j = d.wait_job(d.backup("prod"), 60)
    check(j and j["state"] == "succeeded", "a backup succeeds", j)
    snap = d.snapshots("prod")[0]["snapshot_id"]
    # killed, as the files below would be left: a clean stop leaves catalog/CLEAN, and the next
    # start then trusts the indexes (it still removes what is directly under each environment)
    d.kill9()
    check(not os.path.exists(os.path.join(state_dir, "catalog", "CLEAN")), "a kill leaves no CLEAN marker")

    cat = os.path.join(state_dir, "catalog", "prod")
    planted = {
        "catalog download": os.path.join(cat, ".tmp-get-4242-1"),
        "catalog deletion": os.path.join(cat, ".del-2020-01-01T00-00-00Z"),
        "catalog manifest rewrite": os.path.join(cat, snap, ".tmp-MANIFEST.json-4242-2"),
        "catalog index rewrite": os.path.join(cat, ".tmp-INDEX.json-4242-3"),
        "restore journal write": os.path.join(state_dir, "restore-journal",
                                              ".0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0.json.tmp"),
        "last-run stamps write": os.path.join(state_dir, "schedules.stamps.tmp"),
        "plan-token key write": os.path.join(state_dir, ".tmp-plan-token.key"),
    }
    for what, path in planted.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if what == "catalog deletion":
            os.makedirs(path)
            with open(os.path.join(path, "MANIFEST.json"), "w") as f:
                f.write("{}")
        else:
            with open(path, "wb") as f:
                f.write(b'{"half": ')  # cut mid-write
    before = set(rlib.tree(state_dir, ".")) - {os.path.relpath(p, state_dir) for p in planted.values()}

    d.start()
    for what, path in planted.items():
        expect(not os.path.exists(path), f"after start-up, the {what}'s temporary file is gone",
               os.path.relpath(path, state_dir))
    after = set(rlib.tree(state_dir, "."))
    kept = {p for p in before if not p.startswith(".del-") and "/.del-" not in p}
    expect(kept <= after, "nothing else under state_dir was removed", sorted(kept - after))
    ok, report = rlib.catalog_check(s, state_dir)
    expect(ok, "the catalog check passes (no .tmp-*, .del-*, *.tmp under state_dir)", report.get("problems"))
    expect(len(d.snapshots("prod")) == 1, "the snapshot is still listed", d.snapshots("prod"))
    rc, _ = d.term(30)
    expect(rc == 0, "tfsnapd exits 0 on SIGTERM", rc)
    expect(os.path.exists(os.path.join(state_dir, "catalog", "CLEAN")), "a clean stop leaves the CLEAN marker")

    # after a clean stop: what lies directly under the environment's directory is still removed
    # at start, and the marker is gone once tfsnapd runs (a crash from then on means a full repair)
    download = os.path.join(cat, ".tmp-get-4242-9")
    with open(download, "wb") as f:
        f.write(b"partial")
    d.start()
    expect(not os.path.exists(download), "after a clean stop, a download's temporary file is still removed")
    expect(not os.path.exists(os.path.join(state_dir, "catalog", "CLEAN")), "the marker is gone while tfsnapd runs")
    expect(len(d.snapshots("prod")) == 1, "the trusted index lists the snapshot", d.snapshots("prod"))
    rc, _ = d.term(30)
    expect(rc == 0, "tfsnapd exits 0 on SIGTERM", rc)


if __name__ == "__main__":
    rlib.run(main)
