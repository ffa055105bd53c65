#!/usr/bin/env bash
# The DynamoDB stand-in behaves as Terraform's lock table needs: a table keyed by LockID
# (S), and PutItem conditioned on attribute_not_exists(LockID) succeeds once, then fails
# with ConditionalCheckFailedException while the lock is held.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../harness/testlib.bash
. "$(dirname "${BASH_SOURCE[0]}")/../harness/testlib.bash"

T=$(unique_name locks)
LOCK_ID=tfstate-bucket/env/prod/terraform.tfstate
echo "table $T on $DYNAMODB_ENDPOINT"

aws_dynamodb create-table --table-name "$T" \
    --attribute-definitions AttributeName=LockID,AttributeType=S \
    --key-schema AttributeName=LockID,KeyType=HASH \
    --provisioned-throughput ReadCapacityUnits=1,WriteCapacityUnits=1 >/dev/null
st=""
for _ in $(seq 1 50); do
    st=$(aws_dynamodb describe-table --table-name "$T" --query Table.TableStatus --output text)
    [ "$st" = ACTIVE ] && break
    sleep 0.1
done
check "the lock table becomes ACTIVE" "status '$st'" test "$st" = ACTIVE

cat >"$WORK/item.json" <<JSON
{"LockID": {"S": "$LOCK_ID"},
 "Info": {"S": "{\"ID\":\"5f1c7e0a-0000-4000-8000-000000000001\",\"Operation\":\"OperationTypeApply\",\"Who\":\"test@host\"}"}}
JSON
put_lock() {
    aws_dynamodb put-item --table-name "$T" --item "file://$WORK/item.json" \
        --condition-expression 'attribute_not_exists(LockID)'
}

out=$(put_lock 2>&1) && rc=0 || rc=$?
check "the first conditional PutItem succeeds" "rc=$rc $out" test "$rc" = 0

out=$(put_lock 2>&1) && rc=0 || rc=$?
check "a second identical conditional PutItem fails" "rc=$rc $out" test "$rc" != 0
check "... with ConditionalCheckFailedException" "$out" glob "$out" '*ConditionalCheckFailedException*'

info=$(aws_dynamodb get-item --table-name "$T" --consistent-read \
    --key "{\"LockID\": {\"S\": \"$LOCK_ID\"}}" --query Item.Info.S --output text)
check "the lock item holds the first writer's Info" "'$info'" glob "$info" '*OperationTypeApply*'
