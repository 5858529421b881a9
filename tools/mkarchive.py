#!/usr/bin/python3
"""Makes the scripts archive the kernel maps into the Lua root task (boot
module "scripts"; read by runtime/lua/archive.c):

    mkarchive.py -o OUT [DIR | NAME=FILE]...

DIR adds every file below DIR, named by its path relative to DIR; NAME=FILE
adds FILE as NAME. Later arguments replace earlier files of the same name.
The format, numbers 32-bit little-endian, no padding:

    b"L4uaARC1", then per file {name length, name, data length, data},
    then a name length of 0.

Files are written sorted by name, so the same inputs give the same bytes."""

import argparse
import os
import struct
import sys

MAGIC = b"L4uaARC1"
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
        if "=" in a:
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", dest="out", required=True)
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    out = bytearray(MAGIC)
    for name, path in sorted(collect(a.inputs).items()):
        check_name(name)
        with open(path, "rb") as f:
            data = f.read()
        if len(data) >= 1 << 32:
            sys.exit(f"mkarchive: {path} is too large")
        n = name.encode()
        out += struct.pack("<I", len(n)) + n + struct.pack("<I", len(data)) + data
    out += struct.pack("<I", 0)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
