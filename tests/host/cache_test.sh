#!/bin/sh
# The dependency cache trusts a tree only while its manifest holds, and a
# version that differs from the pin stops the build with a clear message.
# Runs tools/deps/lib.sh's helpers on a scratch tree.
set -u
. "$(dirname "$0")/../../tools/deps/lib.sh"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
pass=0 fail=0
ok() { echo "ok cache.$1"; pass=$((pass + 1)); }
bad() { echo "FAIL cache.$1"; fail=$((fail + 1)); }

mk() { rm -rf "$t/new" && mkdir -p "$t/new/lib" && echo a > "$t/new/lib/libc.a" && echo b > "$t/new/x.h"; }
mk; replace_dir "$t/new" "$t/entry"
manifest_ok "$t/entry" 2>/dev/null && ok complete_tree_trusted || bad complete_tree_trusted
echo changed >> "$t/entry/x.h"
manifest_ok "$t/entry" 2>/dev/null && bad modified_file_detected || ok modified_file_detected
mk; replace_dir "$t/new" "$t/entry"
rm "$t/entry/lib/libc.a"
manifest_ok "$t/entry" 2>/dev/null && bad missing_file_detected || ok missing_file_detected
mk; mv "$t/new" "$t/partial"          # a build that stopped before its manifest
manifest_ok "$t/partial" 2>/dev/null && bad partial_tree_detected || ok partial_tree_detected
mk; replace_dir "$t/new" "$t/entry"   # replacing a stale entry leaves one good tree
[ ! -e "$t/entry.old" ] && manifest_ok "$t/entry" && ok replace_is_clean || bad replace_is_clean
msg=$( (check_version lua5.4 5.4.4-3+deb12u1 5.4.4-3+deb12u2) 2>&1 ) && st=0 || st=$?
case "$msg" in
    *"Debian serves lua5.4 5.4.4-3+deb12u2, but tools/deps/versions.mk pins 5.4.4-3+deb12u1"*)
        [ $st -ne 0 ] && ok version_mismatch_stops || bad version_mismatch_stops ;;
    *) bad version_mismatch_stops ;;
esac
(check_version lua5.4 5.4.4-3+deb12u1 5.4.4-3+deb12u1) && ok pinned_version_accepted || bad pinned_version_accepted
echo "cache: $pass passed, $fail failed"
[ $fail -eq 0 ]
