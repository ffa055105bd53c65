#!/usr/bin/env bash
# What the configuration promises reaches the built binaries, against the harness servers:
#   - catalog.git: true: a backup through the daemon and a foreground `tfsnapd backup` each leave
#     a commit and a tag backup-state/<env>/<snapshot_id>; a prune commits the removal;
#   - a full restore through the daemon runs terraform_bin (a stand-in that records its
#     environment) with the environment's AWS credentials and its S3 and DynamoDB endpoints, and
#     nothing else of the daemon's environment; the dry run is answered, the job reports progress;
#   - a daemon whose scheduler cannot start (an unreadable stamps file) sends no READY=1 and
#     exits non-zero, naming the file.
#   $1 tfsnapd
set -euo pipefail
TFSNAPD=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../harness/testlib.bash
. "$HERE/../harness/testlib.bash"
has() { grep -qE -- "$2" <<<"$1"; }
not_has() { ! grep -qE -- "$2" <<<"$1"; }
PY=/usr/bin/python3

B=$(unique_name wiring)
T=$(unique_name wlocks)
versioned_bucket "$B"
lock_table "$T"
"$PY" "$HERE/../tfstate/gen_state.py" --out "$WORK/v1" --serial 3 --seed 7 >/dev/null
"$PY" "$HERE/../tfstate/gen_state.py" --out "$WORK/v2" --serial 4 --seed 7 --mutate >/dev/null
v1=$(aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/v1" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["VersionId"])')

# a stand-in for terraform: records each command and its whole environment
mkdir -p "$WORK/infra"
cat >"$WORK/terraform" <<'SH'
#!/bin/sh
n=$(ls "$TF_RECORD_DIR" 2>/dev/null | wc -l)
env >"$TF_RECORD_DIR/$n-$1.env"
echo "stand-in terraform $*"
exit 0
SH
chmod +x "$WORK/terraform"
mkdir -p "$WORK/tf-records"

SOCK=$WORK/control.sock
cat >"$WORK/tfsnapd.yaml" <<YAML
state_dir: $WORK/state
control: { socket: $SOCK }
catalog: { git: true }
worker_threads: 2
defaults:
  endpoint: $S3_ENDPOINT
  dynamodb_endpoint: $DYNAMODB_ENDPOINT
  path_style: true
environments:
  prod:
    bucket: $B
    key: prod/terraform.tfstate
    lock: { dynamodb_table: $T }
    terraform_dir: $WORK/infra
    terraform_bin: $WORK/terraform
    retention: { keep_last: 2 }
YAML
api() { curl -sS --max-time 60 --unix-socket "$SOCK" "$@"; }
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
git_in() { git --git-dir="$WORK/state/catalog/.git" "$@"; }

# a datagram socket standing in for systemd's notify socket
cat >"$WORK/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " | ") + "\n")
PY
"$PY" "$WORK/notify.py" "$WORK/notify.sock" "$WORK/notify.log" &
NOTIFY_PID=$!
DPID=
cleanup() { kill "$DPID" "$NOTIFY_PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 50); do [ -S "$WORK/notify.sock" ] && break; sleep 0.1; done

start_daemon() {
    : >"$WORK/notify.log"
    # TFSNAP_PARENT_ONLY is in the daemon's environment only: terraform must not see it
    NOTIFY_SOCKET=$WORK/notify.sock TFSNAP_PARENT_ONLY=must-not-reach-terraform \
        "$TFSNAPD" --config "$WORK/tfsnapd.yaml" >>"$WORK/daemon.log" 2>&1 &
    DPID=$!
    for _ in $(seq 100); do grep -q "READY=1" "$WORK/notify.log" 2>/dev/null && break; sleep 0.1; done
    grep -q "READY=1" "$WORK/notify.log" || fail "tfsnapd did not become ready: $(cat "$WORK/daemon.log")"
}
stop_daemon() {
    kill -TERM "$DPID"
    wait "$DPID" || fail "tfsnapd did not exit 0 on SIGTERM: $(tail -5 "$WORK/daemon.log")"
    DPID=
}

# The stand-in's record directory is fixed in its own text (terraform runs with a cleared
# environment, so it cannot come from tfsnapd's).
sed -i "s|\$TF_RECORD_DIR|$WORK/tf-records|g" "$WORK/terraform"

# --- catalog.git: a backup through the daemon ------------------------------------------------
start_daemon
job=$(api -X POST -d '{}' http://localhost/v1/environments/prod/backups | json 'd["job_id"]')
r=$(api "http://localhost/v1/jobs/$job?wait=30s")
check "the daemon's backup succeeds" "$r" has "$r" '"state":"succeeded"'
check "... and reports all its steps done" "$r" has "$r" '"done":5,"total":5'
snap=$(api http://localhost/v1/environments/prod/snapshots | json 'd["snapshots"][0]["snapshot_id"]')
tags=$(git_in tag -l)
check "the snapshot has its tag in the catalog's git history" "$tags" has "$tags" "^backup-state/prod/$snap\$"
log=$(git_in log --format=%s)
check "... and its commit" "$log" has "$log" "^backup-state/prod/$snap\$"
files=$(git_in ls-tree -r --name-only "backup-state/prod/$snap")
check "the tagged commit holds the snapshot's manifest" "$files" has "$files" "^prod/$snap/MANIFEST.json\$"

# --- a full restore through the daemon: terraform with the environment's credentials ---------
aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/v2" >/dev/null
a=$(api -w ' %{http_code}' -X POST -d "{\"version_id\":\"$v1\",\"mode\":\"full\",\"reason\":\"wiring test\"}" \
    http://localhost/v1/environments/prod/restores)
check "the full dry run is a job (terraform does not run inside the request)" "$a" has "$a" ' 202$'
job=$(json 'd["job_id"]' <<<"${a% *}")
r=$(api "http://localhost/v1/jobs/$job?wait=60s")
check "... of kind plan, which succeeds" "$r" has "$r" '"kind":"plan".*"state":"succeeded"'
plan=$(json 'json.dumps(d["result"])' <<<"$r")
check "... and whose result is the plan" "$plan" has "$plan" '"refusals": \[\]'
check "... with terraform's plan" "$plan" has "$plan" '"terraform": \{"ok": true'
token=$(json 'd["token"]' <<<"$plan")
job=$(api -X POST -d "{\"version_id\":\"$v1\",\"mode\":\"full\",\"reason\":\"wiring test\",\"dry_run\":false,\"token\":\"$token\"}" \
    http://localhost/v1/environments/prod/restores | json 'd["job_id"]')
r=$(api "http://localhost/v1/jobs/$job?wait=60s")
check "the full restore succeeds" "$r" has "$r" '"state":"succeeded"'
check "... with terraform apply after it" "$r" has "$r" '"terraform":\{"ok":true'
check "... its progress at its last step" "$r" has "$r" '"done":([89]|10),"total":9'
runs=$(ls "$WORK/tf-records")
check "terraform ran init and plan for the dry run, init and apply for the restore" "$runs" \
    test "$(tr '\n' ' ' <<<"$runs")" = "0-init.env 1-plan.env 2-init.env 3-apply.env "
for f in "$WORK"/tf-records/*.env; do
    e=$(cat "$f")
    name=$(basename "$f")
    check "$name: the environment's access key" "" grep -qx "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" "$f"
    check "$name: the environment's secret key" "" grep -qx "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" "$f"
    check "$name: the S3 endpoint" "" grep -qx "AWS_ENDPOINT_URL_S3=$S3_ENDPOINT" "$f"
    check "$name: the DynamoDB endpoint" "" grep -qx "AWS_ENDPOINT_URL_DYNAMODB=$DYNAMODB_ENDPOINT" "$f"
    check "$name: nothing else of the daemon's environment" "" not_has "$e" "TFSNAP_PARENT_ONLY|NOTIFY_SOCKET"
done
m=$(api http://localhost/metrics)
check "the deleted-state signal is 0 after the restore" "$m" has "$m" 'tfsnap_state_deleted\{env="prod"\} 0'
s=$(api http://localhost/v1/status)
check "status names the restore as the last job" "$s" has "$s" '"status":"[^"]*last: prod restore succeeded'
check "status gives the uptime" "$s" has "$s" '"uptime_seconds":[0-9]+'
check "status counts each environment's health" "$s" has "$s" '"health_counts":\{"ok":1\}'
check "... and lists no unhealthy one" "$s" has "$s" '"health":\[\]'

# --- a prune commits the removal ------------------------------------------------------------
for _ in 1 2; do
    job=$(api -X POST -d '{}' http://localhost/v1/environments/prod/backups | json 'd["job_id"]')
    api "http://localhost/v1/jobs/$job?wait=30s" >/dev/null
    aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/v2" >/dev/null
done
log=$(git_in log --format=%s)
check "a prune is committed" "$log" has "$log" "^remove-state/prod"
# --- an undelete clears the deleted-state signals ---------------------------------------------
aws_s3api delete-object --bucket "$B" --key prod/terraform.tfstate >/dev/null
job=$(api -X POST -d '{}' http://localhost/v1/environments/prod/backups | json 'd["job_id"]')
api "http://localhost/v1/jobs/$job?wait=30s" >/dev/null
m=$(api http://localhost/metrics)
check "a deleted state is signalled" "$m" has "$m" 'tfsnap_state_deleted\{env="prod"\} 1'
s=$(api http://localhost/v1/status)
check "... and its health says so" "$s" has "$s" '"environment":"prod","health":"deleted"'
plan=$(api -X POST -d '{"reason":"wiring test"}' http://localhost/v1/environments/prod/undeletes)
token=$(json 'd["token"]' <<<"$plan")
job=$(api -X POST -d "{\"reason\":\"wiring test\",\"dry_run\":false,\"token\":\"$token\"}" \
    http://localhost/v1/environments/prod/undeletes | json 'd["job_id"]')
r=$(api "http://localhost/v1/jobs/$job?wait=60s")
check "the undelete succeeds" "$r" has "$r" '"kind":"undelete".*"state":"succeeded"'
m=$(api http://localhost/metrics)
check "tfsnap_state_deleted is 0 once the state is back" "$m" has "$m" 'tfsnap_state_deleted\{env="prod"\} 0'
e=$(api http://localhost/v1/environments)
check "envs no longer says state-deleted" "$e" not_has "$e" '"result":"state-deleted"'
check "... but the snapshot of the state that is back" "$e" has "$e" '"result":"snapshot","snapshot_id":"[0-9T-]+Z'
s=$(api http://localhost/v1/status)
check "... and its health is ok again" "$s" has "$s" '"health_counts":\{"ok":1\}'

# the I/O thread never stalled: every lag sample (4 a second, over all of the above) under 0.5 s
m=$(api http://localhost/metrics)
lag=$("$PY" -c '
import re, sys
t = sys.stdin.read()
count = float(re.search(r"^tfsnap_event_loop_lag_seconds_count (\S+)$", t, re.M).group(1))
under = float(re.search(r"^tfsnap_event_loop_lag_seconds_bucket\{le=\"0.5\"\} (\S+)$", t, re.M).group(1))
print(int(count), int(under))' <<<"$m")
read -r lag_count lag_under <<<"$lag"
check "the event loop's lag was sampled" "$lag" test "$lag_count" -gt 4
check "... and never reached 0.5 s" "$lag" test "$lag_count" = "$lag_under"
stop_daemon

# --- catalog.git: a foreground tfsnapd backup ------------------------------------------------
out=$("$TFSNAPD" backup prod --config "$WORK/tfsnapd.yaml" --force)
id=$(sed -n 's/^prod: snapshot: snapshot \([^ ]*\).*/\1/p' <<<"$out")
check "the foreground backup takes a snapshot" "$out" test -n "$id"
tags=$(git_in tag -l)
check "... tagged in the catalog's git history" "$tags" has "$tags" "^backup-state/prod/$id\$"

# --- a scheduler that cannot start: no READY=1, a non-zero exit ------------------------------
printf 'not the stamps format\n' >"$WORK/state/schedules.stamps"
: >"$WORK/notify.log"
rc=0
NOTIFY_SOCKET=$WORK/notify.sock timeout 20 "$TFSNAPD" --config "$WORK/tfsnapd.yaml" >"$WORK/bad.log" 2>&1 || rc=$?
sleep 0.2
check "a daemon whose scheduler cannot start exits 70" "$(cat "$WORK/bad.log")" test "$rc" = 70
n=$(cat "$WORK/notify.log")
check "... without READY=1" "$n" not_has "$n" "READY=1"
bad=$(cat "$WORK/bad.log")
check "... naming the file" "$bad" has "$bad" "schedules.stamps"
