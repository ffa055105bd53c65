#!/usr/bin/env bash
# The man pages document what the program accepts, and render cleanly:
#   - every --option and every command that `tfsnapd --help` and `tfsnapctl --help` list is the
#     tag of an item (.TP) of tfsnapd(8) and tfsnapctl(1) (a command as the item's first word);
#   - every key that lib/tfsnap/config/load.cpp accepts (the key lists of expect_map and
#     open_section) is the tag of an item of tfsnapd.yaml(5);
#   - man-db renders each page without a warning, as lintian runs it, lexgrog reads its whatis
#     line, and .TH names the version the binaries print;
#   - the example in tfsnapd.yaml(5) passes tfsnapd --check-config.
# A new option, command or key without documentation fails here.
# usage: man_pages.sh TFSNAPD TFSNAPCTL SOURCE_DIR
set -euo pipefail
tfsnapd=${1:?tfsnapd binary}
tfsnapctl=${2:?tfsnapctl binary}
src=${3:?source dir}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
problems=0
problem() { echo "FAIL: $*" >&2; problems=$((problems + 1)); }

daemon_page=$src/daemon/man/tfsnapd.8
ctl_page=$src/daemon/man/tfsnapctl.1
config_page=$src/config/tfsnapd.yaml.5
version=$("$tfsnapd" --version | sed -n 's/^tfsnapd //p')
[ -n "$version" ] || fail "tfsnapd --version printed no version"

# The tag lines of a page's items (the line after each .TP), as plain text: the macro name,
# font escapes, \- \& \% \(..  and quotes removed.
tags() {
    awk 'prev ~ /^\.TP/ { print } { prev = $0 }' "$1" |
        sed -E -e 's/^\.[A-Z]{1,2}( |$)//' -e 's/\\f(\(..|\[[^]]*\]|.)//g' -e 's/\\-/-/g' \
            -e 's/\\[&%]//g' -e 's/\\\(..//g' -e 's/"//g'
}
# whether WORD (an option, command or key) is a whole word in the text on stdin
has_word() { grep -qE "(^|[^A-Za-z0-9_-])$1([^A-Za-z0-9_-]|\$)"; }

# ---------------------------------------------------------------- options and commands
check_cli() {  # check_cli NAME PAGE HELP_TEXT COMMANDS...
    local name=$1 page=$2 help=$3
    shift 3
    local tag_text first_words options
    tag_text=$(tags "$page")
    first_words=$(awk '{ print $1 }' <<<"$tag_text")
    mapfile -t options < <(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u)
    [ "${#options[@]}" -ge 4 ] || fail "$name --help: found only ${#options[@]} options: ${options[*]}"
    [ "$#" -ge 5 ] || fail "$name --help: found only $# commands: $*"
    for o in "${options[@]}"; do
        has_word "$o" <<<"$tag_text" || problem "$(basename "$page"): option $o of $name --help has no item"
    done
    for c in "$@"; do
        grep -qxF -- "$c" <<<"$first_words" || problem "$(basename "$page"): command $c of $name --help has no item"
    done
    echo "$(basename "$page"): ${#options[@]} options, $# commands"
}

help=$("$tfsnapd" --help)
# "Usage: tfsnapd --config FILE ...", "       tfsnapd cron-next --expr ..."
mapfile -t commands < <(sed -nE 's/^(Usage:)? +tfsnapd ([a-z][a-z0-9-]*).*/\2/p' <<<"$help" | sort -u)
check_cli tfsnapd "$daemon_page" "$help" "${commands[@]}"

help=$("$tfsnapctl" --help)
# the "Commands:" block, up to the blank line: "  status    the daemon: ..."
mapfile -t commands < <(awk '/^Commands:/ { on = 1; next } on && /^$/ { on = 0 } on' <<<"$help" |
    sed -nE 's/^  ([a-z][a-z0-9-]*)( .*)?$/\1/p' | sort -u)
check_cli tfsnapctl "$ctl_page" "$help" "${commands[@]}"

# ---------------------------------------------------------------- configuration keys
# Every string literal inside { ... } in the arguments of expect_map(...) and open_section(...).
mapfile -t keys < <(python3 - "$src/lib/tfsnap/config/load.cpp" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
keys = set()
for m in re.finditer(r"\b(expect_map|open_section)\(", text):
    depth, i = 1, m.end()
    while depth and i < len(text):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    for group in re.findall(r"\{([^{}]*)\}", text[m.end():i]):
        keys.update(re.findall(r'"([A-Za-z0-9_]+)"', group))
print("\n".join(sorted(keys)))
PY
)
[ "${#keys[@]}" -ge 60 ] || fail "load.cpp: found only ${#keys[@]} keys: ${keys[*]}"
for k in environments defaults webhooks keep_last terraform_timeout dynamodb_table url_credential; do
    grep -qxF "$k" <<<"$(printf '%s\n' "${keys[@]}")" || fail "load.cpp: key $k not found; has the parser here gone stale?"
done
tag_text=$(tags "$config_page")
for k in "${keys[@]}"; do
    has_word "$k" <<<"$tag_text" || problem "tfsnapd.yaml.5: key $k of load.cpp has no item"
done
echo "tfsnapd.yaml.5: ${#keys[@]} keys"

# ---------------------------------------------------------------- rendering
for page in "$daemon_page" "$ctl_page" "$config_page"; do
    base=$(basename "$page")
    # lintian's manpage-has-errors-from-man
    err=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null) ||
        problem "$base: man -l failed: $err"
    [ -z "$err" ] || problem "$base: man -l warns:
$err"
    err=$(groff -man -ww -z "$page" 2>&1) || problem "$base: groff failed: $err"
    [ -z "$err" ] || problem "$base: groff -ww warns:
$err"
    name=${base%.*}
    whatis=$(lexgrog "$page" 2>&1) || problem "$base: lexgrog cannot read the NAME section: $whatis"
    grep -qF "\"$name - " <<<"$whatis" || problem "$base: whatis entry is not '$name - ...': $whatis"
    th=$(grep -m1 '^\.TH ' "$page")
    grep -qF "\"tfsnap $version\"" <<<"$th" || problem "$base: .TH does not name tfsnap $version: $th"
    section=${base##*.}
    grep -qE "^\.TH [^ ]+ $section " <<<"$th" || problem "$base: .TH section is not $section: $th"
done

# ---------------------------------------------------------------- the example is valid
awk '/^\.EX/ { on = 1; next } /^\.EE/ { on = 0 } on' "$config_page" |
    sed -e 's/\\-/-/g' -e 's/\\e/\\/g' >"$work/example.yaml"
[ -s "$work/example.yaml" ] || fail "tfsnapd.yaml.5 has no .EX example"
out=$("$tfsnapd" --check-config "$work/example.yaml" 2>&1) || problem "the example of tfsnapd.yaml.5 is invalid:
$out"

[ "$problems" = 0 ] || fail "$problems problems"
echo "man pages: OK"
