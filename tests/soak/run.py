#!/usr/bin/python3
"""make soak (docs/reliability.md "Soak"): boots the soak archive
(build/tests/soak/soak-<scale>.arc: the real system's scripts plus
tests/soak/) as the Lua root task's scripts on the test kernel, under
icount like the Lua tests, with COM1 on a log file and a COM2 (so the
push agent runs), and waits for it to end. The soak prints its figures
("soak: ..." lines) and "soak: PASS" or "soak: FAIL"; this prints them with
the wall time and fails on anything else: a timeout, a panic, the root
task faulting, a status other than the pass status. tests/run.py's stage
"soak" calls run() with scale 20."""

import argparse
import os
import re
import subprocess
import sys
import time

EXIT_PASS, EXIT_PANIC = 0x10 * 2 + 1, 0x12 * 2 + 1
ICOUNT = ["-icount", "shift=0,align=off,sleep=off", "-rtc", "clock=vm"]   # as tests/run.py
QEMU_COMMON = ["-m", "256M", "-display", "none", "-no-reboot", "-net", "none",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
# The root task stopped in a fault that sigma0 does not answer: stop there.
FAULT = re.compile(r"sigma0: (page fault|exception) at .* not answered")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def timeout_for(scale):
    """Wall seconds a run may take: the full run takes some 15 minutes on
    a loaded 2-core machine, a twentieth under one."""
    return max(300, 3600 // scale)


def boot(qemu, build, scale, logpath, timeout):
    """-> (QEMU status or None if stopped, the log without escapes, wall s)."""
    arc = os.path.join(build, "tests", "soak", f"soak-{scale}.arc")
    modules = ",".join([os.path.join(build, "sigma0.elf") + " sigma0",
                        os.path.join(build, "lua-root.elf") + " root", arc + " scripts"])
    argv = [qemu] + QEMU_COMMON + ICOUNT + ["-kernel", os.path.join(build, "kernel-test32.elf"),
                                            "-initrd", modules, "-serial", "stdio",
                                            "-serial", "null"]
    os.makedirs(os.path.dirname(logpath), exist_ok=True)
    t0 = time.monotonic()
    status = None
    with open(logpath, "wb") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            while True:
                rc = p.poll()
                if rc is not None:
                    status = rc
                    break
                if time.monotonic() - t0 > timeout:
                    break
                with open(logpath, "rb") as f:
                    if FAULT.search(f.read().decode("utf-8", "replace")):
                        break
                time.sleep(0.5)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    wall = time.monotonic() - t0
    with open(logpath, "rb") as f:
        log = ANSI.sub("", f.read().decode("utf-8", "replace").replace("\r", ""))
    return status, log, wall


def soak_lines(log):
    """The soak's own lines (the REPL's prompt, which it redraws after
    each, taken off)."""
    out = []
    for line in log.splitlines():
        m = re.search(r"soak: .*", line)
        if m:
            out.append(m.group(0))
    return out


def run(qemu, build, scale, show=print):
    """One soak run -> (passed, why, log, wall s)."""
    logpath = os.path.join(build, "tests", "logs", f"soak-{scale}.log")
    timeout = timeout_for(scale)
    status, log, wall = boot(qemu, build, scale, logpath, timeout)
    if status is None and FAULT.search(log):
        return False, "the root task faulted", log, wall
    if status is None:
        return False, f"timed out after {timeout} s of wall time", log, wall
    if status == EXIT_PANIC or "PANIC" in log:
        return False, "kernel panic", log, wall
    if status != EXIT_PASS or not re.search(r"soak: PASS$", log, re.M):
        return False, f"QEMU status {status}: the soak did not pass", log, wall
    return True, "", log, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--scale", type=int, default=1)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    print(f"soak: 1/{a.scale} of the full run; log in {os.path.relpath(os.path.join(build, 'tests', 'logs', f'soak-{a.scale}.log'))}",
          flush=True)
    ok, why, log, wall = run(a.qemu, build, a.scale)
    for line in soak_lines(log):
        print(line)
    print(f"soak: wall time {wall:.0f} s")
    if not ok:
        print(f"soak: FAILED: {why}")
        print("  ---- last lines of the serial log ----")
        for line in log.splitlines()[-40:]:
            print("  | " + line)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
