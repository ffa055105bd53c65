#!/usr/bin/env bash
# Lifecycle expiration on the S3 test server, the sequence the lifecycle guard is about:
# with NoncurrentVersionExpiration {NoncurrentDays: 1} on a prefix, writing v1 then v2 of a
# state object makes v1 noncurrent, and once a lifecycle "day" has passed since v2 was
# written, `radosgw-admin lc process` deletes v1 for good. Also: GetBucketLifecycle returns the
# rules as written, a key outside the prefix keeps its versions, and Expiration {Days: 1}
# puts a delete marker in front of a current version. Findings and timings:
# tests/harness/README.md, "Lifecycle (expiration) on radosgw".
#
# Starts its own servers (not the shared fixture "s3"): the length of a lifecycle day
# (`rgw lc debug interval`) is fixed when s3-up writes ceph.conf, and `lc process` acts on
# every bucket of the cluster, whatever rules other tests left there.
#
#   DYNALITE_HOME            for s3-up (required)
#   TFSNAP_LC_HARNESS_DIR    where the servers live (default: a new temporary folder)
#   TFSNAP_LC_DAY            seconds per lifecycle day (default 5)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HARNESS=$(cd "$HERE/../harness" && pwd)
DAY=${TFSNAP_LC_DAY:-5}
if [ -n "${TFSNAP_LC_HARNESS_DIR:-}" ]; then
    DIR=$TFSNAP_LC_HARNESS_DIR
    OWN_DIR=0
else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/tfsnap-lc.XXXXXX")
    OWN_DIR=1
fi

stop_servers() {
    "$HARNESS/s3-down" "$DIR" >&2 || true
    if [ "$OWN_DIR" = 1 ] && "$HARNESS/check-clean" "$DIR" >/dev/null 2>&1; then rm -rf "$DIR"; fi
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t_start=$(date +%s)
TFSNAP_RGW_LC_DEBUG_INTERVAL=$DAY "$HARNESS/s3-up" "$DIR" >/dev/null
export TFSNAP_HARNESS_ENV=$DIR/env
# shellcheck source-path=SCRIPTDIR source=../harness/testlib.bash
. "$HARNESS/testlib.bash"
# testlib.bash set its own EXIT trap (removing WORK): keep both
trap 'rm -rf "$WORK"; stop_servers' EXIT
echo "servers up in $(($(date +%s) - t_start))s; a lifecycle day lasts ${DAY}s"

# Every lifecycle run has a deadline. A run costs ~0.3s plus, per bucket with a lifecycle
# configuration, ~2s with radosgw's default 3 worker threads and ~0.6s with one.
lc_process() {
    timeout 60 radosgw-admin -c "$CEPH_CONF" --rgw-lc-max-wp-worker=1 lc process >"$WORK/lc.out" 2>&1
}
# the versions and delete markers of key $1, one "V|D VERSION_ID latest|-" line each, from
# one ListObjectVersions of the bucket
entries() {
    aws_s3api list-object-versions --bucket "$B" --prefix "$1" >"$WORK/list.json"
    /usr/bin/python3 - "$WORK/list.json" "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for kind, field in (("V", "Versions"), ("D", "DeleteMarkers")):
    for e in doc.get(field) or []:
        if e["Key"] == sys.argv[2]:
            print(kind, e["VersionId"], "latest" if e["IsLatest"] else "-")
PY
}
# has LINES PATTERN: one of LINES matches the grep pattern
has() { grep -qE "$2" <<<"$1"; }
lacks() { ! has "$@"; }
count() { grep -cE "$2" <<<"$1" || true; }

B=$(unique_name lifecycle)
STATE=state/terraform.tfstate
OTHER=other/terraform.tfstate
CURRENT=current/terraform.tfstate
echo "bucket $B on $S3_ENDPOINT"
aws_s3api create-bucket --bucket "$B" >/dev/null
aws_s3api put-bucket-versioning --bucket "$B" --versioning-configuration Status=Enabled

cat >"$WORK/rules.json" <<'EOF'
{"Rules": [
  {"ID": "expire-noncurrent", "Status": "Enabled", "Filter": {"Prefix": "state/"},
   "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
  {"ID": "expire-current", "Status": "Enabled", "Filter": {"Prefix": "current/"},
   "Expiration": {"Days": 1}}
]}
EOF
aws_s3api put-bucket-lifecycle-configuration --bucket "$B" --lifecycle-configuration "file://$WORK/rules.json"

st=$(s3_curl "$AWS_SECRET_ACCESS_KEY" "$WORK/lc.xml" "$S3_ENDPOINT/$B?lifecycle=")
xml=$(cat "$WORK/lc.xml")
check "GetBucketLifecycleConfiguration answers 200" "$st" test "$st" = 200
check "... with the NoncurrentVersionExpiration rule and its Filter/Prefix" "$xml" glob "$xml" \
    '*<Rule><ID>expire-noncurrent</ID><Filter><Prefix>state/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>*'
check "... and the Expiration rule" "$xml" glob "$xml" \
    '*<Rule><ID>expire-current</ID><Filter><Prefix>current/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>*'

printf '{"serial": 1}\n' >"$WORK/v1"
printf '{"serial": 2}\n' >"$WORK/v2"
c1=$(aws_s3api put-object --bucket "$B" --key "$CURRENT" --body "$WORK/v1" --query VersionId --output text)
aws_s3api put-object --bucket "$B" --key "$OTHER" --body "$WORK/v1" >/dev/null
aws_s3api put-object --bucket "$B" --key "$OTHER" --body "$WORK/v2" >/dev/null
# put_version FILE: writes FILE as the state and prints the new version's id; an answer without
# one fails here, with the whole answer (radosgw under load once answered without it)
put_version() {
    local out vid
    out=$(aws_s3api put-object --bucket "$B" --key "$STATE" --body "$1")
    vid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("VersionId", ""))' <<<"$out")
    if [ -z "$vid" ]; then
        echo "FAIL: PutObject of $1 answered without a VersionId: $out" >&2
        exit 1
    fi
    echo "$vid"
}
v1=$(put_version "$WORK/v1")
v2=$(put_version "$WORK/v2")
# a run before the day has passed leaves v1 alone (checked below, once v2's time is known)
lc_process
early_end=$(date +%s)
lm=$(aws_s3api head-object --bucket "$B" --key "$STATE" --version-id="$v2" --query LastModified --output text)
# radosgw deletes once now - mtime >= DAY, with mtime to the second (rgw_lc.cc obj_has_expired)
due=$(($(date -d "$lm" +%s) + DAY))
echo "v1=$v1 v2=$v2; v2 written $lm, v1 due for deletion at $(date -u -d "@$due" +%H:%M:%S)"

if [ "$early_end" -lt "$due" ]; then
    e=$(entries "$STATE")
    check "lc process before a day has passed keeps v1" "$e" has "$e" "^V $v1 "
else
    echo "note: the early lc process ended after v1 was due: its check is skipped"
fi

# radosgw deletes once now - mtime >= DAY: no margin needed beyond the second `due` names
while [ "$(date +%s)" -lt "$due" ]; do sleep 0.2; done
t_lc=$(date +%s%N)
lc_process
echo "lc process took $((($(date +%s%N) - t_lc) / 1000000))ms"

e=$(entries "$STATE")
check "lc process after a day deletes the noncurrent v1" "$e" lacks "$e" "^V $v1 "
check "... keeps the current v2" "$e" has "$e" "^V $v2 latest$"
e=$(entries "$OTHER")
n=$(count "$e" "^V ")
check "... keeps both versions of a key outside the rule's prefix" "$e" test "$n" = 2
e=$(entries "$CURRENT")
check "Expiration Days puts a delete marker in front of the current version" "$e" has "$e" "^D .* latest$"
check "... which stays as a noncurrent version" "$e" has "$e" "^V $c1 -$"
lcl=$(radosgw-admin -c "$CEPH_CONF" lc list 2>/dev/null | tr -d ' \n')
check "radosgw-admin lc list shows the bucket COMPLETE" "$lcl" glob "$lcl" "*\"bucket\":\":$B:*\"status\":\"COMPLETE\"*"

"$HARNESS/s3-down" "$DIR" >&2
check "no server outlives the test" "" "$HARNESS/check-clean" "$DIR"
echo "done in $(($(date +%s) - t_start))s"
