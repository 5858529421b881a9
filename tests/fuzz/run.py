#!/usr/bin/python3
"""`make fuzz`: the syscall-fuzzing campaign (docs/reliability.md).
Boots the test kernel once per seed, each with a build of
tests/user/fuzz_test.c made for FUZZ_CALLS calls and that seed, under
icount, and checks each as the test runner checks a user suite: "ktest: N
passed, 0 failed", the pass status, no panic (the suite itself checks the
witness, the kernel's self-check and mapping-database check, and that
every pool frame came back). Prints the seeds first, so that a failing run
can be repeated with `make fuzz FUZZ_SEED=<seed>`, and calls per second
for each run and in all. With --plugin, QEMU records the kernel's
instructions that ran (tests/fuzz/cov_plugin.c) and tests/fuzz/cov.py
prints the coverage of kernel/ of every run together. With --corpus DIR
as well, a seed whose run reached a line of kernel/ that the corpus's
seeds had not (DIR/reached) is kept in DIR/seeds: the inputs that found
new code, which `make fuzz FUZZ_SEED=corpus` runs again."""

import argparse
import os
import re
import subprocess
import sys
import time

EXIT_PASS, EXIT_PANIC = 0x10 * 2 + 1, 0x12 * 2 + 1


def kernel_text(elf):
    """The kernel's text: [_text, _etext) from its symbols."""
    syms = {}
    for line in subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in ("_text", "_etext"):
            syms[parts[2]] = parts[0]
    return syms["_text"], syms["_etext"]


def last_calls(text):
    """The calls of the last progress line the fuzzer printed."""
    m = re.findall(r"^  \.\.\. (\d+) calls", text, re.M)
    return f"{int(m[-1]):,}" if m else "0"


def one_run(a, seed, elf, plugin_arg):
    kernel = a.kernel or os.path.join(a.build, "kernel-test32.elf")
    log = os.path.join(a.build, "tests", "logs", f"fuzz-{seed}.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    cmd = [a.qemu, "-m", "256M", "-display", "none", "-no-reboot", "-net", "none",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
           "-icount", "shift=0,align=off,sleep=off", "-kernel", kernel,
           "-append", "suite=fuzz", "-initrd", elf + " root", "-serial", "stdio",
           # a triple fault (a fault the kernel could not even take, so no
           # panic) ends QEMU with status 0 under -no-reboot: its log says so
           "-d", "cpu_reset", "-D", log + ".qemu"]
    if plugin_arg:
        cmd += ["-plugin", plugin_arg]
    if os.path.exists(log + ".qemu"):
        os.unlink(log + ".qemu")
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
    m = re.search(r"^  (\d+) calls in (\d+) ms of guest time", text, re.M)
    calls, guest_ms = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    rate = f"{calls / secs:,.0f} calls/s wall" if secs else ""
    if guest_ms:
        rate += f", {calls * 1000 / guest_ms:,.0f} calls/s of guest time"
    print(f"fuzz: seed {seed}: {calls:,} calls, {secs:.0f} s wall ({rate}); {stops} fuzzer "
          f"threads stopped by faults (expected); log {log}", flush=True)
    qlog = open(log + ".qemu", "rb").read().decode("utf-8", "replace") if os.path.exists(log + ".qemu") else ""
    if status is None:
        print(f"FAIL fuzz: seed {seed}: timed out after {a.timeout} s")
    elif "Triple fault" in qlog:
        print(f"FAIL fuzz: seed {seed}: the kernel triple-faulted after {last_calls(text)} calls "
              f"(QEMU's -d int shows the faults before it)")
    elif status == EXIT_PANIC or "PANIC" in text:
        print(f"FAIL fuzz: seed {seed}: kernel panic")
    elif status != EXIT_PASS or not re.search(r"^ktest: \d+ passed, 0 failed$", text, re.M):
        print(f"FAIL fuzz: seed {seed}: QEMU status {status}, the campaign did not end cleanly")
    elif a.guided and not re.search(r"^  guidance: on;", text, re.M):
        print(f"FAIL fuzz: seed {seed}: the fuzzer was not guided (no coverage from the kernel?)")
    else:
        return True, calls, secs, guest_ms
    return False, calls, secs, guest_ms


def keep_if_new(a, seed, cov):
    """Adds seed to the corpus if its run reached lines the corpus had not."""
    lines = cov + ".lines"
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "cov.py"), "--elf",
                    a.kernel_elf, "--reached-out", lines, "--quiet", cov], check=True)
    known_path = os.path.join(a.corpus, "reached")
    known = set(open(known_path).read().split()) if os.path.exists(known_path) else set()
    reached = set(open(lines).read().split())
    new = sorted(reached - known)
    if not new:
        print(f"fuzz: seed {seed} reached no line the corpus had not")
        return
    os.makedirs(a.corpus, exist_ok=True)
    with open(os.path.join(a.corpus, "seeds"), "a") as f:
        f.write(f"{seed} {a.calls} {len(new)}\n")
    with open(known_path, "w") as f:
        f.writelines(f"{x}\n" for x in sorted(known | reached))
    print(f"fuzz: seed {seed} reached {len(new)} new lines (first: {', '.join(new[:5])}): "
          f"kept in {a.corpus}/seeds")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--run", action="append", required=True, metavar="SEED=ELF",
                    help="a seed and the fuzzer built for it (repeatable)")
    ap.add_argument("--calls", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--kernel", help="the kernel to boot (32-bit ELF; default the test kernel)")
    ap.add_argument("--guided", action="store_true",
                    help="the fuzzer must say it was guided by the kernel's coverage")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds, per run")
    ap.add_argument("--plugin", help="cov_plugin.so: measure the coverage of kernel/")
    ap.add_argument("--kernel-elf", help="the kernel's ELF (symbols, lines) for the coverage")
    ap.add_argument("--unreached", action="store_true", help="list the lines not reached")
    ap.add_argument("--corpus", help="keep the seeds that reached new lines here")
    a = ap.parse_args()
    runs = [r.split("=", 1) for r in a.run]
    seeds = " ".join(s for s, _ in runs)
    print(f"fuzz: seeds {seeds}, {a.calls} calls each (repeat one with make fuzz FUZZ_SEED=<seed>)",
          flush=True)
    lo = hi = None
    if a.plugin:
        lo, hi = kernel_text(a.kernel_elf)
    failed, total, wall, guest, covs = [], 0, 0.0, 0, []
    for seed, elf in runs:
        plugin_arg = None
        if a.plugin:
            cov = os.path.join(a.build, "tests", "fuzz", f"cov-{seed}.txt")
            if os.path.exists(cov):
                os.unlink(cov)
            plugin_arg = f"{a.plugin},lo={lo},hi={hi},out={cov}"
            covs.append(cov)
        ok, calls, secs, guest_ms = one_run(a, seed, elf, plugin_arg)
        if ok and a.corpus and plugin_arg and os.path.exists(covs[-1]):
            keep_if_new(a, seed, covs[-1])
        total, wall, guest = total + calls, wall + secs, guest + guest_ms
        if not ok:
            failed.append(seed)
    rate = f"{total / wall:,.0f} calls/s wall" if wall else ""
    if guest:
        rate += f", {total * 1000 / guest:,.0f} calls/s of guest time"
    print(f"fuzz: {len(runs)} runs, {total:,} calls in {wall:.0f} s wall ({rate})")
    covs = [c for c in covs if os.path.exists(c)]
    if covs:
        subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "cov.py"),
                        "--elf", a.kernel_elf] + (["--unreached"] if a.unreached else []) + covs,
                       check=False)
    if failed:
        print(f"FAIL fuzz: seeds {' '.join(failed)} failed")
        return 1
    print(f"fuzz: passed (seeds {seeds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
