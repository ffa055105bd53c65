#!/usr/bin/env bash
# tfsnapd --check-config / --version / --help, run as a process: exit codes and output.
# usage: check_config.sh TFSNAPD SOURCE_DIR
set -euo pipefail
tfsnapd=${1:?tfsnapd binary}
src=${2:?source dir}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# the shipped example is valid, and the description names what it configures
out=$("$tfsnapd" --check-config "$src/config/example.yaml") || fail "example.yaml: exit $?"
grep -q "OK, 3 environments" <<<"$out" || fail "no summary line in: $out"
grep -q "environment myorg" <<<"$out" || fail "myorg missing"
grep -q "state:     file /srv/infra/dev/terraform.tfstate (local backend)" <<<"$out" || fail "dev (local state) missing"
grep -q "DynamoDB table terraform-locks (LockID okta-terraform-demo/Okta-GitOps/myorg/terraform.tfstate" <<<"$out" \
  || fail "myorg lock description missing"
grep -q "S3 lockfile s3://acme-tfstate-staging/env:/staging/platform/terraform.tfstate.tflock" <<<"$out" \
  || fail "staging lockfile description missing"
grep -q 'schedule weekly: cron "0 3 \* \* sun" in Europe/Berlin' <<<"$out" || fail "weekly schedule missing"
# each schedule lists its next 5 runs; the jitter is a fixed function of the names, so a
# schedule runs at the same second in every release
[ "$(grep -c "next runs" <<<"$out")" = 5 ] || fail "next runs missing: $out"
grep -q "next runs (jitter +26s):" <<<"$out" || fail "myorg/daily jitter changed: $out"
[ "$(grep -cE '^      20[0-9-]+ [0-9:]+ (UTC|CES?T|[+-][0-9]+)  =  20[0-9-]+T[0-9:]+Z$' <<<"$out")" = 25 ] \
  || fail "want 25 run lines: $out"

# three different mistakes (the typo'd bucket is one mistake, one message): exit 78, three messages with file:line:col, nothing on stdout
cat >"$work/bad.yaml" <<'YAML'
state_dir: relative/dir
environments:
  prod:
    buckt: tf-state
    key: prod/terraform.tfstate
    retention: { keep_daily: -1 }
YAML
set +e
"$tfsnapd" --check-config "$work/bad.yaml" >"$work/out" 2>"$work/err"
rc=$?
set -e
[ "$rc" = 78 ] || fail "bad config: exit $rc, want 78"
[ ! -s "$work/out" ] || fail "bad config printed to stdout: $(cat "$work/out")"
grep -q "^$work/bad.yaml:1:12: error: state_dir: the path \"relative/dir\" is not absolute" "$work/err" || fail "state_dir message: $(cat "$work/err")"
grep -q "^$work/bad.yaml:4:5: error: environments.prod.buckt: unknown key \"buckt\"; did you mean \"bucket\"?" "$work/err" || fail "typo message: $(cat "$work/err")"
grep -q "^$work/bad.yaml:6:30: error: environments.prod.retention.keep_daily: must not be negative" "$work/err" || fail "retention message: $(cat "$work/err")"
[ "$(grep -c ': error: ' "$work/err")" = 3 ] || fail "want 3 messages: $(cat "$work/err")"
grep -q "3 problems; nothing was started" "$work/err" || fail "no count line"

# metrics.listen must be a loopback address
cat >"$work/metrics.yaml" <<'YAML'
metrics:
  listen: 0.0.0.0:9464
environments:
  prod: { bucket: tf-state, key: prod/terraform.tfstate }
YAML
set +e
"$tfsnapd" --check-config "$work/metrics.yaml" >/dev/null 2>"$work/err"; rc=$?
set -e
[ "$rc" = 78 ] || fail "metrics.listen 0.0.0.0: exit $rc, want 78"
grep -q "^$work/metrics.yaml:2:11: error: metrics.listen: 0.0.0.0 is not a loopback address.*; write a loopback address and port, such as 127.0.0.1:9464" "$work/err" \
  || fail "metrics.listen message: $(cat "$work/err")"

# a missing file: exit 78 with the reason
set +e
"$tfsnapd" --check-config "$work/missing.yaml" 2>"$work/err"; rc=$?
set -e
[ "$rc" = 78 ] || fail "missing file: exit $rc"
grep -q "cannot read the file: No such file or directory" "$work/err" || fail "missing file message: $(cat "$work/err")"

# usage errors exit 64; --version and --help exit 0
set +e
"$tfsnapd" --bogus 2>/dev/null; rc=$?
set -e
[ "$rc" = 64 ] || fail "--bogus: exit $rc, want 64"
set +e
"$tfsnapd" --check-config 2>/dev/null; rc=$?
set -e
[ "$rc" = 64 ] || fail "--check-config without FILE: exit $rc, want 64"
"$tfsnapd" --version | grep -Eq '^tfsnapd [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version output"
"$tfsnapd" --help | grep -q -- "--check-config FILE" || fail "--help output"
echo "check_config: all checks passed"
