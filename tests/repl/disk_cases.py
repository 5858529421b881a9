"""Files that survive a reboot (docs/storage.md "The boot order"): three
boots of `make run DISK=<image>` on one image, as a person at the serial
console (term.py) and tools/l4ua on the host would do it.

1. a file written with io.open; a new version of echo pushed with
   `tools/l4ua push` (stored as its script on the disk, and reloaded);
   a new version of the scheduling policy reloaded at the REPL with
   service.reload (stored as sched_policy.lua on the disk), then a
   rejected one (the stored file stays the good one); fs.sync(); QEMU
   ends;
2. the file reads back, and echo and sched run the pushed and reloaded
   versions from the start;
3. safe mode: echo and sched run the archive's versions (the disk's
   scripts are ignored), the file still reads back;
4. the same image attached read-only (make run DISK_RO=1): the file reads
   back; io.open for writing and tools/l4ua put fail with EROFS;
5. a 2 MiB disk: a bigger file fails at close with ENOSPC, and so does
   tools/l4ua put on the disk nearly full; a small file still fits after.

Between boots the host's e2fsck -fn must find the image clean and debugfs
must read the file, the pushed script and the reloaded one. tests/run.py
stage "disk" runs it on a new image."""

import os
import re
import subprocess

import cases
import push_cases

NOTE = "survives a reboot"
E2FSCK = "/usr/sbin/e2fsck"
DEBUGFS = "/usr/sbin/debugfs"
PUSHED = 7                      # the pushed echo's version (the archive's: 1)
RELOADED = 5                    # sched's version reloaded at the REPL (the archive's: 1)


def boot(term, root, build, img, log, extra=()):
    """make run on img with the extra arguments (SAFE=1, DISK_RO=1)"""
    argv = ["make", "-s", "--no-print-directory", "run", f"BUILD={build}", f"DISK={img}"] \
        + term.free_ports()
    argv += extra
    s = term.Session(root, build, log, argv=argv)
    s.build = build             # push_cases.tool: its com2.sock
    s.expect(r"L4ua REPL on the serial console", 90)
    cases.prompt(s, 30)
    return s


def mounted(s):
    """The boot plan mounted the disk before the prompt (files.info)."""
    cases.run(s, '=require("files").info().disk', r'"mounted: blk:disk0, \d+ of \d+ KiB free"')


def echo_version(s, want, name="echo"):
    cases.run(s, f'=require("service").info("{name}").version', f'"{want}"', 20)


def host_checks(img, pushed):
    """e2fsck -fn finds nothing to fix; debugfs reads the note, the
    pushed echo and the reloaded sched (if pushed). -> list of what is
    wrong"""
    bad = []
    p = subprocess.run([E2FSCK, "-fn", img], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        bad.append(f"e2fsck -fn: status {p.returncode}: {p.stdout[-800:]}")
    p = subprocess.run([DEBUGFS, "-R", "cat /keep/note.txt", img], capture_output=True,
                       text=True, timeout=60)
    if p.stdout != NOTE:
        bad.append(f"debugfs cat /keep/note.txt: {p.stdout!r} {p.stderr[-300:]!r}")
    if pushed:
        p = subprocess.run([DEBUGFS, "-R", "cat /services/echo.lua", img], capture_output=True,
                           text=True, timeout=60)
        if f"version = {PUSHED}," not in p.stdout:
            bad.append(f"debugfs cat /services/echo.lua: not the pushed one: {p.stdout[:200]!r}")
        p = subprocess.run([DEBUGFS, "-R", "cat /sched_policy.lua", img], capture_output=True,
                           text=True, timeout=60)
        if f"version = {RELOADED}," not in p.stdout:
            bad.append(f"debugfs cat /sched_policy.lua: not the reloaded one: {p.stdout[:200]!r}")
    return bad


def push_echo(root, build, work):
    """tools/l4ua push of echo with version = PUSHED -> its output"""
    with open(os.path.join(root, "scripts", "services", "echo.lua")) as f:
        src = f.read()
    new, n = re.subn(r"version = 1,", f"version = {PUSHED},", src, count=1)
    assert n == 1, "scripts/services/echo.lua has no 'version = 1,'"
    path = os.path.join(work, "echo.lua")
    with open(path, "w") as f:
        f.write(new)
    p = subprocess.run([os.path.join(root, "tools", "l4ua"), "--build", build, "push", path],
                       cwd=root, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and f"echo: version {PUSHED}" in p.stdout, \
        f"tools/l4ua push: status {p.returncode}: {p.stdout} {p.stderr}"
    return p.stdout


def first_boot(s, root, build, work):
    mounted(s)
    echo_version(s, 1)
    s.send(f'f = io.open("keep/note.txt", "w"); f:write("{NOTE}"); print("closed", f:close())\r')
    s.expect(rb"closed\s+true", 10)
    cases.prompt(s)
    root_threads_run_during_a_close(s)
    push_echo(root, build, work)
    echo_version(s, PUSHED)
    cases.run(s, '=require("fs").stat("services/echo.lua").where', '"disk"')
    # a new version reloaded at the REPL, as a person would: kept on the disk
    echo_version(s, 1, "sched")
    s.send('src = require("service").read_source("sched_policy.lua")\r')
    cases.prompt(s)
    cases.run(s, f'=require("service").reload("sched", (src:gsub("version = 1,", '
              f'"version = {RELOADED},", 1)))', f'"{RELOADED}"\t\\d+', 20)
    cases.run(s, '=require("fs").stat("sched_policy.lua").where', '"disk"')
    # a rejected version is not kept: the file is still the one that runs
    cases.run(s, '=require("service").reload("sched", "return 42")',
              r'nil\t.*\t104', 20)
    cases.run(s, '=require("files").read("sched_policy.lua"):match("version = %d+")',
              f'"version = {RELOADED}"')
    echo_version(s, RELOADED, "sched")
    cases.run(s, '=require("fs").sync()', "true")


def root_threads_run_during_a_close(s):
    """While the REPL (a root thread) closes a 3 MiB file, which the file
    service writes to the disk for seconds, another root thread that
    takes memory from malloc (strings above the arenas' 4 KiB blocks)
    every 5 ms runs on: the REPL's call lets go of the root's libc lock
    while it waits (runtime/lua/files.c). Held through the call, it kept
    such a thread, the supervisor among them, waiting the whole close."""
    s.send("ticker = l4.thread.create{prio = 200, code = [[local last, gap, t0 = l4.clock(), 0, "
           "l4.clock() while l4.clock() - t0 < 8000000 do local x = ('y'):rep(20000 + "
           "(l4.clock() % 7)) local now = l4.clock() if now - last > gap then gap = now - last "
           "end last = now l4.sleep(5) end print(('ticker: longest gap %d ms'):format(gap // "
           "1000))]]}\r")
    cases.prompt(s)
    start = s.pos
    s.send("t0 = l4.clock() f = io.open('gap.bin', 'wb') f:write(('z'):rep(3 << 20)) "
           "print('big closed', f:close(), (l4.clock() - t0) // 1000)\r")
    took = int(s.expect(rb"big closed\s+true\s+(\d+)\r*\n", 120).group(1))
    ticker = rb"ticker: longest gap (\d+) ms"
    m = re.search(ticker, s.out[start:]) or s.expect(ticker, 60)
    gap = int(m.group(1))
    assert took >= 300 and gap < 500, f"the close took {took} ms, the ticker's longest gap {gap} ms"
    cases.prompt(s)
    cases.run(s, '=os.remove("gap.bin")', "true")


def second_boot(s, root, build, work):
    mounted(s)
    cases.run(s, '=io.open("keep/note.txt"):read("a")', f'"{NOTE}"')
    echo_version(s, PUSHED)
    # a client's call answered by the pushed version
    cases.run(s, '=require("service").call("echo", 1, "hello")', r'1\t"hello"')
    echo_version(s, RELOADED, "sched")


def safe_boot(s, root, build, work):
    mounted(s)
    echo_version(s, 1)
    echo_version(s, 1, "sched")
    cases.run(s, '=require("fs").stat("services/echo.lua").where', '"archive"')
    cases.run(s, '=io.open("keep/note.txt"):read("a")', f'"{NOTE}"')


def read_only_boot(s, root, build, work):
    cases.run(s, '=require("files").info().disk', r'"mounted: blk:disk0, \d+ of \d+ KiB free"')
    cases.run(s, '=io.open("keep/note.txt"):read("a")', f'"{NOTE}"')
    cases.run(s, '=io.open("keep/new.txt", "w")',
              r'nil\t"keep/new\.txt: Read-only file system"\t30')
    cases.run(s, '=os.remove("keep/note.txt")', r'nil\t"keep/note\.txt: Read-only file system"\t30')
    rc, out, err = push_cases.tool(s, "put", os.path.join(root, "README.md"), "keep/readme.md")
    assert rc == 1 and err.startswith("put: keep/readme.md: disk: ") and err.endswith("(EROFS)"), \
        (rc, out, err)
    rc, out, err = push_cases.tool(s, "get", "keep/note.txt", "-")
    assert rc == 0 and out == NOTE, (rc, out, err)


def small_disk(work):
    """A new 2 MiB ext4 image holding filler.bin, 1,700 KiB, so that some
    240 KiB are free: the writes that fill it up in the guest are short
    (a 3 MiB one on an empty 2 MiB disk kept the file service busy long
    enough, on a loaded host, for the supervisor to find it hung) -> its
    path"""
    img = os.path.join(work, "small.img")
    tree = os.path.join(work, "small-tree")
    os.makedirs(tree, exist_ok=True)
    with open(os.path.join(tree, "filler.bin"), "wb") as f:
        f.write(b"f" * (1700 << 10))
    with open(img, "wb") as f:
        f.truncate(2 << 20)
    subprocess.run(["/usr/sbin/mke2fs", "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-b",
                    "4096", "-L", "small", "-d", tree, img], check=True, stdout=subprocess.DEVNULL,
                   timeout=60)
    return img


def full_disk_boot(s, root, build, work):
    cases.run(s, '=require("files").info().disk', r'"mounted: blk:disk0, \d\d\d of 20\d\d KiB free"')
    s.send("f = io.open('big.bin', 'wb') f:write(('x'):rep(1 << 20)) print(f:close())\r")
    s.expect(rb"\r\nnil\tNo space left on device\t28\r?\r\n", 120)   # slow on a busy host
    cases.prompt(s)
    # nearly full, then a put of 128 KiB (the line takes some 20 KB/s)
    s.send('free = tonumber(require("files").info().disk:match("(%d+) of"))\r')
    cases.prompt(s)
    cases.run(s, '=io.open("fill.bin", "wb"):write(("f"):rep((free - 64) << 10)):close()', "true",
              60)
    with open(os.path.join(work, "more.bin"), "wb") as f:
        f.write(os.urandom(128 << 10))
    rc, out, err = push_cases.tool(s, "put", os.path.join(work, "more.bin"), "more.bin",
                                   timeout=180)
    assert rc == 1 and err.startswith("put: more.bin: disk: ") and err.endswith("(ENOSPC)"), \
        (rc, out, err)
    cases.run(s, '=os.remove("fill.bin")', "true")
    cases.run(s, '=os.remove("filler.bin")', "true")
    cases.run(s, '=io.open("small.txt", "w"):write("fits"):close()', "true")
    cases.run(s, '=io.open("small.txt"):read("a")', '"fits"')
    cases.run(s, '=require("fs").sync()', "true")


def e2fsck_clean(img):
    p = subprocess.run([E2FSCK, "-fn", img], capture_output=True, text=True, timeout=120)
    return [] if p.returncode == 0 else [f"e2fsck -fn: status {p.returncode}: {p.stdout[-800:]}"]


def default_image(root, work):
    """`make run`'s default disk (the Makefile's $(BUILD)/disk.img rule),
    with a scratch BUILD and a stand-in for QEMU that writes down its
    arguments (no boot: the ISO is a placeholder make is told not to
    remake): the first run makes the image (64 MiB of ext4 labelled l4ua,
    no journal, e2fsck -fn clean) and attaches it; the second attaches
    the same image (a file debugfs wrote into it between the two is still
    there, no "DISK" line); DISK=path attaches that one and makes no
    default image. -> list of what is wrong"""
    bad = []
    build = os.path.join(work, "default-build")
    os.makedirs(build, exist_ok=True)
    iso = os.path.join(build, "placeholder.iso")
    open(iso, "w").close()
    args = os.path.join(build, "qemu-args")
    qemu = os.path.join(build, "qemu")
    with open(qemu, "w") as f:
        f.write(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{args}"\n')
    os.chmod(qemu, 0o755)
    img = os.path.join(build, "disk.img")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}

    def run(*extra):
        if os.path.exists(args):
            os.remove(args)
        p = subprocess.run(["make", "-s", "--no-print-directory", "-C", root, "run",
                            f"BUILD={build}", f"ISO={iso}", "-o", iso, f"QEMU={qemu}"]
                           + list(extra), capture_output=True, text=True, timeout=300, env=env)
        if p.returncode != 0:
            raise RuntimeError(f"make run {' '.join(extra)}: status {p.returncode}: "
                               f"{p.stdout[-800:]} {p.stderr[-800:]}")
        with open(args) as f:
            return p.stdout, f.read().split("\n")

    def drive(argv):
        return [a for a in argv if a.startswith("file=")]

    out, argv = run()
    if f"DISK    {img} (64 MiB, ext4)" not in out:
        bad.append(f"the first make run did not say it made {img}: {out[-400:]!r}")
    if drive(argv) != [f"file={img},if=none,id=disk0,format=raw"] or \
            "virtio-blk-pci,drive=disk0" not in argv:
        bad.append(f"the first make run attached {drive(argv)}")
    if not os.path.exists(img) or os.path.getsize(img) != 64 << 20:
        return bad + [f"{img}: not a 64 MiB image"]
    p = subprocess.run(["/usr/sbin/dumpe2fs", "-h", img], capture_output=True, text=True,
                       timeout=60)
    if not re.search(r"Filesystem volume name:\s+l4ua\n", p.stdout) or \
            "has_journal" in p.stdout or "extent" not in p.stdout:
        bad.append(f"dumpe2fs -h: not ext4 labelled l4ua without a journal: {p.stdout[:600]!r}")
    bad += e2fsck_clean(img)
    # a file written into it on the host: the next run keeps the image
    mark = os.path.join(work, "mark.txt")
    with open(mark, "w") as f:
        f.write(NOTE)
    subprocess.run([DEBUGFS, "-w", "-R", f"write {mark} mark.txt", img], capture_output=True,
                   timeout=60, check=True)
    out, argv = run()
    if "DISK " in out:
        bad.append(f"the second make run made the image again: {out[-400:]!r}")
    if drive(argv) != [f"file={img},if=none,id=disk0,format=raw"]:
        bad.append(f"the second make run attached {drive(argv)}")
    p = subprocess.run([DEBUGFS, "-R", "cat /mark.txt", img], capture_output=True, text=True,
                       timeout=60)
    if p.stdout != NOTE:
        bad.append(f"the image was not kept: debugfs cat /mark.txt: {p.stdout!r}")
    # DISK=path (read-only): that image, and no default one made
    os.remove(img)
    other = os.path.join(work, "other.img")
    with open(other, "wb") as f:
        f.truncate(1 << 20)
    out, argv = run(f"DISK={other}", "DISK_RO=1")
    if drive(argv) != [f"file={other},if=none,id=disk0,format=raw,readonly=on"]:
        bad.append(f"make run DISK={other} DISK_RO=1 attached {drive(argv)}")
    if os.path.exists(img) or "DISK " in out:
        bad.append(f"make run DISK={other} made the default image too")
    return bad
