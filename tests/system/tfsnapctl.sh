#!/usr/bin/env bash
# tfsnapctl against a running tfsnapd and the harness servers: backup --wait, snapshots, a
# restore (dry run, then --yes: the state in S3 is the target's bytes again), audit, status,
# human output, and the exit codes (4 unknown environment, 5 no daemon, 2 no TTY without --yes,
# 3 a held Terraform lock naming its holder, 3 a reader asking for a backup).
#   $1 tfsnapd  $2 tfsnapctl
set -euo pipefail
TFSNAPD=$1
CTL=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../harness/testlib.bash
. "$HERE/../harness/testlib.bash"
has() { grep -qE -- "$2" <<<"$1"; }
PY=/usr/bin/python3
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# ctl ARGS...: runs tfsnapctl, stdout+stderr to $OUT, the exit code to $RC (never fails)
ctl() { RC=0; OUT=$("$CTL" --socket "$SOCK" "$@" </dev/null 2>&1) || RC=$?; }

B=$(unique_name ctl)
T=$(unique_name ctllocks)
versioned_bucket "$B"
lock_table "$T"
"$PY" "$HERE/../tfstate/gen_state.py" --out "$WORK/v1" --serial 3 --seed 5 >/dev/null
"$PY" "$HERE/../tfstate/gen_state.py" --out "$WORK/v2" --serial 4 --seed 5 --mutate >/dev/null
aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/v1" >/dev/null

SOCK=$WORK/control.sock
config() {  # config [control yaml]
    cat <<YAML
state_dir: $WORK/state
control: { socket: $SOCK ${1:-} }
defaults:
  endpoint: $S3_ENDPOINT
  dynamodb_endpoint: $DYNAMODB_ENDPOINT
  path_style: true
environments:
  prod:
    bucket: $B
    key: prod/terraform.tfstate
    lock: { dynamodb_table: $T }
YAML
}
config ", readers: [user:nobody]" >"$WORK/tfsnapd.yaml"
"$TFSNAPD" --config "$WORK/tfsnapd.yaml" >"$WORK/daemon.log" 2>&1 &
DPID=$!
cleanup() { kill "$DPID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
check "the daemon listens" "$(cat "$WORK/daemon.log")" test -S "$SOCK"

ctl --version
check "--version" "$OUT" has "$OUT" "^tfsnapctl [0-9]"
ctl --help
check "--help documents the exit codes" "$OUT" has "$OUT" "5 tfsnapd unreachable"
ctl --json status
check "status --json" "$OUT" has "$OUT" '"environments":1'
ctl --json backup prod --wait
check "backup --wait exits 0" "$OUT" test "$RC" = 0
check "backup --wait prints the finished job" "$OUT" has "$OUT" '"state":"succeeded"'
ctl --json snapshots prod
snap=$(json 'd["snapshots"][0]["snapshot_id"]' <<<"$OUT")
check "snapshots --json lists the snapshot" "$OUT" test -n "$snap"

aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/v2" >/dev/null
ctl --json restore prod --snapshot "$snap" --reason "ctl test" --dry-run
check "restore --dry-run exits 0" "$OUT" test "$RC" = 0
check "restore --dry-run prints the plan" "$OUT" has "$OUT" '"token":"[^"]+'
ctl restore prod --snapshot "$snap" --reason "ctl test" --dry-run
# rolled forward by default: the snapshot's state is written with the current serial + 1
s2=$(json 'd["serial"]' <"$WORK/v2")
check "the human plan shows the serial rolled forward" "$OUT" has "$OUT" "serial: +$s2 -> $((s2 + 1)) \\(rolled forward\\)"
ctl restore prod --snapshot "$snap" --reason "ctl test" --dry-run --no-roll-forward-serial
check "--no-roll-forward-serial shows the serial going back" "$OUT" has "$OUT" "serial: +$s2 -> 3$"
check "the human plan shows the lock" "$OUT" has "$OUT" "lock .*: free"
ctl restore prod --snapshot "$snap" --reason "ctl test"
check "restore without a TTY and without --yes exits 2" "$OUT" test "$RC" = 2
check "... and says to pass --yes" "$OUT" has "$OUT" "pass --yes"
aws_s3api get-object --bucket "$B" --key prod/terraform.tfstate "$WORK/now" >/dev/null
check "... and changes nothing" "" cmp -s "$WORK/now" "$WORK/v2"

# a Terraform lock held by alice: refused, exit 3, naming her
lock_info=$(printf '{"ID":"8e5a1c3d-7c2b-4a6f-9d0e-2f1b3c4d5e6f","Operation":"OperationTypeApply","Info":"","Who":"alice@ops-1","Version":"1.9.8","Created":"2026-11-22T03:04:05.123456789Z","Path":"%s/prod/terraform.tfstate"}' "$B")
item=$("$PY" -c 'import json,sys; print(json.dumps({"LockID":{"S":sys.argv[1]},"Info":{"S":sys.argv[2]}}))' \
    "$B/prod/terraform.tfstate" "$lock_info")
aws_dynamodb put-item --table-name "$T" --item "$item" >/dev/null
ctl restore prod --snapshot "$snap" --reason "ctl test" --yes
check "a restore under a held lock exits 3" "$OUT" test "$RC" = 3
check "... naming the holder" "$OUT" has "$OUT" "alice@ops-1"
aws_s3api get-object --bucket "$B" --key prod/terraform.tfstate "$WORK/now" >/dev/null
check "... and changes nothing" "" cmp -s "$WORK/now" "$WORK/v2"
aws_dynamodb delete-item --table-name "$T" \
    --key "{\"LockID\":{\"S\":\"$B/prod/terraform.tfstate\"}}" >/dev/null

ctl --json restore prod --snapshot "$snap" --reason "ctl test" --yes
check "restore --yes exits 0" "$OUT" test "$RC" = 0
check "restore --yes prints the finished job" "$OUT" has "$OUT" '"state":"succeeded"'
check "... with its result" "$OUT" has "$OUT" '"result":\{"result":"ok"'
aws_s3api get-object --bucket "$B" --key prod/terraform.tfstate "$WORK/now" >/dev/null
same=$("$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); a.pop("serial"); b.pop("serial"); print(a == b)' "$WORK/now" "$WORK/v1")
check "the state is the snapshot's again, serial rolled forward" "$same" test "$same" = True
check "... to $((s2 + 1))" "" test "$(json 'd["serial"]' <"$WORK/now")" = $((s2 + 1))

ctl --json audit --env prod --limit 5
check "audit --json has the restore" "$OUT" has "$OUT" '"reason":"ctl test"'
ctl --json status
check "status after the restore" "$OUT" has "$OUT" '"version":'
ctl --json metrics
v=$(json '[m["value"] for m in d["metrics"] if m["name"]=="tfsnap_restore_total" and m["labels"]=={"env":"prod","result":"ok"}][0]' <<<"$OUT")
check "metrics --json counts the restore" "$OUT" test "$v" = 1.0
v=$(json '[m["value"] for m in d["metrics"] if m["name"]=="tfsnap_backup_duration_seconds_count"][0]' <<<"$OUT")
check "... and the backup's duration" "$OUT" test "$v" != 0.0
ctl metrics
check "metrics prints the Prometheus text" "$OUT" has "$OUT" '^# TYPE tfsnap_backup_total counter$'

# human output
ctl envs
check "envs prints a table" "$OUT" has "$OUT" "^ENV +WHERE"
check "... with prod" "$OUT" has "$OUT" "^prod +s3://$B/prod/terraform.tfstate"
ctl snapshots prod
check "snapshots prints a table" "$OUT" has "$OUT" "^SNAPSHOT +CREATED"
check "... with the snapshot" "$OUT" has "$OUT" "^$snap "
ctl jobs
check "jobs prints a table" "$OUT" has "$OUT" "^ID +KIND +ENV +STATE"
check "... with the restore" "$OUT" has "$OUT" "restore +prod +succeeded"
ctl versions prod
check "versions prints a table" "$OUT" has "$OUT" "^VERSION +MODIFIED"
ctl audit
check "audit prints the restore" "$OUT" has "$OUT" "restore +ok .*ctl test"
ctl status
check "status prints key: value" "$OUT" has "$OUT" "^environments: +1"
check "no colour without a TTY" "$OUT" test "$(grep -c $'\033' <<<"$OUT" || true)" = 0
ctl prune prod --dry-run
check "prune --dry-run" "$OUT" has "$OUT" "\(dry run\)"

# exit codes
ctl snapshots nope
check "an unknown environment exits 4" "$OUT" test "$RC" = 4
check "... saying so" "$OUT" has "$OUT" "no environment nope"
RC=0
OUT=$("$CTL" --socket "$WORK/missing.sock" status 2>&1) || RC=$?
check "a missing socket exits 5" "$OUT" test "$RC" = 5
check "... with a hint" "$OUT" has "$OUT" "cannot reach tfsnapd at $WORK/missing.sock: .*is it running\? \(systemctl status tfsnapd\)"
RC=0
OUT=$(TFSNAP_SOCKET=$SOCK "$CTL" status 2>&1) || RC=$?
check "\$TFSNAP_SOCKET names the socket" "$OUT" test "$RC" = 0
ctl frobnicate
check "an unknown command exits 2" "$OUT" test "$RC" = 2
ctl restore prod
check "restore without a target exits 2" "$OUT" test "$RC" = 2

# authorization: nobody is a reader
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chmod 0755 "$WORK"
    as_nobody() { RC=0; OUT=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" --socket "$SOCK" "$@" 2>&1) || RC=$?; }
    as_daemon() { RC=0; OUT=$(setpriv --reuid=daemon --regid=daemon --clear-groups "$CTL" --socket "$SOCK" "$@" 2>&1) || RC=$?; }
    # the socket is 0660 and root's group: a user outside it cannot even connect
    mode=$(stat -c %a "$SOCK")
    check "the control socket is 0660" "$mode" test "$mode" = 660
    as_nobody snapshots prod
    check "a user outside the socket's group exits 5" "$OUT" test "$RC" = 5
    check "... saying permission was denied" "$OUT" has "$OUT" "[Pp]ermission denied"
    chmod 0666 "$SOCK"
    # a user who can connect but is neither a reader nor an operator: 403, naming the role
    as_daemon --json snapshots prod
    check "a user with no role is refused (exit 3)" "$OUT" test "$RC" = 3
    check "... with a clear 403 naming the reader role" "$OUT" has "$OUT" "reader"
    as_nobody --json snapshots prod
    check "a reader may list snapshots" "$OUT" test "$RC" = 0
    as_nobody backup prod
    check "a reader asking for a backup exits 3" "$OUT" test "$RC" = 3
    check "... naming the operator role" "$OUT" has "$OUT" "operator"
else
    echo "not root or no setpriv: authorization not tested" >&2
fi
echo "all tfsnapctl checks passed"
