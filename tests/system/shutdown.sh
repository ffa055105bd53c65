#!/usr/bin/env bash
# SIGTERM while a backup is downloading the state: tfsnapd lets the job finish within
# shutdown_grace, or cancels it when the grace runs out, exits 0 either way, and leaves the
# catalog clean (no temporary, half-deleted or scratch files; a manifest only for a finished
# snapshot), so that the next start takes backups as before.
#
# The GET is made slow deterministically: tfsnapd talks to radosgw through a TCP proxy (written
# below) that forwards bytes unchanged, so SigV4 still verifies, but throttles the
# server-to-client direction. The state is 3 MiB: about 6 s at 512 KiB/s, 12 s at 256 KiB/s.
#
#   1. shutdown_grace 30s, SIGTERM mid-GET: the job finishes, its snapshot is recorded with the
#      object's size and SHA-256, and the daemon exits 0 well within the grace time.
#   2. shutdown_grace 1s, SIGTERM mid-GET: the job is cancelled after about 1 s, the download is
#      cut short, nothing is recorded, nothing is left under state_dir, and the daemon exits 0
#      within 6 s of the signal. A new daemon on the same state_dir then takes a backup.
#   $1 tfsnapd
set -euo pipefail
TFSNAPD=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../harness/testlib.bash
. "$HERE/../harness/testlib.bash"
has() { grep -qE -- "$2" <<<"$1"; }
not_has() { ! grep -qE -- "$2" <<<"$1"; }
PY=/usr/bin/python3
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
now() { date +%s.%N; }
# elapsed T0 [T1]: seconds from T0 to T1 (default now), with two decimals
elapsed() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.2f", b - a }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

PIDS=()
cleanup() {
    local rc=$? f
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "$rc" != 0 ]; then
        for f in "$WORK"/*.log; do
            [ -f "$f" ] || continue
            echo "--- ${f##*/} (last 40 lines)" >&2
            tail -n 40 "$f" >&2
        done
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- the state: one 3 MiB version in a versioned bucket
B=$(unique_name shutdown)
versioned_bucket "$B"
"$PY" "$HERE/../tfstate/gen_state.py" --out "$WORK/big.tfstate" --size-mb 3 --seed 11 >/dev/null
aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/big.tfstate" >/dev/null
SIZE=$(stat -c %s "$WORK/big.tfstate")
SHA=$(sha256sum "$WORK/big.tfstate" | cut -d' ' -f1)
VERSION=$(aws_s3api head-object --bucket "$B" --key prod/terraform.tfstate --query VersionId --output text)
head_len=$(aws_s3api head-object --bucket "$B" --key prod/terraform.tfstate --query ContentLength --output text)
check "the uploaded state is ${SIZE} bytes" "$head_len" test "$head_len" = "$SIZE"

# --- the throttling proxy: proxy.py UPSTREAM_URL BYTES_PER_SECOND PORT_FILE
# Logs "conn N open", "conn N s2c BYTES" every 64 KiB sent to the client, "conn N s2c BYTES end".
cat >"$WORK/proxy.py" <<'PY'
import os, socket, sys, threading, time
from urllib.parse import urlsplit

up = urlsplit(sys.argv[1])
rate, port_file = int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()

def log(msg):
    with lock:
        print(msg, flush=True)

def pump(src, dst, cid, throttled, done):
    total, mark, start = 0, 0, None
    try:
        while True:
            data = src.recv(8192)
            if not data:
                break
            if throttled:
                start = start or time.monotonic()
                ahead = start + total / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            dst.sendall(data)
            total += len(data)
            if throttled and total - mark >= 65536:
                mark = total
                log(f"conn {cid} s2c {total}")
    except OSError:
        pass
    finally:
        if throttled:
            log(f"conn {cid} s2c {total} end")
        # either side gone: the connection is over (queued bytes are still delivered)
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        done.wait()
        src.close()

def serve(client, cid):
    try:
        server = socket.create_connection((up.hostname, up.port or 80), timeout=10)
        server.settimeout(None)
    except OSError as e:
        log(f"conn {cid} upstream failed: {e}")
        client.close()
        return
    log(f"conn {cid} open")
    done = threading.Barrier(2)
    threading.Thread(target=pump, args=(client, server, cid, False, done), daemon=True).start()
    pump(server, client, cid, True, done)

ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(16)
with open(port_file + ".new", "w") as f:
    f.write(str(ls.getsockname()[1]))
os.rename(port_file + ".new", port_file)
n = 0
while True:
    c, _ = ls.accept()
    n += 1
    threading.Thread(target=serve, args=(c, n), daemon=True).start()
PY

# a datagram socket standing in for systemd's notify socket: every datagram goes to a file
cat >"$WORK/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " | ") + "\n")
PY

# start_proxy NAME RATE: sets PROXY_PID and PROXY_URL; logs to $WORK/NAME.log
start_proxy() {
    "$PY" -u "$WORK/proxy.py" "$S3_ENDPOINT" "$2" "$WORK/$1.port" >"$WORK/$1.log" 2>&1 &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    for _ in $(seq 100); do [ -s "$WORK/$1.port" ] && break; sleep 0.05; done
    [ -s "$WORK/$1.port" ] || fail "proxy $1 did not start: $(cat "$WORK/$1.log")"
    PROXY_URL=http://127.0.0.1:$(cat "$WORK/$1.port")
}
# the most bytes one proxied connection has sent to tfsnapd so far
proxied() { awk '$3 == "s2c" && $4 + 0 > m { m = $4 + 0 } END { print m + 0 }' "$WORK/$1.log"; }
# proxy_settled NAME: waits (up to 5 s) until every connection the proxy opened has ended, so that
# its log has the final byte counts
proxy_conns() { grep -c " $2\$" "$WORK/$1.log" || true; }
proxy_settled() {
    for _ in $(seq 100); do
        [ "$(proxy_conns "$1" end)" = "$(proxy_conns "$1" open)" ] && return 0
        sleep 0.05
    done
    return 1
}

# start_daemon NAME STATE_DIR ENDPOINT GRACE: sets DPID and SOCK; logs to $WORK/NAME.log,
# notify datagrams to $WORK/NAME.notify.log
start_daemon() {
    local name=$1
    SOCK=$WORK/$name.sock
    cat >"$WORK/$name.yaml" <<YAML
state_dir: $2
shutdown_grace: $4
control: { socket: $SOCK }
defaults:
  endpoint: $3
  dynamodb_endpoint: $DYNAMODB_ENDPOINT
  path_style: true
environments:
  prod:
    bucket: $B
    key: prod/terraform.tfstate
YAML
    "$PY" "$WORK/notify.py" "$WORK/$name.notify" "$WORK/$name.notify.log" &
    PIDS+=($!)
    for _ in $(seq 100); do [ -S "$WORK/$name.notify" ] && break; sleep 0.05; done
    NOTIFY_SOCKET=$WORK/$name.notify "$TFSNAPD" --config "$WORK/$name.yaml" >"$WORK/$name.log" 2>&1 &
    DPID=$!
    PIDS+=("$DPID")
    for _ in $(seq 100); do
        curl -sS --max-time 2 --unix-socket "$SOCK" http://localhost/v1/status >/dev/null 2>&1 && return 0
        kill -0 "$DPID" 2>/dev/null || break
        sleep 0.1
    done
    fail "tfsnapd $name did not start: $(cat "$WORK/$name.log")"
}
api() { curl -sS --max-time 40 --unix-socket "$SOCK" "$@"; }
job_state() { api "http://localhost/v1/jobs/$1" | json 'd["state"]'; }

# start_backup PROXY STATE_DIR: queues a backup, waits until the job runs and the GET has sent
# 256 KiB through the proxy into the job's download file; sets JOB
start_backup() {
    local st=
    JOB=$(api -X POST -d '{}' http://localhost/v1/environments/prod/backups | json 'd["job_id"]')
    for _ in $(seq 100); do
        st=$(job_state "$JOB")
        [ "$st" = running ] && break
        sleep 0.05
    done
    check "job $JOB is running" "$st" test "$st" = running
    for _ in $(seq 200); do
        [ "$(proxied "$1")" -ge 262144 ] && break
        sleep 0.05
    done
    local got
    got=$(proxied "$1")
    check "the GET is in progress (256 KiB of $SIZE bytes through the proxy)" "$got bytes" \
        test "$got" -ge 262144 -a "$got" -lt "$SIZE"
    # what the checks for leftovers look for: the download's scratch file exists now
    local dl
    dl=$(leftovers "$2")
    check "the download goes to a scratch file (.tmp-get-*)" "$(find "$2" -print)" glob "$dl" "*/.tmp-get-*"
}

# stop_daemon NAME LIMIT: SIGTERM, then waits up to LIMIT s for the exit; sets RC and TOOK
# (seconds from the signal to the exit). A daemon still running after LIMIT s is killed and fails
# the test.
exited() {
    local s
    s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 0
    [ -z "$s" ] || [ "$s" = Z ]
}
stop_daemon() {
    local t0 i
    t0=$(now)
    kill -TERM "$DPID"
    for ((i = 0; i < $2 * 20; i++)); do
        exited "$DPID" && break
        sleep 0.05
    done
    TOOK=$(elapsed "$t0")
    if ! exited "$DPID"; then
        kill -KILL "$DPID" 2>/dev/null || true
        wait "$DPID" 2>/dev/null || true
        fail "tfsnapd $1 still running $2 s after SIGTERM (killed); its log: $(cat "$WORK/$1.log")"
    fi
    RC=0
    wait "$DPID" || RC=$?
}

# leftovers DIR: the temporary and half-deleted files tfsnapd's writers use (catalog: .tmp-*,
# incl. the backup's .tmp-get-* download; .del-*; stamps and journals: *.tmp)
leftovers() { find "$1" \( -name '.tmp-*' -o -name '.del-*' -o -name '*.tmp' \) -print; }
manifests() { find "$1" -name MANIFEST.json -print | sort; }
# field FILE EXPR: a value of a JSON file
field() { json "$2" <"$1"; }
line_of() { grep -n -m1 -E -- "$2" "$WORK/$1.log" | cut -d: -f1; }

# ================= 1. shutdown_grace 30s: the running backup finishes ================================
S1=$WORK/state1
start_proxy proxy1 524288
start_daemon d1 "$S1" "$PROXY_URL" 30s
start_backup proxy1 "$S1"
stop_daemon d1 35
log=$(cat "$WORK/d1.log")
check "grace 30s: SIGTERM exits 0" "rc=$RC; log: $log" test "$RC" = 0
check "grace 30s: the exit comes within the grace time (${TOOK}s after SIGTERM)" "${TOOK}s" lt "$TOOK" 30
check "grace 30s: STOPPING is logged" "$log" has "$log" "stopping on SIGTERM"
n=$(cat "$WORK/d1.notify.log")
check "grace 30s: STOPPING=1 is sent" "$n" has "$n" "STOPPING=1"
check "grace 30s: the job finished" "$log" has "$log" "job finished.* job=$JOB( |$)"
l_stop=$(line_of d1 "stopping on SIGTERM")
l_done=$(line_of d1 "job finished.* job=$JOB( |$)")
check "grace 30s: the job finished after SIGTERM (the daemon waited for it)" "$log" \
    test "$l_stop" -lt "$l_done"
check "grace 30s: 'tfsnapd stopped' is logged last" "$log" has "$(tail -n 1 "$WORK/d1.log")" "tfsnapd stopped"
check "grace 30s: tfsnapd's connections are closed" "$(cat "$WORK/proxy1.log")" proxy_settled proxy1
got=$(proxied proxy1)
check "grace 30s: the whole object went through the proxy" "$got bytes" test "$got" -gt "$SIZE"
mapfile -t m < <(manifests "$S1")
check "grace 30s: one snapshot with a MANIFEST.json" "${m[*]:-none}" test "${#m[@]}" = 1
check "grace 30s: the snapshot is under catalog/prod/" "${m[0]}" glob "${m[0]}" "$S1/catalog/prod/*/MANIFEST.json"
len=$(field "${m[0]}" 'd["terraform_state"]["content_length"]')
check "grace 30s: the recorded size is the object's" "$len" test "$len" = "$SIZE"
sha=$(field "${m[0]}" 'd["checksums"]["sha256"]')
check "grace 30s: the recorded SHA-256 is the object's" "$sha" test "$sha" = "$SHA"
ver=$(field "${m[0]}" 'd["terraform_state"]["version_id"]')
check "grace 30s: the recorded version is the object's" "$ver" test "$ver" = "$VERSION"
left=$(leftovers "$S1")
check "grace 30s: no temporary files are left under state_dir" "$left" test -z "$left"
check "grace 30s: the control socket is removed" "" test ! -e "$WORK/d1.sock"
kill "$PROXY_PID"

# ================= 2. shutdown_grace 1s: the running backup is cancelled =============================
S2=$WORK/state2
start_proxy proxy2 262144
start_daemon d2 "$S2" "$PROXY_URL" 1s
start_backup proxy2 "$S2"
stop_daemon d2 20
log=$(cat "$WORK/d2.log")
check "grace 1s: SIGTERM exits 0" "rc=$RC; log: $log" test "$RC" = 0
check "grace 1s: the exit comes within 6 s of SIGTERM (${TOOK}s)" "${TOOK}s; log: $log" lt "$TOOK" 6
check "grace 1s: the job was given the grace time first" "${TOOK}s" lt 0.9 "$TOOK"
check "grace 1s: STOPPING is logged" "$log" has "$log" "stopping on SIGTERM"
n=$(cat "$WORK/d2.notify.log")
check "grace 1s: STOPPING=1 is sent" "$n" has "$n" "STOPPING=1"
check "grace 1s: the job is logged as cancelled" "$log" has "$log" "job cancelled.* job=$JOB( |$)"
check "... saying why" "$log" has "$log" "job cancelled.* detail=\"?cancelled: tfsnapd stopped before the job finished"
check "grace 1s: the job is not logged as finished or failed" "$log" \
    not_has "$log" "job (finished|failed).* job=$JOB( |$)"
check "grace 1s: tfsnapd's connections are closed" "$(cat "$WORK/proxy2.log")" proxy_settled proxy2
got=$(proxied proxy2)
check "grace 1s: the download was cut short" "$got of $SIZE bytes; $(cat "$WORK/proxy2.log")" \
    test "$got" -lt "$SIZE"
mapfile -t m < <(manifests "$S2")
check "grace 1s: no snapshot was recorded" "${m[*]:-}" test "${#m[@]}" = 0
snapdirs=$(find "$S2/catalog" -mindepth 2 -maxdepth 2 -name '20*' -print 2>/dev/null || true)
check "grace 1s: no snapshot directory was created" "$snapdirs" test -z "$snapdirs"
left=$(leftovers "$S2")
check "grace 1s: no temporary or partial files are left under state_dir" "$left" test -z "$left"
kill "$PROXY_PID"

# ... and the same state_dir works: a new daemon (no proxy) takes the backup
start_daemon d3 "$S2" "$S3_ENDPOINT" 30s
s=$(api http://localhost/v1/environments/prod/snapshots)
check "restart: the catalog lists no snapshot" "$s" has "$s" '"snapshots":\[\]'
JOB=$(api -X POST -d '{}' http://localhost/v1/environments/prod/backups | json 'd["job_id"]')
r=$(api "http://localhost/v1/jobs/$JOB?wait=30s")
check "restart: the backup succeeds" "$r" has "$r" '"state":"succeeded"'
s=$(api http://localhost/v1/environments/prod/snapshots)
n=$(json 'len(d["snapshots"])' <<<"$s")
check "restart: the catalog lists one snapshot" "$s" test "$n" = 1
mapfile -t m < <(manifests "$S2")
check "restart: one MANIFEST.json" "${m[*]:-none}" test "${#m[@]}" = 1
len=$(field "${m[0]}" 'd["terraform_state"]["content_length"]')
check "restart: the recorded size is the object's" "$len" test "$len" = "$SIZE"
sha=$(field "${m[0]}" 'd["checksums"]["sha256"]')
check "restart: the recorded SHA-256 is the object's" "$sha" test "$sha" = "$SHA"
stop_daemon d3 35
check "restart: SIGTERM with no job running exits 0 at once" "rc=$RC ${TOOK}s" test "$RC" = 0 -a "${TOOK%.*}" -lt 5
left=$(leftovers "$S2")
check "restart: no temporary files are left under state_dir" "$left" test -z "$left"
echo "all shutdown checks passed"
