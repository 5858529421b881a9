#!/usr/bin/python3
"""make profile-boot: where boot_to_prompt's instructions go, by function.

Boots the real system as make bench's boot_to_prompt does (kernel32.elf,
sigma0, lua-root, scripts.arc with -kernel, under icount) with
tests/bench/prof_plugin.so, which counts the instructions each
translation block ran and writes them when the block of debug_rdtsc
first runs (scripts/session.lua reads the TSC for boot_tsc just before
it draws the first prompt: the moment make bench's figure is read); then
QEMU is ended, and each block is put down to the function its first
instruction lies in (nm of kernel.elf, sigma0.elf and lua-root.elf: the
Lua tasks run lua-root's image too). Prints the total, the share of each
image and of firmware (addresses no image covers), the families of
functions (the Lua VM, its collector, chunk loading, malloc, the kernel)
and the most expensive functions. A profile, not a measure: a block cut
short by a fault counts whole; `make bench` gives the figure."""

import argparse
import bisect
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench     # noqa: E402  (QEMU_BASE, ICOUNT, PROMPT)

# Families of functions, by name, in order: the first match counts.
FAMILIES = [
    ("Lua VM (luaV_, lvm)", r"^luaV_|^l_strcmp|^luaO_arith|^luaO_tostr|^luaT_"),
    ("Lua tables (luaH_)", r"^luaH_|^luaO_ceillog2"),
    ("Lua collector (luaC_, lgc)", r"^luaC_|^propagate|^mark|^sweep|^atomic|^singlestep|^traverse|^clear|^reallymarkobject|^freeobj|^GCTM|^entersweep|^restartcollection|^convergeephemerons|^remarkupvals|^separatetobefnz"),
    ("Lua chunk loading (lundump)", r"^luaU_|^load[A-Z]|^load[a-z]+$|^checkHeader|^loadFunction"),
    ("Lua strings (luaS_)", r"^luaS_|^internshrstr|^luaS_hash"),
    ("Lua compiler (lparser, lcode, llex)", r"^luaK_|^luaY_|^luaX_|^statement|^expr|^subexpr|^body|^funcargs|^primaryexp|^suffixedexp|^simpleexp|^llex|^read_"),
    ("Lua calls and stack (ldo, lfunc, lapi)", r"^luaD_|^luaF_|^lua_|^luaE_|^index2value|^luaG_|^luaL_"),
    ("Lua libraries (lib*)", r"^luaopen_|^str_|^tbl_|^math_|^os_|^io_|^g_|^luaB_|^ll_|^searcher|^lpeg|^db_|^utf"),
    ("malloc, free, realloc (newlib)", r"malloc|free|realloc|^_sbrk|^sbrk|^l_alloc"),
    ("memcpy, memset, strings (newlib)", r"^mem|^str|^_str|^__str"),
]


def symbols(path):
    """Sorted (address, name) of path's functions."""
    out = subprocess.run(["nm", "-n", "--defined-only", path], capture_output=True,
                         text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16), parts[2]))
    return syms


def image_ranges(path):
    """[(lo, hi)] of path's loadable segments."""
    out = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True,
                         check=True).stdout
    r = []
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            va, memsz = int(f[2], 16), int(f[5], 16)
            r.append((va, va + memsz))
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--calls", nargs="*", default=[], help="functions whose calls to print")
    a = ap.parse_args()
    counts_file = os.path.join(a.build, "tests", "logs", "profile-boot.counts")
    os.makedirs(os.path.dirname(counts_file), exist_ok=True)
    if os.path.exists(counts_file):
        os.unlink(counts_file)
    mods = ",".join([os.path.join(a.build, "sigma0.elf") + " sigma0",
                     os.path.join(a.build, "lua-root.elf") + " root",
                     os.path.join(a.build, "scripts.arc") + " scripts"])
    stop = next(va for va, name in symbols(os.path.join(a.build, "lua-root.elf"))
                if name == "debug_rdtsc")
    args = ([a.qemu] + bench.QEMU_BASE + bench.ICOUNT +
            ["-plugin", f"{a.plugin},out={counts_file},stop={stop:x}",
             "-kernel", os.path.join(a.build, "kernel32.elf"), "-initrd", mods,
             "-serial", "stdio"])
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    os.set_blocking(p.stdout.fileno(), False)
    out, end = b"", time.time() + 300
    try:
        while (bench.PROMPT not in out or not os.path.exists(counts_file)) and \
                time.time() < end and p.poll() is None:
            out += p.stdout.read() or b""
            time.sleep(0.01)
        if bench.PROMPT not in out:
            print("profile-boot: no prompt; the end of what it printed:\n" +
                  "\n".join(out.decode("utf-8", "replace").splitlines()[-15:]))
            return 1
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if not os.path.exists(counts_file):
        print("profile-boot: the plugin wrote no counts (QEMU: %s)" %
              p.stderr.read().decode("utf-8", "replace")[-500:])
        return 1

    images = []
    for name in ("kernel.elf", "sigma0.elf", "lua-root.elf"):
        path = os.path.join(a.build, name)
        syms = symbols(path)
        images.append((name, image_ranges(path), [s[0] for s in syms], syms))
    by_fn, by_image, calls, total = {}, {}, {}, 0
    # calls: runs of the block at a function's first instruction (entered
    # by a call or a jump there; not for the kernel, whose entry blocks
    # are also reached by its fast paths' jumps)
    entry = {name: {fn: va for va, fn in syms} for name, _, _, syms in images}
    with open(counts_file) as f:
        for line in f:
            va, n, length = line.split()
            va, n, length = int(va, 16), int(n), int(length)
            total += n
            where, fn = "firmware and the loader (no image)", "?"
            for name, ranges, addrs, syms in images:
                if any(lo <= va < hi for lo, hi in ranges):
                    i = bisect.bisect_right(addrs, va) - 1
                    where, fn = name, syms[i][1] if i >= 0 else "?"
                    break
            by_image[where] = by_image.get(where, 0) + n
            key = (where, fn)
            by_fn[key] = by_fn.get(key, 0) + n
            if where != images[0][0] and fn != "?" and va == entry[where].get(fn):
                calls[key] = calls.get(key, 0) + n // length

    def pct(n):
        return f"{100.0 * n / total:5.1f}%"

    print(f"profile-boot: {total:,} instructions to the prompt")
    print("by image:")
    for where, n in sorted(by_image.items(), key=lambda x: -x[1]):
        print(f"  {n:>13,} {pct(n)}  {where}")
    fam = {}
    for (where, fn), n in by_fn.items():
        if where == "kernel.elf":
            k = "the kernel"
        elif where != "lua-root.elf":
            k = where
        else:
            k = next((label for label, rx in FAMILIES if re.search(rx, fn)), "other lua-root code")
        fam[k] = fam.get(k, 0) + n
    print("by family (lua-root.elf's functions by name; the root and every Lua task):")
    for k, n in sorted(fam.items(), key=lambda x: -x[1]):
        print(f"  {n:>13,} {pct(n)}  {k}")
    print(f"the {a.top} most expensive functions:")
    for (where, fn), n in sorted(by_fn.items(), key=lambda x: -x[1])[:a.top]:
        c = calls.get((where, fn))
        print(f"  {n:>13,} {pct(n)}  {fn} ({where})" + (f", {c:,} calls" if c else ""))
    if a.calls:
        print("calls of:")
        for fn in a.calls:
            print(f"  {fn}: " + ", ".join(f"{c:,} ({w})" for (w, f), c in calls.items()
                                           if f == fn))
    return 0


if __name__ == "__main__":
    sys.exit(main())
