# Pinned versions of the third-party code L4ua builds from Debian packages.
# This file is the one place they live: it is read by the Makefile and by
# tools/deps/*.sh (plain NAME=value lines, no spaces, no quotes).
# To change a pin, see docs/build.md.
LUA_PKG=lua5.4
LUA_DEBVER=5.4.4-3+deb12u1
LUA_UPSTREAM=5.4.4
LPEG_PKG=lua-lpeg
LPEG_DEBVER=1.0.2-2
LPEG_UPSTREAM=1.0.2
NEWLIB_PKG=newlib-source
NEWLIB_DEBVER=3.3.0-1.3+deb12u1
NEWLIB_UPSTREAM=3.3.0
E2FS_PKG=e2fsprogs
E2FS_DEBVER=1.47.0-2
E2FS_UPSTREAM=1.47.0
LWIP_PKG=lwip
LWIP_DEBVER=2.1.3+dfsg1-2
LWIP_UPSTREAM=2.1.3
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=http://deb.debian.org/debian
