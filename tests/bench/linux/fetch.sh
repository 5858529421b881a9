#!/bin/sh
# Fetch Debian's Linux kernel image (the package linux-image-amd64 points
# to) into the dependency cache, keyed by its version, and print the path
# of its vmlinuz. Beside it, modules/ holds the modules the disk and
# network benchmarks need (virtio_pci, virtio_blk, virtio_net, ext4 and
# crc32c_generic: Debian builds them as modules) and those they depend on, with modules/order
# naming them in the order to load them. usage: fetch.sh <cache-dir>
# Uses the same private apt source list as tools/deps/fetch.sh (under
# <cache-dir>/apt), never the machine's apt configuration; the image is
# never part of the checkout.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
deps=$here/../../../tools/deps
. "$deps/versions.mk"
. "$deps/lib.sh"
CACHE=$1
APTDIR=$CACHE/apt
apt_private
# linux-image-amd64 is a metapackage: its dependency names the image package.
# shellcheck disable=SC2086
pkg=$(apt-cache $APTOPTS show linux-image-amd64 2>/dev/null |
      awk '/^Depends:/ { for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-[0-9]/) { sub(/,$/, "", $i); print $i; exit } }')
[ -n "$pkg" ] || die "Debian's linux-image-amd64 names no kernel image package"
# shellcheck disable=SC2086
ver=$(apt-cache $APTOPTS show "$pkg" 2>/dev/null | awk '/^Version:/ {print $2; exit}')
dest=$CACHE/linux/$pkg-$ver
# Copies module $1 of the unpacked package, after what it depends on (the
# depends= of its .modinfo), and adds it to $order.
order=
add_module() {
    local f dep
    case " $order " in *" $1 "*) return 0 ;; esac
    f=$(find "$work"/pkg/lib/modules/*/kernel -name "$1.ko" | head -n 1)
    [ -n "$f" ] || die "Debian's $pkg has no module $1"
    for dep in $(grep -a -o 'depends=[A-Za-z0-9_,-]*' "$f" | head -n 1 | sed 's/^depends=//; s/,/ /g'); do
        add_module "$dep"
    done
    cp "$f" "$work/out/modules/"
    order="$order $1"
}
if [ ! -f "$dest/vmlinuz" ] || [ ! -f "$dest/modules/order" ] || [ ! -f "$dest/modules/virtio_net.ko" ] ||
   [ ! -f "$dest/modules/ext4.ko" ] || ! manifest_ok "$dest"; then
    mkdir -p "$CACHE/linux"
    work=$(mktemp -d "$CACHE/linux/.tmp.XXXXXX")
    echo "l4ua: fetching Debian package $pkg $ver (for the Linux baseline of make bench)" >&2
    # shellcheck disable=SC2086
    (cd "$work" && apt-get -q $APTOPTS download "$pkg=$ver" >fetch.log 2>&1) ||
        { cat "$work/fetch.log" >&2; rm -rf "$work"; die "apt-get download $pkg failed"; }
    dpkg -x "$work"/*.deb "$work/pkg"
    mkdir "$work/out"
    cp "$work"/pkg/boot/vmlinuz-* "$work/out/vmlinuz"
    mkdir "$work/out/modules"
    add_module virtio_pci
    add_module virtio_blk
    add_module virtio_net
    # the file system L4ua's blk_seq_read_mib_files reads (ext4 without a
    # journal), and the CRC-32C its checksums need (asked of the crypto
    # API by name: no module loader runs in the initramfs)
    add_module crc32c_generic
    add_module ext4
    for m in $order; do echo "$m"; done > "$work/out/modules/order"
    echo "$pkg $ver" > "$work/out/VERSION"
    replace_dir "$work/out" "$dest"
    rm -rf "$work"
fi
echo "$dest/vmlinuz"
