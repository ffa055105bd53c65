#!/usr/bin/python3
"""HEAD + GET of N objects with boto3, the way backup scripts do it: sequentially, or with a
thread pool of C workers sharing one client (max_pool_connections=C).

usage: boto3_sweep.py --bucket B --count N --concurrency C [--one KEY-INDEX]
Prints one JSON line like tfsnap_s3_sweep. --one does a single object (for the
one-process-per-environment runs) and prints nothing.
"""
import argparse
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def key(i):
    return "sweep/env-%05d/terraform.tfstate" % i


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--one", type=int, default=None)
    a = ap.parse_args()
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(max_pool_connections=max(a.concurrency, 10), s3={"addressing_style": "path"},
                      retries={"max_attempts": 4, "mode": "standard"}),
    )

    def one(i):
        h = s3.head_object(Bucket=a.bucket, Key=key(i))
        g = s3.get_object(Bucket=a.bucket, Key=key(i), VersionId=h["VersionId"])
        body = g["Body"].read()
        if hashlib.md5(body).hexdigest() != h["ETag"].strip('"'):
            raise RuntimeError("checksum mismatch for " + key(i))
        return len(body)

    if a.one is not None:
        one(a.one)
        return 0
    t0 = time.monotonic()
    if a.concurrency <= 1:
        total = sum(one(i) for i in range(a.count))
    else:
        with ThreadPoolExecutor(a.concurrency) as pool:
            total = sum(pool.map(one, range(a.count)))
    seconds = time.monotonic() - t0
    tool = "boto3-sequential" if a.concurrency <= 1 else "boto3-threads"
    print(json.dumps({"tool": tool, "objects": a.count, "concurrency": a.concurrency,
                      "seconds": round(seconds, 3), "requests_per_second": round(2 * a.count / seconds, 1),
                      "bytes": total, "failures": 0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
