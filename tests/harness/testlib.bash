# testlib.bash -- sourced by the shell integration tests. Loads the servers' environment
# written by s3-up (file named by $TFSNAP_HARNESS_ENV), and gives the tests clients and
# assertions that print what was seen when they fail.
#
#   . "$(dirname "$0")/../harness/testlib.bash"
#
# Provides:
#   S3_ENDPOINT, DYNAMODB_ENDPOINT, AWS_* (from the env file)
#   WORK                     a scratch folder, removed on exit
#   aws_s3api ARGS...        Debian's awscli against S3_ENDPOINT
#   aws_dynamodb ARGS...     Debian's awscli against DYNAMODB_ENDPOINT
#   s3_curl SECRET OUT ARGS...  curl signed with SigV4 (or unsigned if SECRET is "-");
#                            body to OUT, prints the HTTP status
#   xml_code FILE            the <Code> of an S3 error body
#   unique_name PREFIX       a bucket/table name no other run uses
#   check DESC SEEN CMD...   run CMD (a test); if it fails, exit 1 printing DESC and SEEN
#   glob STR PATTERN         true if STR matches the shell PATTERN (e.g. glob "$code" '2??')
#   fail MSG, pass MSG
# A command that fails outside a check ends the test with its line and text on stderr.
set -eEuo pipefail
on_err() {
    local rc=$? i
    echo "FAIL: exit $rc: $BASH_COMMAND" >&2
    for ((i = 0; i < ${#BASH_LINENO[@]} - 1; i++)); do
        echo "  at ${BASH_SOURCE[i + 1]##*/}:${BASH_LINENO[i]}" >&2
    done
}
trap on_err ERR

if [ -z "${TFSNAP_HARNESS_ENV:-}" ]; then
    echo "TFSNAP_HARNESS_ENV is not set: it names the env file s3-up writes (ctest sets it)" >&2
    exit 1
fi
if [ ! -r "$TFSNAP_HARNESS_ENV" ]; then
    echo "TFSNAP_HARNESS_ENV=$TFSNAP_HARNESS_ENV is not readable: is the server up (s3-up)?" >&2
    exit 1
fi
# shellcheck disable=SC1090
. "$TFSNAP_HARNESS_ENV"
: "${S3_ENDPOINT:?missing in $TFSNAP_HARNESS_ENV}" "${DYNAMODB_ENDPOINT:?missing in $TFSNAP_HARNESS_ENV}"
: "${AWS_ACCESS_KEY_ID:?missing in $TFSNAP_HARNESS_ENV}" "${AWS_SECRET_ACCESS_KEY:?missing in $TFSNAP_HARNESS_ENV}"
# the env file sets these too; repeated so that a hand-written env file cannot let the aws
# CLI read ~/.aws or wait for an instance metadata service
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER="" \
    AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}

# Debian's awscli: another `aws` earlier on PATH may lack the Debian Python packages
AWS_CLI=/usr/bin/aws
[ -x "$AWS_CLI" ] || { echo "$AWS_CLI not found (Debian: apt-get install awscli)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tfsnap-it.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# check DESC SEEN CMD...: CMD is the assertion, SEEN what to print when it does not hold
check() {
    local desc=$1 seen=$2
    shift 2
    if "$@"; then
        pass "$desc"
    else
        fail "$desc (expected: $*)${seen:+; saw: $seen}"
    fi
}
# shellcheck disable=SC2053  # the pattern is meant to match as a pattern
glob() { [[ $1 == $2 ]]; }

aws_s3api() {
    "$AWS_CLI" --endpoint-url "$S3_ENDPOINT" --output json \
        --cli-connect-timeout 10 --cli-read-timeout 30 s3api "$@"
}
aws_dynamodb() {
    "$AWS_CLI" --endpoint-url "$DYNAMODB_ENDPOINT" --output json \
        --cli-connect-timeout 10 --cli-read-timeout 30 dynamodb "$@"
}

# s3_curl SECRET OUT ARGS...: path-style request to S3_ENDPOINT, signed with SigV4 using
# AWS_ACCESS_KEY_ID and SECRET, or sent unsigned when SECRET is "-". Prints the status.
# curl 7.88's --aws-sigv4 does not send x-amz-content-sha256, which S3 requires: sign
# "UNSIGNED-PAYLOAD" unless the caller passes its own. Query parameters must be given
# sorted and as k=v (curl does not canonicalise them).
s3_curl() {
    local secret=$1 out=$2
    shift 2
    local sign=()
    if [ "$secret" != - ]; then
        sign=(--aws-sigv4 "aws:amz:${AWS_DEFAULT_REGION}:s3" --user "$AWS_ACCESS_KEY_ID:$secret")
        local h has_sha=0
        for h in "$@"; do [[ "${h,,}" == x-amz-content-sha256:* ]] && has_sha=1; done
        [ "$has_sha" = 1 ] || sign+=(-H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
    fi
    curl -sS --max-time 30 -o "$out" -w '%{http_code}' "${sign[@]}" "$@"
}

# the <Code> element of an S3 error document ("" if none)
xml_code() { sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$1" | head -n 1; }

# lower-case, starts with a letter, <= 63 characters: valid as an S3 bucket and a table name
unique_name() {
    printf '%s-%s-%s-%s\n' "$1" "$(date +%s)" "$$" "$RANDOM"
}

# versioned_bucket NAME: a bucket with versioning on, as Terraform's S3 backend wants it
versioned_bucket() {
    aws_s3api create-bucket --bucket "$1" >/dev/null
    aws_s3api put-bucket-versioning --bucket "$1" --versioning-configuration Status=Enabled
}

# lock_table NAME: a DynamoDB table as Terraform's S3 backend locks in (hash key LockID)
lock_table() {
    aws_dynamodb create-table --table-name "$1" --attribute-definitions AttributeName=LockID,AttributeType=S \
        --key-schema AttributeName=LockID,KeyType=HASH --billing-mode PAY_PER_REQUEST >/dev/null
}
