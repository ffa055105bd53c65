#!/usr/bin/env bash
# The Debian package, built with cpack from this build tree into a scratch directory:
#   - its name, control fields and Depends (the runtime libraries, systemd, tzdata; no -dev
#     package, nothing of the test or benchmark libraries);
#   - exactly the expected files, with their modes, stripped binaries and correct md5sums;
#   - the extracted binaries run (--version, --check-config on the shipped example) and the
#     shipped man pages render;
#   - the maintainer scripts: executable, valid sh, never enabling or starting anything;
#   - as root, installed, reinstalled and purged with dpkg --root in a scratch root: the user,
#     groups and directories are created there (never on this system), and purging keeps
#     /var/lib/tfsnap.
# usage: deb.sh CPACK CPACK_CONFIG VERSION TFSNAPD TFSNAPCTL
set -euo pipefail
cpack=${1:?cpack}
cpack_config=${2:?CPackConfig.cmake}
version=${3:?version}
built_tfsnapd=${4:?tfsnapd binary}
built_tfsnapctl=${5:?tfsnapctl binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in dpkg dpkg-deb dpkg-shlibdeps man readelf md5sum; do
    command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps installs it)"
done
[ -x "$built_tfsnapd" ] && [ -x "$built_tfsnapctl" ] || fail "build tfsnapd and tfsnapctl first"
arch=$(dpkg --print-architecture)

# ---------------------------------------------------------------- build
"$cpack" --config "$cpack_config" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1 ||
    fail "cpack failed:
$(cat "$work/cpack.log")"
deb=$work/out/tfsnap_${version}_${arch}.deb
[ -f "$deb" ] || fail "no $(basename "$deb"); cpack made: $(ls "$work/out")"
echo "$(basename "$deb"): $(stat -c %s "$deb") bytes"

# ---------------------------------------------------------------- control fields
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = tfsnap ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), want $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture), want $arch"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
grep -q 'Terraform state' <<<"$(field Description)" || fail "Description: $(field Description)"
depends=$(field Depends)
echo "Depends: $depends"
# one dependency per line, alternatives kept together: "libssl3 (>= 3.0.0)"
deps=$(tr ',' '\n' <<<"$depends" | sed 's/^ *//')
for want in libc6 libssl3 'libyaml-cpp[0-9.]*' libsystemd0 'libstdc\+\+6' 'libdate-tz[0-9]*' tzdata; do
    grep -qE "^$want( |\$)" <<<"$deps" || fail "Depends lacks $want: $depends"
done
grep -qE '^systemd \| systemd-sysusers$' <<<"$deps" || fail "Depends lacks systemd | systemd-sysusers: $depends"
grep -qE '^systemd \| systemd-tmpfiles$' <<<"$deps" || fail "Depends lacks systemd | systemd-tmpfiles: $depends"
! grep -qE -- '-dev([ ,|]|$)' <<<"$depends" || fail "Depends names a -dev package: $depends"
! grep -qiE 'gtest|gmock|benchmark|boost' <<<"$depends" || fail "Depends names a test or build library: $depends"

# ---------------------------------------------------------------- files
# "-rwxr-xr-x root/root 1720848 2026-12-06 00:07 ./usr/bin/tfsnapctl" -> "-rwxr-xr-x root/root /usr/bin/tfsnapctl"
dpkg-deb --contents "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $1, $2, $6 }' | sort -k3 >"$work/files"
sort -k3 >"$work/expected" <<'EOF'
-rwxr-xr-x root/root /usr/sbin/tfsnapd
-rwxr-xr-x root/root /usr/bin/tfsnapctl
-rw-r--r-- root/root /lib/systemd/system/tfsnapd.service
-rw-r--r-- root/root /lib/systemd/system/tfsnapd.socket
-rw-r--r-- root/root /usr/lib/sysusers.d/tfsnap.conf
-rw-r--r-- root/root /usr/lib/tmpfiles.d/tfsnap.conf
-rw-r--r-- root/root /usr/share/doc/tfsnap/README.md
-rw-r--r-- root/root /usr/share/doc/tfsnap/example.yaml
-rw-r--r-- root/root /usr/share/man/man1/tfsnapctl.1.gz
-rw-r--r-- root/root /usr/share/man/man5/tfsnapd.yaml.5.gz
-rw-r--r-- root/root /usr/share/man/man8/tfsnapd.8.gz
EOF
diff -u "$work/expected" "$work/files" >&2 || fail "the package's files differ from the list above (- expected, + in the package)"

root=$work/root
dpkg-deb -x "$deb" "$root"
for bin in usr/sbin/tfsnapd usr/bin/tfsnapctl; do
    sections=$(readelf -SW "$root/$bin")
    ! grep -qE '\.(symtab|debug_info)\b' <<<"$sections" || fail "$bin is not stripped"
    ! grep -qE 'RPATH|RUNPATH' <<<"$(readelf -dW "$root/$bin")" || fail "$bin has an RPATH"
done
[ "$(stat -c %s "$root/usr/sbin/tfsnapd")" -lt 50000000 ] || fail "tfsnapd is over 50 MB stripped"

# ---------------------------------------------------------------- the files work
out=$("$root/usr/sbin/tfsnapd" --version) || fail "tfsnapd --version: exit $?"
[ "$out" = "tfsnapd $version" ] || fail "tfsnapd --version: $out"
out=$("$root/usr/bin/tfsnapctl" --version) || fail "tfsnapctl --version: exit $?"
[ "$out" = "tfsnapctl $version" ] || fail "tfsnapctl --version: $out"
out=$("$root/usr/sbin/tfsnapd" --check-config "$root/usr/share/doc/tfsnap/example.yaml" 2>&1) ||
    fail "tfsnapd --check-config on the shipped example.yaml:
$out"
for page in "$root"/usr/share/man/man*/*.gz; do
    grep -q '^\.TH ' <<<"$(gzip -cd "$page")" || fail "$page is not a gzipped man page"
    err=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null) ||
        fail "man -l $page: $err"
    [ -z "$err" ] || fail "man -l $page warns: $err"
done
grep -q '^ExecStart=/usr/sbin/tfsnapd ' "$root/lib/systemd/system/tfsnapd.service" ||
    fail "tfsnapd.service does not run /usr/sbin/tfsnapd"

# ---------------------------------------------------------------- control archive
control=$work/control
dpkg-deb -e "$deb" "$control"
(cd "$root" && md5sum --quiet -c "$control/md5sums") >&2 || fail "md5sums do not match the files"
[ "$(wc -l <"$control/md5sums")" = "$(wc -l <"$work/files")" ] || fail "md5sums does not list every file"
# Nothing is installed under /etc, so there are no conffiles; a file there would need one.
if grep -q ' /etc/' "$work/files"; then
    fail "files under /etc: list them in conffiles"
fi
[ ! -e "$control/conffiles" ] || [ ! -s "$control/conffiles" ] || fail "conffiles lists: $(cat "$control/conffiles")"
for script in postinst prerm postrm; do
    f=$control/$script
    [ -f "$f" ] || fail "no $script"
    [ -x "$f" ] || fail "$script is not executable"
    [ "$(head -1 "$f")" = '#!/bin/sh' ] || fail "$script does not start with #!/bin/sh"
    sh -n "$f" || fail "$script: sh -n failed"
    code=$(grep -vE '^[[:space:]]*#' "$f")
    # enabling or starting is the site's decision (try-restart on upgrade only restarts a running daemon)
    ! grep -nE '(systemctl|deb-systemd-helper|deb-systemd-invoke)\b.*\b(enable|start|reenable|unmask)\b|--now' \
        <<<"$code" || fail "$script enables or starts a unit"
    # the catalog is precious: no package operation deletes it
    ! grep -nE '\brm\b.*(/var/lib/tfsnap|/etc/tfsnap)' <<<"$code" || fail "$script deletes state or configuration"
done
grep -q 'systemd-sysusers.*tfsnap.conf' "$control/postinst" || fail "postinst does not run systemd-sysusers"
grep -q 'systemd-tmpfiles.*--create.*tfsnap.conf' "$control/postinst" || fail "postinst does not run systemd-tmpfiles"
grep -q 'systemctl stop' "$control/prerm" || fail "prerm does not stop the service"

# ---------------------------------------------------------------- install into a scratch root
if [ "$(id -u)" != 0 ]; then
    echo "not root: dpkg --root install skipped"
    echo "package: OK"
    exit 0
fi
scratch=$work/scratch
mkdir -p "$scratch"/var/lib/dpkg/{info,updates,triggers} "$scratch"/var/log "$scratch"/etc
touch "$scratch"/var/lib/dpkg/{status,available} "$scratch"/etc/{passwd,group,shadow,gshadow}
# The scripts run outside a chroot (--force-script-chrootless) with DPKG_ROOT=$scratch. Stubs
# first in PATH make sure they never reach this system: systemd-sysusers and systemd-tmpfiles
# run only with --root=$scratch, and systemctl and the deb-systemd helpers not at all.
stubs=$work/stubs
mkdir "$stubs"
for tool in systemd-sysusers systemd-tmpfiles; do
    real=$(command -v "$tool") || fail "$tool is missing (systemd)"
    cat >"$stubs/$tool" <<EOF
#!/bin/sh
echo "$tool \$*" >>"$work/calls"
case " \$* " in *" --root=$scratch "*) exec "$real" "\$@" ;; esac
echo "$tool called without --root=$scratch" >&2
exit 1
EOF
done
for tool in systemctl deb-systemd-helper deb-systemd-invoke; do
    printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\nexit 0\n' "$tool" "$work" >"$stubs/$tool"
done
chmod +x "$stubs"/*
dpkg_scratch() {
    PATH=$stubs:$PATH dpkg --root="$scratch" --log="$scratch/var/log/dpkg.log" --force-script-chrootless \
        --force-depends "$@" >>"$work/dpkg.log" 2>&1 || fail "dpkg $*:
$(cat "$work/dpkg.log")
calls: $(cat "$work/calls" 2>/dev/null)"
}
dpkg_scratch -i "$deb"
dpkg_scratch -i "$deb" # an upgrade (to the same version): postinst configure with the old version
grep -E '^(systemctl|deb-systemd)' "$work/calls" && fail "the scripts called systemctl under DPKG_ROOT"
[ -x "$scratch/usr/sbin/tfsnapd" ] || fail "dpkg --root did not install tfsnapd"
uid=$(awk -F: '$1 == "tfsnap" { print $3 }' "$scratch/etc/passwd")
gid=$(awk -F: '$1 == "tfsnap" { print $3 }' "$scratch/etc/group")
[ -n "$uid" ] && [ -n "$gid" ] || fail "postinst did not create the tfsnap user and group: $(cat "$scratch/etc/passwd")"
grep -q '^tfsnap-admin:' "$scratch/etc/group" || fail "postinst did not create the tfsnap-admin group"
grep -q '^tfsnap:.*:/var/lib/tfsnap:/usr/sbin/nologin$' "$scratch/etc/passwd" || fail "tfsnap user: $(grep tfsnap "$scratch/etc/passwd")"
[ "$(stat -c '%a %u %g' "$scratch/var/lib/tfsnap")" = "750 $uid $gid" ] ||
    fail "/var/lib/tfsnap: $(stat -c '%a %u %g' "$scratch/var/lib/tfsnap"), want 750 $uid $gid"
[ "$(stat -c '%a %u %g' "$scratch/etc/tfsnap")" = "750 0 $gid" ] ||
    fail "/etc/tfsnap: $(stat -c '%a %u %g' "$scratch/etc/tfsnap"), want 750 0 $gid"

# purge keeps the state directory, the configuration directory and the user
mkdir -p "$scratch/var/lib/tfsnap/catalog/prod/2026-11-22T02-30-26Z"
echo '{}' >"$scratch/var/lib/tfsnap/catalog/prod/2026-11-22T02-30-26Z/MANIFEST.json"
echo 'state_dir: /var/lib/tfsnap' >"$scratch/etc/tfsnap/tfsnapd.yaml"
dpkg_scratch --purge tfsnap
[ ! -e "$scratch/usr/sbin/tfsnapd" ] || fail "purge left /usr/sbin/tfsnapd"
[ ! -e "$scratch/lib/systemd/system/tfsnapd.service" ] || fail "purge left tfsnapd.service"
[ -f "$scratch/var/lib/tfsnap/catalog/prod/2026-11-22T02-30-26Z/MANIFEST.json" ] || fail "purge deleted the catalog"
[ -f "$scratch/etc/tfsnap/tfsnapd.yaml" ] || fail "purge deleted /etc/tfsnap/tfsnapd.yaml"
grep -q '^tfsnap:' "$scratch/etc/passwd" || fail "purge removed the tfsnap user"
grep -E '^(systemctl|deb-systemd)' "$work/calls" && fail "the scripts called systemctl under DPKG_ROOT"
echo "dpkg --root: installed, upgraded and purged in a scratch root"
echo "package: OK"
