#!/usr/bin/env bash
# tfsnapd cron-next as a process: the DST example from the README, JSON and text output, and
# exit 2 with the reason on invalid input.
# usage: cron_next.sh TFSNAPD
set -euo pipefail
tfsnapd=${1:?tfsnapd binary}
fail() { echo "FAIL: $*" >&2; exit 1; }

# Europe/Berlin springs forward on 2026-03-29: 02:30 does not exist and runs at 03:00 CEST
out=$("$tfsnapd" cron-next --expr "30 2 * * *" --tz Europe/Berlin --from 2026-03-28T00:00:00Z --count 3 --json)
[ "$out" = '["2026-03-28T01:30:00Z","2026-03-29T01:00:00Z","2026-03-30T00:30:00Z"]' ] || fail "spring forward: $out"
# and falls back on 2026-10-25: 02:30 occurs twice and runs once, at the first (CEST) one
out=$("$tfsnapd" cron-next --expr "30 2 * * *" --tz Europe/Berlin --from 2026-10-24T12:00:00Z --count 2 --json)
[ "$out" = '["2026-10-25T00:30:00Z","2026-10-26T01:30:00Z"]' ] || fail "fall back: $out"
# --from is exclusive
out=$("$tfsnapd" cron-next --expr "@daily" --from 2026-01-01T00:00:00Z --count 1 --json)
[ "$out" = '["2026-01-02T00:00:00Z"]' ] || fail "exclusive --from: $out"
# text output names the zone and the UTC instant
out=$("$tfsnapd" cron-next --expr "0 3 * * sun" --tz Asia/Kathmandu --from 2026-11-22T00:00:00Z --count 1)
grep -q "2026-11-29 03:00:00 +0545 (+05:45)  =  2026-11-28T21:15:00Z" <<<"$out" || fail "text output: $out"

for bad in '--expr "0 2 32 * *"' '--expr "0 2 * *"' '--expr "@daily" --tz Mars/Base' '--expr "@daily" --from yesterday' \
           '--expr "@daily" --count 0' '--tz UTC'; do
  set +e
  err=$(eval "\"$tfsnapd\" cron-next $bad" 2>&1 >/dev/null); rc=$?
  set -e
  [ "$rc" = 2 ] || fail "cron-next $bad: exit $rc, want 2"
  [ -n "$err" ] || fail "cron-next $bad: no message"
done
set +e
err=$("$tfsnapd" cron-next --expr "0 2 32 * *" 2>&1 >/dev/null)
set -e
grep -q "day-of-month 32 out of range 1-31 at column 5" <<<"$err" || fail "range message: $err"
echo "cron_next: all checks passed"
