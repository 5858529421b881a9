#!/usr/bin/python3
"""L4ua test runner: host unit tests, in-guest suites (one QEMU boot each),
and a boot of the GRUB ISO. Every boot has a timeout; a boot that times out,
panics or ends wrongly prints the tail of its serial log and counts as a
failure. The last lines repeat each failure ("failed: NAME: WHY"), then
"N passed, N failed"."""

import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXIT_PASS, EXIT_FAIL, EXIT_PANIC = 0x10 * 2 + 1, 0x11 * 2 + 1, 0x12 * 2 + 1

# In-guest suites: (suite, kernel command line, modules, expectation, timeout s).
# Expectations: "pass" = every case "ok" and exit status EXIT_PASS;
# ("panic", regex...) = the kernel panics and the log matches each regex;
# ("timeout", regex) = the boot never ends and the runner must stop it,
# after the log matched the regex (the marker the case prints just before
# it hangs).
GUEST_SUITES = [
    ("boot", "ktest=boot marker=l4ua", ["tests/guest/data/module.txt testmod"], "pass", 60),
    ("fault_ud", "ktest=fault_ud", [],
     ("panic", r"#UD invalid opcode \(vector 6\)", r"<ktest_fault_ud_invalid_opcode\+"), 30),
    ("fault_pf", "ktest=fault_pf", [],
     ("panic", r"#PF page fault \(vector 14\)", r"cr2 0000000000000008", r"<write_to_null\+"), 30),
    ("fault_stack", "ktest=fault_stack", [],
     ("panic", r"#DF double fault \(vector 8\)", r"<recurse"), 30),
    ("fault_assert", "ktest=fault_assert", [],
     ("panic", r"assertion failed: two == 3 \(tests/guest/fault_test.c:\d+\)",
      r"<ktest_fault_assert_broken_invariant\+"), 30),
    ("fault_released", "ktest=fault_released", [],
     ("panic", r"assertion failed: two == 4", r"<ktest_fault_released_panic_after_serial_release\+",
      r"^(?![\s\S]*this line goes to the ring only)"), 30),
    ("hang", "ktest=hang", [], ("timeout", r"^hang: marker 5f1c, spinning from here$"), 5),
]

# Guest boots use icount so instruction counts and timer ticks repeat.
QEMU_COMMON = ["-m", "256M", "-display", "none", "-no-reboot", "-net", "none",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
# The RTC follows the guest's clock (clock=vm), as it does in make bench:
# with QEMU's default it keeps host time while the guest's clock counts
# instructions, and the two drift apart as much as the host is busy
# (lua.rtc_matches_os_time failed under a loaded host).
ICOUNT = ["-icount", "shift=0,align=off,sleep=off", "-rtc", "clock=vm"]


# A suite's own summary line ("ktest: 5 passed, 0 failed", "shell: ...").
SUMMARY_RE = re.compile(r"^(?:ktest|[\w.-]+): (\d+) passed, (\d+) failed$", re.M)


def case_key(name):
    """A result's case name: what comes before its note (": ..." or " (...")."""
    return re.split(r":| \(", name, maxsplit=1)[0].strip()


class Results:
    def __init__(self, quiet=False, clock=time.monotonic):
        self.passed = 0
        self.failed = 0
        self.quiet = quiet      # (the runner's self-test: no printing)
        self.clock = clock      # (and a made-up clock)
        self.stage = None
        self.seen = {}          # stage -> the case names it reported
        self.failures = []      # (name, why): repeated at the end, where a log's tail shows them
        self.times = []         # (stage, cases, passed, failed, seconds), one per stage run
        self.gaps = []          # (seconds, stage, name): the time since the stage's result before
        self._t0 = self._last = None

    def begin(self, stage):
        self.stage = stage
        self._start = (self.passed, self.failed)
        self._t0 = self._last = self.clock()

    def end(self):
        """Ends the stage begin() started: its row of the times table,
        printed as a line of its own."""
        p, f = self.passed - self._start[0], self.failed - self._start[1]
        row = (self.stage, p + f, p, f, self.clock() - self._t0)
        self.times.append(row)
        if not self.quiet:
            print(f"stage {row[0]}: {row[1]} cases, {p} passed, {f} failed, {row[4]:.1f} s",
                  flush=True)
        return row

    def _note(self, name):
        self.seen.setdefault(self.stage, set()).add(case_key(name))
        if self._last is not None:
            now = self.clock()
            self.gaps.append((now - self._last, self.stage, case_key(name)))
            self._last = now

    def ok(self, name):
        self.passed += 1
        self._note(name)
        if not self.quiet:
            print(f"ok   {name}", flush=True)

    def fail(self, name, why, log=None):
        self.failed += 1
        self._note(name)
        self.failures.append((name, why))
        if self.quiet:
            return
        print(f"FAIL {name}: {why}", flush=True)
        if log is not None:
            tail = log.splitlines()[-40:]
            print("  ---- last lines of the serial log ----")
            for line in tail:
                print("  | " + line)
            print("  ----", flush=True)

    def count_lines(self, prefix, out):
        """Counts 'ok X' / 'FAIL X' lines a test program printed. If it
        printed a summary ("N passed, M failed"), the lines must agree
        with its last one: a case that counted itself but printed no line
        (or the reverse) fails as "<prefix>summary"."""
        seen = oks = fails = 0
        for line in out.splitlines():
            m = re.match(r"^(ok|FAIL) (\S+)", line)
            if m:
                seen += 1
                if m.group(1) == "ok":
                    oks += 1
                    self.ok(f"{prefix}{m.group(2)}")
                else:
                    fails += 1
                    self.fail(f"{prefix}{m.group(2)}", line)
        sums = SUMMARY_RE.findall(out)
        if sums and (int(sums[-1][0]), int(sums[-1][1])) != (oks, fails):
            self.fail(f"{prefix}summary", f"the summary says {sums[-1][0]} passed, {sums[-1][1]} "
                      f"failed, but {oks} ok and {fails} FAIL lines were printed")
        return seen


# Which cases each stage must report: tests/cases/<stage>.txt, one name a
# line (case_key). A case missing from a run, or one the list lacks, fails
# the stage's case_list check: a test module that returns no cases, or a
# stage that stops early, cannot pass unseen. UPDATE_CASES=1 writes the
# lists from the run instead. Runs filtered by REPL_CASES, DOC_FILES or
# SAFEBOOT_CASES skip the check.
CASES_DIR = os.path.join(ROOT, "tests", "cases")
CASE_FILTERS = ("REPL_CASES", "DOC_FILES", "SAFEBOOT_CASES")


def times_table(res, slowest=0, wall=None):
    """The lines of the times table: one row per stage run (its cases,
    passed, failed, wall seconds), a total; with slowest=N, then the N
    results that came longest after the result before them in their
    stage (a case of a stage whose cases come one by one, such as repl,
    took that long; in a stage whose cases one boot prints at its end,
    the first of them carries the boot). wall: the run's own time, less
    than the total when stages ran side by side (LANE_STAGES)."""
    lines = [f"{'stage':<14}{'cases':>7}{'passed':>8}{'failed':>8}{'seconds':>9}"]
    order = lambda r: STAGES.index(r[0]) if r[0] in STAGES else len(STAGES)
    for stage, cases, p, f, secs in sorted(res.times, key=order):
        lines.append(f"{stage:<14}{cases:>7}{p:>8}{f:>8}{secs:>9.1f}")
    tot = [sum(r[i] for r in res.times) for i in range(1, 5)]
    lines.append(f"{'total':<14}{tot[0]:>7}{tot[1]:>8}{tot[2]:>8}{tot[3]:>9.1f}")
    if wall is not None:
        lines.append(f"{'wall':<37}{wall:>9.1f}")
    if slowest:
        lines += ["", f"the {slowest} slowest results (seconds since the result before, in the stage):"]
        lines += [f"{secs:9.1f}  {stage}: {name}"
                  for secs, stage, name in sorted(res.gaps, reverse=True)[:slowest]]
    return lines


# The stages run in a second runner, and those under icount they run
# beside (TEST_LANES=1: all in one runner, one after the other). The
# second runner's: the stages that boot no QEMU, and the disk's boots
# (disk, crash, damaged), whose checks are of what ends on the disk and
# on the screen, not of how fast (their timeouts are tens of seconds).
LANE_STAGES = ("host", "cache", "lua-host", "net-host", "storage", "shell", "scripts_make",
               "disk", "crash", "damaged")
ICOUNT_STAGES = ("guest", "user", "lua")
LANE_MARK = "lane results: "
# s: the second runner's wall time limit, waited from when the first has
# ended (its stages took 151 s on a loaded machine; each has its own
# timeouts, so this only ends one that hangs past them)
LANE_LIMIT = 1200


def start_lane(stages, build, qemu):
    """A second runner (tests/run.py --lane) of the given stages, its
    output into a temporary file -> (the process, the file)."""
    out = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
    env = dict(os.environ, STAGES=",".join(stages))
    p = subprocess.Popen([sys.executable, "-u", os.path.abspath(__file__), "--lane", "--build", build,
                          "--qemu", qemu], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    return p, out


def end_lane(res, child, lane, beside):
    """Waits for the second runner, shows what it printed and counts its
    results in res."""
    p, out = child
    try:
        p.wait(timeout=LANE_LIMIT)
    except subprocess.TimeoutExpired:
        # a stage of it hung past its own timeouts: its log is shown
        # below, and the missing results line fails it as "lane"
        p.kill()
        p.wait()
    out.seek(0)
    text = out.read()
    out.close()
    print(f"---- stages {', '.join(lane)} (run beside {', '.join(beside)}) ----", flush=True)
    merge_lane(res, text, p.returncode)
    print("----", flush=True)


def merge_lane(res, text, status):
    """Prints a second runner's output and adds its results (its last
    line, LANE_MARK and JSON) to res; without that line, its stages
    fail as one."""
    body, sep, tail = text.rpartition(LANE_MARK)
    try:
        got = json.loads(tail) if sep else None
    except ValueError:
        got = None
    if not res.quiet:
        print((body if got is not None else text).rstrip("\n"), flush=True)
    if got is None:
        res.stage = "lane"
        res.fail("lane", f"the second runner ended (status {status}) without its results",
                 text[-4000:])
        return
    res.passed += got["passed"]
    res.failed += got["failed"]
    res.failures += [tuple(f) for f in got["failures"]]
    res.times += [tuple(t) for t in got["times"]]
    res.gaps += [tuple(g) for g in got["gaps"]]


def check_cases(res, stage, cases_dir=CASES_DIR, update=False):
    seen = {n for n in res.seen.get(stage, set()) if not n.endswith(".case_list")}
    path = os.path.join(cases_dir, stage + ".txt")
    if update:
        os.makedirs(cases_dir, exist_ok=True)
        with open(path, "w") as f:
            f.write("".join(n + "\n" for n in sorted(seen)))
        return
    try:
        with open(path) as f:
            want = {line.strip() for line in f if line.strip() and not line.startswith("#")}
    except OSError:
        res.fail(f"{stage}.case_list", f"no list {os.path.relpath(path, ROOT)} (UPDATE_CASES=1 writes it)")
        return
    missing, extra = sorted(want - seen), sorted(seen - want)
    if missing or extra:
        res.fail(f"{stage}.case_list",
                 (f"did not run: {', '.join(missing)}" if missing else "") +
                 ("; " if missing and extra else "") +
                 (f"not in {os.path.relpath(path, ROOT)}: {', '.join(extra)}" if extra else "") +
                 " (a new or renamed case: UPDATE_CASES=1 make test rewrites the lists)")
    else:
        res.ok(f"{stage}.case_list: the {len(seen)} listed cases ran")


def run_host(res, build):
    hostdir = os.path.join(build, "tests", "host")
    progs = sorted(f for f in os.listdir(hostdir) if f.startswith("test_")) if os.path.isdir(hostdir) else []
    if not progs:
        res.fail("host", f"no host test programs in {hostdir}")
    for prog in progs:
        path = os.path.join(hostdir, prog)
        if not os.access(path, os.X_OK) or os.path.isdir(path):
            continue
        try:
            p = subprocess.run([path], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            res.fail(f"host.{prog}", "timed out after 60 s")
            continue
        seen = res.count_lines("host.", p.stdout)
        if p.returncode != 0 and not re.search(r"^FAIL", p.stdout, re.M):
            res.fail(f"host.{prog}", f"exit status {p.returncode}", p.stdout + p.stderr)
        elif seen == 0:
            res.fail(f"host.{prog}", "ran no test case", p.stdout + p.stderr)
    run_fuzz_replay(res, build)
    # the runner itself, fed with made-up logs (tests/runner_test.py)
    run_command_suite(res, "host.runner", [sys.executable, "tests/runner_test.py"], 60,
                      r"^runner: \d+ passed, 0 failed$")


def run_command_suite(res, name, argv, timeout, summary_re):
    """A host program printing ok/FAIL lines and a final summary line."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        res.fail(name, f"timed out after {timeout} s")
        return
    res.count_lines(f"{name}.", p.stdout)
    if p.returncode != 0 or not re.search(summary_re, p.stdout, re.M):
        res.fail(name, f"exit status {p.returncode}, no line matching {summary_re!r}",
                 p.stdout + p.stderr)


def boot(qemu, args, timeout, logpath, until=None):
    """Runs QEMU with serial output to logpath. Stops it when `until`
    (a regex) appears in the log, or at the timeout. Returns
    (status or None if stopped, log text, seconds until `until` or the end)."""
    with open(logpath, "wb") as out:
        t0 = time.monotonic()
        p = subprocess.Popen([qemu] + QEMU_COMMON + args + ["-serial", "stdio"],
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        status = None
        while True:
            elapsed = time.monotonic() - t0
            rc = p.poll()
            if rc is not None:
                status = rc
                break
            if until:
                with open(logpath, "rb") as f:
                    if re.search(until, f.read().decode("utf-8", "replace")):
                        break
            if elapsed > timeout:
                break
            time.sleep(0.05)
        if p.poll() is None:
            p.kill()
            p.wait()
    with open(logpath, "rb") as f:
        log = f.read().decode("utf-8", "replace").replace("\r", "")
    return status, log, elapsed


def judge_ktest(res, name, status, log, timeout):
    """The verdict on a boot whose program prints "ok X" / "FAIL X" lines,
    then "ktest: N passed, M failed", and ends QEMU with the pass status
    (status None: it was stopped at the timeout). True if it is clean."""
    seen = res.count_lines(f"{name}.", log)
    if status is None:
        res.fail(name, f"timed out after {timeout} s", log)
    elif status == EXIT_PANIC or "PANIC" in log:
        res.fail(name, "kernel panic", log)
    elif status != EXIT_PASS or not re.search(r"^ktest: \d+ passed, 0 failed$", log, re.M):
        res.fail(name, f"QEMU status {status}, suite did not end cleanly", log)
    elif seen == 0:
        res.fail(name, "no test case ran", log)
    else:
        return True
    return False


def run_guest(res, qemu, build):
    kernel = os.path.join(build, "kernel-test32.elf")
    logdir = os.path.join(build, "tests", "logs")
    os.makedirs(logdir, exist_ok=True)
    for suite, cmdline, modules, expect, timeout in GUEST_SUITES:
        name = f"guest.{suite}"
        args = ICOUNT + ["-kernel", kernel, "-append", cmdline]
        if modules:
            args += ["-initrd", ",".join(os.path.join(ROOT, m) for m in modules)]
        status, log, _ = boot(qemu, args, timeout, os.path.join(logdir, suite + ".log"))
        if expect[0] == "timeout":
            if status is not None:
                res.fail(name, f"expected a hang, QEMU ended with status {status}", log)
            elif not re.search(expect[1], log, re.M):
                res.fail(name, "QEMU hung before the case's marker line was printed", log)
            else:
                res.ok(f"{name}: hung after its marker, stopped by the {timeout} s timeout")
        elif expect == "pass":
            judge_ktest(res, name, status, log, timeout)
        else:
            missing = [r for r in expect[1:] if not re.search(r, log)]
            if status != EXIT_PANIC:
                res.fail(name, f"expected a panic (status {EXIT_PANIC}), got {status}", log)
            elif missing:
                res.fail(name, f"panic report lacks {missing}", log)
            else:
                res.ok(f"{name}: panic detected and reported ({expect[1]})")


# Kernel command-line words some user suites need. task: a 16 MiB kernel
# pool, so that kernel_memory_exhaustion is sure to run the pool dry.
USER_KERNEL_ARGS = {"task": ["kmem=16"]}


def run_user(res, qemu, build):
    """User-mode suites: each build/tests/user/<suite>.elf is the root task
    of one boot of the plain test kernel, and ends QEMU itself. A suite
    named s0_* boots with build/sigma0.elf as sigma0 (its pager); the others
    without, so their root task has no pager."""
    kernel = os.path.join(build, "kernel-test32.elf")
    udir = os.path.join(build, "tests", "user")
    logdir = os.path.join(build, "tests", "logs")
    suites = sorted(f[:-4] for f in os.listdir(udir) if f.endswith(".elf")) if os.path.isdir(udir) else []
    if not suites:
        res.fail("user", f"no user test programs in {udir}")
    for suite in suites:
        name = f"user.{suite}"
        modules = os.path.join(udir, suite + ".elf") + " root"
        if suite.startswith("s0_"):
            modules = os.path.join(build, "sigma0.elf") + " sigma0," + modules
        cmdline = " ".join([f"suite={suite}"] + USER_KERNEL_ARGS.get(suite, []))
        args = ICOUNT + ["-kernel", kernel, "-append", cmdline, "-initrd", modules]
        status, log, _ = boot(qemu, args, 300, os.path.join(logdir, "user-" + suite + ".log"))
        if not judge_ktest(res, name, status, log, 300):
            pass
        elif suite == "kdebug" and "kdebug-ring-only-7f3a" in log:
            res.fail(name, "bytes written while COM1 was released reached the serial line", log)
        elif suite == "kdebug" and "kdebug: serial is back" not in log:
            res.fail(name, "the kernel did not write COM1 again after the release ended", log)
        elif suite == "kdebug":
            res.ok(f"{name}: the released serial line kept the marker off COM1, in the ring")


LUA_BOOT_LIMIT = 300    # s: the Lua test boot's wall time limit (run_lua)


def run_lua(res, qemu, build):
    """Lua in the guest: sigma0, build/lua-root.elf as the root task and a
    scripts archive, on the plain test kernel under icount. The test
    archive's init.lua (tests/lua/) runs LPeg's own suite and smoke.lua and
    ends QEMU with "ktest: N passed, M failed"; without an archive the root
    must say so, show a traceback and end QEMU with a failure."""
    kernel = os.path.join(build, "kernel-test32.elf")
    logdir = os.path.join(build, "tests", "logs")
    base = (os.path.join(build, "sigma0.elf") + " sigma0," +
            os.path.join(build, "lua-root.elf") + " root")
    arc = os.path.join(build, "tests", "lua", "tests.arc")
    args = ICOUNT + ["-kernel", kernel, "-initrd", base + "," + arc + " scripts"]
    # A fault of the root task (e.g. below its stack) blocks it for good:
    # sigma0 logs it and does not answer; stop there rather than wait.
    fault = r"sigma0: (page fault|exception) at .* not answered"
    # Under icount the boot's guest time is always the same: its wall
    # time (88 s on an idle machine) is the host's doing, and the limit
    # only ends a boot that hangs; 300 s, for a host busy with the second
    # runner and more (177 s seen at a load of 5 on 2 cores)
    status, log, _ = boot(qemu, args, LUA_BOOT_LIMIT, os.path.join(logdir, "lua.log"), until=fault)
    seen = res.count_lines("lua.", log)
    if status is None and re.search(fault, log):
        res.fail("lua", "the root task faulted", log)
    elif status is None:
        res.fail("lua", f"timed out after {LUA_BOOT_LIMIT} s", log)
    elif status == EXIT_PANIC or "PANIC" in log:
        res.fail("lua", "kernel panic", log)
    elif status != EXIT_PASS or not re.search(r"^ktest: \d+ passed, 0 failed$", log, re.M):
        res.fail("lua", f"QEMU status {status}, the Lua tests did not end cleanly", log)
    elif seen == 0:
        res.fail("lua", "no test case ran", log)
    compare_with_host(res, log)

    # Tasks are limited only by memory: at 1 GiB, at least 1,000 small Lua
    # tasks at once (tests/lua/many_tasks.lua prints the count and the
    # pages one costs).
    arc = os.path.join(build, "tests", "lua", "many.arc")
    args = ICOUNT + ["-m", "1G", "-kernel", kernel, "-initrd", base + "," + arc + " scripts"]
    # (icount too: 41 s on an idle machine, 80 s seen at a load of 5)
    status, log, _ = boot(qemu, args, 200, os.path.join(logdir, "lua-many-tasks.log"))
    counts = re.findall(r"^many_tasks: round \d: .*", log, re.M)
    if status != EXIT_PASS or not re.search(r"^ktest: 2 passed, 0 failed$", log, re.M):
        res.fail("lua.many_tasks", f"QEMU status {status}", log)
    else:
        res.ok("lua.many_tasks: " + counts[0][len("many_tasks: "):] if counts else "lua.many_tasks")

    run_blk(res, qemu, build, kernel, base)

    args = ICOUNT + ["-kernel", kernel, "-initrd", base]
    status, log, _ = boot(qemu, args, 60, os.path.join(logdir, "lua-no-scripts.log"))
    need = [r'lua-root: no boot module named "scripts"', r"lua-root: cannot open init\.lua",
            r"stack traceback:"]
    missing = [r for r in need if not re.search(r, log)]
    if status != EXIT_FAIL or missing:
        res.fail("lua.no_scripts", f"QEMU status {status} (want {EXIT_FAIL}), missing {missing}", log)
    else:
        res.ok("lua.no_scripts: a root task without scripts says so and ends the system")


def blk_host_sector(n):
    """Sector n of the disk boot's image as the runner makes it (tests/blk/pattern.lua)."""
    return ((b"host sector %08d " % n) * 26)[:512]


def blk_guest_sectors(lba, count, tag):
    """What tests/blk/cases.lua writes at lba (pattern.lua's guest())."""
    return b"".join(((b"%s %08d " % (tag, n)) * 40)[:512] for n in range(lba, lba + count))


def run_blk(res, qemu, build, kernel, base):
    """The disk boot: the system's scripts with tests/blk/ (its init.lua
    starts the device manager and the virtio-blk driver under a supervisor,
    then the cases) and an 8 MiB raw image on virtio-blk-pci, filled with a
    pattern first; after QEMU ended, the sectors the cases wrote are read
    from the image here."""
    logdir = os.path.join(build, "tests", "logs")
    img = os.path.join(build, "tests", "blk", "disk.img")
    with open(img, "wb") as f:
        for n in range(16384):
            f.write(blk_host_sector(n))
    arc = os.path.join(build, "tests", "blk", "blk.arc")
    args = ICOUNT + ["-kernel", kernel, "-initrd", base + "," + arc + " scripts",
                     "-drive", f"file={img},if=none,id=disk0,format=raw",
                     "-device", "virtio-blk-pci,drive=disk0"]
    status, log, _ = boot(qemu, args, 240, os.path.join(logdir, "lua-blk.log"))
    seen = res.count_lines("lua.", log)
    if status is None:
        res.fail("lua.blk", "timed out after 240 s", log)
        return
    if status != EXIT_PASS or not re.search(r"^ktest: \d+ passed, 0 failed$", log, re.M) or not seen:
        res.fail("lua.blk", f"QEMU status {status}, the disk cases did not end cleanly", log)
        return
    with open(img, "rb") as f:
        disk = f.read()
    def at(lba, count):
        return disk[lba * 512:(lba + count) * 512]
    want = [("the 4 KiB at 1000", at(1000, 8), blk_guest_sectors(1000, 8, b"guest")),
            ("the 100 KiB at 2000", at(2000, 200), blk_guest_sectors(2000, 200, b"big")),
            ("sector 999", at(999, 1), blk_host_sector(999)),
            ("sector 1008", at(1008, 1), blk_host_sector(1008)),
            ("the 160 KiB written with wrong register values", at(9000, 320),
             blk_guest_sectors(9000, 320, b"reg"))]
    for i in range(1, 5):
        lba = 4000 + 256 * i
        want.append((f"client {i}'s sectors", at(lba, 128), blk_guest_sectors(lba, 128, b"c%d4" % i)))
    bad = [name for name, got, exp in want if got != exp]
    if bad:
        res.fail("lua.blk_bytes_on_the_host", "wrong bytes in the image: " + ", ".join(bad), log)
    else:
        res.ok("lua.blk_bytes_on_the_host: what the guest wrote through virtio-blk is in the image")


def run_net(res, qemu, build):
    """The network boot (docs/network.md): the system's scripts with
    tests/net/ (its init.lua starts the device manager, the virtio-net
    driver and the network service under a supervisor, then the cases) on
    a virtio-net card on QEMU's user network, talking to the servers and
    clients of tests/net/host.py. No icount: the guest's clock must be the
    host's, whose servers answer in host time."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "net"))
    import host as nethost
    logdir = os.path.join(build, "tests", "logs")
    kernel = os.path.join(build, "kernel-test32.elf")
    base = (os.path.join(build, "sigma0.elf") + " sigma0," +
            os.path.join(build, "lua-root.elf") + " root")
    arc = os.path.join(build, "tests", "net", "net.arc")
    srv = nethost.Servers()
    args = ["-kernel", kernel, "-initrd", base + "," + arc + " scripts"] + srv.netdev()
    status, log, _ = boot(qemu, args, 300, os.path.join(logdir, "net.log"))
    srv.stop = True
    seen = res.count_lines("net.", log)
    for name in ("host_connects_to_guest", "udp_host_to_guest"):
        why = srv.results.get(name, "the host's side did not finish")
        if why is None:
            res.ok(f"net.host.{name}")
        else:
            res.fail(f"net.host.{name}", why, log)
    if status is None:
        res.fail("net", "timed out after 300 s", log)
    elif status != EXIT_PASS or not re.search(r"^ktest: \d+ passed, 0 failed$", log, re.M) or not seen:
        res.fail("net", f"QEMU status {status}, the network cases did not end cleanly", log)


CMP_PREFIX = "cmp| "


def compare_with_host(res, guest_log):
    """tests/lua/compare.lua ran in the guest (its "cmp| " lines are in the
    Lua boot's log); run it with the host's lua5.4 now (TZ=UTC, as the guest
    has no time zone) and compare line by line. The host's output is made
    here, never stored in the tree."""
    name = "lua.compare_with_host"
    script = os.path.join(ROOT, "tests", "lua", "compare.lua")
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    try:
        p = subprocess.run(["lua5.4", script], capture_output=True, timeout=60, env=env,
                           cwd=os.path.join(ROOT, "tests", "lua"))
    except (OSError, subprocess.TimeoutExpired) as e:
        res.fail(name, f"cannot run the host's lua5.4 (Debian package lua5.4): {e}")
        return
    host_out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        res.fail(name, f"host lua5.4 exit status {p.returncode}",
                 host_out + p.stderr.decode("utf-8", "replace"))
        return
    host = [l[len(CMP_PREFIX):] for l in host_out.splitlines() if l.startswith(CMP_PREFIX)]
    guest = [l[len(CMP_PREFIX):] for l in guest_log.splitlines() if l.startswith(CMP_PREFIX)]
    if not host or host[-1] != "done":
        res.fail(name, f"the host run did not reach the end ({len(host)} lines)")
        return
    for i, (h, g) in enumerate(zip(host, guest), 1):
        if h != g:
            res.fail(name, f"line {i} differs:\n  host:  {h}\n  guest: {g}")
            return
    if len(guest) != len(host):
        res.fail(name, f"the guest printed {len(guest)} lines, the host {len(host)}; "
                 f"first missing: {host[len(guest)] if len(guest) < len(host) else guest[len(host)]}")
        return
    res.ok(f"{name}: {len(host)} lines of tests/lua/compare.lua as lua5.4 prints them")


def read_archive(path, chunks=None):
    """Reads tools/mkarchive.py's format into {name: bytes}; its
    precompiled chunks (--luac) into the dict chunks, if given."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"L4uaARC1"):
        raise ValueError(f"{path}: bad magic")

    def entries(off, into):
        while True:
            (nlen,) = struct.unpack_from("<I", data, off)
            off += 4
            if nlen == 0:
                return off
            name = data[off:off + nlen].decode()
            off += nlen
            (dlen,) = struct.unpack_from("<I", data, off)
            off += 4
            into[name] = data[off:off + dlen]
            off += dlen

    files = {}
    off = entries(8, files)
    if data[off:off + 8] == b"L4uaLUAC":
        off = entries(off + 8, chunks if chunks is not None else {})
    if off != len(data):
        raise ValueError(f"{path}: {len(data) - off} bytes after the end mark")
    return files


def run_scripts_make(res, build):
    """`make SCRIPTS=folder` on a temporary folder, in a build folder of its
    own: the archive holds the folder's .lua files (under user/ by their
    relative paths, hidden folders and other files left out) beside
    scripts/, whose init.lua stays the boot plan, and is
    rebuilt when a file changes, when one is added, and when SCRIPTS changes."""
    name = "scripts_make"
    sbuild = os.path.join(build, "tests", "scripts-make")
    arc = os.path.join(sbuild, "scripts.arc")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}

    chunks = {}

    def make(*extra):
        p = subprocess.run(["make", "-s", "-C", ROOT, f"BUILD={sbuild}", arc] + list(extra),
                           capture_output=True, text=True, timeout=120, env=env)
        if p.returncode != 0:
            raise RuntimeError(f"make {' '.join(extra)}: status {p.returncode}\n{p.stdout}{p.stderr}")
        chunks.clear()
        return read_archive(arc, chunks)

    def write(path, text, bump=0):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        if bump:        # newer than the archive, whatever the clock's grain
            t = time.time() + bump
            os.utime(path, (t, t))

    try:
        with tempfile.TemporaryDirectory() as tmp:
            user = os.path.join(tmp, "my-scripts")
            write(os.path.join(user, "mine", "greet.lua"), "return 'v1'\n")
            write(os.path.join(user, "top.lua"), "return 'top'\n")
            write(os.path.join(user, "notes.txt"), "not Lua\n")
            write(os.path.join(user, ".git", "hook.lua"), "return 'hidden'\n")
            got = make(f"SCRIPTS={user}")
            # under user/: the user's init.lua is the autorun, not the boot plan
            want = {"init.lua", "rescue.lua", "re.lua", "user/mine/greet.lua", "user/top.lua"}
            problems = [f"missing {n}" for n in sorted(want - set(got))]
            problems += [f"packed {n}" for n in ("user/notes.txt", "user/.git/hook.lua", "top.lua",
                                                 "mine/greet.lua") if n in got]
            if got.get("user/mine/greet.lua") != b"return 'v1'\n":
                problems.append("user/mine/greet.lua has the wrong bytes")
            # every .lua file precompiled (runtime/lua/luac.c), with its
            # debug information; nothing else
            if not chunks.get("user/mine/greet.lua", b"").startswith(b"\x1bLuaT") or \
                    b"v1" not in chunks["user/mine/greet.lua"]:
                problems.append("user/mine/greet.lua has no precompiled chunk of its bytes")
            problems += [f"no precompiled chunk of {n}" for n in sorted(got)
                         if n.endswith(".lua") and n not in chunks]
            problems += [f"a precompiled chunk of {n}, which is not a .lua file of the archive"
                         for n in sorted(chunks) if n not in got or not n.endswith(".lua")]
            write(os.path.join(user, "init.lua"), "print('mine')\n")
            got = make(f"SCRIPTS={user}")
            if got.get("user/init.lua") != b"print('mine')\n" or \
                    got.get("init.lua") != open(os.path.join(ROOT, "scripts", "init.lua"), "rb").read():
                problems.append("the user's init.lua is not user/init.lua beside ours")
            write(os.path.join(user, "mine", "greet.lua"), "return 'v2'\n", bump=5)
            if make(f"SCRIPTS={user}").get("user/mine/greet.lua") != b"return 'v2'\n":
                problems.append("a changed file did not rebuild the archive")
            if b"v2" not in chunks.get("user/mine/greet.lua", b""):
                problems.append("a changed file's precompiled chunk is not of its new bytes")
            write(os.path.join(user, "new.lua"), "return 'new'\n")
            os.utime(os.path.join(user, "new.lua"), (0, 0))  # older than the archive
            if "user/new.lua" not in make(f"SCRIPTS={user}"):
                problems.append("an added (old) file did not rebuild the archive")
            got = make()
            if any(n.startswith("user/") for n in got) or "init.lua" not in got:
                problems.append("without SCRIPTS the archive still holds the folder")
        if problems:
            res.fail(name, "; ".join(problems))
        else:
            res.ok(f"{name}: make SCRIPTS=folder packs its .lua files under user/, precompiled too, "
                   "and rebuilds on changes")
    except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired, struct.error) as e:
        res.fail(name, str(e))


def run_iso(res, qemu, build):
    """The `make run` image: GRUB, multiboot2, no icount, as a person sees it."""
    iso = os.path.join(build, "l4ua.iso")
    logpath = os.path.join(build, "tests", "logs", "iso.log")
    status, log, secs = boot(qemu, ["-cdrom", iso], 30, logpath, until=r"\r> \x1b\[K")
    banner = re.search(r"L4ua kernel \S+ \(x86_64\)", log)
    need = [r"boot: multiboot2", r"memory map:\n(  [0-9a-f]{16}-[0-9a-f]{16} available\n)",
            r"modules: \d+", r"free memory: \d+ KiB", r"boot: started (\S+ )?sigma0 as task 1",
            r"sigma0: owns \d+ KiB of RAM", r"boot: started (\S+ )?root as task 2",
            r"L4ua: Lua is running as the root task\n  Lua 5\.4, LPeg ",
            r"L4ua REPL on the serial console"]
    missing = [r for r in need if not re.search(r, log)]
    if status is not None:
        res.fail("iso.boot", f"QEMU ended with status {status}", log)
    elif not banner or missing:
        res.fail("iso.boot", f"no banner or missing {missing}", log)
    else:
        res.ok(f"iso.boot: GRUB ISO reaches the banner, memory map, Lua and the REPL's prompt "
               f"({secs:.2f} s wall)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--lane", action="store_true", help="a second runner's (start_lane)")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    os.makedirs(os.path.join(build, "tests", "logs"), exist_ok=True)
    res = Results()
    # STAGES=lua,repl (make test STAGES=...) runs only those stages, for a
    # quick loop while working; make test with no STAGES runs them all.
    only = [s for s in os.environ.get("STAGES", "").split(",") if s]
    unknown = [s for s in only if s not in STAGES]
    if unknown:
        res.fail("stages", f"unknown stage(s) {unknown}; known: {', '.join(STAGES)}")
    lua = os.path.join(build, "lua-host", "lua")
    stages = {
        "host": lambda: run_host(res, build),
        "cache": lambda: run_command_suite(res, "cache", ["sh", "tests/host/cache_test.sh"], 60,
                                           r"^cache: \d+ passed, 0 failed$"),
        "lua-host": lambda: run_lua_host(res, lua, build),
        "net-host": lambda: run_net_host(res, build),
        "storage": lambda: run_storage(res, lua, build),
        "shell": lambda: run_command_suite(res, "shell", [lua, "tests/shell/run.lua"], 120,
                                           r"^shell: \d+ passed, 0 failed$"),
        "scripts_make": lambda: run_scripts_make(res, build),
        "guest": lambda: run_guest(res, a.qemu, build),
        "user": lambda: run_user(res, a.qemu, build),
        "lua": lambda: run_lua(res, a.qemu, build),
        "iso": lambda: run_iso(res, a.qemu, build),
        "bench": lambda: run_bench_short(res, a.qemu, build),
        "repl": lambda: run_repl(res, build),
        "disk": lambda: run_disk(res, build),
        "net": lambda: run_net(res, a.qemu, build),
        "crash": lambda: run_crash_disk(res, build, int(os.environ.get("CRASH_DISK_RUNS",
                                                                         CRASH_DISK_RUNS))),
        "netstorm": lambda: run_command_suite(res, "netstorm", [sys.executable, "tests/net/storm.py",
                                                                "--build", build], 420,
                                              r"^netstorm: \d+ passed, 0 failed$"),
        "damaged": lambda: run_damaged_disk(res, build, int(os.environ.get("DAMAGED_RUNS",
                                                                           DAMAGED_RUNS))),
        "docs": lambda: run_docs(res, build),
        "soak": lambda: run_soak(res, a.qemu, build),
        "faultinject": lambda: run_faultinject(res, a.qemu, build),
        "safeboot": lambda: run_safeboot(res, build),
    }
    filtered = [v for v in CASE_FILTERS if os.environ.get(v)]
    update = os.environ.get("UPDATE_CASES") == "1"
    t0 = time.monotonic()
    chosen = [n for n in STAGES if not only or n in only]
    # LANE_STAGES run in a second runner beside the stages under icount
    # (whose guests' time counts instructions, so a busy host changes
    # nothing they measure): two cores, both at work. Its output is
    # shown, and its results counted, when both are done.
    lane = [n for n in chosen if n in LANE_STAGES]
    beside = [n for n in chosen if n in ICOUNT_STAGES]
    child = None
    if lane and beside and not a.lane and os.environ.get("TEST_LANES", "2") != "1":
        child = start_lane(lane, build, a.qemu)
        chosen = [n for n in chosen if n not in lane]
    for name in chosen:
        res.begin(name)
        stages[name]()
        if not filtered:
            check_cases(res, name, update=update)
        res.end()
        if child and not any(n in beside for n in chosen[chosen.index(name) + 1:]):
            end_lane(res, child, lane, beside)
            child = None
    if a.lane:      # a second runner: its results, for the first one
        print(LANE_MARK + json.dumps({"passed": res.passed, "failed": res.failed,
                                      "failures": res.failures, "times": res.times,
                                      "gaps": res.gaps}))
        return 1 if res.failed else 0
    # each stage's wall time, here and in build/tests/logs/times.txt
    # (with the slowest results), before the failures and the last line
    wall = time.monotonic() - t0
    table = times_table(res, wall=wall)
    print("\n".join(table))
    with open(os.path.join(build, "tests", "logs", "times.txt"), "w") as f:
        f.write("\n".join(times_table(res, 30, wall=wall)) + "\n")
    for name, why in res.failures:
        print(f"failed: {name}: {why}"[:400])
    print(f"{res.passed} passed, {res.failed} failed")
    return 1 if res.failed else 0


STAGES = ["host", "cache", "lua-host", "net-host", "storage", "shell", "scripts_make", "guest", "user",
          "lua", "iso", "bench", "repl", "disk", "crash", "damaged", "net", "netstorm", "docs", "soak",
          "faultinject", "safeboot"]


def run_lua_host(res, lua, build):
    """The host build of our Lua: its smoke test and LPeg's own suite."""
    run_command_suite(res, "lua-host", [lua, "tests/host/lua/smoke.lua",
                                        os.path.join(build, "lua-host")], 120,
                      r"^lua-host: \d+ passed, 0 failed$")
    lpeg_test = os.path.join(build, "lua-host", "share", "test.lua")
    try:
        p = subprocess.run([lua, lpeg_test], capture_output=True, text=True, timeout=120, cwd=ROOT)
        if p.returncode == 0 and p.stdout.rstrip().endswith("\nOK"):
            res.ok("lua-host.lpeg_own_test_suite")
        else:
            res.fail("lua-host.lpeg_own_test_suite", f"exit status {p.returncode}", p.stdout + p.stderr)
    except (subprocess.TimeoutExpired, OSError) as e:
        res.fail("lua-host.lpeg_own_test_suite", str(e))


def run_net_host(res, build):
    """The network apps on the host (docs/network.md): the dashboard's HTTP
    server (scripts/httpd.lua, dashboard.lua) over Debian's LuaSocket,
    driven by real clients (tests/host/net/test_httpd.py), then in Debian's
    chromium, headless, through selenium (browser.py, its screenshot in
    the logs). Installs their Debian packages first (packages.sh net)."""
    p = subprocess.run(["sh", "tools/deps/packages.sh", "net"], capture_output=True, text=True,
                       cwd=ROOT, timeout=900)
    if p.returncode != 0:
        res.fail("net-host.packages", f"exit status {p.returncode}", p.stdout + p.stderr)
        return
    run_command_suite(res, "net-host", [sys.executable, "tests/host/net/test_httpd.py"], 120,
                      r"^net-host: \d+ passed, 0 failed$")
    shot = os.path.join(build, "tests", "logs", "dashboard-host.png")
    # Debian's python3 has Debian's selenium (another python3 first on PATH may not)
    run_command_suite(res, "net-host.browser", ["/usr/bin/python3", "tests/host/net/browser.py",
                                                "--host", shot], 180,
                      r"^browser: \d+ passed, 0 failed$")


def run_storage(res, lua, build):
    """The ext2 module on the host (tests/host/lua/ext2.lua: the guest's
    cases, 1,000 damaged images per kind, an image file through io), then
    the host's e2fsck on every image the cases left: it must find each
    clean (exit status 0, nothing to fix)."""
    out = os.path.join(build, "tests", "ext2", "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    run_command_suite(res, "storage", [lua, "-L", "tests/lua", "tests/host/lua/ext2.lua",
                                       os.path.join(build, "tests", "ext2"), out, "1000"], 300,
                      r"^ext2-host: \d+ passed, 0 failed$")
    try:
        with open(os.path.join(out, "kept.txt")) as f:
            kept = f.read().split()
    except OSError as e:
        res.fail("storage.e2fsck", f"no list of images: {e}")
        return
    for name in kept:
        img = os.path.join(out, name + ".img")
        p = subprocess.run(["/usr/sbin/e2fsck", "-fn", img], capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            res.ok(f"storage.e2fsck_clean: {name}")
        else:
            res.fail(f"storage.e2fsck_clean: {name}", f"e2fsck status {p.returncode}", p.stdout + p.stderr)
    run_fuzz_ext2(res, build, FUZZ_EXT2_SECONDS)
    run_crash_ext2(res, lua, build, int(os.environ.get("CRASH_RUNS", CRASH_RUNS)))


CRASH_RUNS = 20     # make crash-ext2 runs 100 (CRASH_RUNS=n)


def run_crash_ext2(res, lua, build, runs):
    """Nothing lost, nothing corrupted (docs/storage.md "Durability"):
    runs times, tests/host/lua/ext2_crash.lua writes, replaces, renames
    and removes files on a copy of a test image (ext4, then ext2, in turn)
    until SIGKILL at a random moment (0.05 to 0.6 s); e2fsck -fy must
    repair whatever is left (status 0 or 1), and every file an operation
    had finished with must then read back intact."""
    import random
    rng = random.Random(0x6c347561)
    work = os.path.join(build, "tests", "ext2", "crash")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    img, log = os.path.join(work, "disk.img"), os.path.join(work, "ops.log")
    script = "tests/host/lua/ext2_crash.lua"
    repaired, ops = 0, 0
    for i in range(runs):
        kind = ("ext4", "ext2")[i % 2]
        shutil.copy(os.path.join(build, "tests", "ext2", kind + ".img"), img)
        p = subprocess.Popen([lua, "-L", "tests/lua", script, "work", img, log, str(i + 1)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.05, 0.6))
        p.kill()
        _, err = p.communicate()
        if p.returncode != -9:
            res.fail(f"storage.crash_ext2: run {i + 1}", f"the workload ended by itself ({p.returncode})",
                     err.decode("latin-1"))
            return
        f = subprocess.run(["/usr/sbin/e2fsck", "-fy", img], capture_output=True, text=True, timeout=60)
        if f.returncode not in (0, 1):
            shutil.copy(img, img + f".run{i + 1}")
            res.fail(f"storage.crash_ext2: run {i + 1} ({kind})", f"e2fsck -fy status {f.returncode}",
                     f.stdout[-2000:])
            return
        repaired += f.returncode == 1
        c = subprocess.run([lua, "-L", "tests/lua", script, "check", img, log], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"crash-check: ok after (\d+)", c.stdout)
        if c.returncode != 0 or not m:
            res.fail(f"storage.crash_ext2: run {i + 1} ({kind})", "a finished operation was lost",
                     c.stdout + c.stderr + f.stdout[-1500:])
            return
        ops += int(m.group(1))
    res.ok(f"storage.crash_ext2: {runs} workloads killed at random ({ops} operations finished): "
           f"e2fsck repaired {repaired}, found {runs - repaired} clean; every finished file intact")


FUZZ_EXT2_SECONDS = 20   # make fuzz-host runs it FUZZ_SECONDS (60 by default)


def run_fuzz_ext2(res, build, seconds):
    """make fuzz-host's file-system fuzzer (tests/fuzz/host/fuzz_ext2.c,
    ASan and UBSan) for a few seconds from its seeds: any crash, sanitizer
    report, hang or raised error fails."""
    fuzzer = os.path.join(build, "tests", "fuzz", "host", "fuzz_ext2")
    seeds = os.path.join(build, "tests", "fuzz", "seeds", "ext2")
    work = os.path.join(build, "tests", "fuzz", "work-test", "ext2")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(seeds, work)
    corpus = os.path.join(ROOT, "tests", "fuzz", "corpus", "ext2")    # what fuzzing found
    for name in os.listdir(corpus) if os.path.isdir(corpus) else []:
        shutil.copy(os.path.join(corpus, name), work)
    argv = [fuzzer, f"-max_total_time={seconds}", "-timeout=20", "-print_final_stats=1",
            "-artifact_prefix=" + os.path.join(build, "tests", "fuzz", "crash-ext2-"), work]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, cwd=ROOT)
    except (subprocess.TimeoutExpired, OSError) as e:
        res.fail("storage.fuzz_ext2", str(e))
        return
    runs = re.search(r"^stat::number_of_executed_units: (\d+)", p.stderr, re.M)
    if p.returncode == 0 and runs:
        res.ok(f"storage.fuzz_ext2: {runs.group(1)} images in {seconds} s, no report")
    else:
        res.fail("storage.fuzz_ext2", f"status {p.returncode}", "\n".join(p.stderr.splitlines()[-60:]))


def run_fuzz_replay(res, build):
    """Every input the host fuzzers keep (tests/fuzz/corpus/<target>/: the
    seeds, and each crash they ever found, kept there once fixed) runs once
    through its fuzzer, under ASan and UBSan: a fixed bug that comes back
    fails here, in make test, not only in a long make fuzz-host."""
    for target in ("elf", "archive", "ext2"):
        name = f"host.fuzz_replay_{target}"
        fuzzer = os.path.join(build, "tests", "fuzz", "host", "fuzz_" + target)
        corpus = os.path.join(ROOT, "tests", "fuzz", "corpus", target)
        inputs = sorted(os.path.join(corpus, f) for f in os.listdir(corpus)) if os.path.isdir(corpus) else []
        if not inputs:
            res.fail(name, f"no inputs in tests/fuzz/corpus/{target}")
            continue
        try:
            p = subprocess.run([fuzzer, "-timeout=20"] + inputs, capture_output=True, text=True,
                               timeout=120, cwd=ROOT)
        except (subprocess.TimeoutExpired, OSError) as e:
            res.fail(name, str(e))
            continue
        ran = len(re.findall(r"^Running: ", p.stderr, re.M))
        if p.returncode == 0 and ran == len(inputs):
            res.ok(f"{name}: {ran} kept inputs, no report")
        else:
            res.fail(name, f"status {p.returncode}, {ran} of {len(inputs)} inputs ran",
                     "\n".join(p.stderr.splitlines()[-60:]))


BENCH_SHORT_LIMIT = 420     # s: the runner and all its boots


def run_bench_short(res, qemu, build):
    """make bench's L4ua programs (built by `make all`) boot once each and
    print every L4ua figure's name (tests/bench/run.py --short; no Linux
    baseline, of the boot-time figures only boot_to_prompt, nothing
    written). The runner is a
    process group of its own: at the time limit the group is killed, its
    QEMU with it, and the end of what it printed is shown."""
    argv = [sys.executable, "-u", os.path.join(ROOT, "tests", "bench", "run.py"), "--short",
            "--build", build, "--qemu", qemu]
    limit = BENCH_SHORT_LIMIT
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         cwd=ROOT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        res.fail("bench.short", f"timed out after {limit} s (the runner and its QEMU killed)",
                 "\n".join(out.splitlines()[-40:]))
        return
    if p.returncode == 0 and "bench names: all there" in out:
        res.ok("bench.short: every L4ua benchmark name came out")
    else:
        res.fail("bench.short", f"status {p.returncode}", out)
        return
    m = re.search(r"^bench figures: (.*)$", out, re.M)
    bad = figures_off_baseline(json.loads(m.group(1)) if m else {},
                               os.path.join(ROOT, "tests", "bench", "short-baseline.json"))
    if bad:
        res.fail("bench.short_figures", "; ".join(bad) + " (tests/bench/short-baseline.json)",
                 out)
    else:
        res.ok("bench.short_figures: every figure above 0 and within its band of the baseline")


def figures_off_baseline(figures, path):
    """What is wrong with the short bench's figures against the committed
    baseline: each must be there, above 0, and within a factor of 1 +
    band of its baseline either way; a figure the baseline lacks is
    wrong too (a new benchmark gets its baseline in the same commit)."""
    with open(path) as f:
        base = json.load(f)
    bands, want = base["band"], base["figures"]
    bad = [f"{n} missing" for n in sorted(want) if n not in figures]
    for n, v in sorted(figures.items()):
        if n not in want:
            bad.append(f"{n} = {v} has no baseline")
            continue
        b = 1 + bands.get(n, bands["default"])
        if not (isinstance(v, (int, float)) and v > 0):
            bad.append(f"{n} = {v}, not above 0")
        elif not want[n] / b <= v <= want[n] * b:
            bad.append(f"{n} = {v:,}, baseline {want[n]:,} (band x{b:g})")
    return bad


FAULTINJECT_SHORT = "fi-300-0x46494e4a"  # make test: 300 faults, a fixed seed (make all builds it)


def run_faultinject(res, qemu, build):
    """make faultinject's short run (tests/faultinject/, docs/reliability.md
    "Fault injection"): 300 faults injected into the name service, two
    echo services, the file service and the two console servers while
    nine clients use them and tests/faultinject/run.py types at COM1;
    every check of the full campaign."""
    arc = os.path.join(build, "tests", "faultinject", FAULTINJECT_SHORT + ".arc")
    run_command_suite(res, "faultinject",
                      [sys.executable, os.path.join(ROOT, "tests", "faultinject", "run.py"), "--build", build,
                       "--qemu", qemu, "--archive", arc,
                       "--seeds", "0x46494e4a (300 faults)", "--timeout", "400"], 460,
                      r"^faultinject: 2 passed, 0 failed$")


SOAK_SCALE = 20      # make test runs a twentieth of make soak


def run_soak(res, qemu, build):
    """make soak's short run (tests/soak/run.py, docs/reliability.md
    "Soak"): a twentieth of the full figures, the same checks. On failure
    the soak's own lines and the end of the serial log are shown."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("soak_run", os.path.join(ROOT, "tests", "soak", "run.py"))
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    ok, why, log, wall = soak.run(qemu, build, SOAK_SCALE)
    lines = soak.soak_lines(log)
    if not ok:
        res.fail("soak", why, "\n".join(lines[-30:] + ["---- the end of the log ----"] +
                                        log.splitlines()[-20:]))
        return
    done = {k: next((l for l in lines if l.startswith(k)), "") for k in
            ("soak: Lua threads created", "soak: tasks spawned", "soak: reloads", "soak: kills",
             "soak: client requests")}
    figures = "; ".join(re.sub(r"^soak: ", "", re.split(r";|\(echo", v)[0]).strip()
                        for v in done.values() if v)
    res.ok(f"soak: 1/{SOAK_SCALE} of make soak passed: {figures} ({wall:.0f} s wall)")


def run_disk(res, build):
    """Files that survive a reboot (tests/repl/disk_cases.py): make run's
    default image made on first use and kept (a stand-in for QEMU); four boots
    of make run on one new image (write, push and reload, reboot, safe mode,
    read-only), the host's e2fsck -fn and debugfs after each; then a boot
    on a small disk filled up. A boot that fails ends the
    stage with the end of its screen (its log: build/tests/logs/disk-N.log)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "repl"))
    import term
    import disk_cases
    work = os.path.join(build, "tests", "disk")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    logdir = os.path.join(build, "tests", "logs")
    os.makedirs(logdir, exist_ok=True)
    # make run's default image, made on first use and kept (no boot)
    try:
        bad = disk_cases.default_image(ROOT, work)
    except Exception as e:
        bad = [f"{type(e).__name__}: {e}"]
    if bad:
        res.fail("disk.default_image_made_on_first_use", "; ".join(bad))
    else:
        res.ok("disk.default_image_made_on_first_use: $(BUILD)/disk.img made by make run "
               "(64 MiB ext4, e2fsck clean), kept by the next, none with DISK=path")
    img = os.path.join(work, "disk.img")
    os.rename(term.fresh_disk(os.path.join(work, "new"))[len("DISK="):], img)
    small = disk_cases.small_disk(work)
    pushed = lambda: disk_cases.host_checks(img, True)
    said = ": e2fsck -fn clean, debugfs reads the file, the pushed echo and the reloaded sched"
    # (name, image, make run's extra arguments, the boot's cases, the host's check)
    steps = [("disk.write_push_sync", img, [], disk_cases.first_boot, pushed),
             ("disk.after_a_reboot", img, [], disk_cases.second_boot, pushed),
             ("disk.safe_mode_ignores_its_scripts", img, ["SAFE=1"], disk_cases.safe_boot, pushed),
             # the same image read-only, then a small one filled up: the errors
             # io.open, os.remove and tools/l4ua put give (EROFS, ENOSPC)
             ("disk.read_only_gives_erofs", img, ["DISK_RO=1"], disk_cases.read_only_boot, pushed),
             ("disk.full_gives_enospc", small, [], disk_cases.full_disk_boot,
              lambda: disk_cases.e2fsck_clean(small))]
    for n, (name, disk, extra, fn, check) in enumerate(steps):
        s = None
        try:
            s = disk_cases.boot(term, ROOT, build, disk, os.path.join(logdir, f"disk-{n + 1}.log"),
                                extra)
            fn(s, ROOT, build, work)
            s.close()
            s = None
        except Exception as e:
            res.fail(name, f"{type(e).__name__}: {e}", s.out[-3000:].decode("latin-1") if s else None)
            if s:
                s.close()
            return
        bad = check()
        if bad:
            res.fail(name, "on the host: " + "; ".join(bad))
            return
        res.ok(name + (said if check is pushed else ": e2fsck -fn clean after"))


CRASH_DISK_RUNS = 3     # make crash-disk runs 100 (CRASH_RUNS=n)


def autorun_iso(res, build, folder, case):
    """The ISO whose autorun is tests/<folder>, built in the build folder
    of the boots with a SCRIPTS folder (safeboot's), and an empty work
    folder build/tests/<folder> -> (that build folder, the work folder,
    the logs' folder); None (case failed) if make failed."""
    sb = os.path.join(build, "tests", "safeboot")
    work = os.path.join(build, "tests", folder)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    logdir = os.path.join(build, "tests", "logs")
    os.makedirs(logdir, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    p = subprocess.run(["make", "-s", "-C", ROOT, f"BUILD={sb}", os.path.join(sb, "l4ua.iso"),
                        f"SCRIPTS={os.path.join(ROOT, 'tests', folder)}"],
                       capture_output=True, text=True, timeout=900, env=env)
    if p.returncode != 0:
        res.fail(case, f"make status {p.returncode}", p.stdout + p.stderr)
        return None
    return sb, work, logdir


def run_crash_disk(res, build, runs):
    """QEMU killed with SIGKILL at random moments while the guest writes,
    renames and removes files on its disk (tests/repl/crash_disk.py): the
    host's e2fsck -fy repairs the image each time, and the next boot reads
    back every operation that was done. The boots run in the build folder
    of the boots with a SCRIPTS folder (safeboot's): the ISO with the
    workload as autorun is built there first."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "repl"))
    import term
    import crash_disk
    made = autorun_iso(res, build, "crash", "crash.qemu_killed")
    if not made:
        return
    sb, work, logdir = made
    import random
    t0 = time.monotonic()
    try:
        ok, note, screen = crash_disk.run(term, ROOT, sb, work, logdir, runs,
                                          random.Random(0x51c4d15c))
    except Exception as e:      # a boot that timed out: its screen is in its log
        ok, note, screen = False, f"{type(e).__name__}: {e}", None
    if ok:
        res.ok(f"crash.qemu_killed: {note} ({time.monotonic() - t0:.0f} s wall)")
    else:
        res.fail("crash.qemu_killed", note, screen)


DAMAGED_RUNS = 20       # make damaged-disk runs 1,000 (DAMAGED_RUNS=n)


def run_damaged_disk(res, build, runs):
    """A damaged disk never crashes the system (tests/repl/damaged_disk.py):
    one boot on an image damaged by the host, then runs more damaged
    variants, the file service mounting each afresh. The ISO with the
    autorun (tests/damaged) is built in the safeboot build folder."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "repl"))
    import random
    import term
    import damaged_disk
    made = autorun_iso(res, build, "damaged", "damaged.disk_never_crashes_the_system")
    if not made:
        return
    sb, work, logdir = made
    t0 = time.monotonic()
    try:
        ok, note, screen = damaged_disk.run(term, ROOT, sb, work, os.path.join(logdir, "damaged.log"),
                                            runs, random.Random(int(os.environ.get("DAMAGED_SEED",
                                                                                   "0x0da3a9ed"), 0)))
    except Exception as e:      # a boot that timed out: its screen is in its log
        ok, note, screen = False, f"{type(e).__name__}: {e}", None
    if ok:
        res.ok(f"damaged.disk_never_crashes_the_system: {note} ({time.monotonic() - t0:.0f} s wall)")
    else:
        res.fail("damaged.disk_never_crashes_the_system", note, screen)


def run_repl(res, build):
    """The console as a person sees it: `make run` on a pseudo-terminal,
    the cases of tests/repl/cases.py typed at its REPL in one boot. A case
    that fails shows the end of the screen; the session is killed at the
    end whatever happened."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "repl"))
    import term
    import cases
    import debug_cases      # the debugger and the profiler at the console
    import dap_cases        # the debugger from the host: tools/l4ua dap, profile
    import push_cases       # tools/l4ua end to end, after the console's cases
    import net_cases        # the REPL, push and the dashboard over the network
    import restart_cases    # the consoles killed and crashed, last
    only = os.environ.get("REPL_CASES")
    logdir = os.path.join(build, "tests", "logs")
    os.makedirs(logdir, exist_ok=True)
    s = term.Session(ROOT, build, os.path.join(logdir, "repl.log"))
    s.build = build         # push_cases: its com2.sock
    dead = None
    try:
        for case in (cases.CASES[:1] + push_cases.EARLY + cases.CASES[1:] + debug_cases.CASES + dap_cases.CASES
                     + push_cases.CASES + net_cases.CASES
                     + restart_cases.CASES):
            name = "repl." + case.__name__[2:]
            if only and case.__name__[2:] not in only.split(",") and case is not cases.CASES[0]:
                continue
            if dead:
                res.fail(name, f"not run: {dead}")
                continue
            start = len(s.out)
            try:
                case(s)
                res.ok(name)
            except Exception as e:          # a broken case must not end the runner
                res.fail(name, f"{type(e).__name__}: {e}", s.out[start:].decode("latin-1"))
                if isinstance(e, term.Timeout) and "ended" in str(e):
                    dead = "the system is gone"
                else:
                    s.send("\x03\x15")        # Ctrl-C, Ctrl-U: back to a clean prompt
                    s.settle(0.5, 3)
                    s.pos = len(s.out)
    finally:
        s.close()


def run_docs(res, build):
    """The documentation's example sessions run as written, one boot per
    document (tests/repl/doctest.py; docs/README.md "Examples are tested").
    DOC_FILES=a.md,b.md runs only those documents."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "repl"))
    import doctest
    import term
    logdir = os.path.join(build, "tests", "logs")
    only = [f for f in os.environ.get("DOC_FILES", "").split(",") if f]
    for doc in doctest.DOCS:
        if only and os.path.basename(doc) not in only:
            continue
        name = "docs." + os.path.splitext(os.path.basename(doc))[0]
        log = os.path.join(logdir, "doc-" + os.path.basename(doc) + ".log")
        try:
            n = doctest.run_doc(build, doc, log)
            res.ok(f"{name}: {n} blocks of {doc} run as written")
        except (doctest.DocError, term.Timeout, OSError, subprocess.TimeoutExpired) as e:
            text = open(log, "rb").read().decode("latin-1") if os.path.exists(log) else None
            res.fail(name, str(e), text)


def run_safeboot(res, build):
    """Safe boot (tests/repl/safeboot.py): `make run SCRIPTS=folder` with
    a broken autorun or module, SAFE=1 and a key typed at boot; each ends
    at a working prompt. SAFEBOOT_CASES=a,b runs only those boots."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "repl"))
    import safeboot
    safeboot.run_all(res, ROOT, build)


if __name__ == "__main__":
    sys.exit(main())
