#!/usr/bin/env bash
# tfsnapd --config as systemd runs it, against the harness servers: READY=1 only once the
# control socket answers, STATUS= and WATCHDOG=1 on $NOTIFY_SOCKET, an on-demand backup and a
# restore (dry run, then with the token) over the API with curl --unix-socket, metrics, SIGHUP
# with a broken and then an extended configuration, socket activation, and SIGTERM.
#   $1 tfsnapd
set -euo pipefail
TFSNAPD=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../harness/testlib.bash
. "$HERE/../harness/testlib.bash"
has() { grep -qE -- "$2" <<<"$1"; }
not_has() { ! grep -qE -- "$2" <<<"$1"; }
PY=/usr/bin/python3

B=$(unique_name daemon)
T=$(unique_name tflocks)
versioned_bucket "$B"
lock_table "$T"
"$PY" "$HERE/../tfstate/gen_state.py" --out "$WORK/v1" --serial 3 --seed 5 >/dev/null
"$PY" "$HERE/../tfstate/gen_state.py" --out "$WORK/v2" --serial 4 --seed 5 --mutate >/dev/null
aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/v1" >/dev/null

SOCK=$WORK/control.sock
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MPORT=$(free_port)
HPORT=$(free_port)
DEAD_PORT=$(free_port)  # nothing listens: a webhook there fails, the jobs do not
config() {  # config [extra environment yaml]
    cat <<YAML
state_dir: $WORK/state
control: { socket: $SOCK }
metrics: { listen: "127.0.0.1:$MPORT" }
notify:
  webhooks:
    - url: http://127.0.0.1:$HPORT/hooks/json-secret-token
      events: [success, restore, failure]
    - url: http://127.0.0.1:$HPORT/hooks/slack-secret-token
      events: [restore]
      slack_template: ":rewind: {job_kind} of {env} by tfsnap on {host}: {result}"
    - url: http://127.0.0.1:$DEAD_PORT/hooks/dead-secret-token
      events: [success]
      retries: 1
      timeout: 2s
      deadline: 5s
defaults:
  endpoint: $S3_ENDPOINT
  dynamodb_endpoint: $DYNAMODB_ENDPOINT
  path_style: true
environments:
  prod:
    bucket: $B
    key: prod/terraform.tfstate
    lock: { dynamodb_table: $T }
${1:-}
YAML
}
config >"$WORK/tfsnapd.yaml"
api() { curl -sS --max-time 30 --unix-socket "$SOCK" "$@"; }
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# a webhook receiver: each POST's path and body, one JSON line each
cat >"$WORK/hooks.py" <<'PY'
import http.server, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "type": self.headers.get("Content-Type"),
                                "body": json.loads(body)}) + "\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
"$PY" "$WORK/hooks.py" "$HPORT" "$WORK/hooks.log" &
HOOKS_PID=$!

# a datagram socket standing in for systemd's notify socket; every datagram goes to a file,
# and on READY=1 the listener asks the control socket at once: it must answer
cat >"$WORK/notify.py" <<'PY'
import os, socket, sys, urllib.parse
path, out, control = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode()
        f.write(msg.replace("\n", " | ") + "\n")
        if "READY=1" in msg and not os.path.exists(out + ".checked"):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                c.connect(control)
                c.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                f.write("CONTROL-ANSWERED " + c.recv(64).decode().split("\r\n")[0] + "\n")
            except OSError as e:
                f.write("CONTROL-FAILED " + str(e) + "\n")
            open(out + ".checked", "w").close()
PY
"$PY" "$WORK/notify.py" "$WORK/notify.sock" "$WORK/notify.log" "$SOCK" &
NOTIFY_PID=$!
for _ in $(seq 50); do [ -S "$WORK/notify.sock" ] && break; sleep 0.1; done

NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=2000000 "$TFSNAPD" --config "$WORK/tfsnapd.yaml" \
    >"$WORK/daemon.log" 2>&1 &
DPID=$!
cleanup() { kill "$DPID" "$NOTIFY_PID" "$HOOKS_PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 100); do grep -q "READY=1" "$WORK/notify.log" 2>/dev/null && break; sleep 0.1; done
sleep 2.5  # two watchdog intervals of 1 s (half of WATCHDOG_USEC)
n=$(cat "$WORK/notify.log")
check "READY=1 is sent" "$n" has "$n" "READY=1"
check "the control socket answers when READY=1 arrives" "$n" has "$n" "CONTROL-ANSWERED HTTP/1.1 200"
check "STATUS= is sent" "$n" has "$n" "STATUS=1 envs"
check "WATCHDOG=1 is sent at half the interval" "$n" test "$(grep -c 'WATCHDOG=1' <<<"$n")" -ge 2

st=$(api http://localhost/v1/status)
check "GET /v1/status" "$st" has "$st" '"environments":1'
job=$(api -X POST -d '{}' http://localhost/v1/environments/prod/backups | json 'd["job_id"]')
done_job=$(api "http://localhost/v1/jobs/$job?wait=30s")
check "the on-demand backup succeeds" "$done_job" has "$done_job" '"state":"succeeded"'
busy=$(api -X POST -d '{}' http://localhost/v1/environments/nope/backups)
check "an unknown environment is a JSON 404" "$busy" has "$busy" '"code":"unknown_environment"'
snap=$(api http://localhost/v1/environments/prod/snapshots | json 'd["snapshots"][0]["snapshot_id"]')

aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/v2" >/dev/null
plan=$(api -X POST -d "{\"snapshot_id\":\"$snap\",\"reason\":\"daemon test\"}" \
    http://localhost/v1/environments/prod/restores)
check "a restore dry run returns a plan with a token" "$plan" has "$plan" '"token":"[^"]+'
token=$(json 'd["token"]' <<<"$plan")
job=$(api -X POST -d "{\"snapshot_id\":\"$snap\",\"reason\":\"daemon test\",\"dry_run\":false,\"token\":\"$token\"}" \
    http://localhost/v1/environments/prod/restores | json 'd["job_id"]')
r=$(api "http://localhost/v1/jobs/$job?wait=30s")
check "the restore job succeeds" "$r" has "$r" '"state":"succeeded"'
check "the restore job carries its result" "$r" has "$r" '"result":\{"result":"ok"'
aws_s3api get-object --bucket "$B" --key prod/terraform.tfstate "$WORK/now" >/dev/null
same=$("$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); c=json.load(open(sys.argv[3])); print(a.pop("serial") == c["serial"] + 1, b.pop("serial"), a == b)' "$WORK/now" "$WORK/v1" "$WORK/v2")
check "the state is v1 again, its serial rolled forward past v2's" "$same" test "$same" = "True 3 True"
m=$(api http://localhost/metrics)
check "metrics count the backup" "$m" has "$m" 'tfsnap_backup_total\{env="prod",schedule="on-demand",result="snapshot"\} 1'
check "metrics count the restore" "$m" has "$m" 'tfsnap_restore_total\{env="prod",result="ok"\} 1'
check "... its safety snapshot, and the restored version's" "$m" has "$m" 'tfsnap_snapshots\{env="prod"\} 3'
check "the restored version is checked and pinned after the restore" "$m" has "$m" \
    'tfsnap_backup_total\{env="prod",schedule="post-restore",result="snapshot"\} 1'
check "the restore job says which snapshot pins the restored version" "$r" has "$r" \
    'the restored version is snapshot [0-9T:-]+Z'
check "the restore job reports its steps as progress" "$r" has "$r" '"done":[1-9][0-9]*,"total":[1-9]'

check "metrics count S3 requests by operation and status" "$m" has "$m" 'tfsnap_s3_requests_total\{op="GetObject",code="200"\} [1-9]'
check "... the restore's PutObject too" "$m" has "$m" 'tfsnap_s3_requests_total\{op="PutObject",code="200"\} [1-9]'
tm=$(curl -sS --max-time 10 "http://127.0.0.1:$MPORT/metrics")
check "metrics.listen serves the same metrics over loopback TCP" "$tm" has "$tm" 'tfsnap_restore_total\{env="prod",result="ok"\} 1'
tc=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/v1/status")
check "... and nothing else" "$tc" test "$tc" = 404
# webhooks: the backup's success and the restore reach the JSON hook, the restore the Slack one
for _ in $(seq 50); do [ "$(grep -c slack-secret "$WORK/hooks.log" 2>/dev/null)" -ge 1 ] && break; sleep 0.2; done
h=$(cat "$WORK/hooks.log" 2>/dev/null || true)
ev() { "$PY" -c "import json,sys
for l in open(sys.argv[1]):
    d=json.loads(l)
    if d['path'].endswith(sys.argv[2]) and $1: print(json.dumps(d['body'], sort_keys=True))" "$WORK/hooks.log" "$2"; }
s=$(ev 'd["body"].get("event")=="success"' json-secret-token)
check "a webhook announces the backup's success" "$h" has "$s" '"environment": "prod".*"event": "success".*"job_kind": "backup"'
check "... as tfsnap's JSON document" "$s" has "$s" '"source": "tfsnap"'
s=$(ev 'd["body"].get("event")=="restore"' json-secret-token)
check "a webhook announces the restore" "$h" has "$s" '"event": "restore".*"result": "ok".*"snapshot_id": "'"$snap"'"'
s=$(ev '"text" in d["body"]' slack-secret-token)
check "the Slack template is rendered as {\"text\": ...}" "$h" has "$s" '"text": ":rewind: restore of prod by tfsnap on [^:]+: ok"'
log=$(cat "$WORK/daemon.log")
for _ in $(seq 50); do grep -q "webhook delivery failed" "$WORK/daemon.log" && break; sleep 0.2; done
log=$(cat "$WORK/daemon.log")
check "a webhook that fails is logged" "$log" has "$log" "webhook delivery failed"
check "... by its origin only, never its secret path" "$log" not_has "$log" "secret-token"
a=$(api "http://localhost/v1/audit?limit=5")
check "the audit log has the restore" "$a" has "$a" '"reason":"daemon test"'

# SIGHUP with a broken file: still running, the old configuration active, the error logged
printf 'environments:\n  prod:\n    buckt: x\n' >"$WORK/tfsnapd.yaml"
kill -HUP "$DPID"
sleep 1
check "a broken reload keeps the daemon running" "" kill -0 "$DPID"
log=$(cat "$WORK/daemon.log")
check "the reload errors are logged with file:line" "$log" has "$log" "reload: .*tfsnapd.yaml:3:5: error: environments.prod.buckt"
envs=$(api http://localhost/v1/environments)
check "the old configuration stays active" "$envs" has "$envs" '"name":"prod"'
# SIGHUP with an added environment
config "  staging:
    bucket: $B
    key: staging/terraform.tfstate" >"$WORK/tfsnapd.yaml"
kill -HUP "$DPID"
sleep 1
envs=$(api http://localhost/v1/environments)
check "an added environment appears after SIGHUP" "$envs" has "$envs" '"name":"staging"'
# a job that fails (staging has no state yet) is announced as a failure
job=$(api -X POST -d '{}' http://localhost/v1/environments/staging/backups | json 'd["job_id"]')
r=$(api "http://localhost/v1/jobs/$job?wait=30s")
check "a backup of a missing state fails" "$r" has "$r" '"state":"failed"'
for _ in $(seq 50); do grep -q '"event": "failure"' "$WORK/hooks.log" && break; sleep 0.2; done
s=$(ev 'd["body"].get("event")=="failure"' json-secret-token)
check "a webhook announces the failure with the job's id" "$(cat "$WORK/hooks.log")" has "$s" '"environment": "staging".*"event": "failure".*"job_id": "'"$job"'"'
n=$(cat "$WORK/notify.log")
check "RELOADING=1 with MONOTONIC_USEC is sent" "$n" has "$n" "RELOADING=1 \| MONOTONIC_USEC=[0-9]+"

# SIGTERM: STOPPING=1, exit 0, the socket removed
kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
check "SIGTERM exits 0" "rc=$rc" test "$rc" = 0
n=$(cat "$WORK/notify.log")
check "STOPPING=1 is sent" "$n" has "$n" "STOPPING=1"
check "the control socket is removed" "" test ! -e "$SOCK"

# socket activation: systemd-socket-activate passes the listening socket
if command -v systemd-socket-activate >/dev/null; then
    systemd-socket-activate -l "$WORK/activated.sock" "$TFSNAPD" --config "$WORK/tfsnapd.yaml" \
        >"$WORK/activated.log" 2>&1 &
    APID=$!
    sleep 0.5
    st=$(curl -sS --max-time 30 --unix-socket "$WORK/activated.sock" http://localhost/v1/status || true)
    check "the API answers on the socket systemd passed" "$st" has "$st" '"environments":2'
    kill -TERM "$APID"
    wait "$APID" || true
else
    echo "systemd-socket-activate not installed: socket activation not tested" >&2
    exit 1
fi
echo "all daemon checks passed"
