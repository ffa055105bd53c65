#!/usr/bin/env bash
# tfsnap's Prometheus exposition read by an independent implementation: Python's
# prometheus_client text parser (Debian python3-prometheus-client) must parse the sample that
# tfsnap_metrics_sample prints (tests/unit/metrics/sample.hpp) and find the values set there.
# Skipped (exit 77) when python3-prometheus-client is not installed.
# usage: metrics_parse.sh METRICS_SAMPLE
set -euo pipefail
sample=${1:?tfsnap_metrics_sample binary}
fail() { echo "FAIL: $*" >&2; exit 1; }
# Debian's interpreter, where the Debian package installs the module
py=/usr/bin/python3
if ! "$py" -c 'import prometheus_client.parser' 2>/dev/null; then
  echo "SKIP: python3-prometheus-client is not installed (scripts/deps installs it)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$sample" >"$work/metrics.txt" || fail "tfsnap_metrics_sample: exit $?"

"$py" - "$work/metrics.txt" <<'PY' || fail "prometheus_client disagrees (see above)"
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1], encoding="utf-8").read()
families = list(text_string_to_metric_families(text))
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


# The parser names a counter family without its _total suffix.
want_types = {
    "tfsnap_backup": "counter",
    "tfsnap_backup_duration_seconds": "histogram",
    "tfsnap_last_success_timestamp_seconds": "gauge",
    "tfsnap_snapshots": "gauge",
    "tfsnap_restore": "counter",
    "tfsnap_verify_failures": "gauge",
    "tfsnap_version_expiry_timestamp_seconds": "gauge",
    "tfsnap_s3_requests": "counter",
    "tfsnap_state_deleted": "gauge",
    "tfsnap_expiry_at_risk": "gauge",
    "tfsnap_build_info": "gauge",
    "tfsnap_event_loop_lag_seconds": "histogram",
}
got = [(f.name, f.type) for f in families]
check(got == list(want_types.items()), f"families: {got}")
for f in families:
    check(len(f.documentation) > 20, f"{f.name}: documentation {f.documentation!r}")

samples = {}
for f in families:
    for s in f.samples:
        key = (s.name, tuple(sorted(s.labels.items())))
        check(key not in samples, f"duplicate sample {key}")
        samples[key] = s.value


def value(name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def expect(name, want, **labels):
    got = value(name, **labels)
    check(got == want, f"{name}{labels}: {got!r}, want {want!r}")


expect("tfsnap_backup_total", 3, env="prod", schedule="daily", result="ok")
expect("tfsnap_backup_total", 1, env="prod", schedule="daily", result="failed")
expect("tfsnap_backup_total", 24, env="staging", schedule="hourly", result="ok")
expect("tfsnap_backup_duration_seconds_bucket", 2, env="prod", le="5")
expect("tfsnap_backup_duration_seconds_bucket", 3, env="prod", le="300")
expect("tfsnap_backup_duration_seconds_bucket", 4, env="prod", le="+Inf")
expect("tfsnap_backup_duration_seconds_bucket", 1, env="staging", le="0.05")
expect("tfsnap_backup_duration_seconds_count", 4, env="prod")
expect("tfsnap_backup_duration_seconds_sum", 408.7, env="prod")
expect("tfsnap_last_success_timestamp_seconds", 1764000000, env="prod")
expect("tfsnap_last_success_timestamp_seconds", 1764003600.5, env="staging")
expect("tfsnap_snapshots", 14, env="prod")
expect("tfsnap_snapshots", 1, env='we"ird\\env\nm\u00fcnchen')
expect("tfsnap_restore_total", 1, env="prod", result="ok")
expect("tfsnap_verify_failures", 2, env="staging")
expect("tfsnap_version_expiry_timestamp_seconds", 1769990400, env="prod", snapshot="2026-01-02T03:00:00Z-2")
expect("tfsnap_s3_requests_total", 17, op="PutObject", code="200")
expect("tfsnap_s3_requests_total", 1, op="GetObject", code="Bad\ufffdCode")
expect("tfsnap_state_deleted", 1, env="staging")
expect("tfsnap_expiry_at_risk", 2, env="prod")
nan = value("tfsnap_expiry_at_risk", env="staging")
check(nan is not None and math.isnan(nan), f"expiry_at_risk staging: {nan!r}")
expect("tfsnap_build_info", 1, version="1.2.3")

# histogram buckets: increasing bounds, cumulative counts, +Inf == _count
hist = next(f for f in families if f.type == "histogram")
for env in ("prod", "staging"):
    buckets = [(float(s.labels["le"]), s.value) for s in hist.samples
               if s.name.endswith("_bucket") and s.labels["env"] == env]
    check([b for b, _ in buckets] == sorted(b for b, _ in buckets), f"{env}: bounds not sorted")
    check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), f"{env}: not cumulative")
    check(buckets[-1][0] == math.inf, f"{env}: no +Inf bucket")
    check(buckets[-1][1] == value("tfsnap_backup_duration_seconds_count", env=env), f"{env}: +Inf != count")

if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"prometheus_client parsed {len(families)} families, {len(samples)} samples")
PY
echo "metrics_parse: all checks passed"
