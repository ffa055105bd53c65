#!/usr/bin/python3
"""A state restore as ops script it today with boto3, run as one process per restore:

  get_object(Bucket, Key, VersionId=V) reading the whole body; put_object of those bytes as the
  new current version; then, because Terraform refuses a state whose MD5 differs from it, the
  DynamoDB item "<bucket>/<key>-md5" of the lock table set to Digest = MD5 of the bytes.

What it does NOT do (tfsnap does): take Terraform's lock (a concurrent `terraform apply` can
write in between and be silently overwritten, or overwrite the restore), check that the state
did not change since someone looked, keep a safety snapshot of the version it replaces, verify
what is now current, journal or audit anything. It keeps no diff and asks no confirmation.

usage: boto3_restore.py --bucket B --key K --table T --version-id V
Prints one JSON line: import_ms (importing boto3 and building the two clients), requests_ms
(GET + PUT + PutItem, connections included), total_ms (both; from the first line of this file
run, so without the interpreter's own start-up and exit), the new version id and the MD5.
"""
import time

T0 = time.monotonic()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--version-id", required=True)
    a = ap.parse_args()
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    retries = {"max_attempts": 4, "mode": "standard"}
    s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name=region,
                      config=Config(s3={"addressing_style": "path"}, retries=retries))
    ddb = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT"], region_name=region,
                       config=Config(retries=retries))
    t1 = time.monotonic()

    body = s3.get_object(Bucket=a.bucket, Key=a.key, VersionId=a.version_id)["Body"].read()
    put = s3.put_object(Bucket=a.bucket, Key=a.key, Body=body)
    md5 = hashlib.md5(body).hexdigest()
    ddb.put_item(TableName=a.table,
                 Item={"LockID": {"S": "%s/%s-md5" % (a.bucket, a.key)}, "Digest": {"S": md5}})
    t2 = time.monotonic()

    print(json.dumps({"tool": "boto3", "ok": True, "import_ms": round((t1 - T0) * 1000, 3),
                      "requests_ms": round((t2 - t1) * 1000, 3), "total_ms": round((t2 - T0) * 1000, 3),
                      "bytes": len(body), "new_version": put.get("VersionId", ""), "md5": md5}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
