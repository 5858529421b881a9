#!/usr/bin/python3
"""`make fuzz`: the long syscall-fuzzing campaign (docs/reliability.md).
Boots the test kernel with a build of tests/user/fuzz_test.c made for
FUZZ_CALLS calls and the given seed, under icount, and checks it as the
test runner checks a user suite: "ktest: N passed, 0 failed", the pass
status, no panic. Prints the seed first, so that a failing run can be
repeated with `make fuzz FUZZ_SEED=<seed>`."""

import argparse
import os
import re
import subprocess
import sys
import time

EXIT_PASS, EXIT_PANIC = 0x10 * 2 + 1, 0x12 * 2 + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--elf", required=True)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--calls", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--timeout", type=int, default=3600)
    a = ap.parse_args()
    print(f"fuzz: seed {a.seed}, {a.calls} calls (repeat with make fuzz FUZZ_SEED={a.seed})",
          flush=True)
    kernel = os.path.join(a.build, "kernel-test32.elf")
    log = os.path.join(a.build, "tests", "logs", f"fuzz-{a.seed}.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    cmd = [a.qemu, "-m", "256M", "-display", "none", "-no-reboot", "-net", "none",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
           "-icount", "shift=0,align=off,sleep=off", "-kernel", kernel,
           "-append", "suite=fuzz", "-initrd", a.elf + " root", "-serial", "stdio"]
    t0 = time.monotonic()
    with open(log, "wb") as out:
        try:
            status = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, timeout=a.timeout).returncode
        except subprocess.TimeoutExpired:
            status = None
    secs = time.monotonic() - t0
    text = open(log, "rb").read().decode("utf-8", "replace").replace("\r", "")
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("  0000") or re.match(r"^(ok|FAIL) ", line):
            print(line)
    stops = len(re.findall(r"^l4ua: thread .* stopped:", text, re.M))
    print(f"fuzz: {secs:.0f} s wall; {stops} fuzzer threads stopped by faults (expected); log {log}")
    if status is None:
        print(f"FAIL fuzz: timed out after {a.timeout} s")
    elif status == EXIT_PANIC or "PANIC" in text:
        print("FAIL fuzz: kernel panic")
    elif status != EXIT_PASS or not re.search(r"^ktest: \d+ passed, 0 failed$", text, re.M):
        print(f"FAIL fuzz: QEMU status {status}, the campaign did not end cleanly")
    else:
        print(f"fuzz: passed (seed {a.seed})")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
