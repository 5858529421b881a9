#!/bin/sh
# Fetch Debian's Lua 5.4 interpreter (the version L4ua builds its Lua from,
# tools/deps/versions.mk) with the shared libraries it loads into the
# dependency cache, and print the folder that holds them as a root file
# system tree (usr/bin/lua5.4, lib64/ld-linux-x86-64.so.2 and the libraries
# in lib/x86_64-linux-gnu; symbolic links resolved to files). For the Lua
# pair of make bench's Linux baseline (run.py packs the tree into the
# initramfs). No lua-posix: Debian 12 builds it for Lua 5.1 to 5.3 only;
# the pair talks through two named pipes with Lua's own io library.
# usage: fetch_lua.sh <cache-dir>
# The same private apt source list as fetch.sh; never into the checkout.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
deps=$here/../../../tools/deps
. "$deps/versions.mk"
. "$deps/lib.sh"
CACHE=$1
APTDIR=$CACHE/apt
apt_private
# The interpreter pinned; what it loads at whatever version Debian serves
# (the key of the cache entry names them all).
PKGS="libc6 libreadline8 libtinfo6"
key="lua5.4-$LUA_DEBVER"
for p in $PKGS; do
    # shellcheck disable=SC2086
    v=$(apt-cache $APTOPTS show "$p" 2>/dev/null | awk '/^Version:/ {print $2; exit}')
    [ -n "$v" ] || die "Debian serves no package $p in $DEBIAN_SUITE"
    key="$key+$p-$v"
    eval "ver_$(echo "$p" | tr -c 'a-z0-9\n' '_')=\$v"
done
dest=$CACHE/linux-lua/$(echo "$key" | sha256sum | cut -c1-12)
if [ ! -x "$dest/root/usr/bin/lua5.4" ] || ! manifest_ok "$dest"; then
    mkdir -p "$CACHE/linux-lua"
    work=$(mktemp -d "$CACHE/linux-lua/.tmp.XXXXXX")
    echo "l4ua: fetching Debian's lua5.4 and the libraries it loads (for the Lua pair of make bench's Linux baseline)" >&2
    list="lua5.4=$LUA_DEBVER"
    for p in $PKGS; do
        eval "v=\$ver_$(echo "$p" | tr -c 'a-z0-9\n' '_')"
        list="$list $p=$v"
    done
    # shellcheck disable=SC2086
    (cd "$work" && apt-get -q $APTOPTS download $list >fetch.log 2>&1) ||
        { cat "$work/fetch.log" >&2; rm -rf "$work"; die "apt-get download of $list failed"; }
    for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/x"; done
    # only what the interpreter loads (ldd usr/bin/lua5.4), links resolved
    r=$work/out/root l=lib/x86_64-linux-gnu
    mkdir -p "$r/usr/bin" "$r/lib64" "$r/$l"
    cp -L "$work/x/usr/bin/lua5.4" "$r/usr/bin/"
    cp -L "$work/x/lib64/ld-linux-x86-64.so.2" "$r/lib64/"
    for so in libc.so.6 libm.so.6 libreadline.so.8 libtinfo.so.6; do
        cp -L "$work/x/$l/$so" "$r/$l/$so"
    done
    echo "$list" > "$work/out/VERSION"
    replace_dir "$work/out" "$dest"
    rm -rf "$work"
fi
echo "$dest/root"
