#!/usr/bin/env python3
"""A campaign in a boot of its own: make fuzz-lua (the Lua fuzz of the l4
table for many seeds, init.lua tests/lua/fuzz_long.lua) and make
faultinject (tests/faultinject/init.lua); docs/reliability.md. Boots
sigma0, lua-root and the archive on the test kernel under icount, shows
the campaign's lines ("ok"/"FAIL" and "<name>: ..."), and fails unless it
passed ("ktest: N passed, 0 failed", QEMU's pass status, no panic)."""
import argparse
import os
import re
import subprocess
import sys
import time

EXIT_PASS, EXIT_PANIC = 0x10 * 2 + 1, 0x12 * 2 + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--archive", required=True)
    ap.add_argument("--seeds", required=True, help="the seeds, for the report")
    ap.add_argument("--name", default="fuzz-lua", help="the campaign's name: its log, its lines")
    ap.add_argument("--timeout", type=int, default=7200, help="seconds of wall time")
    a = ap.parse_args()
    b = a.build
    name = a.name
    log = os.path.join(b, "tests", "fuzz", name + ".log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    modules = (os.path.join(b, "sigma0.elf") + " sigma0," + os.path.join(b, "lua-root.elf") + " root," +
               a.archive + " scripts")
    argv = [a.qemu, "-m", "256M", "-display", "none", "-no-reboot", "-net", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-icount", "shift=0,align=off,sleep=off", "-rtc", "clock=vm",
            "-kernel", os.path.join(b, "kernel-test32.elf"), "-initrd", modules, "-serial", "stdio"]
    print(f"{name}: seeds {a.seeds}", flush=True)
    t0 = time.monotonic()
    with open(log, "wb") as out:
        try:
            status = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    timeout=a.timeout).returncode
        except subprocess.TimeoutExpired:
            status = None
    secs = time.monotonic() - t0
    text = open(log, "rb").read().decode("utf-8", "replace").replace("\r", "")
    for line in text.splitlines():
        if re.match(r"^(ok|FAIL) |^fuzz_l4: |^ktest: ", line) or line.startswith(name + ": "):
            print(line)
    print(f"{name}: {secs:.0f} s wall; log {log}")
    if status is None:
        print(f"FAIL {name}: timed out after {a.timeout} s")
    elif status == EXIT_PANIC or "PANIC" in text:
        print(f"FAIL {name}: kernel panic")
        print("\n".join(text.splitlines()[-40:]))
    elif status != EXIT_PASS or not re.search(r"^ktest: \d+ passed, 0 failed$", text, re.M):
        print(f"FAIL {name}: QEMU status {status}, the campaign did not pass")
        print("\n".join(text.splitlines()[-40:]))
    else:
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
