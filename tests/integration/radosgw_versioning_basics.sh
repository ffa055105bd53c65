#!/usr/bin/env bash
# Versioning on the S3 test server: once enabled, every PUT makes a new version with its
# own id, and GET with an old versionId returns that version's bytes.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../harness/testlib.bash
. "$(dirname "${BASH_SOURCE[0]}")/../harness/testlib.bash"

B=$(unique_name versioning)
K=env/prod/terraform.tfstate
printf '{"serial": 1}\n' >"$WORK/v1"
printf '{"serial": 2, "longer": true}\n' >"$WORK/v2"
echo "bucket $B on $S3_ENDPOINT"

aws_s3api create-bucket --bucket "$B" >/dev/null
aws_s3api put-bucket-versioning --bucket "$B" --versioning-configuration Status=Enabled
st=$(aws_s3api get-bucket-versioning --bucket "$B" --query Status --output text)
check "versioning is enabled" "status '$st'" test "$st" = Enabled

v1=$(aws_s3api put-object --bucket "$B" --key "$K" --body "$WORK/v1" --query VersionId --output text)
v2=$(aws_s3api put-object --bucket "$B" --key "$K" --body "$WORK/v2" --query VersionId --output text)
real_id() { [ -n "$1" ] && [ "$1" != None ] && [ "$1" != null ]; }
check "the first PUT returns a version id" "'$v1'" real_id "$v1"
check "the second PUT returns a version id" "'$v2'" real_id "$v2"
check "the two version ids differ" "v1=$v1 v2=$v2" test "$v1" != "$v2"

gv=$(aws_s3api get-object --bucket "$B" --key "$K" --version-id="$v1" "$WORK/got1" --query VersionId --output text)
check "GET ?versionId=<first> returns the first bytes" "'$(head -c 100 "$WORK/got1")'" cmp -s "$WORK/got1" "$WORK/v1"
check "... and names that version" "'$gv'" test "$gv" = "$v1"
aws_s3api get-object --bucket "$B" --key "$K" "$WORK/cur" >/dev/null
check "GET without versionId returns the second bytes" "'$(head -c 100 "$WORK/cur")'" cmp -s "$WORK/cur" "$WORK/v2"
n=$(aws_s3api list-object-versions --bucket "$B" --prefix "$K" --query 'length(Versions)' --output text)
check "ListObjectVersions lists both versions" "$n versions" test "$n" = 2
