#!/usr/bin/env bash
# Runs the lifecycle guard test (lifecycle_guard_test.cpp) against its own radosgw whose
# lifecycle day lasts TFSNAP_LC_DAY seconds (default 5): the shared fixture "s3" has normal
# days, and `lc process` acts on every bucket of the cluster.
#
#   $1  the test executable
#   DYNALITE_HOME  for s3-up (required)
set -euo pipefail
TEST=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HARNESS=$(cd "$HERE/../../harness" && pwd)
export TFSNAP_LC_DAY=${TFSNAP_LC_DAY:-5}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tfsnap-lcguard.XXXXXX")
stop_servers() {
    "$HARNESS/s3-down" "$DIR" >&2 || true
    if "$HARNESS/check-clean" "$DIR" >/dev/null 2>&1; then rm -rf "$DIR"; fi
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
TFSNAP_RGW_LC_DEBUG_INTERVAL=$TFSNAP_LC_DAY "$HARNESS/s3-up" "$DIR" >/dev/null
TFSNAP_HARNESS_ENV=$DIR/env "$TEST"
