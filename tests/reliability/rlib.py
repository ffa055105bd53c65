"""What the reliability tests share: the harness's servers, tfsnapd and the fault proxy as
processes, the control API over the Unix socket, S3 and DynamoDB as the tests see them (boto3,
straight to radosgw and dynalite, never through a proxy), and the invariants every test checks.

Run by ctest (tests/reliability/CMakeLists.txt) with /usr/bin/python3 (Debian's, which has
boto3). Paths of the built binaries come from the command line:

    script.py --tfsnapd PATH --tfsnapctl PATH --proxy PATH --checker PATH

and the servers' endpoints from $TFSNAP_HARNESS_ENV (tests/harness/README.md).

Every process a test starts dies with it (PR_SET_PDEATHSIG) and is stopped at exit; every wait
has a deadline.
"""

import argparse
import atexit
import ctypes
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import boto3
import botocore.config
import botocore.exceptions

# ------------------------------------------------------------------------------ outcome


class TestFailure(Exception):
    pass


_failures = []


def log(msg):
    print(msg, flush=True)


def check(cond, desc, seen=""):
    """A check that ends the test when it does not hold."""
    if cond:
        log(f"ok: {desc}")
        return
    raise TestFailure(f"{desc}" + (f"; saw: {seen}" if seen != "" else ""))


def expect(cond, desc, seen=""):
    """A check that is recorded and lets the test go on; the test fails at the end."""
    if cond:
        log(f"ok: {desc}")
        return True
    msg = f"{desc}" + (f"; saw: {seen}" if seen != "" else "")
    log(f"FAIL: {msg}")
    _failures.append(msg)
    return False


def failures():
    return list(_failures)


# ------------------------------------------------------------------------------ processes

_children = []
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(args, log_path, env=None):
    out = open(log_path, "ab")
    p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                         preexec_fn=_die_with_parent)
    out.close()
    _children.append(p)
    return p


def _stop_children():
    for p in _children:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
    for p in _children:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


atexit.register(_stop_children)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def wait_for(pred, timeout, step=0.05):
    """Polls pred() until it is truthy or `timeout` seconds pass; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


# ------------------------------------------------------------------------------ setting


class Setting:
    """The command line, the harness's env file and a scratch folder."""

    def __init__(self, description):
        ap = argparse.ArgumentParser(description=description)
        ap.add_argument("--tfsnapd", required=True)
        ap.add_argument("--tfsnapctl", required=True)
        ap.add_argument("--proxy", required=True)
        ap.add_argument("--checker", required=True)
        ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
        self.args = ap.parse_args()
        path = os.environ.get("TFSNAP_HARNESS_ENV")
        if not path or not os.access(path, os.R_OK):
            sys.exit("TFSNAP_HARNESS_ENV does not name a readable env file (ctest sets it; see tests/harness)")
        self.env = {}
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("export ") or "=" not in line:
                    continue
                k, v = line[len("export "):].split("=", 1)
                if len(v) >= 2 and v[0] == "'" and v[-1] == "'":
                    v = v[1:-1].replace("'\\''", "'")
                self.env[k] = v
        self.work = tempfile.mkdtemp(prefix="tfsnap-rel.")
        if not self.args.keep:
            atexit.register(lambda: shutil.rmtree(self.work, ignore_errors=True))
        self.aws = Aws(self.env)

    def process_env(self):
        """The environment for tfsnapd: the servers' keys, nothing from ~/.aws."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "NOTIFY_SOCKET"}
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
            if k in self.env:
                e[k] = self.env[k]
        e["AWS_CONFIG_FILE"] = "/dev/null"
        e["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
        e["AWS_EC2_METADATA_DISABLED"] = "true"
        return e

    def path(self, name):
        return os.path.join(self.work, name)


def unique_name(prefix):
    return f"{prefix}-{int(time.time())}-{os.getpid()}-{random.randrange(100000)}"


# ------------------------------------------------------------------------------ AWS


class Aws:
    """S3 (radosgw) and DynamoDB (dynalite), straight, as Terraform and the tests see them."""

    def __init__(self, env):
        cfg = botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5},
                                     connect_timeout=5, read_timeout=60)
        kw = dict(aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                  region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"), config=cfg)
        self.s3 = boto3.client("s3", endpoint_url=env["S3_ENDPOINT"], **kw)
        self.ddb = boto3.client("dynamodb", endpoint_url=env["DYNAMODB_ENDPOINT"], **kw)

    def make_bucket(self, prefix):
        b = unique_name(prefix)
        self.s3.create_bucket(Bucket=b)
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        return b

    def make_table(self, prefix):
        t = unique_name(prefix)
        self.ddb.create_table(TableName=t, AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                              BillingMode="PAY_PER_REQUEST")
        return t

    def put(self, bucket, key, data):
        return self.s3.put_object(Bucket=bucket, Key=key, Body=data)["VersionId"]

    def current(self, bucket, key):
        """(version_id, bytes) of the current version, or (None, None) when there is none."""
        try:
            r = self.s3.get_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None, None
            raise
        return r.get("VersionId"), r["Body"].read()

    def version_bytes(self, bucket, key, version):
        return self.s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()

    def versions(self, bucket, key):
        out = []
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
            out += [v for v in page.get("Versions", []) if v["Key"] == key]
        return out

    def lock_item(self, table, lock_id):
        r = self.ddb.get_item(TableName=table, Key={"LockID": {"S": lock_id}}, ConsistentRead=True)
        return r.get("Item")

    def digest(self, table, lock_id):
        item = self.lock_item(table, lock_id + "-md5")
        return item["Digest"]["S"] if item and "Digest" in item else None

    def set_digest(self, table, lock_id, md5):
        self.ddb.put_item(TableName=table, Item={"LockID": {"S": lock_id + "-md5"}, "Digest": {"S": md5}})

    def tflock_present(self, bucket, key):
        try:
            self.s3.head_object(Bucket=bucket, Key=key + ".tflock")
            return True
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "Not Found"):
                return False
            raise


def md5(b):
    return hashlib.md5(b).hexdigest()


def make_state(lineage, serial, resources=5, pad=0):
    """A Terraform state (format 4) whose bytes differ for every serial."""
    s = {
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": serial,
        "lineage": lineage,
        "outputs": {"generation": {"value": serial, "type": "number"}},
        "resources": [{
            "mode": "managed",
            "type": "null_resource",
            "name": f"r{i}",
            "provider": "provider[\"registry.terraform.io/hashicorp/null\"]",
            "instances": [{
                "schema_version": 0,
                "attributes": {"id": f"{serial}-{i}", "triggers": {"pad": "x" * pad}},
                "sensitive_attributes": [],
            }],
        } for i in range(resources + serial % 3)],
        "check_results": None,
    }
    return (json.dumps(s, indent=2) + "\n").encode()


def same_but_serial(a, b):
    """Whether two states are equal apart from their serial (a restore with roll_forward_serial)."""
    try:
        x, y = json.loads(a), json.loads(b)
    except ValueError:
        return False
    x.pop("serial", None)
    y.pop("serial", None)
    return x == y


def state_is(now, old, target):
    """'old', 'target' (its bytes, or with only its serial rolled forward), or None."""
    if now == old:
        return "old"
    if now == target or (now is not None and target is not None and same_but_serial(now, target)):
        return "target"
    return None


# ------------------------------------------------------------------------------ fault proxy


class Proxy:
    """tfsnap_fault_proxy in front of one server; its admin API as methods."""

    def __init__(self, setting, name, upstream, dialect="s3", max_hold_ms=120000):
        self.name = name
        ports = setting.path(name + ".ports")
        self.log_path = setting.path(name + ".log")
        self.proc = spawn([setting.args.proxy, "--upstream", upstream, "--ports-file", ports, "--dialect", dialect,
                           "--max-hold-ms", str(max_hold_ms)], self.log_path)
        ok = wait_for(lambda: os.path.exists(ports) or self.proc.poll() is not None, 10)
        if not ok or not os.path.exists(ports):
            raise TestFailure(f"fault proxy {name} did not start: {open(self.log_path).read()}")
        with open(ports) as f:
            p = json.load(f)
        self.port, self.admin_port = p["proxy"], p["admin"]
        self.url = f"http://127.0.0.1:{self.port}"

    def call(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        try:
            c.request(method, path, body=None if body is None else json.dumps(body),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = json.loads(r.read() or b"{}")
        finally:
            c.close()
        if r.status != 200:
            raise TestFailure(f"proxy {self.name}: {method} {path}: {r.status} {data}")
        return data

    def stats(self):
        return self.call("GET", "/stats")

    def set_random(self, **kw):
        return self.call("PUT", "/random", kw)

    def add_rule(self, **kw):
        return self.call("POST", "/rules", kw)["id"]

    def rule(self, rid):
        return self.call("GET", f"/rules/{rid}")

    def release(self, rid):
        return self.call("POST", f"/rules/{rid}/release")

    def remove(self, rid):
        return self.call("DELETE", f"/rules/{rid}")

    def clear(self):
        return self.call("POST", "/clear")

    def log(self, since=0):
        return self.call("GET", f"/log?since={since}")["requests"]

    def wait_held(self, rid, timeout):
        return wait_for(lambda: self.rule(rid)["holding"] > 0, timeout, 0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ------------------------------------------------------------------------------ tfsnapd


def proxies(setting):
    """The S3 and DynamoDB fault proxies, in front of the harness's radosgw and dynalite."""
    return (Proxy(setting, "s3proxy", setting.env["S3_ENDPOINT"], "s3"),
            Proxy(setting, "ddbproxy", setting.env["DYNAMODB_ENDPOINT"], "dynamodb"))


def locked_environments(bucket, table, names, extra=""):
    """YAML for `environments:`: one entry a name, its state at <name>/terraform.tfstate, locked
    as Terraform's backend is configured here (a DynamoDB table and the lockfile); `extra` is
    appended to each entry (indented by four spaces)."""
    return "".join(f"""
  {n}:
    bucket: {bucket}
    key: {n}/terraform.tfstate
    lock: {{ dynamodb_table: {table}, lockfile: true }}{extra}""" for n in names)


def proxied_config(state_dir, socket, s3p, ddbp, environments, top=""):
    """A tfsnapd configuration whose S3 and DynamoDB requests all go through the proxies; `top`
    holds further top-level lines (each ending in a newline)."""
    return f"""state_dir: {state_dir}
{top}control: {{ socket: {socket} }}
defaults:
  endpoint: {s3p.url}
  dynamodb_endpoint: {ddbp.url}
  path_style: true
environments:{environments}
"""


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


class Daemon:
    """One tfsnapd --config process (restartable) with its config, state_dir and logs."""

    def __init__(self, setting, name, config_text, state_dir, socket_path):
        self.s = setting
        self.name = name
        self.config = setting.path(name + ".yaml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.state_dir = state_dir
        self.sock = socket_path
        self.log_path = setting.path(name + ".log")
        self.proc = None
        self.starts = 0

    def start(self, timeout=60):
        """Starts tfsnapd and waits for READY=1 (sent after start-up recovery). Returns seconds taken."""
        self.starts += 1
        notify = self.s.path(f"{self.name}.notify.{self.starts}")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(notify)
        ns.settimeout(0.2)
        env = self.s.process_env()
        env["NOTIFY_SOCKET"] = notify
        with open(self.log_path, "ab") as f:
            f.write(f"==== start {self.starts}\n".encode())
        t0 = time.monotonic()
        self.proc = spawn([self.s.args.tfsnapd, "--config", self.config], self.log_path, env)
        try:
            while time.monotonic() - t0 < timeout:
                try:
                    msg = ns.recv(4096).decode(errors="replace")
                    if "READY=1" in msg.split("\n"):
                        return time.monotonic() - t0
                except socket.timeout:
                    pass
                if self.proc.poll() is not None:
                    raise TestFailure(f"tfsnapd {self.name} exited with {self.proc.returncode} before READY=1: "
                                      f"{self.log_tail()}")
        finally:
            ns.close()
            os.unlink(notify)
        raise TestFailure(f"tfsnapd {self.name} sent no READY=1 within {timeout}s: {self.log_tail()}")

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=30)

    def term(self, timeout=30):
        """SIGTERM; (exit status, seconds to exit). A daemon still running at `timeout` is killed: (None, timeout)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None, timeout
        return rc, time.monotonic() - t0

    def api(self, method, path, body=None, timeout=60):
        """(status, parsed JSON or text) of one control request."""
        c = _UnixHTTPConnection(self.sock, timeout)
        try:
            c.request(method, path, body=None if body is None else json.dumps(body),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            raw = r.read()
        finally:
            c.close()
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, raw.decode(errors="replace")

    def backup(self, env):
        st, b = self.api("POST", f"/v1/environments/{env}/backups", {})
        return b.get("job_id") if st == 202 else None

    def plan(self, env, version, reason):
        # a plan reads several objects and both locks: with stalls past the 30 s deadline, minutes
        return self.api("POST", f"/v1/environments/{env}/restores",
                        {"version_id": version, "reason": reason, "dry_run": True}, timeout=300)

    def execute(self, env, version, reason, token):
        return self.api("POST", f"/v1/environments/{env}/restores",
                        {"version_id": version, "reason": reason, "dry_run": False, "token": token})

    def job(self, job_id, wait=None):
        path = f"/v1/jobs/{job_id}" + (f"?wait={wait}s" if wait else "")
        st, b = self.api("GET", path, timeout=(wait or 0) + 30)
        return b if st == 200 else None

    def wait_job(self, job_id, timeout=120):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            j = self.job(job_id, wait=min(30, max(1, int(end - time.monotonic()))))
            if j and j["state"] not in ("queued", "running"):
                return j
        return self.job(job_id)

    def snapshots(self, env):
        st, b = self.api("GET", f"/v1/environments/{env}/snapshots")
        return b["snapshots"] if st == 200 else None

    def metric(self, name, labels=None):
        """The sum of a metric's samples whose labels include `labels`."""
        st, text = self.api("GET", "/metrics")
        total = 0.0
        for line in str(text).splitlines():
            if not line.startswith(name):
                continue
            head, _, value = line.rpartition(" ")
            if head != name and not head.startswith(name + "{"):
                continue
            ok = all(f'{k}="{v}"' in head for k, v in (labels or {}).items())
            if ok:
                total += float(value)
        return total

    def audit(self):
        """The audit log's records, oldest first."""
        out = []
        try:
            with open(os.path.join(self.state_dir, "audit.log")) as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
        except FileNotFoundError:
            pass
        return out


def catalog_check(setting, state_dir):
    """(ok, report) of tfsnap_catalog_check STATE_DIR."""
    p = subprocess.run([setting.args.checker, state_dir], capture_output=True, timeout=120)
    try:
        report = json.loads(p.stdout)
    except ValueError:
        report = {"ok": False, "problems": [p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")]}
    return p.returncode == 0 and report.get("ok"), report


def leftovers(state_dir):
    out = []
    for root, dirs, files in os.walk(state_dir):
        for n in dirs + files:
            if n.startswith(".tmp-") or n.startswith(".del-") or n.endswith(".tmp"):
                out.append(os.path.join(root, n))
    return out


def tree(state_dir, under):
    """{relative path: (size, mtime_ns, sha256)} of every file under state_dir/under."""
    out = {}
    base = os.path.join(state_dir, under)
    for root, dirs, files in os.walk(base):
        for n in files:
            p = os.path.join(root, n)
            try:
                st = os.stat(p)
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
            except OSError:
                continue
            out[os.path.relpath(p, state_dir)] = (st.st_size, st.st_mtime_ns, h)
    return out


def run(main):
    """Runs main(); exit 0 when every check held, 1 otherwise (with the failures listed)."""
    try:
        main()
    except TestFailure as e:
        _failures.append(str(e))
        log(f"FAIL: {e}")
    except Exception:  # a test's own bug or an unexpected answer: a failure too, with its trace
        _failures.append(traceback.format_exc())
        log(f"FAIL: unexpected error:\n{traceback.format_exc()}")
    if _failures:
        log(f"\n{len(_failures)} check(s) failed:")
        for f in _failures:
            log(f"  - {f}")
        sys.exit(1)
    log("\nall checks passed")
    sys.exit(0)
