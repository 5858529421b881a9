#!/bin/sh
# lwIP as built is Debian's source package lwip at the pinned version with
# every patch of Debian's series applied (docs/network.md "Which lwIP"):
# what tools/deps/build.sh recorded in the lwIP entry of the dependency
# cache, and the headers it compiled against, checked against the tree
# apt-get source unpacked there. The guest's side (require "lwip" reports
# the version compiled in) is docs/network.md's session block.
#   usage: lwip_source.sh LWIP_DIR LWIP_SRC   (make writes
#   build/tests/host/test_lwip_source to call it with this build's)
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../tools/deps/versions.mk"
entry=$1 tree=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
pass=0 fail=0
ok() { echo "ok lwip_source.$1"; pass=$((pass + 1)); }
bad() { echo "FAIL lwip_source.$1: $2"; fail=$((fail + 1)); }
recorded() { sed -n "s/^#define $1 \"\(.*\)\"\$/\1/p" "$entry/include/l4ua_lwip_source.h"; }

# the package and version: the tree's changelog, the pin, the record
pkg=$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Source)
ver=$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Version)
if [ "$pkg $ver" = "$LWIP_PKG $LWIP_DEBVER" ] && [ "$(recorded L4UA_LWIP_DEBIAN)" = "$pkg $ver" ]; then
    ok debian_source_version
else
    bad debian_source_version "tree $pkg $ver, pin $LWIP_PKG $LWIP_DEBVER, built '$(recorded L4UA_LWIP_DEBIAN)'"
fi

# the series recorded is Debian's, every patch in its order
series=$(sed -e 's/#.*//' "$tree/debian/patches/series" | awk NF | tr '\n' ' ')
series=${series% }
if [ -n "$series" ] && [ "$(recorded L4UA_LWIP_PATCHES)" = "$series" ]; then
    ok patch_series_recorded
else
    bad patch_series_recorded "debian/patches/series '$series', built '$(recorded L4UA_LWIP_PATCHES)'"
fi

# each patch is in the tree: on a copy, undone from the last to the first,
# each one reverses cleanly (one not applied would not)
cp -r "$tree" "$t/tree"
undone=""
for p in $(echo "$series" | tr ' ' '\n' | tac); do
    patch -d "$t/tree" -p1 -R -s -f < "$tree/debian/patches/$p" > "$t/patch.log" 2>&1 ||
        { undone="$undone $p"; break; }
done
[ -z "$undone" ] && ok patches_applied_in_the_tree ||
    bad patches_applied_in_the_tree "did not reverse:$undone ($(head -3 "$t/patch.log"))"

# the headers the library and the binding were compiled against are the
# patched tree's, each of them (max_sockets adds LWIP_SOCKET_OPEN_COUNT to opt.h)
differ=$(cd "$tree/src/include" && find . -type f | sort | while read -r f; do
    cmp -s "$f" "$entry/include/$f" || echo "$f"; done)
if [ -z "$differ" ] && grep -q "define LWIP_SOCKET_OPEN_COUNT" "$entry/include/lwip/opt.h"; then
    ok headers_built_are_the_patched_ones
else
    bad headers_built_are_the_patched_ones "differ or missing: $differ"
fi

# lwIP's own version in those headers is the upstream one pinned
v=$(tr -d '\r' < "$entry/include/lwip/init.h" |     # lwIP's files end their lines in CRLF
    awk '/#define LWIP_VERSION_(MAJOR|MINOR|REVISION) / {printf "%s%s", sep, $3; sep = "."}')
[ "$v" = "$LWIP_UPSTREAM" ] && ok upstream_version || bad upstream_version "init.h says $v, the pin $LWIP_UPSTREAM"
[ -s "$entry/lib/liblwip.a" ] && ok library_built || bad library_built "no $entry/lib/liblwip.a"

echo "lwip_source: $pass passed, $fail failed"
[ $fail -eq 0 ]
