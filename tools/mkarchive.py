#!/usr/bin/python3
"""Makes the scripts archive the kernel maps into the Lua root task (boot
module "scripts"; read by runtime/lua/archive.c):

    mkarchive.py -o OUT [--luac LUA] [DIR | NAME=FILE | -L DIR]...

DIR adds every file below DIR, named by its path relative to DIR; NAME=FILE
adds FILE as NAME; -L DIR (a user's folder: `make SCRIPTS=DIR`) adds only
the .lua files below DIR, skipping hidden files and folders (names starting
with "."), named "user/" + their path relative to DIR: the user's files
stay apart from the system's, so the user's init.lua does not replace the
boot plan (the root task runs it as the autorun; docs/recovery.md). Later
arguments replace earlier files of the same name.
The format, numbers 32-bit little-endian, no padding:

    b"L4uaARC1", then per file {name length, name, data length, data},
    then a name length of 0.

With --luac LUA (the host build of the target's Lua, build/lua-host/lua),
the precompiled chunks follow, in the same form: b"L4uaLUAC", then per
.lua file that compiles {name length, name, length, string.dump of it
with debug information (tools/luac.lua)}, then a name length of 0. A
file's chunk is only ever used in place of compiling that very file's
bytes from the archive (runtime/lua/luac.c); nothing that lists or reads
files sees this part.

Files are written sorted by name, so the same inputs give the same bytes."""

import argparse
import os
import struct
import subprocess
import sys

MAGIC = b"L4uaARC1"
LUAC_MAGIC = b"L4uaLUAC"
LUAC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "luac.lua")
USER_PREFIX = "user/"   # where -L puts a user's files (runtime/lua/main.c searches it)
NAME_MAX = 1024     # archive.c refuses longer names


def check_name(name):
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        sys.exit(f"mkarchive: bad name {name!r}: want a relative path without . or ..")
    if len(name.encode()) > NAME_MAX:
        sys.exit(f"mkarchive: name too long: {name!r}")


def collect(args):
    files = {}
    for a in args:
        if isinstance(a, tuple):        # ("lua", DIR) from -L
            d = a[1]
            if not os.path.isdir(d):
                sys.exit(f"mkarchive: {d}: not a directory (SCRIPTS=...)")
            for dirpath, dirnames, filenames in os.walk(d):
                dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
                for f in filenames:
                    if f.endswith(".lua") and not f.startswith("."):
                        path = os.path.join(dirpath, f)
                        rel = os.path.relpath(path, d).replace(os.sep, "/")
                        files[USER_PREFIX + rel] = path
        elif "=" in a:
            name, path = a.split("=", 1)
            files[name] = path
        elif os.path.isdir(a):
            for dirpath, dirnames, filenames in os.walk(a):
                dirnames.sort()
                for f in filenames:
                    path = os.path.join(dirpath, f)
                    files[os.path.relpath(path, a).replace(os.sep, "/")] = path
        else:
            sys.exit(f"mkarchive: {a}: not a directory nor NAME=FILE")
    return files


def entry(name, data):
    n = name.encode()
    return struct.pack("<I", len(n)) + n + struct.pack("<I", len(data)) + data


def compiled(lua, files):
    """{name: chunk} for the .lua files among files ({name: path}) that
    compile, by one run of tools/luac.lua under lua."""
    names = sorted(n for n in files if n.endswith(".lua"))
    if not names:
        return {}
    p = subprocess.run([lua, LUAC] + [files[n] for n in names], capture_output=True)
    if p.returncode != 0:
        sys.exit(f"mkarchive: {lua} {LUAC} failed: {p.stderr.decode(errors='replace')}")
    out, at, chunks = p.stdout, 0, {}
    for n in names:
        if len(out) - at < 4:
            sys.exit("mkarchive: luac.lua's output is short")
        size = struct.unpack_from("<I", out, at)[0]
        chunk = out[at + 4:at + 4 + size]
        if len(chunk) != size:
            sys.exit("mkarchive: luac.lua's output is short")
        at += 4 + size
        if size:
            chunks[n] = chunk
    return chunks


class InOrder(argparse.Action):
    """Appends DIR / NAME=FILE arguments and ("lua", DIR) for -L to one list."""

    def __call__(self, parser, ns, values, option_string=None):
        items = list(getattr(ns, self.dest, None) or [])
        if option_string:
            items.append(("lua", values))
        else:
            items.extend(values)
        setattr(ns, self.dest, items)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", dest="out", required=True)
    ap.add_argument("--luac", metavar="LUA",
                    help="add the .lua files precompiled by this host Lua")
    # Both append to one list, so the order of the arguments is kept.
    ap.add_argument("-L", dest="inputs", action=InOrder, metavar="DIR",
                    help="add only the .lua files below DIR")
    ap.add_argument("inputs", nargs="*", action=InOrder)
    a = ap.parse_args()
    if not a.inputs:
        ap.error("nothing to pack")
    out = bytearray(MAGIC)
    files = collect(a.inputs)
    for name, path in sorted(files.items()):
        check_name(name)
        with open(path, "rb") as f:
            data = f.read()
        if len(data) >= 1 << 32:
            sys.exit(f"mkarchive: {path} is too large")
        out += entry(name, data)
    out += struct.pack("<I", 0)
    if a.luac:
        out += LUAC_MAGIC
        for name, chunk in sorted(compiled(a.luac, files).items()):
            out += entry(name, chunk)
        out += struct.pack("<I", 0)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
