#!/usr/bin/env bash
# The shipped systemd files: `systemd-analyze verify` is silent on both units, the service's
# offline security exposure is at most 1.5, and (as root) sysusers.d/tmpfiles.d create the
# user, groups and directories the units expect, in a scratch root.
# usage: systemd_units.sh TFSNAPD SOURCE_DIR
# Exit 77 (skipped) without systemd-analyze >= 250 (--offline appeared in 250).
set -euo pipefail
tfsnapd=${1:?tfsnapd binary}
src=${2:?source dir}
units=$src/systemd
max_exposure=1.5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
version=$(systemd-analyze --version | awk 'NR == 1 { print $2 }')
[ "${version%%[^0-9]*}" -ge 250 ] 2>/dev/null || { echo "SKIP: systemd $version has no --offline"; exit 77; }

# verify checks that ExecStart= is executable: point it at the built binary, in a copy.
cp "$units/tfsnapd.service" "$units/tfsnapd.socket" "$work/"
want_exec='ExecStart=/usr/sbin/tfsnapd --config /etc/tfsnap/tfsnapd.yaml'
[ "$(grep -cxF "$want_exec" "$work/tfsnapd.service")" = 1 ] || fail "tfsnapd.service: no line '$want_exec'"
sed -i "s|^ExecStart=/usr/sbin/tfsnapd |ExecStart=$tfsnapd |" "$work/tfsnapd.service"
grep -qxF "ExecStart=$tfsnapd --config /etc/tfsnap/tfsnapd.yaml" "$work/tfsnapd.service" || fail "ExecStart not rewritten"

# Clean means exit 0 and no output at all: unknown keys and bad values are only warnings.
set +e
out=$(cd "$work" && systemd-analyze verify --man=no ./tfsnapd.service ./tfsnapd.socket 2>&1)
rc=$?
set -e
[ "$rc" = 0 ] && [ -z "$out" ] || fail "systemd-analyze verify: exit $rc:
$out"

# Settings the daemon and the docs rely on
for line in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' WatchdogSec=30s Restart=on-failure User=tfsnap \
            Group=tfsnap StateDirectory=tfsnap StateDirectoryMode=0750 RuntimeDirectory=tfsnap \
            ConfigurationDirectory=tfsnap UMask=0077 LimitCORE=0 ProtectSystem=strict CapabilityBoundingSet= \
            'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' Also=tfsnapd.socket; do
    grep -qxF "$line" "$units/tfsnapd.service" || fail "tfsnapd.service lacks '$line'"
done
for line in ListenStream=/run/tfsnap/control.sock SocketMode=0660 SocketGroup=tfsnap RemoveOnStop=yes; do
    grep -qxF "$line" "$units/tfsnapd.socket" || fail "tfsnapd.socket lacks '$line'"
done
# The socket is optional: the service must not require it.
! grep -Eq '^(Requires|BindsTo|Requisite)=.*tfsnapd\.socket' "$units/tfsnapd.service" \
  || fail "tfsnapd.service must work without tfsnapd.socket"

# Exposure: "→ Overall exposure level for tfsnapd.service: 1.2 OK 🙂"
report=$(cd "$work" && systemd-analyze security --offline=true --no-pager ./tfsnapd.service 2>&1) \
  || fail "systemd-analyze security failed:
$report"
exposure=$(sed -n 's/.*Overall exposure level for tfsnapd\.service: \([0-9][0-9.]*\).*/\1/p' <<<"$report")
[ -n "$exposure" ] || fail "no overall exposure line in:
$report"
awk -v e="$exposure" -v max="$max_exposure" 'BEGIN { exit !(e <= max) }' \
  || fail "exposure $exposure > $max_exposure:
$report"
echo "exposure: $exposure (at most $max_exposure)"

# sysusers.d and tmpfiles.d, applied to a scratch root. tmpfiles chowns, which needs root.
if [ "$(id -u)" = 0 ] && command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null; then
    root=$work/root
    mkdir -p "$root/etc"
    systemd-sysusers --root="$root" "$units/sysusers.d/tfsnap.conf" >/dev/null 2>&1 \
      || fail "systemd-sysusers: $(systemd-sysusers --root="$root" "$units/sysusers.d/tfsnap.conf" 2>&1)"
    grep -Eq '^tfsnap:x:[0-9]+:[0-9]+:[^:]*:/var/lib/tfsnap:/usr/sbin/nologin$' "$root/etc/passwd" \
      || fail "no tfsnap user: $(cat "$root/etc/passwd")"
    grep -q '^tfsnap:x:' "$root/etc/group" || fail "no tfsnap group"
    grep -q '^tfsnap-admin:x:' "$root/etc/group" || fail "no tfsnap-admin group"
    uid=$(awk -F: '$1 == "tfsnap" { print $3 }' "$root/etc/passwd")
    gid=$(awk -F: '$1 == "tfsnap" { print $3 }' "$root/etc/group")
    [ "$uid" -lt 1000 ] || fail "tfsnap is not a system user (uid $uid)"

    out=$(systemd-tmpfiles --root="$root" --create "$units/tmpfiles.d/tfsnap.conf" 2>&1) \
      || fail "systemd-tmpfiles: $out"
    [ -z "$out" ] || fail "systemd-tmpfiles warned: $out"
    [ "$(stat -c '%a %u %g' "$root/var/lib/tfsnap")" = "750 $uid $gid" ] \
      || fail "/var/lib/tfsnap: $(stat -c '%a %u %g' "$root/var/lib/tfsnap"), want 750 $uid $gid"
    [ "$(stat -c '%a %u %g' "$root/etc/tfsnap")" = "750 0 $gid" ] \
      || fail "/etc/tfsnap: $(stat -c '%a %u %g' "$root/etc/tfsnap"), want 750 0 $gid"
else
    echo "note: not root; sysusers.d/tmpfiles.d not applied"
fi
echo "systemd_units: all checks passed"
