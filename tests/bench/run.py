#!/usr/bin/python3
"""make bench: boots each benchmark program as the root task under
-icount shift=0,align=off,sleep=off (rdtsc deltas = guest instructions),
prints a table and writes build/bench.json (name -> instructions).
A program named s0_*_bench boots with build/sigma0.elf as sigma0 (its
pager and source of RAM), as tests/run.py does for s0_* suites. The Lua
benchmarks boot sigma0, build/lua-root.elf as the root and
build/tests/bench/lua-bench.arc (tests/bench/lua/) as its "scripts", as
tests/run.py boots the Lua tests."""

import argparse
import json
import os
import re
import subprocess
import sys

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    a = ap.parse_args()
    bdir = os.path.join(a.build, "tests", "bench")
    results = {}
    ok = True
    boots = sorted(f for f in os.listdir(bdir) if f.endswith(".elf"))
    boots.append("lua-bench.arc")
    for elf in boots:
        modules = os.path.join(bdir, elf) + " root"
        if elf.endswith(".arc"):
            modules = (os.path.join(a.build, "sigma0.elf") + " sigma0," +
                       os.path.join(a.build, "lua-root.elf") + " root," +
                       os.path.join(bdir, elf) + " scripts")
        elif elf.startswith("s0_"):
            sigma0 = os.path.join(a.build, "sigma0.elf")
            if not os.path.exists(sigma0):
                print(f"{elf}: {sigma0} is missing (make all builds it)")
                ok = False
                continue
            modules = sigma0 + " sigma0," + modules
        cmd = [a.qemu, "-m", "256M", "-display", "none", "-no-reboot", "-net", "none",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
               "-icount", "shift=0,align=off,sleep=off",
               "-kernel", os.path.join(a.build, "kernel-test32.elf"),
               "-initrd", modules, "-serial", "stdio"]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=300)
            out = p.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            print(f"{elf}: timed out")
            ok = False
            continue
        for name, value in re.findall(r"^bench (\w+) (\d+)", out, re.M):
            results[name] = int(value)
        if p.returncode != 33:
            print(f"{elf}: QEMU status {p.returncode}\n" + "\n".join(out.splitlines()[-15:]))
            ok = False
    print(f"{'benchmark':32} {'guest instructions':>20}")
    for name, value in results.items():
        print(f"{name:32} {value:>20}")
    with open(os.path.join(a.build, "bench.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 0 if ok and results else 1

if __name__ == "__main__":
    sys.exit(main())
