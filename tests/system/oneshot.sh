#!/usr/bin/env bash
# tfsnapd's foreground commands against the harness servers, the way an admin uses them at
# 3 a.m.: back up, list, plan a restore (nothing changes), execute it with the printed token,
# and check the state, Terraform's digest and the audit log with the aws CLI.
#   $1 tfsnapd
set -euo pipefail
TFSNAPD=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../harness/testlib.bash
. "$HERE/../harness/testlib.bash"
has() { grep -qE -- "$2" <<<"$1"; }

B=$(unique_name oneshot)
T=$(unique_name tflocks)
aws_s3api create-bucket --bucket "$B" >/dev/null
aws_s3api put-bucket-versioning --bucket "$B" --versioning-configuration Status=Enabled
aws_dynamodb create-table --table-name "$T" \
    --attribute-definitions AttributeName=LockID,AttributeType=S --key-schema AttributeName=LockID,KeyType=HASH \
    --billing-mode PAY_PER_REQUEST >/dev/null
gen() { /usr/bin/python3 "$HERE/../tfstate/gen_state.py" --out "$1" --serial "$2" --seed 3 \
    --lineage 0e2d57aa-1111-2222-3333-444455556666 ${3:+--mutate} >/dev/null; }
gen "$WORK/v1" 7
gen "$WORK/v2" 8 mutate
cat >"$WORK/tfsnapd.yaml" <<YAML
state_dir: $WORK/state
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
cfg=(--config "$WORK/tfsnapd.yaml")
put() { aws_s3api put-object --bucket "$B" --key prod/terraform.tfstate --body "$1" --query VersionId | tr -d '"'; }

v1=$(put "$WORK/v1")
out=$("$TFSNAPD" backup prod "${cfg[@]}")
check "backup takes a snapshot" "$out" has "$out" "^prod: snapshot: snapshot .* of version $v1, serial 7$"
v2=$(put "$WORK/v2")
"$TFSNAPD" backup prod "${cfg[@]}" >/dev/null
out=$("$TFSNAPD" backup prod "${cfg[@]}")
check "an unchanged state is a check, not a snapshot" "$out" has "$out" "^prod: unchanged: version $v2 is already snapshot"
list=$("$TFSNAPD" snapshots prod "${cfg[@]}")
check "snapshots lists both, newest first" "$list" has "$(sed -n 2p <<<"$list")" " $v2 "
first=$(sed -n 3p <<<"$list" | awk '{print $1}')
js=$("$TFSNAPD" snapshots prod "${cfg[@]}" --json)
got=$(/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["environment"], len(d["snapshots"]), d["snapshots"][0]["version_id"], d["snapshots"][1]["snapshot_id"])' <<<"$js")
check "snapshots --json lists the same, newest first" "$js" test "$got" = "prod 2 $v2 $first"

# the dry run changes nothing and prints a token
plan=$("$TFSNAPD" restore prod "${cfg[@]}" --snapshot "$first" --reason "bad apply")
check "the plan shows the serial move" "$plan" has "$plan" "serial: +[0-9]+ -> 7$"
check "the plan shows the lock is free" "$plan" has "$plan" "lock: .*LockID $B/prod/terraform.tfstate: free"
now=$(aws_s3api head-object --bucket "$B" --key prod/terraform.tfstate --query VersionId | tr -d '"')
check "the dry run wrote nothing" "$now" test "$now" = "$v2"
token=$(grep -A1 -- "run the same command with" <<<"$plan" | tail -1 | awk '{print $2}')
check "the plan printed a token" "$token" test -n "$token"

# a wrong token is refused, the right one executes
rc=0
bad=$("$TFSNAPD" restore prod "${cfg[@]}" --snapshot "$first" --reason "bad apply" --execute "x${token}") || rc=$?
check "a tampered token is refused with exit 1" "$bad" test "$rc" = 1
done_out=$("$TFSNAPD" restore prod "${cfg[@]}" --snapshot "$first" --reason "bad apply" --execute "$token")
check "the restore succeeds" "$done_out" has "$done_out" "^ok: restored s3://$B/prod/terraform.tfstate"
aws_s3api get-object --bucket "$B" --key prod/terraform.tfstate "$WORK/now" >/dev/null
check "the current bytes are v1's" "" cmp -s "$WORK/now" "$WORK/v1"
digest=$(aws_dynamodb get-item --table-name "$T" \
    --key "{\"LockID\":{\"S\":\"$B/prod/terraform.tfstate-md5\"}}" --query Item.Digest.S | tr -d '"')
check "the digest is the MD5 of the restored bytes" "$digest" test "$digest" = "$(md5sum <"$WORK/v1" | cut -d' ' -f1)"
lock=$(aws_dynamodb get-item --table-name "$T" \
    --key "{\"LockID\":{\"S\":\"$B/prod/terraform.tfstate\"}}")
check "the lock is released" "$lock" test "$(tr -d ' \n{}' <<<"$lock")" = ""
audit=$(tail -1 "$WORK/state/audit.log")
check "the audit log has the restore" "$audit" has "$audit" '"reason":"bad apply".*"result":"ok"'
# the same token cannot run twice: the state changed since that plan
again=$("$TFSNAPD" restore prod "${cfg[@]}" --snapshot "$first" --reason "bad apply" --execute "$token") || true
check "a used token is refused" "$again" has "$again" "state changed since the plan"
echo "all oneshot checks passed"
