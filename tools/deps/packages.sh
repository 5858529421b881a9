#!/bin/sh
# Install the Debian packages the build needs, only those missing.
# As root: apt-get install them. Otherwise: print the exact line and fail.
#   packages.sh          what the build and make test need
#   packages.sh net      what the network apps' host tests need (make test's
#                        net-host stage runs it): LuaSocket for Lua 5.4,
#                        chromium headless driven by selenium
#   packages.sh dap      node and npm, for the DAP client of make test's
#                        repl.dap_* cases (Makefile: dap-client)
set -eu
if [ "${1:-}" = net ]; then
PKGS="lua5.4 lua-socket chromium chromium-driver python3-selenium"
elif [ "${1:-}" = dap ]; then
# a node that brings its own npm (NodeSource's nodejs, which conflicts
# with Debian's npm) is enough: ask for the packages only if one is missing
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && exit 0
PKGS="nodejs npm"
else
PKGS="gcc make binutils libc6-dev qemu-system-x86 grub-pc-bin grub-common xorriso mtools \
dpkg-dev xz-utils gpgv debian-archive-keyring ca-certificates python3 gdb lua5.4 \
clang libclang-rt-dev e2fsprogs"   # clang, libclang-rt-dev: libFuzzer for make fuzz-host;
                                    # e2fsprogs: mke2fs, e2fsck (docs/storage.md)
fi
missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
    echo "l4ua: missing Debian packages. As root, run:" >&2
    echo "    apt-get update && $line" >&2
    exit 1
fi
echo "l4ua: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends $missing || {
    apt-get update && apt-get install -y --no-install-recommends $missing
}
