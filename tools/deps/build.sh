#!/bin/sh
# Build newlib, Lua, LPeg, libext2fs and lwIP for L4ua's freestanding
# x86_64 user mode, cached by version and flags.
#   usage: build.sh <cache-dir> <out.mk>
# Writes <out.mk> with NEWLIB_DIR, LUA_DIR, E2FS_DIR and LWIP_DIR for the Makefile,
# and the unpacked sources of Lua and e2fsprogs (LUA_SRC, E2FS_SRC), which
# make fuzz-host builds again with the sanitizers, and of lwIP (LWIP_SRC),
# which tests/host/lwip_source.sh compares the lwIP build with.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.mk"
. "$here/lib.sh"
CACHE=$1
OUT=$2
mkdir -p "$CACHE"
JOBS=$(nproc 2>/dev/null || echo 2)

# Flags every user-mode object is compiled with (newlib, Lua, LPeg, later
# the runtime). Changing them changes the cache key.
TARGET_CFLAGS="-O2 -ffreestanding -fno-stack-protector -mno-red-zone -fno-pic -fno-pie -fno-omit-frame-pointer"
NEWLIB_CONF="--target=x86_64-elf --disable-multilib --disable-newlib-supplied-syscalls \
--enable-newlib-reent-small --disable-nls --enable-newlib-io-c99-formats --enable-newlib-io-long-long"
# Lua and LPeg without frame pointers: nothing in user mode walks the
# frame chain (the kernel's panic backtrace is the kernel's own), and the
# register and the push, move and pop of every call are 1-4% of every Lua
# figure of make bench (docs/performance.md "Frame pointers").
LUA_CFLAGS="${TARGET_CFLAGS% -fno-omit-frame-pointer} -fomit-frame-pointer"
CCVER=$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)
key() { printf '%s\n' "$@" | sha256sum | cut -c1-12; }

NKEY=$(key "$NEWLIB_DEBVER" "$TARGET_CFLAGS" "$NEWLIB_CONF" "$CCVER")
NEWLIB_DIR=$CACHE/newlib-$NEWLIB_UPSTREAM-$NKEY
LKEY=$(key "$LUA_DEBVER" "$LPEG_DEBVER" "$LUA_CFLAGS" "$NKEY" "$CCVER" 2)
LUA_DIR=$CACHE/lua-$LUA_UPSTREAM-lpeg-$LPEG_UPSTREAM-$LKEY
E2FS_CFG=$here/e2fsprogs
EKEY=$(key "$E2FS_DEBVER" "$TARGET_CFLAGS" "$NKEY" "$CCVER" "$(find "$E2FS_CFG" "$0" -type f | sort | xargs cat | sha256sum)")
E2FS_DIR=$CACHE/ext2fs-$E2FS_UPSTREAM-$EKEY
E2FS_SRC=$CACHE/src/e2fsprogs-$E2FS_DEBVER
LWIP_CFG=$here/lwip
LWKEY=$(key "$LWIP_DEBVER" "$TARGET_CFLAGS" "$NKEY" "$CCVER" "$(find "$LWIP_CFG" "$0" -type f | sort | xargs cat | sha256sum)")
LWIP_DIR=$CACHE/lwip-$LWIP_UPSTREAM-$LWKEY

build_newlib() {
    [ -f "$NEWLIB_DIR/lib/libc.a" ] && [ -f "$NEWLIB_DIR/lib/libm.a" ] && manifest_ok "$NEWLIB_DIR" && return 0
    sh "$here/fetch.sh" "$CACHE"
    src=$CACHE/src/newlib-$NEWLIB_DEBVER
    work=$(mktemp -d "$CACHE/.newlib.XXXXXX")
    echo "l4ua: building newlib $NEWLIB_UPSTREAM (about 3 minutes; log in $work/build.log)"
    (
        cd "$work" && mkdir obj && cd obj &&
        # shellcheck disable=SC2086
        "$src/configure" $NEWLIB_CONF --prefix="$work/inst" \
            CC_FOR_TARGET=gcc AR_FOR_TARGET=ar RANLIB_FOR_TARGET=ranlib \
            AS_FOR_TARGET=as LD_FOR_TARGET=ld NM_FOR_TARGET=nm \
            OBJDUMP_FOR_TARGET=objdump STRIP_FOR_TARGET=strip \
            CFLAGS_FOR_TARGET="$TARGET_CFLAGS" &&
        make -j"$JOBS" all-target-newlib && make install-target-newlib
    ) >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; die "newlib build failed (log: $work/build.log)"; }
    [ -f "$work/inst/x86_64-elf/lib/libc.a" ] && [ -f "$work/inst/x86_64-elf/lib/libm.a" ] ||
        die "newlib build produced no libc.a/libm.a"
    replace_dir "$work/inst/x86_64-elf" "$NEWLIB_DIR"
    rm -rf "$work"
}

build_lua() {
    [ -f "$LUA_DIR/lib/liblua.a" ] && [ -f "$LUA_DIR/lib/liblpeg.a" ] && manifest_ok "$LUA_DIR" && return 0
    sh "$here/fetch.sh" "$CACHE"
    lsrc=$CACHE/src/lua-$LUA_DEBVER/src
    psrc=$CACHE/src/lpeg-$LPEG_DEBVER
    work=$(mktemp -d "$CACHE/.lua.XXXXXX")
    echo "l4ua: building Lua $LUA_UPSTREAM and LPeg $LPEG_UPSTREAM against newlib"
    inc="-nostdinc -isystem $NEWLIB_DIR/include -isystem $(gcc -print-file-name=include)"
    mkdir -p "$work/obj/lua" "$work/obj/lpeg" "$work/out/lib" "$work/out/include" "$work/out/share"
    # Debian's luaconf.h includes a header its rules generate; ours says
    # what this target is (package paths are set by the runtime anyway).
    mkdir -p "$work/gen"
    echo '#define DEB_HOST_MULTIARCH "x86_64-l4ua"' > "$work/gen/lua5.4-deb-multiarch.h"
    inc="$inc -I$work/gen"
    (
        set -e
        for c in "$lsrc"/*.c; do
            case "${c##*/}" in lua.c|luac.c|onelua.c) continue ;; esac
            echo "$c"
        done > "$work/lua.list"
        # shellcheck disable=SC2086
        xargs -P "$JOBS" -I{} sh -c 'gcc '"$LUA_CFLAGS $inc"' -std=gnu99 -DLUA_COMPAT_5_3 -c {} -o '"$work/obj/lua"'/$(basename {} .c).o' < "$work/lua.list"
        ar rcs "$work/out/lib/liblua.a" "$work"/obj/lua/*.o
        for c in "$psrc"/lp*.c; do
            # shellcheck disable=SC2086
            gcc $LUA_CFLAGS $inc -std=gnu99 -DNDEBUG -I"$lsrc" -c "$c" -o "$work/obj/lpeg/$(basename "$c" .c).o"
        done
        ar rcs "$work/out/lib/liblpeg.a" "$work"/obj/lpeg/*.o
        cp "$work/gen/lua5.4-deb-multiarch.h" "$lsrc"/lua.h "$lsrc"/luaconf.h "$lsrc"/lualib.h "$lsrc"/lauxlib.h "$lsrc"/lua.hpp "$work/out/include/"
        cp "$psrc"/re.lua "$psrc"/test.lua "$work/out/share/"
    ) >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; die "Lua/LPeg build failed (log: $work/build.log)"; }
    [ -f "$work/out/lib/liblua.a" ] && [ -f "$work/out/lib/liblpeg.a" ] ||
        { tail -40 "$work/build.log"; die "Lua/LPeg build produced no libraries (log: $work/build.log)"; }
    replace_dir "$work/out" "$LUA_DIR"
    rm -rf "$work"
}

# libext2fs and libcom_err (docs/storage.md): only the objects the file
# system needs, none of the io managers (bindings/ext2.c brings its own),
# with our config.h (tools/deps/e2fsprogs/) instead of the host's
# configure. The entry holds include/ (the public headers, generated ones
# too), lib/libext2fs.a (com_err inside) and, for the host fuzzer, gen/
# (config.h and the generated sources) and sources (the .c files, relative
# to the unpacked e2fsprogs tree).
E2FS_ET="error_message et_name init_et com_err com_right"
E2FS_OBJS="alloc alloc_sb alloc_stats alloc_tables atexit badblocks bb_inode bitmaps bitops \
blkmap64_ba blkmap64_rb blknum block bmap check_desc closefs crc16 crc32c csum dblist \
dblist_dir digest_encode dirblock dirhash dir_iterate expanddir ext_attr extent fallocate \
fileio freefs gen_bitmap gen_bitmap64 get_num_dirs get_pathname hashmap i_block icount \
ind_block inline inline_data inode io_manager ismounted link lookup mkdir mkjournal mmp namei native \
newdir nls_utf8 openfs orphan progress punch rbtree read_bb res_gdt rw_bitmaps sha512 swapfs \
symlink unlink valid_blk version"
build_ext2fs() {
    [ -f "$E2FS_DIR/lib/libext2fs.a" ] && manifest_ok "$E2FS_DIR" && return 0
    sh "$here/fetch.sh" "$CACHE"
    src=$E2FS_SRC/lib
    work=$(mktemp -d "$CACHE/.ext2fs.XXXXXX")
    echo "l4ua: building libext2fs $E2FS_UPSTREAM against newlib"
    out=$work/out
    mkdir -p "$work/obj" "$work/sys" "$out/lib" "$out/include/ext2fs" "$out/include/et" "$out/gen"
    (
        set -e
        # What e2fsprogs' configure and makefiles would generate.
        sed -e 's/@ASM_TYPES_HEADER@//' -e 's/@SIZEOF_SHORT@/2/g' -e 's/@SIZEOF_INT@/4/g' \
            -e 's/@SIZEOF_LONG@/8/g' -e 's/@SIZEOF_LONG_LONG@/8/g' \
            -e 's/@PUBLIC_CONFIG_HEADER@/#define HAVE_SYS_TYPES_H 1/' \
            "$src/ext2fs/ext2_types.h.in" > "$out/include/ext2fs/ext2_types.h"
        sed "s/@E2FSPROGS_VERSION@/$E2FS_UPSTREAM/" "$src/ext2fs/ext2_err.et.in" > "$work/ext2_err.et"
        (cd "$out/gen" &&
            awk -f "$src/et/et_h.awk" outfile=ext2_err.h outfn=ext2_err.h "$work/ext2_err.et" &&
            awk -f "$src/et/et_c.awk" outfile=ext2_err.c outfn=ext2_err.c "$work/ext2_err.et")
        mv "$out/gen/ext2_err.h" "$out/include/ext2fs/"
        gcc -O2 -I"$src" -o "$work/gen_crc32ctable" "$src/ext2fs/gen_crc32ctable.c"
        "$work/gen_crc32ctable" > "$out/gen/crc32c_table.h"
        cp "$E2FS_CFG/config.h" "$out/gen/"
        printf '#define LOCALEDIR "/locale"\n#define ROOT_SYSCONFDIR "/etc"\n' > "$out/gen/dirpaths.h"
        cp "$src"/ext2fs/*.h "$out/include/ext2fs/"
        cp "$src/et/com_err.h" "$out/include/et/"
        cp -r "$E2FS_CFG/include/." "$work/sys/"
        : > "$out/sources"
        for f in $E2FS_ET; do echo "lib/et/$f.c" >> "$out/sources"; done
        for f in $E2FS_OBJS; do echo "lib/ext2fs/$f.c" >> "$out/sources"; done
        # Not Linux: -U the compiler's linux macros, so no Linux-only path
        # (syscall(SYS_prctl), ioctls) is taken.
        flags="$TARGET_CFLAGS -nostdinc -I$work/sys -isystem $NEWLIB_DIR/include \
-isystem $(gcc -print-file-name=include) -std=gnu99 -Ulinux -U__linux -U__linux__ -U__gnu_linux__ \
-DHAVE_CONFIG_H -I$out/gen -I$out/include -I$out/include/ext2fs -I$src -I$src/et"
        # shellcheck disable=SC2086
        (cat "$out/sources" | sed "s|^|$E2FS_SRC/|"; echo "$out/gen/ext2_err.c") |
            xargs -P "$JOBS" -I{} sh -c 'gcc '"$flags"' -c {} -o '"$work/obj"'/$(basename {} .c).o'
        ar rcs "$out/lib/libext2fs.a" "$work"/obj/*.o
    ) >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; die "libext2fs build failed (log: $work/build.log)"; }
    [ "$(ls "$work"/obj/*.o | wc -l)" = "$(($(wc -l < "$out/sources") + 1))" ] ||
        { tail -40 "$work/build.log"; die "libext2fs build left objects out (log: $work/build.log)"; }
    replace_dir "$out" "$E2FS_DIR"
    rm -rf "$work"
}

# lwIP (docs/network.md): the core, IPv4 and Ethernet, with our lwipopts.h
# and arch/cc.h (tools/deps/lwip/) instead of a port. The entry holds
# include/ (lwIP's headers and ours: what bindings/lwip.c compiles
# against) and lib/liblwip.a.
LWIP_OBJS="core/init core/def core/dns core/inet_chksum core/ip core/mem core/memp core/netif \
core/pbuf core/raw core/stats core/sys core/tcp core/tcp_in core/tcp_out core/timeouts core/udp \
core/ipv4/dhcp core/ipv4/etharp core/ipv4/icmp core/ipv4/ip4 core/ipv4/ip4_addr \
core/ipv4/ip4_frag netif/ethernet"
build_lwip() {
    [ -f "$LWIP_DIR/lib/liblwip.a" ] && manifest_ok "$LWIP_DIR" && return 0
    sh "$here/fetch.sh" "$CACHE"
    tree=$CACHE/src/lwip-$LWIP_DEBVER
    src=$tree/src
    # What was built, from the tree itself: its changelog's version, and
    # the patches dpkg-source applied in order (quilt's record,
    # .pc/applied-patches), which must be the whole of debian/patches/series.
    # l4ua_lwip_source.h says both to bindings/lwip.c (lwip.debian,
    # lwip.patches); tests/host/lwip_source.sh checks them against the tree.
    debver=$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Version)
    [ "$debver" = "$LWIP_DEBVER" ] || die "the lwIP source in $tree is $debver, not $LWIP_DEBVER"
    series=$(sed -e 's/#.*//' "$tree/debian/patches/series" | awk NF | tr '\n' ' ')
    applied=$(awk NF "$tree/.pc/applied-patches" 2>/dev/null | tr '\n' ' ')
    [ -n "$series" ] && [ "$applied" = "$series" ] ||
        die "lwIP's Debian patches are not all applied in $tree (series: $series; applied: $applied)"
    work=$(mktemp -d "$CACHE/.lwip.XXXXXX")
    echo "l4ua: building lwIP $LWIP_UPSTREAM against newlib"
    out=$work/out
    mkdir -p "$work/obj" "$out/lib" "$out/include"
    (
        set -e
        cp -r "$src/include/." "$out/include/"
        cp -r "$LWIP_CFG/." "$out/include/"
        printf '#define L4UA_LWIP_DEBIAN "%s %s"\n#define L4UA_LWIP_PATCHES "%s"\n' \
            "$LWIP_PKG" "$debver" "${applied% }" > "$out/include/l4ua_lwip_source.h"
        flags="$TARGET_CFLAGS -nostdinc -isystem $NEWLIB_DIR/include \
-isystem $(gcc -print-file-name=include) -std=gnu99 -I$out/include"
        for f in $LWIP_OBJS; do echo "$src/$f.c"; done |
            xargs -P "$JOBS" -I{} sh -c 'gcc '"$flags"' -c {} -o '"$work/obj"'/$(basename {} .c).o'
        ar rcs "$out/lib/liblwip.a" "$work"/obj/*.o
    ) >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; die "lwIP build failed (log: $work/build.log)"; }
    [ "$(ls "$work"/obj/*.o | wc -l)" = "$(echo $LWIP_OBJS | wc -w)" ] ||
        { tail -40 "$work/build.log"; die "lwIP build left objects out (log: $work/build.log)"; }
    replace_dir "$out" "$LWIP_DIR"
    rm -rf "$work"
}

build_newlib
build_lua
build_ext2fs
build_lwip
tmp=$OUT.tmp
{
    echo "# generated by tools/deps/build.sh; do not edit"
    echo "NEWLIB_DIR=$NEWLIB_DIR"
    echo "LUA_DIR=$LUA_DIR"
    echo "E2FS_DIR=$E2FS_DIR"
    echo "E2FS_SRC=$E2FS_SRC"
    echo "LWIP_DIR=$LWIP_DIR"
    echo "LWIP_SRC=$CACHE/src/lwip-$LWIP_DEBVER"
    echo "LUA_SRC=$CACHE/src/lua-$LUA_DEBVER/src"
    echo "TARGET_CFLAGS=$TARGET_CFLAGS"
} > "$tmp"
if ! cmp -s "$tmp" "$OUT" 2>/dev/null; then mv "$tmp" "$OUT"; else rm -f "$tmp"; fi
