#!/usr/bin/env bash
# The S3 test server really verifies SigV4: a request signed with the right secret is
# accepted, the same request signed with a wrong secret gets 403 SignatureDoesNotMatch, an
# unsigned one gets 403, and a body other than the one whose SHA-256 was signed is refused.
# Without this, client tests against the server would prove nothing about signing.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../harness/testlib.bash
. "$(dirname "${BASH_SOURCE[0]}")/../harness/testlib.bash"

B=$(unique_name sigv4)
URL=$S3_ENDPOINT/$B
SK=$AWS_SECRET_ACCESS_KEY
WRONG=${SK:1}x           # same length and alphabet, different key
printf 'state-v1\n' >"$WORK/v1"
printf 'state-v2-other\n' >"$WORK/v2"
body() { head -c "${1:-300}" "$WORK/body"; }
echo "bucket $B on $S3_ENDPOINT"

# --- right secret: accepted
c=$(s3_curl "$SK" "$WORK/body" -X PUT "$URL")
check "CreateBucket signed with the right secret is accepted" "HTTP $c $(body)" glob "$c" '2??'
c=$(s3_curl "$SK" "$WORK/body" -X PUT --data-binary @"$WORK/v1" "$URL/env/terraform.tfstate")
check "PutObject signed with the right secret is accepted" "HTTP $c $(body)" glob "$c" '2??'
c=$(s3_curl "$SK" "$WORK/body" "$URL/env/terraform.tfstate")
check "GetObject signed with the right secret is accepted" "HTTP $c $(body)" test "$c" = 200
check "... and returns the bytes put" "$(body 100)" cmp -s "$WORK/body" "$WORK/v1"
# the same through a second, independent signer
out=$(aws_s3api head-object --bucket "$B" --key env/terraform.tfstate 2>&1) && rc=0 || rc=$?
check "awscli HeadObject with the right secret succeeds" "rc=$rc $out" test "$rc" = 0

# --- wrong secret: 403 SignatureDoesNotMatch, for reads and writes alike
c=$(s3_curl "$WRONG" "$WORK/body" "$URL/env/terraform.tfstate")
code=$(xml_code "$WORK/body")
check "GetObject signed with a wrong secret gets 403" "HTTP $c $(body)" test "$c" = 403
check "... with error code SignatureDoesNotMatch" "code '$code' in $(body)" test "$code" = SignatureDoesNotMatch
c=$(s3_curl "$WRONG" "$WORK/body" -X PUT --data-binary @"$WORK/v2" "$URL/env/terraform.tfstate")
code=$(xml_code "$WORK/body")
check "PutObject signed with a wrong secret gets 403" "HTTP $c $(body)" test "$c" = 403
check "... with error code SignatureDoesNotMatch" "code '$code' in $(body)" test "$code" = SignatureDoesNotMatch
c=$(s3_curl "$SK" "$WORK/body" "$URL/env/terraform.tfstate")
check "... and wrote nothing" "HTTP $c $(body 100)" cmp -s "$WORK/body" "$WORK/v1"
out=$(AWS_SECRET_ACCESS_KEY=$WRONG aws_s3api list-objects-v2 --bucket "$B" 2>&1) && rc=0 || rc=$?
check "awscli ListObjectsV2 with a wrong secret fails" "rc=$rc $(printf '%s' "$out" | head -c 300)" test "$rc" != 0

# --- unsigned: 403
c=$(s3_curl - "$WORK/body" "$URL/env/terraform.tfstate")
check "unsigned GetObject gets 403" "HTTP $c $(body)" test "$c" = 403
c=$(s3_curl - "$WORK/body" -X PUT --data-binary @"$WORK/v2" "$URL/env/terraform.tfstate")
check "unsigned PutObject gets 403" "HTTP $c $(body)" test "$c" = 403

# --- the payload hash is verified too
sha_v1=$(sha256sum <"$WORK/v1" | cut -d' ' -f1)
sha_v2=$(sha256sum <"$WORK/v2" | cut -d' ' -f1)
c=$(s3_curl "$SK" "$WORK/body" -X PUT -H "x-amz-content-sha256: $sha_v1" --data-binary @"$WORK/v2" "$URL/tampered")
check "PutObject whose body differs from the signed SHA-256 is refused" "HTTP $c $(body)" glob "$c" '4??'
c=$(s3_curl "$SK" "$WORK/body" -X PUT -H "x-amz-content-sha256: $sha_v2" --data-binary @"$WORK/v2" "$URL/signed-payload")
check "PutObject with the body's own signed SHA-256 is accepted" "HTTP $c $(body)" test "$c" = 200
