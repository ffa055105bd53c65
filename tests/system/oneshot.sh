#!/usr/bin/env bash
# tfsnapd's foreground commands against the harness servers, the way an admin uses them at
# 3 a.m.: back up, list, plan a restore (nothing changes), execute it with the printed token,
# and check the state, Terraform's digest and the audit log with the aws CLI.
#   $1 tfsnapd
set -euo pipefail
umask 022  # as an admin's shell: what tfsnapd writes must be private all the same
TFSNAPD=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../harness/testlib.bash
. "$HERE/../harness/testlib.bash"
has() { grep -qE -- "$2" <<<"$1"; }

B=$(unique_name oneshot)
T=$(unique_name tflocks)
versioned_bucket "$B"
lock_table "$T"
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
# the serial is rolled forward by default: v1 (serial 7) is written with v2's serial + 1
s2=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["serial"])' "$WORK/v2")
s3=$((s2 + 1))
check "the plan shows the serial rolled forward" "$plan" has "$plan" "serial: +$s2 -> $s3 \\(rolled forward"
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
same=$(/usr/bin/python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); print(a["serial"], b["serial"], {k: v for k, v in a.items() if k != "serial"} == {k: v for k, v in b.items() if k != "serial"})' "$WORK/now" "$WORK/v1")
check "the current state is v1's with serial $s3" "$same" test "$same" = "$s3 7 True"
digest=$(aws_dynamodb get-item --table-name "$T" \
    --key "{\"LockID\":{\"S\":\"$B/prod/terraform.tfstate-md5\"}}" --query Item.Digest.S | tr -d '"')
check "the digest is the MD5 of the restored bytes" "$digest" test "$digest" = "$(md5sum <"$WORK/now" | cut -d' ' -f1)"
lock=$(aws_dynamodb get-item --table-name "$T" \
    --key "{\"LockID\":{\"S\":\"$B/prod/terraform.tfstate\"}}")
check "the lock is released" "$lock" test "$(tr -d ' \n{}' <<<"$lock")" = ""
audit=$(tail -1 "$WORK/state/audit.log")
check "the audit log has the restore" "$audit" has "$audit" '"reason":"bad apply".*"result":"ok"'
# the same token cannot run twice: the state changed since that plan
again=$("$TFSNAPD" restore prod "${cfg[@]}" --snapshot "$first" --reason "bad apply" --execute "$token") || true
check "a used token is refused" "$again" has "$again" "state changed since the plan"

# --no-roll-forward-serial writes the old serial back, and the plan says what that risks
keep=$("$TFSNAPD" restore prod "${cfg[@]}" --snapshot "$first" --reason "bad apply" --no-roll-forward-serial)
check "without rolling forward the serial goes back" "$keep" has "$keep" "serial: +$s3 -> 7$"
check "and the plan warns about stale copies" "$keep" has "$keep" "state push. will then accept any stale local copy"

# One owner per state_dir: while another process holds it (as a running tfsnapd does), the
# foreground commands change nothing there and say what to do instead.
mkdir -p "$WORK/state/restore-journal"
printf '{}' >"$WORK/state/restore-journal/r-live.json"
touch "$WORK/state/catalog/prod/.tmp-download-live"
lockbefore=$(stat -c %Y "$WORK/state/restore-journal/r-live.json")
echo "4242 tfsnapd --config elsewhere" >"$WORK/state/tfsnapd.lock"
flock -n -o "$WORK/state/tfsnapd.lock" sleep 30 &
holder=$!
for _ in $(seq 50); do flock -n "$WORK/state/tfsnapd.lock" true || break; sleep 0.1; done
rc=0
busy=$("$TFSNAPD" backup prod "${cfg[@]}" 2>&1) || rc=$?
check "backup refuses with exit 75 while the state_dir is owned" "$busy" test "$rc" = 75
check "and names the owner" "$busy" has "$busy" "in use by another tfsnap process \\(pid 4242 tfsnapd --config elsewhere\\); nothing was changed"
check "and says to ask the daemon with tfsnapctl" "$busy" has "$busy" "tfsnapctl backup prod"
rc=0
busy=$("$TFSNAPD" restore prod "${cfg[@]}" --snapshot "$first" --reason r 2>&1) || rc=$?
check "restore (even a dry run) refuses with exit 75" "$busy" test "$rc" = 75
check "the journal is untouched" "" test -f "$WORK/state/restore-journal/r-live.json"
check "the journal's content is untouched" "" test "$(cat "$WORK/state/restore-journal/r-live.json")" = "{}"
check "the scratch file is untouched" "" test -f "$WORK/state/catalog/prod/.tmp-download-live"
list=$("$TFSNAPD" snapshots prod "${cfg[@]}")
check "snapshots still lists, read-only" "$list" has "$list" "$first"
check "and left the scratch file alone" "" test -f "$WORK/state/catalog/prod/.tmp-download-live"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true
rm -f "$WORK/state/restore-journal/r-live.json"
out=$("$TFSNAPD" backup prod "${cfg[@]}")
check "once the owner is gone, backup works again" "$out" has "$out" "^prod: "
check "and the owner's cleanup removed the scratch file" "" test ! -e "$WORK/state/catalog/prod/.tmp-download-live"
modes=$(find "$WORK/state" -newer "$WORK/v1" \( -type f -perm /077 -o -type d -perm /077 \) -print)
check "files 0600 and directories 0700 under state_dir, whatever the umask" "$modes" test -z "$modes"
echo "all oneshot checks passed"
