#!/usr/bin/env bash
# tfsnapd keygen and tfsnapd decrypt as processes: a round trip through a file and through
# stdout, refusing to overwrite, and the exit status and message for a wrong key (65), a
# corrupt or truncated file (65), a missing file (66) and usage errors (64).
# usage: decrypt.sh TFSNAPD SEAL_TOOL
set -euo pipefail
tfsnapd=${1:?tfsnapd binary}
seal_tool=${2:?tfsnap_seal_tool binary}
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# run CMD...: sets rc, out (stdout) and err (stderr) without stopping on failure
run() {
  set +e
  "$@" >"$work/.out" 2>"$work/.err"; rc=$?
  set -e
  out=$(cat "$work/.out"); err=$(cat "$work/.err")
}
expect() {  # expect RC GREP-PATTERN DESCRIPTION (pattern searched in stderr; "" skips)
  [ "$rc" = "$1" ] || fail "$3: exit $rc, want $1; stderr: $err"
  [ -z "$2" ] || grep -qF -- "$2" <<<"$err" || fail "$3: stderr lacks '$2': $err"
}
flip() { python3 -c 'import sys; p, i = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, "rb").read()); b[i] ^= 1; open(p, "wb").write(b)' "$@"; }
only_files() {  # only_files NAME...: the directory holds exactly these (no temporaries, no output)
  local want have
  want=$(printf '%s\n' "$@" | sort)
  have=$(ls -A "$work" | grep -v '^\.out$\|^\.err$' | sort)
  [ "$want" = "$have" ] || fail "directory holds: $(echo $have), want: $(echo $want)"
}

# keygen: 64 hex characters and a newline, mode 0600, never overwritten
run "$tfsnapd" keygen --output copy.key
expect 0 "" "keygen"
fp1=$(sed -n 's/.*fingerprint \([0-9a-f]\{16\}\).*/\1/p' <<<"$out")
[ -n "$fp1" ] || fail "keygen prints no fingerprint: $out"
[ "$(stat -c %a copy.key)" = 600 ] || fail "key mode $(stat -c %a copy.key)"
[ "$(wc -c <copy.key)" = 65 ] && grep -qxE '[0-9a-f]{64}' copy.key || fail "key file format: $(wc -c <copy.key) bytes"
before=$(sha256sum copy.key)
run "$tfsnapd" keygen --output copy.key
expect 73 "exists; refusing to overwrite" "keygen over an existing key"
[ "$(sha256sum copy.key)" = "$before" ] || fail "keygen changed an existing key"
run "$tfsnapd" keygen
expect 64 "--output FILE is required" "keygen without --output"

# a state, sealed the way the backup job seals it
python3 - >state.json <<'EOF'
import json
print(json.dumps({"version": 4, "terraform_version": "1.9.8", "serial": 118, "lineage": "a1b2",
                  "resources": [{"type": "okta_user", "name": f"u{i}", "pad": "x" * 300} for i in range(600)]}))
EOF
read -r sealed_sha plain_sha < <("$seal_tool" copy.key state.json state.sealed)
[ "$plain_sha" = "$(sha256sum state.json | cut -d' ' -f1)" ] || fail "seal_tool plaintext sha256"
[ "$sealed_sha" = "$(sha256sum state.sealed | cut -d' ' -f1)" ] || fail "seal_tool sealed sha256"
[ "$(stat -c %a state.sealed)" = 600 ] || fail "sealed file mode $(stat -c %a state.sealed)"

# to a file: mode 0600, the digest reported, never overwritten without --force
run "$tfsnapd" decrypt state.sealed --key copy.key --output restored.json
expect 0 "sha256 $plain_sha" "decrypt --output"
cmp -s state.json restored.json || fail "decrypted file differs"
[ "$(stat -c %a restored.json)" = 600 ] || fail "output mode $(stat -c %a restored.json)"
echo "keep me" >restored.json
run "$tfsnapd" decrypt state.sealed --key copy.key --output restored.json
expect 73 "restored.json exists; refusing to overwrite it (use --force)" "decrypt over an existing file"
[ "$(cat restored.json)" = "keep me" ] || fail "an existing output was changed"
run "$tfsnapd" decrypt --force --key copy.key state.sealed -o restored.json
expect 0 "" "decrypt --force"
cmp -s state.json restored.json || fail "decrypt --force output differs"
rm restored.json

# to stdout, by default and with --output -
"$tfsnapd" decrypt state.sealed --key copy.key >stdout.json || fail "decrypt to stdout: exit $?"
cmp -s state.json stdout.json || fail "decrypt to stdout differs"
"$tfsnapd" decrypt state.sealed --key copy.key --output - | cmp -s state.json - || fail "decrypt --output - differs"
rm stdout.json

# the key as a systemd credential
mkdir creds
cp copy.key creds/copy.key
run env CREDENTIALS_DIRECTORY="$work/creds" "$tfsnapd" decrypt state.sealed --key-credential copy.key --output cred.json
expect 0 "" "decrypt --key-credential"
cmp -s state.json cred.json || fail "decrypt --key-credential differs"
rm -r cred.json creds
run env -u CREDENTIALS_DIRECTORY "$tfsnapd" decrypt state.sealed --key-credential copy.key
expect 66 "CREDENTIALS_DIRECTORY is not set" "--key-credential without CREDENTIALS_DIRECTORY"
run env CREDENTIALS_DIRECTORY="$work" "$tfsnapd" decrypt state.sealed --key-credential ../copy.key
expect 64 "credential name" "--key-credential with a path"

# a key others can read: a warning, not a failure
chmod 644 copy.key
run "$tfsnapd" decrypt state.sealed --key copy.key --output loose.json
expect 0 "can be read by its group or others; restrict it with chmod 600" "key readable by others"
chmod 600 copy.key
rm loose.json
only_files copy.key state.json state.sealed

# wrong key: 65, both fingerprints named, nothing written
run "$tfsnapd" keygen --output other.key
fp2=$(sed -n 's/.*fingerprint \([0-9a-f]\{16\}\).*/\1/p' <<<"$out")
run "$tfsnapd" decrypt state.sealed --key other.key --output wrong.json
expect 65 "state.sealed was sealed with key $fp1, the key given is $fp2" "wrong key"
[ -z "$out" ] || fail "wrong key wrote to stdout"
rm other.key
only_files copy.key state.json state.sealed

# corrupt: a flipped bit in the header, the ciphertext or the tag; nothing written
size=$(wc -c <state.sealed)
for pos in 25 40 $((size / 2)) $((size - 1)); do
  cp state.sealed bad.sealed
  flip bad.sealed "$pos"
  run "$tfsnapd" decrypt bad.sealed --key copy.key --output bad.json
  expect 65 "bad.sealed failed authentication: the file is corrupt or was modified" "bit flip at $pos"
  run "$tfsnapd" decrypt bad.sealed --key copy.key
  expect 65 "corrupt or was modified" "bit flip at $pos, to stdout"
  [ -z "$out" ] || fail "bit flip at $pos: unauthenticated plaintext reached stdout"
  rm bad.sealed
done
only_files copy.key state.json state.sealed

# truncated, not sealed at all, missing
head -c $((size - 10)) state.sealed >short.sealed
run "$tfsnapd" decrypt short.sealed --key copy.key --output short.json
expect 65 "short.sealed is truncated" "truncated file"
run "$tfsnapd" decrypt state.json --key copy.key
expect 65 "state.json is not a tfsnap sealed file" "plain state"
run "$tfsnapd" decrypt missing.sealed --key copy.key
expect 66 "missing.sealed: No such file or directory" "missing file"
run "$tfsnapd" decrypt state.sealed --key missing.key
expect 66 "missing.key: No such file or directory" "missing key"
head -c 33 /dev/urandom >bad.key
run "$tfsnapd" decrypt state.sealed --key bad.key
expect 65 "key file bad.key has 33 bytes; expected 32 raw bytes or 64 hex characters" "33-byte key"
rm short.sealed bad.key
only_files copy.key state.json state.sealed

# usage errors
for args in "" "state.sealed" "state.sealed --key copy.key --key-credential x" "state.sealed --key" \
            "state.sealed --key copy.key --bogus" "a b --key copy.key" "state.sealed --key copy.key --force"; do
  # shellcheck disable=SC2086
  run "$tfsnapd" decrypt $args
  expect 64 "usage: tfsnapd decrypt" "decrypt $args"
done
"$tfsnapd" --help | grep -q "tfsnapd decrypt FILE" || fail "--help lacks decrypt"
"$tfsnapd" --help | grep -q "tfsnapd keygen --output FILE" || fail "--help lacks keygen"
echo "decrypt: all checks passed"
