#!/usr/bin/python3
"""The driver of bench/e2e/run (which builds, starts the servers and sources their env file).

Measures, against one radosgw + dynalite, with one tfsnapd configured with N environments:
  sweep      a backup of every environment, all triggered at once through the control API,
             against (a) the seed's boto3 script as one process per environment (a sample,
             extrapolated), (b) one boto3 process looping over all, (c) an `aws s3api`
             head-object + get-object shell loop (a sample, extrapolated), (d) the raw HEAD + GET
             chain at the same concurrency with tfsnap's S3 client (bench/s3_sweep);
  control    GET /v1/status over the control socket, idle and while a sweep runs;
  restore    a state-only restore of a 1 MiB state with a DynamoDB lock and digest: tfsnapctl,
             the daemon API (dry run + execute + job), `tfsnapd restore` (two processes) and the
             boto3 download + upload script;
  footprint  RSS (VmRSS, VmHWM), idle CPU, exec -> READY=1.
Writes WORK/results.json and prints the markdown section (and, with --results FILE, puts it
between the generated-block markers of FILE's "End to end" section).
"""
import argparse
import concurrent.futures
import datetime
import hashlib
import http.client
import importlib.util
import io
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
import random
from contextlib import redirect_stdout

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.join(ROOT, "bench", "e2e")
PY = "/usr/bin/python3"
SWEEP_BUCKET = "e2e-sweep"
RESTORE_BUCKET = "e2e-restore"
LOCK_TABLE = "terraform-locks"
TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("[e2e %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def env_name(i):
    return "env-%05d" % i


def sweep_key(i):
    return "sweep/%s/terraform.tfstate" % env_name(i)  # bench/s3_sweep's key layout


# ------------------------------------------------------------------------- processes and /proc
def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def vm_kib(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def server_pids(harness):
    pids = []
    d = os.path.join(harness, "pids")
    for f in sorted(os.listdir(d)):
        if f.split(".")[0] in ("rgw", "osd", "mon"):
            with open(os.path.join(d, f)) as fh:
                pids.append(int(fh.read().split()[0]))
    return pids


def server_ticks(harness):
    return sum(cpu_ticks(p) for p in server_pids(harness))


def run_json(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (cmd[0], r.returncode, r.stdout[-2000:]))
    return json.loads(r.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------- the control socket
class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=320):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Api:
    def __init__(self, path):
        self.path = path
        self.conn = None

    def call(self, method, target, body=None):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = UnixHTTPConnection(self.path)
            try:
                data = None if body is None else json.dumps(body)
                headers = {} if data is None else {"Content-Type": "application/json"}
                self.conn.request(method, target, body=data, headers=headers)
                r = self.conn.getresponse()
                text = r.read().decode()
                return r.status, text
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def snapshots_counted(api):
    st, text = api.call("GET", "/metrics")
    assert st == 200, st
    n = 0
    for line in text.splitlines():
        if line.startswith("tfsnap_backup_total{") and 'result="snapshot"' in line:
            n += int(float(line.rsplit(" ", 1)[1]))
    return n


# ------------------------------------------------------------------------- tfsnapd
class Daemon:
    """tfsnapd --config FILE, with a NOTIFY_SOCKET of our own to time exec -> READY=1."""

    def __init__(self, binary, config, work, name):
        self.binary, self.config, self.work, self.name = binary, config, work, name
        self.proc = None
        self.ready_ms = None

    def start(self):
        path = os.path.join(self.work, "notify.sock")
        if os.path.exists(path):
            os.unlink(path)
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(path)
        ns.settimeout(60)
        env = dict(os.environ, NOTIFY_SOCKET=path)
        err = open(os.path.join(self.work, "%s.log" % self.name), "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([self.binary, "--config", self.config], env=env, stdout=err, stderr=err,
                                     stdin=subprocess.DEVNULL)
        with open(os.path.join(self.work, "tfsnapd.pids"), "a") as f:  # for run's cleanup
            f.write("%d\n" % self.proc.pid)
        try:
            while True:
                msg = ns.recv(4096)
                if b"READY=1" in msg.split(b"\n"):
                    self.ready_ms = (time.monotonic() - t0) * 1000
                    break
        except socket.timeout:
            self.stop()
            raise RuntimeError("tfsnapd sent no READY=1 within 60 s; see %s.log" % self.name)
        finally:
            ns.close()
            os.unlink(path)
        return self.ready_ms

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    @property
    def pid(self):
        return self.proc.pid


def fsync_probe(d, n=300):
    """ms per fsync of a fresh 512-byte file in d (the catalog's file system), median and p90."""
    os.makedirs(d, exist_ok=True)
    v = []
    for i in range(n):
        path = os.path.join(d, "probe-%d" % i)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, b"x" * 512)
        t0 = time.monotonic()
        os.fsync(fd)
        v.append((time.monotonic() - t0) * 1000)
        os.close(fd)
        os.unlink(path)
    v.sort()
    return {"median_ms": statistics.median(v), "p90_ms": v[int(0.9 * (n - 1))], "max_ms": v[-1]}


# ------------------------------------------------------------------------- setup
def make_states(out, n):
    """N ~100 KiB states (tests/tfstate/gen_state.py --size-mb 0.1, own seed/serial/lineage)."""
    index = os.path.join(out, "expected.json")
    if os.path.exists(index):
        with open(index) as f:
            exp = json.load(f)
        if len(exp) >= n:
            return exp
    spec = importlib.util.spec_from_file_location("gen_state", os.path.join(ROOT, "tests", "tfstate", "gen_state.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    os.makedirs(out, exist_ok=True)
    exp = {}
    for i in range(n):
        path = os.path.join(out, env_name(i) + ".tfstate")
        lineage = str(uuid.UUID(int=random.Random(i).getrandbits(128), version=4))
        argv = ["gen_state.py", "--out", path, "--seed", str(i + 1), "--resources", str(12 + (i * 7) % 19),
                "--serial", str(1 + (i * 37) % 500), "--lineage", lineage, "--size-mb", "0.1"]
        old, sys.argv = sys.argv, argv
        try:
            with redirect_stdout(io.StringIO()):
                gen.main()
        finally:
            sys.argv = old
        with open(path, "rb") as f:
            data = f.read()
        exp[env_name(i)] = {"md5": hashlib.md5(data).hexdigest(), "size": len(data)}
    with open(index, "w") as f:
        json.dump(exp, f)
    return exp


def s3_client(pool=16):
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"],
                        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                        config=Config(max_pool_connections=pool, s3={"addressing_style": "path"},
                                      retries={"max_attempts": 4, "mode": "standard"}))


def upload_states(states, n):
    s3 = s3_client(16)
    s3.create_bucket(Bucket=SWEEP_BUCKET)
    s3.put_bucket_versioning(Bucket=SWEEP_BUCKET, VersioningConfiguration={"Status": "Enabled"})

    def put(i):
        with open(os.path.join(states, env_name(i) + ".tfstate"), "rb") as f:
            s3.put_object(Bucket=SWEEP_BUCKET, Key=sweep_key(i), Body=f.read())

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(n)))


def write_config(path, state_dir, sock, n, jobs, restore_envs):
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    lines = [
        "state_dir: %s" % state_dir,
        "max_concurrent_jobs: %d" % jobs,
        "control:",
        "  socket: %s" % sock,
        "defaults:",
        "  region: %s" % region,
        "  endpoint: %s" % os.environ["S3_ENDPOINT"],
        "  dynamodb_endpoint: %s" % os.environ["DYNAMODB_ENDPOINT"],
        "  path_style: true",
        # one schedule per environment that cannot fire during a run (1 January, 03:00 UTC)
        '  schedule: { cron: "0 3 1 1 *", timezone: UTC, jitter: 0 }',
        "  verify: false",
        "  always_snapshot: true    # every sweep takes a snapshot: HEAD + GET + manifest, like the baselines",
        "environments:",
    ]
    for i in range(n):
        lines.append("  %s: { bucket: %s, key: %s }" % (env_name(i), SWEEP_BUCKET, sweep_key(i)))
    for name in restore_envs:
        lines.append("  %s: { bucket: %s, key: rb/%s/terraform.tfstate, lock: { dynamodb_table: %s } }"
                     % (name, RESTORE_BUCKET, name, LOCK_TABLE))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def api_restore(api, env, version, reason):
    """POST dry run, POST execute with its token, GET the job (long poll) until done; times in ms."""
    t0 = time.monotonic()
    # the target's bytes as they are (no serial roll-forward), as the boto3 script writes them
    st, text = api.call("POST", "/v1/environments/%s/restores" % env,
                        {"version_id": version, "reason": reason, "roll_forward_serial": False})
    t1 = time.monotonic()
    if st != 200:
        raise RuntimeError("dry run: HTTP %d %s" % (st, text))
    token = json.loads(text)["token"]
    st, text = api.call("POST", "/v1/environments/%s/restores" % env,
                        {"version_id": version, "reason": reason, "roll_forward_serial": False, "dry_run": False,
                         "token": token})
    if st != 202:
        raise RuntimeError("execute: HTTP %d %s" % (st, text))
    job = json.loads(text)["job_id"]
    while True:
        st, text = api.call("GET", "/v1/jobs/%s?wait=60s" % job)
        j = json.loads(text)
        if j["state"] not in ("queued", "running"):
            break
    t2 = time.monotonic()
    if j["state"] != "succeeded":
        raise RuntimeError("restore job: %s" % text)
    return {"api_ms": (t2 - t0) * 1000, "api_plan_ms": (t1 - t0) * 1000, "api_execute_ms": (t2 - t1) * 1000}


# ------------------------------------------------------------------------- the sweep
class Bench:
    def __init__(self, a):
        self.a = a
        self.build = a.build
        self.tfsnapd = os.path.join(a.build, "daemon", "tfsnapd")
        self.tfsnapctl = os.path.join(a.build, "daemon", "tfsnapctl")
        self.client = os.path.join(a.build, "bench", "e2e", "tfsnap_e2e_client")
        self.s3_sweep = os.path.join(a.build, "bench", "tfsnap_s3_sweep")
        self.restore_bench = os.path.join(a.build, "bench", "tfsnap_restore_bench")
        self.work = a.work
        self.harness = a.harness
        self.sock = os.path.join(self.work, "control.sock")
        self.r = {"runs": {}, "args": vars(a)}
        self.daemon = None

    def timed(self, fn):
        """Runs fn(), with the CPU ticks of tfsnapd and of the S3 server around it."""
        d0 = cpu_ticks(self.daemon.pid) if self.daemon and self.daemon.proc else 0
        s0 = server_ticks(self.harness)
        res = fn()
        res["server_cpu_s"] = (server_ticks(self.harness) - s0) / TICK
        if self.daemon and self.daemon.proc:
            res["tfsnapd_cpu_s"] = (cpu_ticks(self.daemon.pid) - d0) / TICK
        return res

    def add(self, what, res):
        self.r["runs"].setdefault(what, []).append(res)
        log("%s: %s" % (what, json.dumps(res)))

    def sweep_tfsnapd(self, n):
        api = Api(self.sock)
        before = snapshots_counted(api)
        res = run_json([self.client, "sweep", "--socket", self.sock, "--count", str(n),
                        "--connections", str(self.a.connections)])
        after = snapshots_counted(api)
        api.close()
        res["snapshots_recorded"] = after - before
        if after - before != n:
            raise RuntimeError("tfsnapd recorded %d snapshots for %d environments" % (after - before, n))
        return res

    def sweep_raw(self, n):
        return run_json([self.s3_sweep, "sweep", "--bucket", SWEEP_BUCKET, "--count", str(n),
                         "--concurrency", str(self.a.jobs)])

    def boto3_loop(self, n):
        cat = os.path.join(self.work, "boto3-loop-%d" % len(self.r["runs"].get("boto3_loop", [])))
        t0 = time.monotonic()
        res = run_json([PY, os.path.join(HERE, "boto3_backup.py"), "loop", "--bucket", SWEEP_BUCKET,
                        "--catalog", cat, "--count", str(n)])
        res["process_seconds"] = time.monotonic() - t0
        res["manifests"] = sum(len(fs) for _, _, fs in os.walk(cat))
        assert res["manifests"] == n and res["failures"] == 0, res
        return res

    def boto3_processes(self, k):
        cat = os.path.join(self.work, "boto3-proc")
        t0 = time.monotonic()
        for i in range(k):
            subprocess.run([PY, os.path.join(HERE, "boto3_backup.py"), "one", "--bucket", SWEEP_BUCKET,
                            "--catalog", cat, "--env", env_name(i), "--key", sweep_key(i)], check=True)
        s = time.monotonic() - t0
        return {"sample": k, "seconds": s, "per_env_ms": 1000 * s / k}

    def aws_cli(self, k):
        script = os.path.join(self.work, "aws-loop.sh")
        with open(script, "w") as f:
            f.write("""#!/bin/bash
# what a CI job's shell loop does: per environment, head-object for the version, get-object of it
set -euo pipefail
for i in $(seq 0 $(($1 - 1))); do
  key=$(printf 'sweep/env-%05d/terraform.tfstate' "$i")
  v=$(/usr/bin/aws --endpoint-url "$S3_ENDPOINT" s3api head-object --bucket "$2" --key "$key" \\
        --query VersionId --output text)
  /usr/bin/aws --endpoint-url "$S3_ENDPOINT" s3api get-object --bucket "$2" --key "$key" \\
        --version-id="$v" "$3/aws-cli.tfstate" >/dev/null
done
""")
        os.chmod(script, 0o755)
        t0 = time.monotonic()
        subprocess.run([script, str(k), SWEEP_BUCKET, self.work], check=True)
        s = time.monotonic() - t0
        return {"sample": k, "seconds": s, "per_env_ms": 1000 * s / k}

    # --------------------------------------------------------------------- phases
    def phase_sweep(self):
        a, n = self.a, self.a.envs
        log("sweep warm-up (untimed): tfsnapd and raw")
        self.sweep_tfsnapd(n)
        self.sweep_raw(n)
        # TFSNAP_E2E_PERF=FILE: one more untimed sweep under `perf record -g` of tfsnapd (its
        # profile for bench/RESULTS.md: where the sweep's time goes)
        perf_out = os.environ.get("TFSNAP_E2E_PERF")
        if perf_out:
            p = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g", "-o", perf_out,
                                  "-p", str(self.daemon.pid)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            self.sweep_tfsnapd(n)
            p.send_signal(signal.SIGINT)
            p.wait(timeout=60)
            log("perf profile of a sweep in %s" % perf_out)
        for rep in range(a.reps):
            order = ["tfsnapd", "raw"] if rep % 2 == 0 else ["raw", "tfsnapd"]
            for t in order:
                if t == "tfsnapd":
                    before = fsync_probe(os.path.join(self.work, "probe"), 100)
                    res = self.timed(lambda: self.sweep_tfsnapd(n))
                    after = fsync_probe(os.path.join(self.work, "probe"), 100)
                    res["fsync_ms_around"] = [before["median_ms"], after["median_ms"]]
                    res["rss_kib"] = vm_kib(self.daemon.pid, "VmRSS")
                    self.add("tfsnapd", res)
                else:
                    self.add("raw", self.timed(lambda: self.sweep_raw(n)))
        if not a.skip_boto3_loop:
            self.add("boto3_loop", self.timed(lambda: self.boto3_loop(n)))
        if a.sample > 0:
            self.add("boto3_processes", self.timed(lambda: self.boto3_processes(min(a.sample, n))))
        if a.cli_sample > 0:
            self.add("aws_cli", self.timed(lambda: self.aws_cli(min(a.cli_sample, n))))
        self.r["rss_after_sweeps_kib"] = vm_kib(self.daemon.pid, "VmRSS")
        self.r["hwm_after_sweeps_kib"] = vm_kib(self.daemon.pid, "VmHWM")

    def phase_control(self, suffix=""):
        a, n = self.a, self.a.envs
        load = [self.client, "load", "--socket", self.sock, "--connections", str(a.load_connections)]
        if not suffix:
            self.add("status_idle", run_json(load + ["--seconds", str(a.load_seconds)]))
        # while a sweep runs: the load starts with the sweep and stops before the sweep's usual end
        sweeps = [r["seconds"] for r in self.r["runs"].get("tfsnapd" + suffix, [])]
        window = max(1.0, 0.8 * statistics.median(sweeps)) if sweeps else float(a.load_seconds)
        api = Api(self.sock)
        before = snapshots_counted(api)
        p = subprocess.Popen([self.client, "sweep", "--socket", self.sock, "--count", str(n),
                              "--connections", str(a.connections)], stdout=subprocess.PIPE, text=True)
        busy = run_json(load + ["--seconds", "%.2f" % window])
        out, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError("the sweep under load failed: " + out)
        sweep = json.loads(out.strip().splitlines()[-1])
        sweep["snapshots_recorded"] = snapshots_counted(api) - before
        api.close()
        assert sweep["snapshots_recorded"] == n, sweep
        busy["sweep_seconds"] = sweep["seconds"]
        busy["sweep_envs_per_second"] = sweep["envs_per_second"]
        self.add("status_sweep" + suffix, busy)

    def phase_restore(self, versions, md5):
        a = self.a
        api = Api(self.sock)
        fg_config = os.path.join(self.work, "foreground.yaml")
        check_ok = 0
        for rnd in range(a.restore_runs + 1):  # round 0: warm-up, not counted
            target = "v1" if rnd % 2 == 0 else "v2"
            reason = "e2e bench round %d" % rnd
            res = {}
            # tfsnapctl: one process; dry run, confirm (--yes), execute, follow the job
            v = versions["rb/restore-ctl/terraform.tfstate"][target]
            t0 = time.monotonic()
            r = subprocess.run([self.tfsnapctl, "--socket", self.sock, "restore", "restore-ctl",
                                "--version=" + v, "--reason=" + reason, "--no-roll-forward-serial", "--yes"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            res["tfsnapctl_ms"] = (time.monotonic() - t0) * 1000
            if r.returncode != 0:
                raise RuntimeError("tfsnapctl restore exited %d:\n%s" % (r.returncode, r.stdout))
            # the daemon API, from this process: POST dry run, POST execute, GET the job until done
            res.update(api_restore(api, "restore-api", versions["rb/restore-api/terraform.tfstate"][target],
                                   reason))
            # tfsnapd restore in the foreground: two processes (bench/restore's `cli`)
            v = versions["rb/restore-cli/terraform.tfstate"][target]
            c = run_json([self.restore_bench, "cli", "--tfsnapd", self.tfsnapd, "--config", fg_config,
                          "--env", "restore-cli", "--version-id", v, "--reason", reason])
            if not c.get("ok"):
                raise RuntimeError("tfsnapd restore: %s" % c)
            res["tfsnapd_cli_ms"] = c["total_ms"]
            # the boto3 script: one process, GET + PUT + digest PutItem
            v = versions["rb/boto3/terraform.tfstate"][target]
            t0 = time.monotonic()
            b = run_json([PY, os.path.join(ROOT, "bench", "restore", "boto3_restore.py"), "--bucket",
                          RESTORE_BUCKET, "--key", "rb/boto3/terraform.tfstate", "--table", LOCK_TABLE,
                          "--version-id=" + v])
            res["boto3_ms"] = (time.monotonic() - t0) * 1000
            res["boto3_requests_ms"] = b["requests_ms"]
            for tool in ("restore-ctl", "restore-api", "restore-cli", "boto3"):
                run_json([self.restore_bench, "check", "--bucket", RESTORE_BUCKET, "--key",
                          "rb/%s/terraform.tfstate" % tool, "--table", LOCK_TABLE, "--expect-md5", md5[target]])
                check_ok += 1
            if rnd > 0:
                self.add("restore", res)
        api.close()
        self.r["restore_checks"] = check_ok

    def phase_restore_tmpfs(self, versions, md5):
        api = Api(self.sock)
        for rnd in range(self.a.restore_runs + 1):
            target = "v1" if rnd % 2 == 0 else "v2"
            res = api_restore(api, "restore-shm", versions["rb/restore-shm/terraform.tfstate"][target],
                              "e2e bench tmpfs round %d" % rnd)
            run_json([self.restore_bench, "check", "--bucket", RESTORE_BUCKET, "--key",
                      "rb/restore-shm/terraform.tfstate", "--table", LOCK_TABLE, "--expect-md5", md5[target]])
            self.r["restore_checks"] = self.r.get("restore_checks", 0) + 1
            if rnd > 0:
                self.add("restore_tmpfs", res)
        api.close()

    def phase_tmpfs(self, versions, md5):
        """The same daemon and environments with state_dir on tmpfs: what the catalog's fsyncs cost."""
        a, n = self.a, self.a.envs
        shm = "/dev/shm/tfsnap-e2e.%s" % os.path.basename(self.work)
        cfg = os.path.join(self.work, "tfsnapd-tmpfs.yaml")
        sock = os.path.join(self.work, "control-tmpfs.sock")
        write_config(cfg, os.path.join(shm, "state"), sock, n, a.jobs, [] if versions is None else ["restore-shm"])
        main_sock, self.sock = self.sock, sock
        self.daemon = Daemon(self.tfsnapd, cfg, self.work, "tfsnapd-tmpfs")
        self.daemon.start()
        try:
            log("tmpfs: sweep warm-up (untimed)")
            self.sweep_tfsnapd(n)
            for rep in range(a.reps):
                order = ["tfsnapd", "raw"] if rep % 2 == 0 else ["raw", "tfsnapd"]
                for t in order:
                    if t == "tfsnapd":
                        self.add("tfsnapd_tmpfs", self.timed(lambda: self.sweep_tfsnapd(n)))
                    else:
                        self.add("raw", self.timed(lambda: self.sweep_raw(n)))
            if not a.skip_control:
                self.phase_control("_tmpfs")
            if versions is not None:
                self.phase_restore_tmpfs(versions, md5)
            self.r["hwm_tmpfs_kib"] = vm_kib(self.daemon.pid, "VmHWM")
        finally:
            rc = self.daemon.stop()
            self.daemon = None
            self.sock = main_sock
            subprocess.run(["rm", "-rf", shm], check=True)
        if rc != 0:
            raise RuntimeError("tfsnapd (tmpfs) exited %d after SIGTERM" % rc)

    def phase_footprint(self):
        a = self.a
        self.r["catalog_manifests"] = sum(f == "MANIFEST.json" for _, _, fs in os.walk(
            os.path.join(self.work, "state", "catalog")) for f in fs)
        empty = []
        for i in range(a.ready_starts):
            cfg = os.path.join(self.work, "tfsnapd-empty.yaml")
            write_config(cfg, os.path.join(self.work, "empty-%d" % i), os.path.join(self.work, "control-empty.sock"),
                         a.envs, a.jobs, [])
            d = Daemon(self.tfsnapd, cfg, self.work, "tfsnapd-empty")
            empty.append(d.start())
            time.sleep(0.2)
            assert d.stop() == 0
        self.add("ready_empty_ms", {"samples": empty})
        starts = []
        for i in range(a.ready_starts):
            d = Daemon(self.tfsnapd, self.config, self.work, "tfsnapd-start")
            starts.append(d.start())
            time.sleep(0.2)
            rc = d.stop()
            assert rc == 0, rc
        self.add("ready_ms", {"samples": starts})
        d = Daemon(self.tfsnapd, self.config, self.work, "tfsnapd-idle")
        self.daemon = d
        d.start()
        time.sleep(2)
        t0, c0 = time.monotonic(), cpu_ticks(d.pid)
        time.sleep(a.idle_seconds)
        t1, c1 = time.monotonic(), cpu_ticks(d.pid)
        self.add("idle", {"seconds": t1 - t0, "cpu_s": (c1 - c0) / TICK,
                          "cpu_percent": 100.0 * (c1 - c0) / TICK / (t1 - t0),
                          "rss_kib": vm_kib(d.pid, "VmRSS"), "hwm_kib": vm_kib(d.pid, "VmHWM"),
                          "threads": len(os.listdir("/proc/%d/task" % d.pid))})
        assert d.stop() == 0
        self.daemon = None

    # --------------------------------------------------------------------- main
    def run(self):
        a = self.a
        self.r["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        self.r["load_start"] = open("/proc/loadavg").read().split()[:3]
        log("states: %d x ~100 KiB" % a.envs)
        exp = make_states(os.path.join(a.cache, "states"), a.envs)
        self.r["state_bytes_median"] = statistics.median(exp[env_name(i)]["size"] for i in range(a.envs))
        t0 = time.monotonic()
        upload_states(os.path.join(a.cache, "states"), a.envs)
        log("uploaded in %.1f s" % (time.monotonic() - t0))

        restore_envs = ["restore-ctl", "restore-api"]
        versions, md5 = None, None
        if not a.skip_restore:
            v1, v2 = os.path.join(self.work, "v1.tfstate"), os.path.join(self.work, "v2.tfstate")
            gen = os.path.join(ROOT, "tests", "tfstate", "gen_state.py")
            subprocess.run([PY, gen, "--out", v1, "--size-mb", "1", "--seed", "1"], check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run([PY, gen, "--out", v2, "--size-mb", "1", "--seed", "1", "--mutate"], check=True,
                           stdout=subprocess.DEVNULL)
            md5 = {t: hashlib.md5(open(p, "rb").read()).hexdigest() for t, p in (("v1", v1), ("v2", v2))}
            self.r["restore_sizes"] = [os.path.getsize(v1), os.path.getsize(v2)]
            keys = ",".join("rb/%s/terraform.tfstate" % t
                            for t in restore_envs + ["restore-cli", "boto3", "restore-shm"])
            versions = run_json([self.restore_bench, "setup", "--bucket", RESTORE_BUCKET, "--table", LOCK_TABLE,
                                 "--v1", v1, "--v2", v2, "--keys", keys])
            region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
            with open(os.path.join(self.work, "foreground.yaml"), "w") as f:
                f.write("state_dir: %s\ndefaults:\n  region: %s\n  endpoint: %s\n  dynamodb_endpoint: %s\n"
                        "  path_style: true\nenvironments:\n  restore-cli:\n    bucket: %s\n"
                        "    key: rb/restore-cli/terraform.tfstate\n    lock: { dynamodb_table: %s }\n"
                        % (os.path.join(self.work, "fg-state"), region, os.environ["S3_ENDPOINT"],
                           os.environ["DYNAMODB_ENDPOINT"], RESTORE_BUCKET, LOCK_TABLE))

        self.r["fsync_start"] = fsync_probe(os.path.join(self.work, "probe"))
        log("fsync on the catalog's disk: %s" % self.r["fsync_start"])
        self.config = os.path.join(self.work, "tfsnapd.yaml")
        write_config(self.config, os.path.join(self.work, "state"), self.sock, a.envs, a.jobs, restore_envs)
        self.daemon = Daemon(self.tfsnapd, self.config, self.work, "tfsnapd")
        self.r["ready_first_ms"] = self.daemon.start()
        time.sleep(1)
        self.r["rss_fresh_kib"] = vm_kib(self.daemon.pid, "VmRSS")
        self.r["hwm_fresh_kib"] = vm_kib(self.daemon.pid, "VmHWM")
        log("tfsnapd ready in %.1f ms, RSS %d KiB" % (self.r["ready_first_ms"], self.r["rss_fresh_kib"]))
        try:
            if not a.skip_sweep:
                self.phase_sweep()
            if not a.skip_control:
                self.phase_control()
            if not a.skip_restore:
                self.phase_restore(versions, md5)
            self.r["rss_end_kib"] = vm_kib(self.daemon.pid, "VmRSS")
            self.r["hwm_end_kib"] = vm_kib(self.daemon.pid, "VmHWM")
            self.r["tfsnapd_cpu_total_s"] = cpu_ticks(self.daemon.pid) / TICK
        finally:
            rc = self.daemon.stop()
            self.daemon = None
        if rc != 0:
            raise RuntimeError("tfsnapd exited %d after SIGTERM" % rc)
        if not a.skip_tmpfs:
            self.phase_tmpfs(versions, md5)
        if not a.skip_footprint:
            self.phase_footprint()
        self.r["fsync_end"] = fsync_probe(os.path.join(self.work, "probe"))
        self.r["load_end"] = open("/proc/loadavg").read().split()[:3]
        with open(os.path.join(self.work, "results.json"), "w") as f:
            json.dump(self.r, f, indent=1)
        return self.r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cache", required=True, help="where generated states are kept between runs")
    ap.add_argument("--harness", required=True)
    ap.add_argument("--envs", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=16, help="max_concurrent_jobs, and the raw client's concurrency")
    ap.add_argument("--connections", type=int, default=8, help="control connections of the sweep trigger")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sample", type=int, default=100, help="boto3 processes timed (then extrapolated)")
    ap.add_argument("--cli-sample", type=int, default=30, help="aws CLI environments timed (extrapolated)")
    ap.add_argument("--skip-boto3-loop", action="store_true")
    ap.add_argument("--restore-runs", type=int, default=20)
    ap.add_argument("--load-seconds", type=float, default=10)
    ap.add_argument("--load-connections", type=int, default=4)
    ap.add_argument("--ready-starts", type=int, default=10)
    ap.add_argument("--idle-seconds", type=float, default=60)
    for s in ("sweep", "control", "restore", "tmpfs", "footprint"):
        ap.add_argument("--skip-" + s, action="store_true")
    a = ap.parse_args()
    r = Bench(a).run()
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
