#!/usr/bin/env bash
# The sealed file format as documented in README.md, checked against an independent
# implementation (unseal.py, Python `cryptography`): files sealed by tfsnap open in Python, files
# sealed by Python open with tfsnapd decrypt, and both agree on the key fingerprint.
# Skipped (exit 77) when python3-cryptography is not installed.
# usage: sealed_file_interop.sh TFSNAPD SEAL_TOOL UNSEAL_PY
set -euo pipefail
tfsnapd=${1:?tfsnapd binary}
seal_tool=${2:?tfsnap_seal_tool binary}
unseal=${3:?unseal.py}
fail() { echo "FAIL: $*" >&2; exit 1; }
if ! python3 -c 'from cryptography.hazmat.primitives.ciphers.aead import AESGCM' 2>/dev/null; then
  echo "SKIP: python3-cryptography is not installed (scripts/deps installs it)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# both key file forms: hex from keygen, raw from /dev/urandom
"$tfsnapd" keygen --output hex.key >keygen.out
head -c 32 /dev/urandom >raw.key
fp=$(sed -n 's/.*fingerprint \([0-9a-f]\{16\}\).*/\1/p' keygen.out)
[ "$fp" = "$(python3 "$unseal" fingerprint hex.key)" ] || fail "fingerprints differ: tfsnapd $fp, python $(python3 "$unseal" fingerprint hex.key)"

for key in hex.key raw.key; do
  for size in 0 1 65535 65536 65537 131072 1000003; do
    head -c "$size" /dev/urandom >plain
    # tfsnap seals, Python opens
    read -r sealed_sha plain_sha < <("$seal_tool" "$key" plain sealed)
    [ "$(wc -c <sealed)" = $((size + 56)) ] || fail "$key $size: sealed size $(wc -c <sealed)"
    [ "$sealed_sha" = "$(sha256sum sealed | cut -d' ' -f1)" ] || fail "$key $size: sealed sha256"
    [ "$plain_sha" = "$(sha256sum plain | cut -d' ' -f1)" ] || fail "$key $size: plaintext sha256"
    python3 "$unseal" open "$key" sealed py.out || fail "$key $size: python cannot open tfsnap's file"
    cmp -s plain py.out || fail "$key $size: python's plaintext differs"
    # Python seals, tfsnapd opens
    python3 "$unseal" seal "$key" plain py.sealed
    "$tfsnapd" decrypt py.sealed --key "$key" --output c.out 2>/dev/null || fail "$key $size: tfsnapd cannot open python's file"
    cmp -s plain c.out || fail "$key $size: tfsnapd's plaintext differs"
    rm -f plain sealed py.out py.sealed c.out
  done
done

# the header is authenticated: Python rejects a changed nonce or length the same way tfsnapd does
printf '{"version": 4}\n' >plain
"$seal_tool" hex.key plain sealed >/dev/null
for pos in 20 31 40 56; do
  cp sealed bad
  python3 -c 'import sys; p, i = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, "rb").read()); b[i] ^= 1; open(p, "wb").write(b)' bad "$pos"
  if python3 "$unseal" open hex.key bad py.out 2>/dev/null; then fail "python opened a file changed at byte $pos"; fi
  set +e; "$tfsnapd" decrypt bad --key hex.key >/dev/null 2>&1; rc=$?; set -e
  [ "$rc" = 65 ] || fail "tfsnapd decrypt of a file changed at byte $pos: exit $rc, want 65"
done
echo "sealed_file_interop: all checks passed"
