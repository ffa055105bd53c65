#!/usr/bin/python3
"""The seed's backup script, as CI jobs run it: for one environment, HEAD the state, GET that
version, MD5 (checked against a plain ETag) and SHA-256 of the bytes, and MANIFEST.json (version
2.0: version id, ETag, size, digests, serial/lineage/terraform_version/resource count) written
atomically (temp file, fsync, rename) to CATALOG/<env>/<snapshot_id>/.

  boto3_backup.py one  --bucket B --catalog DIR --env ENV --key KEY     one environment, as its own process
  boto3_backup.py loop --bucket B --catalog DIR --count N [--prefix env-] [--width 5]
                       [--key-format 'sweep/{env}/terraform.tfstate']
                                                            every environment, sequentially, in
                                                            one process with one client

S3_ENDPOINT and the AWS_* variables come from the harness env file. `loop` prints one JSON line
(seconds from the first request to the last manifest, without interpreter start and imports).
Exit status 1 if any environment failed.
"""
import time

T0 = time.monotonic()

import argparse  # noqa: E402
import datetime  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402


def client():
    return boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"],
                        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 4, "mode": "standard"}))


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def backup(s3, bucket, catalog, env, key):
    h = s3.head_object(Bucket=bucket, Key=key)
    version = h["VersionId"]
    g = s3.get_object(Bucket=bucket, Key=key, VersionId=version)
    body = g["Body"].read()
    md5 = hashlib.md5(body).hexdigest()
    etag = g["ETag"]
    if "-" not in etag and md5 != etag.strip('"'):
        raise RuntimeError("%s: MD5 %s differs from ETag %s" % (key, md5, etag))
    state = json.loads(body)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    env_dir = os.path.join(catalog, env)
    os.makedirs(env_dir, exist_ok=True)
    base = now.strftime("%Y-%m-%dT%H-%M-%SZ")
    snapshot_id, seq = base, 1
    while True:
        try:
            os.mkdir(os.path.join(env_dir, snapshot_id))
            break
        except FileExistsError:
            seq += 1
            snapshot_id = "%s-%d" % (base, seq)
    manifest = {
        "version": "2.0",
        "backup_type": "state-based",
        "snapshot_id": snapshot_id,
        "environment": env,
        "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "created_by": "backup-script",
        "terraform_state": {
            "source": "s3", "bucket": bucket, "key": key,
            "region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "version_id": version, "etag": etag,
            "last_modified": g["LastModified"].astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "content_length": len(body),
        },
        "checksums": {"md5": md5, "sha256": hashlib.sha256(body).hexdigest()},
        "state": {"kind": "state", "serial": state["serial"], "lineage": state["lineage"],
                  "terraform_version": state["terraform_version"],
                  "resource_count": len(state.get("resources", []))},
    }
    write_atomic(os.path.join(env_dir, snapshot_id, "MANIFEST.json"), json.dumps(manifest, indent=2).encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["one", "loop"])
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--prefix", default="env-")
    ap.add_argument("--width", type=int, default=5)
    ap.add_argument("--key-format", default="sweep/{env}/terraform.tfstate")
    ap.add_argument("--env")
    ap.add_argument("--key")
    a = ap.parse_args()
    s3 = client()
    if a.mode == "one":
        backup(s3, a.bucket, a.catalog, a.env, a.key)
        return 0
    failures = 0
    t1 = time.monotonic()
    for i in range(a.count):
        env = "%s%0*d" % (a.prefix, a.width, i)
        try:
            backup(s3, a.bucket, a.catalog, env, a.key_format.format(env=env))
        except Exception as e:  # counted, like a failed job
            failures += 1
            print("%s: %r" % (env, e), file=sys.stderr)
    t2 = time.monotonic()
    print(json.dumps({"tool": "boto3-loop", "envs": a.count, "seconds": round(t2 - t1, 3),
                      "import_seconds": round(t1 - T0, 3), "failures": failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
