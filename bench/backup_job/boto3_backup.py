#!/usr/bin/python3
"""The backup job as an ops team scripts it today with boto3: one client, a ThreadPoolExecutor
of C workers (max_pool_connections=C), for each environment env-NNNN (key
env-NNNN/terraform.tfstate):

  first:      head_object; get_object(VersionId=...) reading the body; MD5 (checked against
              the ETag) and SHA-256 of the bytes; json.loads for serial, lineage,
              terraform_version and the resource count; MANIFEST.json (version 2.0) written
              atomically (temp file, fsync, os.replace) to CATALOG/env-NNNN/<snapshot_id>/.
  unchanged:  head_object and compare its VersionId with the newest manifest's.

usage: boto3_backup.py --bucket B --count N --concurrency C --catalog DIR --phase first|unchanged
Prints one JSON line like tfsnap_backup_job_bench backup; CPU time includes children
(resource.getrusage SELF + CHILDREN over the timed part). Exit status 1 if any environment
failed or (unchanged) had changed.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import importlib.util

import boto3
from botocore.config import Config

# The per-environment steps are the seed's script's (bench/e2e/boto3_backup.py): HEAD, GET of
# that version, MD5 against the ETag, SHA-256, json.loads, MANIFEST.json written atomically.
_spec = importlib.util.spec_from_file_location(
    "seed_backup", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "boto3_backup.py"))
seed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seed)


def cpu_seconds():
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def percentile(values, p):
    v = sorted(values)
    return v[min(int(p * (len(v) - 1) + 0.5), len(v) - 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--phase", choices=["first", "unchanged"], required=True)
    a = ap.parse_args()
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        region_name=region,
        config=Config(max_pool_connections=max(a.concurrency, 10), s3={"addressing_style": "path"},
                      retries={"max_attempts": 4, "mode": "standard"}),
    )
    os.makedirs(a.catalog, exist_ok=True)

    def first(name, key):
        seed.backup(s3, a.bucket, a.catalog, name, key)
        return "snapshot"

    def unchanged(name, key):
        h = s3.head_object(Bucket=a.bucket, Key=key)
        env_dir = os.path.join(a.catalog, name)
        ids = sorted(d for d in os.listdir(env_dir) if not d.startswith("."))
        with open(os.path.join(env_dir, ids[-1], "MANIFEST.json"), "rb") as f:
            last = json.load(f)
        return "unchanged" if last["terraform_state"]["version_id"] == h["VersionId"] else "changed"

    job, wanted = (first, "snapshot") if a.phase == "first" else (unchanged, "unchanged")
    failures = []

    def one(i):
        name = "env-%04d" % i
        t0 = time.monotonic()
        try:
            result = job(name, name + "/terraform.tfstate")
        except Exception as e:  # a failed job is counted, as tfsnap counts a failed outcome
            result = "failed: %r" % e
        if result != wanted:
            failures.append("%s: %s (expected %s)" % (name, result, wanted))
        return (time.monotonic() - t0) * 1000.0

    cpu0 = cpu_seconds()
    t0 = time.monotonic()
    with ThreadPoolExecutor(a.concurrency) as pool:
        latency = list(pool.map(one, range(a.count)))
    seconds = time.monotonic() - t0
    cpu = cpu_seconds() - cpu0
    for f in failures[:5]:
        print(f, file=sys.stderr)
    print(json.dumps({"tool": "boto3", "phase": "first" if a.phase == "first" else "unchanged",
                      "envs": a.count, "concurrency": a.concurrency, "seconds": round(seconds, 3),
                      "envs_per_second": round(a.count / seconds, 1),
                      "p50_ms": round(statistics.median(latency), 2),
                      "p99_ms": round(percentile(latency, 0.99), 2),
                      "cpu_ms_per_env": round(1000.0 * cpu / a.count, 3),
                      "failures": len(failures)}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
