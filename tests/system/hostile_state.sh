#!/usr/bin/env bash
# A hostile state against the running daemon: a Terraform state of 100,000 nested arrays (about
# 200 KB) in S3. Readers that recursed once per level overflowed the stack and killed tfsnapd
# (SIGSEGV) on a backup and on a restore dry run. tfsnapd must snapshot it as an opaque blob
# with a warning (its bytes protected like any state's), answer restore dry runs to and from it,
# and still be running afterwards.
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

B=$(unique_name hostile)
versioned_bucket "$B"
"$PY" "$HERE/../tfstate/gen_state.py" --out "$WORK/v1" --serial 3 --seed 5 >/dev/null
v1=$(aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/v1" | json 'd["VersionId"]')
# a version 4 state whose one resource attribute nests 100,000 arrays deep
"$PY" - "$WORK/deep" <<'PY'
import sys
depth = 100000
head = ('{"version": 4, "terraform_version": "1.9.8", "serial": 4, "lineage": "deep-lineage", "outputs": {},'
        ' "resources": [{"mode": "managed", "type": "null_resource", "name": "n", "provider":'
        ' "provider[\\"registry.terraform.io/hashicorp/null\\"]", "instances": [{"attributes": {"v": ')
open(sys.argv[1], "w").write(head + "[" * depth + "]" * depth + "}}]}]}\n")
PY
size=$(stat -c %s "$WORK/deep")
check "the hostile state is about 200 KB" "$size" test "$size" -gt 200000 -a "$size" -lt 210000
vd=$(aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$WORK/deep" | json 'd["VersionId"]')
sha=$(sha256sum "$WORK/deep" | cut -d' ' -f1)

SOCK=$WORK/control.sock
cat >"$WORK/tfsnapd.yaml" <<YAML
state_dir: $WORK/state
control: { socket: $SOCK }
defaults:
  endpoint: $S3_ENDPOINT
  path_style: true
environments:
  prod:
    bucket: $B
    key: prod/terraform.tfstate
YAML
"$TFSNAPD" --config "$WORK/tfsnapd.yaml" >"$WORK/daemon.log" 2>&1 &
DPID=$!
cleanup() { kill "$DPID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
check "the daemon listens" "$(cat "$WORK/daemon.log")" test -S "$SOCK"
api() { curl -sS --max-time 60 --unix-socket "$SOCK" "$@"; }
alive() { kill -0 "$DPID" 2>/dev/null; }

# the backup: a snapshot, opaque, with a warning that says why
job=$(api -X POST -d '{}' http://localhost/v1/environments/prod/backups | json 'd["job_id"]')
r=$(api "http://localhost/v1/jobs/$job?wait=60s" || true)
check "tfsnapd is still running after backing up the hostile state" "$(tail -5 "$WORK/daemon.log")" alive
check "the backup succeeds" "$r" has "$r" '"state":"succeeded"'
snaps=$(api http://localhost/v1/environments/prod/snapshots)
snap=$(json 'd["snapshots"][0]["snapshot_id"]' <<<"$snaps")
m=$(cat "$WORK/state/catalog/prod/$snap/MANIFEST.json")
check "the snapshot pins the hostile version" "$m" has "$m" "\"version_id\": \"$vd\""
check "... with the checksum of its exact bytes" "$m" has "$m" "\"sha256\": \"$sha\""
check "... and its size" "$m" has "$m" "\"content_length\": $size"
st=$(json '[d["state"]["kind"], d["state"]["serial"], d["state"]["lineage"]]' <<<"$m")
check "... recorded as opaque, with no summary" "$m" test "$st" = "['opaque', None, None]"
log=$(cat "$WORK/daemon.log")
check "the job warns why it is opaque" "$log" has "$log" \
    "backup: .*nests deeper than 10000 levels.*deeper than Terraform itself reads; snapshotted as an opaque blob"

# restore dry runs: to the hostile version (the target is not readable), and from it to v1
# (the current state is not readable): each is answered with a plan, none crashes
plan=$(api -X POST -d "{\"version_id\":\"$vd\",\"reason\":\"hostile test\"}" \
    http://localhost/v1/environments/prod/restores || true)
check "tfsnapd is still running after a dry run to the hostile version" "$(tail -5 "$WORK/daemon.log")" alive
check "... which answers with a plan" "$plan" has "$plan" '"action":"restore"'
check "... that says the target cannot be read and why" "$plan" has "$plan" \
    'the target is not a state tfsnap can read \(opaque: the state nests deeper than 10000 levels'
plan=$(api -X POST -d "{\"version_id\":\"$v1\",\"reason\":\"hostile test\"}" \
    http://localhost/v1/environments/prod/restores || true)
check "tfsnapd is still running after a dry run from the hostile version" "$(tail -5 "$WORK/daemon.log")" alive
check "... which answers with a plan" "$plan" has "$plan" '"action":"restore"'
check "... without a diff of a state it cannot read" "$plan" has "$plan" '"diff":null'

# tfsnapctl reads the same plan (depth-bounded) and shows the warning
out=$("$CTL" --socket "$SOCK" restore prod --version "$vd" --reason "hostile test" --dry-run 2>&1 </dev/null) || true
check "tfsnapctl shows the plan's warning" "$out" has "$out" "warning: the target is not a state tfsnap can read"

st=$(api http://localhost/v1/status)
check "the daemon still answers afterwards" "$st" has "$st" '"environments":1'
kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
check "and exits 0 on SIGTERM" "rc=$rc" test "$rc" = 0
