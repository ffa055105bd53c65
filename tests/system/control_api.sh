#!/usr/bin/env bash
# The control API's fairness and strictness on a running tfsnapd, with clients of other uids
# (setpriv; the test runs as root): a reader holding many kept-alive connections locks out
# neither an operator nor root, the last connections are kept for operators, a 403 closes the
# connection, long polls are bounded per uid (429, which tfsnapctl --wait rides out), POST
# /v1/reload takes {} only, a forged or misapplied restore token is refused at the request (no
# job, no webhook), and job ids go on rising across a restart.
#   $1 tfsnapd  $2 tfsnapctl
set -euo pipefail
TFSNAPD=$1
CTL=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../harness/testlib.bash
. "$HERE/../harness/testlib.bash"
has() { grep -qE -- "$2" <<<"$1"; }
not_has() { ! grep -qE -- "$2" <<<"$1"; }
PY=/usr/bin/python3
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
    echo "needs root and setpriv, to connect as other users" >&2
    exit 1
fi
for u in nobody bin sys daemon; do
    getent passwd "$u" >/dev/null || { echo "no user $u" >&2; exit 1; }
done
chmod 0755 "$WORK"
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups "$@"; }

B=$(unique_name ctlapi)
versioned_bucket "$B"
"$PY" "$HERE/../tfstate/gen_state.py" --out "$WORK/v1" --serial 3 --seed 9 >/dev/null
"$PY" "$HERE/../tfstate/gen_state.py" --out "$WORK/v2" --serial 4 --seed 9 --mutate >/dev/null
aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/v1" >/dev/null

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HPORT=$(free_port)
SLOW_PORT=$(free_port)

# an S3 stand-in that answers every request with NoSuchBucket after 4 s: a job that runs that long
cat >"$WORK/slow_s3.py" <<'PY'
import http.server, socketserver, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        time.sleep(4)
        body = b"<?xml version='1.0'?><Error><Code>NoSuchBucket</Code><Message>no</Message></Error>"
        self.send_response(404)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = answer
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
"$PY" "$WORK/slow_s3.py" "$SLOW_PORT" &
SLOW_PID=$!

# a webhook receiver: one line per POST
cat >"$WORK/hooks.py" <<'PY'
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
"$PY" "$WORK/hooks.py" "$HPORT" "$WORK/hooks.log" &
HOOKS_PID=$!

# holder COUNT TARGET DONE SOCKET: opens COUNT connections one after the other, sends GET TARGET
# (kept alive) on each and prints "<status> <open|closed> <body>" per connection (closed: the
# daemon ended the connection after its answer); then holds them until the file DONE exists
cat >"$WORK/holder.py" <<'PY'
import os, socket, sys, time
count, target, done, sock_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        chunk = s.recv(4096)
        if not chunk:
            break
        rest += chunk
    return int(head.split(b" ")[1]), rest[:length]
held = []
with open(sys.stdout.fileno(), "w", buffering=1, closefd=False) as f:
    for _ in range(count):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(sock_path)
        try:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target).encode())
            status, body = response(s)
        except ConnectionResetError:
            status, body = 0, b"reset"
        state = "open"
        s.settimeout(2 if status and status >= 400 else 0.05)
        try:
            if s.recv(1) == b"":
                state = "closed"
        except socket.timeout:
            pass
        f.write("%s %s %s\n" % (status, state, body.decode(errors="replace")))
        held.append(s)
while not os.path.exists(done):
    time.sleep(0.05)
PY
# hold USER COUNT TARGET NAME: runs a holder as USER in the background; its report is $WORK/NAME.out
hold() {
    # the report is written by this shell (root): the holder's user cannot write in $WORK
    as "$1" "$PY" "$WORK/holder.py" "$2" "$3" "$WORK/$4.done" "$SOCK" >"$WORK/$4.out" &
    for _ in $(seq 300); do
        [ "$(wc -l <"$WORK/$4.out" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 0
}
release() { touch "$WORK/$1.done"; }
lines() { grep -cE -- "$2" "$WORK/$1.out" || true; }

SOCK=$WORK/control.sock
cat >"$WORK/tfsnapd.yaml" <<YAML
state_dir: $WORK/state
control:
  socket: $SOCK
  readers: [user:nobody, user:bin]
  operators: [user:daemon]
  max_connections: 16
  max_connections_per_uid: 8
  reserved_for_operators: 4
  max_long_polls_per_uid: 1
notify:
  webhooks:
    - url: http://127.0.0.1:$HPORT/hooks
      events: [restore, failure]
defaults:
  endpoint: $S3_ENDPOINT
  dynamodb_endpoint: $DYNAMODB_ENDPOINT
  path_style: true
environments:
  prod:
    bucket: $B
    key: prod/terraform.tfstate
  slow:
    bucket: slow-bucket
    key: slow/terraform.tfstate
    endpoint: http://127.0.0.1:$SLOW_PORT
  slow2:
    bucket: slow-bucket
    key: slow2/terraform.tfstate
    endpoint: http://127.0.0.1:$SLOW_PORT
YAML
start_daemon() {
    "$TFSNAPD" --config "$WORK/tfsnapd.yaml" >>"$WORK/daemon.log" 2>&1 &
    DPID=$!
    for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
    check "the daemon listens" "$(cat "$WORK/daemon.log")" test -S "$SOCK"
    chmod 0666 "$SOCK"
}
cleanup() {
    touch "$WORK"/*.done 2>/dev/null || true
    kill "${DPID:-}" "$SLOW_PID" "$HOOKS_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
start_daemon
api() { curl -sS --max-time 30 --unix-socket "$SOCK" "$@"; }
code() { curl -sS --max-time 30 --unix-socket "$SOCK" -o "$WORK/body" -w '%{http_code}' "$@"; }

# --- a reader holding many connections: capped per uid, never locking others out
# (20: beyond max_connections refusals lingering at once, connections are closed without a word)
hold nobody 20 /v1/status reader
check "a reader gets 8 kept-alive connections (max_connections_per_uid)" "$(cat "$WORK/reader.out")" \
    test "$(lines reader '^200 open ')" = 8
check "... and 503 for the other 12, then closed" "$(tail -1 "$WORK/reader.out")" \
    test "$(lines reader '^503 closed .*"too_many_connections".*max_connections_per_uid')" = 12
c=$(code http://localhost/v1/status)
check "root is still served" "$(cat "$WORK/body")" test "$c" = 200
RC=0
OUT=$(as daemon "$CTL" --socket "$SOCK" --json status 2>&1) || RC=$?
check "an operator is still served (tfsnapctl status)" "$OUT" test "$RC" = 0
# a second reader fills the rest of the shared part: the last 4 are kept for operators and root
hold bin 8 /v1/status reader2
check "another reader gets the 4 shared connections left" "$(cat "$WORK/reader2.out")" \
    test "$(lines reader2 '^200 open ')" = 4
check "... and 503 beyond them: the rest is kept for operators" "$(tail -1 "$WORK/reader2.out")" \
    test "$(lines reader2 '^503 closed .*control.reserved_for_operators')" = 4
hold daemon 2 /v1/status operator
check "an operator gets the reserved connections" "$(cat "$WORK/operator.out")" \
    test "$(lines operator '^200 open ')" = 2
c=$(code http://localhost/v1/status)
check "root too" "$(cat "$WORK/body")" test "$c" = 200
release reader
release reader2
release operator
sleep 1.5  # the held connections close, and the refused ones' lingering ends

# --- a 403 closes the connection
hold sys 1 /v1/status denied
check "a peer without a role gets 403, and the connection is closed" "$(cat "$WORK/denied.out")" \
    test "$(lines denied '^403 closed .*"forbidden"')" = 1
release denied

# --- POST /v1/reload takes {} (or nothing) only
c=$(code -X POST -d '{"force":true}' http://localhost/v1/reload)
check "reload with an unknown field is 400" "$(cat "$WORK/body")" test "$c" = 400
check "... with a JSON error naming the field" "$(cat "$WORK/body")" has "$(cat "$WORK/body")" '"code":"unknown_field".*"field":"force"'
c=$(code -X POST -H 'Content-Type: application/json' -d 'reload please' http://localhost/v1/reload)
check "reload with a body that is not JSON is 400" "$(cat "$WORK/body")" test "$c" = 400
check "... invalid_json" "$(cat "$WORK/body")" has "$(cat "$WORK/body")" '"code":"invalid_json"'
c=$(code -X POST -d '{}' http://localhost/v1/reload)
check "reload with {} reloads" "$(cat "$WORK/body")" test "$c" = 200
c=$(code -X POST http://localhost/v1/reload)
check "reload without a body reloads" "$(cat "$WORK/body")" test "$c" = 200
RC=0
OUT=$("$CTL" --socket "$SOCK" reload 2>&1) || RC=$?
check "tfsnapctl reload still works" "$OUT" test "$RC" = 0
check "... and says reloaded" "$OUT" has "$OUT" "^reloaded$"
chmod 0666 "$SOCK"

# --- long polls: one per uid here (max_long_polls_per_uid: 1); tfsnapctl --wait rides out a 429
slow_job=$(api -X POST -d '{}' http://localhost/v1/environments/slow/backups | json 'd["job_id"]')
hold daemon 1 "/v1/jobs/$slow_job?wait=30s" poll &
HOLD_POLL=$!
for _ in $(seq 50); do pgrep -u daemon -f holder.py >/dev/null && break; sleep 0.1; done
sleep 0.5
OUT=$(as daemon curl -sS --max-time 10 --unix-socket "$SOCK" -D - "http://localhost/v1/jobs/$slow_job?wait=5s" 2>&1 || true)
check "a second long poll of the same uid is 429 at once" "$OUT" has "$OUT" "^HTTP/1.1 429"
check "... with Retry-After" "$OUT" has "$OUT" "^Retry-After: 1"
check "... and a JSON error naming the limit" "$OUT" has "$OUT" '"code":"too_many_long_polls".*max_long_polls_per_uid'
OUT=$(curl -sS --max-time 10 --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' "http://localhost/v1/jobs/$slow_job?wait=1s")
check "root's long polls are not limited" "$OUT" test "$OUT" = 200
# the same uid's tfsnapctl --wait while the slot is taken: it asks again until it gets its answer
RC=0
OUT=$(as daemon "$CTL" --socket "$SOCK" --json backup slow2 --wait 2>&1) || RC=$?
check "tfsnapctl backup --wait gets past the 429 to the job's end (failed: no bucket)" "$OUT" \
    has "$OUT" '"state":"failed"'
check "... exiting 1 for the failed job" "$OUT" test "$RC" = 1
check "... never printing the 429" "$OUT" not_has "$OUT" "too_many_long_polls"
wait "$HOLD_POLL" || true
check "the held long poll got its answer when the job ended" "$(cat "$WORK/poll.out")" \
    has "$(cat "$WORK/poll.out")" '^200 open .*"state":"failed"'
release poll

# --- restore tokens are checked at the request
for _ in $(seq 50); do [ "$(grep -cE '"event": ?"failure"' "$WORK/hooks.log" 2>/dev/null || echo 0)" -ge 2 ] && break; sleep 0.2; done
: >"$WORK/hooks.log"  # the slow jobs' failures: the log starts empty for what follows
job=$(api -X POST -d '{}' http://localhost/v1/environments/prod/backups | json 'd["job_id"]')
r=$(api "http://localhost/v1/jobs/$job?wait=30s")
check "a backup of prod" "$r" has "$r" '"state":"succeeded"'
snap=$(api http://localhost/v1/environments/prod/snapshots | json 'd["snapshots"][0]["snapshot_id"]')
aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/v2" >/dev/null
plan=$(api -X POST -d "{\"snapshot_id\":\"$snap\",\"reason\":\"token test\"}" http://localhost/v1/environments/prod/restores)
token=$(json 'd["token"]' <<<"$plan")
check "a dry run gives a token" "$plan" test -n "$token"
jobs_before=$(api http://localhost/v1/jobs | json 'len(d["jobs"])')
restore() {  # restore BODY-EXTRA TOKEN
    code -X POST -d "{\"snapshot_id\":\"$snap\",\"reason\":\"token test\",\"dry_run\":false,\"token\":\"$2\"$1}" \
        http://localhost/v1/environments/prod/restores
}
c=$(restore "" "forged.token")
check "a forged token is refused at the request (400)" "$(cat "$WORK/body")" test "$c" = 400
check "... saying to plan again" "$(cat "$WORK/body")" has "$(cat "$WORK/body")" '"code":"invalid_token".*plan again'
tampered="${token%?}$([ "${token: -1}" = A ] && echo B || echo A)"
c=$(restore "" "$tampered")
check "a token with one character changed is refused (400)" "$(cat "$WORK/body")" test "$c" = 400
c=$(restore ',"force_lineage":true' "$token")
check "the token of another request is refused (400)" "$(cat "$WORK/body")" test "$c" = 400
check "... naming what differs" "$(cat "$WORK/body")" has "$(cat "$WORK/body")" 'force_lineage is false in the token but true in the request'
jobs_after=$(api http://localhost/v1/jobs | json 'len(d["jobs"])')
check "no job was created for them" "before=$jobs_before after=$jobs_after" test "$jobs_before" = "$jobs_after"
RC=0
OUT=$("$CTL" --socket "$SOCK" restore prod --snapshot "$snap" --reason "token test" --yes 2>&1) || RC=$?
check "tfsnapctl restore with its fresh token still works" "$OUT" test "$RC" = 0
for _ in $(seq 50); do grep -qE '"event": ?"restore"' "$WORK/hooks.log" 2>/dev/null && break; sleep 0.2; done
h=$(cat "$WORK/hooks.log" 2>/dev/null || true)
check "webhooks: only the real restore was announced" "$h" test "$(grep -c '"event"' <<<"$h")" = 1
check "... as a restore that succeeded" "$h" has "$h" '"event": ?"restore".*"result": ?"ok"'
a=$(api "http://localhost/v1/audit?env=prod")
check "the audit log has the one restore only" "$a" test "$(json 'len(d["entries"])' <<<"$a")" = 1

# --- job ids go on rising across a restart
last=$(api http://localhost/v1/jobs | json 'max(int(j["id"]) for j in d["jobs"])')
kill -TERM "$DPID"
wait "$DPID" || true
check "the job id mark is kept, 0600" "$(ls -l "$WORK/state")" test "$(stat -c %a "$WORK/state/job-ids")" = 600
start_daemon
job=$(api -X POST -d '{}' http://localhost/v1/environments/prod/backups | json 'd["job_id"]')
check "the first job after a restart has an id above every earlier one" "last=$last new=$job" test "$job" -gt "$last"
r=$(api "http://localhost/v1/jobs/$last")
check "an earlier job's id is not another job's" "$r" has "$r" '"code":"unknown_job"'
echo "all control API checks passed"
