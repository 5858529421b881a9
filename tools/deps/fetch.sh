#!/bin/sh
# Fetch and unpack the Debian sources of Lua, LPeg, newlib, e2fsprogs and lwIP
# into the cache.
#   usage: fetch.sh <cache-dir>
# Prints nothing on a warm cache. Uses a private apt source list under the
# cache (never the machine's apt configuration). Each unpacked tree is made
# in a temporary folder and renamed into place only when complete, with a
# manifest of checksums, so a partial or corrupt tree is detected and redone.
set -eu
here=$(dirname "$0")
. "$here/versions.mk"
. "$here/lib.sh"
CACHE=$1
APTDIR=$CACHE/apt
mkdir -p "$CACHE/src"

# Version Debian serves for a source or binary package.
served_version() {
    # shellcheck disable=SC2086
    apt-cache $APTOPTS "$1" "$2" 2>/dev/null | awk '/^Version:/ {print $2; exit}'
}

fetch_source() {  # pkg debver name
    dest=$CACHE/src/$3
    manifest_ok "$dest" && return 0
    apt_private
    check_version "$1" "$2" "$(served_version showsrc "$1")"
    work=$(mktemp -d "$CACHE/src/.tmp.XXXXXX")
    echo "l4ua: fetching Debian source $1 $2"
    # shellcheck disable=SC2086
    (cd "$work" && apt-get -q $APTOPTS source --download-only "$1=$2" >fetch.log 2>&1) ||
        { cat "$work/fetch.log"; rm -rf "$work"; die "apt-get source $1=$2 failed"; }
    dsc=$(ls "$work"/*.dsc)
    (cd "$work" && dpkg-source -x "$dsc" tree >extract.log 2>&1) ||
        { cat "$work/extract.log"; rm -rf "$work"; die "dpkg-source -x $dsc failed"; }
    replace_dir "$work/tree" "$dest"
    rm -rf "$work"
}

fetch_newlib() {
    dest=$CACHE/src/newlib-$NEWLIB_DEBVER
    manifest_ok "$dest" && return 0
    apt_private
    check_version "$NEWLIB_PKG" "$NEWLIB_DEBVER" "$(served_version show "$NEWLIB_PKG")"
    work=$(mktemp -d "$CACHE/src/.tmp.XXXXXX")
    echo "l4ua: fetching Debian package $NEWLIB_PKG $NEWLIB_DEBVER"
    # shellcheck disable=SC2086
    (cd "$work" && apt-get -q $APTOPTS download "$NEWLIB_PKG=$NEWLIB_DEBVER" >fetch.log 2>&1) ||
        { cat "$work/fetch.log"; rm -rf "$work"; die "apt-get download $NEWLIB_PKG failed"; }
    dpkg -x "$work"/*.deb "$work/pkg"
    tarball=$work/pkg/usr/src/newlib/newlib-$NEWLIB_UPSTREAM.tar.xz
    [ -f "$tarball" ] || die "$NEWLIB_PKG does not contain newlib-$NEWLIB_UPSTREAM.tar.xz"
    mkdir "$work/x"
    tar -xJf "$tarball" -C "$work/x"
    top=$(ls "$work/x")
    [ "$(echo "$top" | wc -l)" = 1 ] || die "unexpected layout of newlib tarball"
    replace_dir "$work/x/$top" "$dest"
    rm -rf "$work"
}

fetch_source "$LUA_PKG" "$LUA_DEBVER" "lua-$LUA_DEBVER"
fetch_source "$LPEG_PKG" "$LPEG_DEBVER" "lpeg-$LPEG_DEBVER"
fetch_newlib
fetch_source "$E2FS_PKG" "$E2FS_DEBVER" "e2fsprogs-$E2FS_DEBVER"
fetch_source "$LWIP_PKG" "$LWIP_DEBVER" "lwip-$LWIP_DEBVER"
