#!/usr/bin/python3
"""make bench: L4ua's benchmarks and a Linux baseline in the same QEMU
(docs/performance.md). Every figure but boot_to_prompt_ms is read with
rdtsc under -icount shift=0,align=off,sleep=off, where rdtsc deltas are
guest instructions. Prints a table, the change against the previous
build/bench.json (a figure worse by more than 2% is flagged), and writes
build/bench.json (a flat object: name -> number).

Boots:
  tests/bench/*_bench.c     each the root task of the test kernel; s0_*
                            with build/sigma0.elf as sigma0 (as tests/run.py)
  lua-bench.arc             sigma0, build/lua-root.elf and the archive of
                            tests/bench/lua/ as its scripts
  blk-bench.arc             the same with the system's scripts and
                            tests/bench/blk/, and a 24 MiB image on
                            virtio-blk-pci (blk_read_4k, blk_write_4k,
                            blk_seq_read_mib, blk_seq_read_mib_files;
                            blk_image()), and the mmio_* rows of a driver
                            task (tests/bench/blk/mmio.lua), under icount with sleep=on
                            (ICOUNT_IO)
  net-bench.arc             the same with tests/bench/net/, a virtio-net card
                            on QEMU's user network and a forward the runner
                            connects to (tcp_rtt_host_guest,
                            tcp_stream_mib_in, tcp_stream_mib_out,
                            http_requests: CPU time sampled by the
                            kernel's 1 ms ticks, under icount with
                            sleep=on; tests/bench/net/init.lua, driven by
                            tests/bench/net/drive.py)
  boot_to_prompt            the real system (kernel.elf, sigma0, lua-root,
                            scripts.arc) with -kernel under icount: the
                            guest TSC (instructions since QEMU's reset,
                            the firmware and the multiboot loader
                            included) when the serial REPL is about to draw
                            its first prompt (scripts/session.lua keeps it
                            in the REPL's global boot_tsc; repeatable)
  boot_to_plan_up           the same boot: the guest TSC when the
                            supervisor had started every service of the
                            boot plan (the first line typed waits for it)
  boot_to_prompt_ms         the GRUB ISO without icount: host wall time
                            from QEMU's start to the prompt on the serial line
  linux                     Debian's kernel (tests/bench/linux/fetch.sh) with
                            tests/bench/linux/linux_init.c as /init, its
                            virtio and ext4 modules in the initramfs and
                            blk-bench.arc's disk on virtio-blk-pci; and Debian's
                            lua5.4 (fetch_lua.sh) with lua_pipe.lua;
  linux-net                 the same kernel with its virtio_net module and
                            tests/bench/net/linux_net.c as /init, booted
                            and driven as net-bench.arc (the linux_tcp_*
                            and linux_http_requests rows)

--short (tests/run.py) runs the L4ua boots and boot_to_prompt only (the
same programs, about 30 s) and checks that every L4ua name came out;
nothing is written."""

import argparse
import json
import os
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A fixed wall clock that follows guest time: Lua seeds its string hashes
# from time(NULL) (the CMOS RTC here), so a host clock would change the
# instruction counts of every Lua figure from one run to the next.
ICOUNT = ["-icount", "shift=0,align=off,sleep=off", "-rtc", "base=2026-01-01T00:00:00,clock=vm"]
# The disk's boot lets the clock follow the host's while the CPU halts
# (sleep=on), as the network's does. With sleep=off a halt jumps the
# clock to the next timer event at once, so a request that QEMU's I/O
# thread leaves waiting for 40 ms of a busy host's time lasts seconds of
# guest time: one 4 KiB read took 5.8 s there, the runtime's io.open
# gave up on the file service after its 4 s, and the boot failed
# ("big.bin: No such file or directory"). The figures leave the device's
# time out either way (the same to 0.2%).
ICOUNT_IO = ["-icount", "shift=0,align=off,sleep=on", "-rtc", "base=2026-01-01T00:00:00,clock=vm"]
QEMU_BASE = ["-m", "256M", "-display", "none", "-no-reboot", "-net", "none",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
PROMPT = b"\r> \x1b[K"

L4UA_NAMES = ["ipc_rtt_c_same_task", "ipc_rtt_c_cross_task", "ipc_rtt_c_cross_task_64w",
              "ipc_rtt_lua_cross_task", "ipc_rtt_lua_to_c", "pagefault_c_pager",
              "pagefault_lua_pager", "map_unmap_4k", "irq_to_lua", "syscall_null",
              "blk_read_4k", "blk_write_4k", "blk_seq_read_mib", "blk_seq_read_mib_files",
              "mmio_read32_lua", "mem_read_kib_lua", "mmio_read_kib_lua",
              "service_call_rtt",
              "service_requests_per_client_1", "service_requests_per_client_4",
              "service_requests_per_client_16", "service_requests_per_client_64",
              "reload_to_first_reply", "reload_pause_p99"]
NET_NAMES = ["tcp_rtt_host_guest", "tcp_stream_mib_in", "tcp_stream_mib_out", "http_requests"]
BOOT_NAMES = ["boot_to_prompt", "boot_to_plan_up", "boot_to_prompt_ms"]
LINUX_NAMES = ["linux_pipe_rtt", "linux_futex_rtt", "linux_getpid", "linux_blk_read_4k",
               "linux_blk_write_4k", "linux_blk_seq_read_mib", "linux_blk_seq_read_mib_files",
               "lua_pipe_rtt_linux",
               "linux_tcp_rtt_host_guest", "linux_tcp_stream_mib_in", "linux_tcp_stream_mib_out",
               "linux_http_requests"]


RESCUE = b"rescue: this is the rescue plan"     # lua-root's init.lua failed (scripts/rescue.lua)


def qemu_bench(qemu, args, timeout, results, text=None):
    """One boot that prints "bench <name> <n>" lines and ends QEMU with
    status 33; returns an error message or None. A boot whose init.lua
    failed (lua-root goes to its rescue REPL, which waits for ever) is
    ended there, as is one that runs past `timeout` s: QEMU is killed
    and the end of what it printed is the message. text: a list, gets
    what the boot printed."""
    p = subprocess.Popen([qemu] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out, why = b"", None
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
                why = f"timed out after {timeout} s"
                break
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                break
            out += data
            if RESCUE in out:
                why = "the boot's init.lua failed"
                break
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stdout.close()
    printed = out.decode("utf-8", "replace")
    if text is not None:
        text.append(printed)
    tail = "\n".join(printed.splitlines()[-25:])
    if why:
        return f"{why}\n{tail}"
    for name, value in re.findall(r"^bench (\w+) (\d+)", printed, re.M):
        results[name] = int(value)
    for line in printed.splitlines():
        if line.startswith("  ("):
            print("   " + line.strip())
    if p.returncode != 33:
        return f"QEMU status {p.returncode}\n{tail}"
    return None


def blk_image(bdir):
    """The disk of blk-bench.arc (tests/bench/blk/init.lua) and of the
    Linux baseline (linux_init.c): 24 MiB, the
    first 16 an ext4 file system (the host's mke2fs, made the same every
    time) holding big.bin, 4 MiB whose 4 KiB block j is the line
    "%07d\\n" % j 512 times; the last 8 zeroed raw sectors. Its path, or
    None."""
    tree = os.path.join(bdir, "blk-tree")
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    with open(os.path.join(tree, "big.bin"), "wb") as f:
        for j in range(4 << 8):
            f.write((b"%07d\n" % j) * 512)
    os.utime(os.path.join(tree, "big.bin"), (1700000000, 1700000000))
    img = os.path.join(bdir, "blk-disk.img")
    if os.path.exists(img):
        os.remove(img)
    with open(img, "wb") as f:
        f.truncate(24 << 20)
    env = dict(os.environ, E2FSPROGS_FAKE_TIME="1700000000")
    p = subprocess.run(["/usr/sbin/mke2fs", "-q", "-F", "-t", "ext4", "-O", "^has_journal",
                        "-b", "4096", "-L", "bench", "-U", "6c347561-0000-4000-8000-0000000000b1",
                        "-E", "hash_seed=6c347561-0000-4000-8000-0000000000b2", "-d", tree,
                        img, "16M"], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        print("blk-bench.arc: mke2fs failed\n" + p.stdout + p.stderr)
        return None
    return img


def l4ua_boots(a, results):
    bdir = os.path.join(a.build, "tests", "bench")
    kernel = os.path.join(a.build, "kernel-test32.elf")
    sigma0 = os.path.join(a.build, "sigma0.elf")
    ok = True
    boots = sorted(f for f in os.listdir(bdir) if f.endswith("_bench.elf")) + [
        "lua-bench.arc", "blk-bench.arc", "svc-bench.arc"]
    for prog in boots:
        modules = os.path.join(bdir, prog) + " root"
        disk, icount = [], ICOUNT
        if prog.endswith(".arc"):
            modules = (sigma0 + " sigma0," + os.path.join(a.build, "lua-root.elf") + " root," +
                       os.path.join(bdir, prog) + " scripts")
        elif prog.startswith("s0_"):
            modules = sigma0 + " sigma0," + modules
        if prog == "blk-bench.arc":
            img = blk_image(bdir)
            if not img:
                ok = False
                continue
            disk = ["-drive", f"file={img},if=none,id=disk0,format=raw",
                    "-device", "virtio-blk-pci,drive=disk0"]
            icount = ICOUNT_IO
        args = QEMU_BASE + icount + ["-kernel", kernel, "-initrd", modules, "-serial", "stdio"] + disk
        print(f"  {prog}", flush=True)
        # --short: within tests/run.py's 420 s for the whole run, so that a
        # boot that hangs shows its own last lines
        err = qemu_bench(a.qemu, args, 150 if a.short else 300, results)
        if err:
            print(f"{prog}: {err}")
            ok = False
    return ok


def net_boot(a, name, args, results, show):
    """A network boot (L4ua's or Linux's) driven from here through QEMU's
    forwards of the guest's ports 23 and 80 (tests/bench/net/drive.py).
    args: QEMU's, without the network; show: the prefix of the lines of
    the guest's output to print."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "bench", "net"))
    import drive
    ports = []
    for _ in range(2):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        ports.append(probe.getsockname()[1])
        probe.close()
    args = args + ["-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{ports[0]}-:23,"
                   f"hostfwd=tcp:127.0.0.1:{ports[1]}-:80",
                   "-device", "virtio-net-pci,netdev=net0,addr=5"]
    rtt, stream, nhttp = (200, 1 << 20, 100) if a.short else (2000, 8 << 20, 1000)
    print(f"  {name}", flush=True)
    p = subprocess.Popen([a.qemu] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = []
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()), daemon=True)
    reader.start()
    err = drive.drive(ports[0], ports[1], rtt, stream, nhttp)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        err = err or "QEMU did not end after END"
        p.kill()
        p.wait()
    reader.join(10)
    text = (out[0] if out else b"").decode("utf-8", "replace")
    for n, value in re.findall(r"^bench (\w+) (\d+)", text, re.M):
        results[n] = int(value)
    for line in text.splitlines():
        if line.startswith(show):
            print("   " + line.strip())
    if err or p.returncode != 33:
        print(f"{name}: {err or 'QEMU status %s' % p.returncode}\n" +
              "\n".join(text.splitlines()[-15:]))
        return False
    return True


def net_bench(a, results):
    """The network boot (tests/bench/net/init.lua)."""
    bdir = os.path.join(a.build, "tests", "bench")
    modules = (os.path.join(a.build, "sigma0.elf") + " sigma0," +
               os.path.join(a.build, "lua-root.elf") + " root," +
               os.path.join(bdir, "net-bench.arc") + " scripts")
    args = QEMU_BASE + ICOUNT_IO + [
        "-kernel", os.path.join(a.build, "kernel-test32.elf"), "-initrd", modules,
        "-serial", "stdio"]
    return net_boot(a, "net-bench.arc", args, results, ("  tcp_", "  http_"))


SCALE_SERVICES = [1, 10, 100, 200]      # services under the supervisor (scale_svc/)
SCALE_PLAN = [0, 10, 100, 200]          # services added to the boot plan


def scale_archive(a, name, extra):
    """An archive of the system's scripts with the NAME=FILE pairs of
    extra over them, precompiled as the Makefile's are, in
    build/tests/bench/scale/; its path."""
    sdir = os.path.join(a.build, "tests", "bench", "scale")
    os.makedirs(sdir, exist_ok=True)
    out = os.path.join(sdir, name)
    dirs = [d for d in ("scripts", "drivers-lua", "shell") if os.path.isdir(os.path.join(ROOT, d))]
    with open(os.path.join(a.build, "deps.mk")) as f:
        lua_dir = re.search(r"^LUA_DIR=(.*)$", f.read(), re.M).group(1)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mkarchive.py"), "--luac",
                    os.path.join(a.build, "lua-host", "lua"), "-o", out,
                    "re.lua=" + os.path.join(lua_dir, "share", "re.lua"),
                    "doc/lua-api.md=" + os.path.join(ROOT, "docs", "lua-api.md")] +
                   [os.path.join(ROOT, d) for d in dirs] +
                   [f"{n}={f}" for n, f in extra], check=True)
    return out


def plan_with(n, path):
    """scripts/init.lua with n more copies of echo in its plan (echo1 ...),
    written to path: the boot plan of a system that runs n more services."""
    with open(os.path.join(ROOT, "scripts", "init.lua")) as f:
        text = f.read()
    anchor = '  {name = "echo",  script = "services/echo.lua",'
    at = text.index(anchor)
    more = "".join(f'  {{name = "echo{i}", script = "services/echo.lua", restart = "always", '
                   f'prio = 100, memcap = 1 << 20}},\n' for i in range(1, n + 1))
    with open(path, "w") as f:
        f.write(text[:at] + more + text[at:])


def scale_services(a, curves):
    """The supervisor's and the name service's CPU time per second of
    guest time with n services under the supervisor (tests/bench/scale_svc/),
    one boot per n; and boot_to_prompt and boot_to_plan_up with n more
    services in the boot plan. False if a boot failed."""
    ok = True
    sdir = os.path.join(a.build, "tests", "bench", "scale")
    os.makedirs(sdir, exist_ok=True)
    for n in SCALE_SERVICES:
        conf = os.path.join(sdir, f"scale_config-{n}.lua")
        with open(conf, "w") as f:
            f.write(f"return {{services = {n}}}\n")
        arc = scale_archive(a, f"svc-{n}.arc", [("init.lua", os.path.join(ROOT, "tests", "bench",
                                                                           "scale_svc", "init.lua")),
                                                ("scale_config.lua", conf)])
        modules = (os.path.join(a.build, "sigma0.elf") + " sigma0," +
                   os.path.join(a.build, "lua-root.elf") + " root," + arc + " scripts")
        args = QEMU_BASE + ICOUNT + ["-kernel", os.path.join(a.build, "kernel-test32.elf"),
                                     "-initrd", modules, "-serial", "stdio"]
        text = []
        err = qemu_bench(a.qemu, args, 600, {}, text)
        if err:
            print(f"bench-scale: {n} services: {err}")
            ok = False
        for name, x, v in re.findall(r"^scale (\w+) (\d+) (\d+)", "".join(text), re.M):
            curves.setdefault(name, {})[int(x)] = int(v)
    for n in SCALE_PLAN:
        init = os.path.join(sdir, f"init-plan-{n}.lua")
        plan_with(n, init)
        arc = scale_archive(a, f"plan-{n}.arc", [("init.lua", init)])
        r = {}
        if measure_prompt_icount(a, r, arc, timeout=300):
            curves.setdefault("boot_to_prompt_plan", {})[n] = r["boot_to_prompt"]
            curves.setdefault("boot_to_plan_up_plan", {})[n] = r["boot_to_plan_up"]
        else:
            ok = False
    return ok


def scale(a):
    """make bench-scale: tests/bench/s0_scale.c's curves, one boot with
    sigma0 in 1 GiB of RAM, 512 MiB of it the kernel's (10,000 threads
    take 160 MiB of TCBs and kernel stacks); then scale_services'.
    Prints a table per curve and writes build/bench-scale.json: curve ->
    {x: figure}."""
    bdir = os.path.join(a.build, "tests", "bench")
    modules = (os.path.join(a.build, "sigma0.elf") + " sigma0," +
               os.path.join(bdir, "s0_scale.elf") + " root")
    args = (["-m", "1G"] + QEMU_BASE[2:] + ICOUNT +
            ["-kernel", os.path.join(a.build, "kernel-test32.elf"), "-append", "kmem=512",
             "-initrd", modules, "-serial", "stdio"])
    try:
        p = subprocess.run([a.qemu] + args, capture_output=True, timeout=900)
    except subprocess.TimeoutExpired:
        print("bench-scale: timed out after 900 s")
        return 1
    out = p.stdout.decode("utf-8", "replace")
    curves = {}
    for name, x, v in re.findall(r"^scale (\w+) (\d+) (\d+)", out, re.M):
        curves.setdefault(name, {})[int(x)] = int(v)
    ok = p.returncode == 33 and "scale: done" in out
    if not ok:
        print(f"bench-scale: QEMU status {p.returncode}\n" + "\n".join(out.splitlines()[-15:]))
    ok = scale_services(a, curves) and ok
    for name, points in curves.items():
        # the unmap curves per mapping revoked, the supervisor's per
        # service, boot_to_prompt_plan per service added; the others
        # against their first point
        first_x, first = next(iter(points.items()))
        if name.startswith("unmap_"):
            col, per = "per mapping", lambda x, v: f"{v // x:>12}"
        elif name == "supervisor_per_s":
            col, per = "per service", lambda x, v: f"{v // x:>12}"
        elif name in ("boot_to_prompt_plan", "boot_to_plan_up_plan"):
            col, per = "per added", lambda x, v: f"{(v - first) // x:>12}" if x else f"{'':>12}"
        else:
            col, per = "vs first", lambda x, v: f"{(v - first) * 100.0 / first:+11.1f}%"
        print(f"{name:24} {'instructions':>12} {col:>12}")
        for x, v in points.items():
            print(f"  {x:>22} {v:>12} " + per(x, v))
    for line in out.splitlines():
        if line.startswith("  ("):
            print("   " + line.strip())
    with open(os.path.join(a.build, "bench-scale.json"), "w") as f:
        json.dump(curves, f, indent=1)
    return 0 if ok else 1


def measure_prompt_icount(a, results, archive=None, timeout=60):
    """The real system under icount with -kernel; once the prompt is on
    the serial line, the line `=l4.debug.rdtsc()` is typed twice. The first
    answer minus the cost of one such line (the second answer minus the
    first) is the guest TSC when the prompt was ready, counted from
    QEMU's reset (firmware and the multiboot loader included, a few
    hundred thousand instructions). While it waits for a key the guest is
    idle: icount without sleep then jumps its clock to the next timer
    tick, so the figure is only as repeatable as the host's reaction (see
    docs/performance.md)."""
    k32 = os.path.join(a.build, "kernel32.elf")
    mods = ",".join([os.path.join(a.build, "sigma0.elf") + " sigma0",
                     os.path.join(a.build, "lua-root.elf") + " root",
                     (archive or os.path.join(a.build, "scripts.arc")) + " scripts"])
    args = [a.qemu] + QEMU_BASE + ICOUNT + ["-kernel", k32, "-initrd", mods,
                                            "-serial", "stdio"]
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    os.set_blocking(p.stdout.fileno(), False)
    out = b""

    def until(pat, timeout):
        nonlocal out
        end = time.time() + timeout
        while time.time() < end:
            ended = p.poll() is not None
            chunk = p.stdout.read()
            if chunk:
                out += chunk
            m = re.search(pat, out)
            if m:
                return m
            if ended:       # QEMU is gone: no prompt will come
                break
            time.sleep(0.001)
        return None

    try:
        if not until(re.escape(PROMPT), timeout):
            print(f"boot_to_prompt: no prompt within {timeout} s (QEMU status {p.poll()}); "
                  "the end of what it printed:\n" +
                  "\n".join(out.decode("utf-8", "replace").splitlines()[-15:]))
            return False
        # scripts/session.lua keeps the guest TSC of the moment before it
        # drew its first prompt in the global boot_tsc: under icount that
        # is the instruction count from reset, whatever the host's speed
        # the supervisor keeps the guest TSC at which it had started every
        # service of the plan in the root's store (scripts/init.lua step 4:
        # the prompt comes first, the first line waits for the plan)
        start = len(out)
        p.stdin.write(b"boot_tsc, l4.sys.store_get('supervisor/plan')\r")
        p.stdin.flush()
        m = None
        end = time.time() + 20
        while time.time() < end and not m:
            chunk = p.stdout.read()
            if chunk:
                out += chunk
            m = re.search(rb"\r\n(\d+)\t\"up (\d+)\"\r?\r?\n", out[start:])
            time.sleep(0.001)
        if not m:
            print("boot_to_prompt: no answer from the REPL")
            return False
        results["boot_to_prompt"] = int(m.group(1))
        results["boot_to_plan_up"] = int(m.group(2))
        return True
    finally:
        p.kill()
        p.wait()


def boot_to_prompt_ms(a, results):
    """Host wall time from QEMU's start to the first prompt: the GRUB ISO,
    no icount (as `make run`)."""
    iso = os.path.join(a.build, "l4ua.iso")
    args = [a.qemu] + QEMU_BASE + ["-cdrom", iso, "-serial", "stdio"]
    t0 = time.time()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    os.set_blocking(p.stdout.fileno(), False)
    out = b""
    try:
        while time.time() - t0 < 60:
            chunk = p.stdout.read()
            if chunk:
                out += chunk
                if PROMPT in out:
                    results["boot_to_prompt_ms"] = int((time.time() - t0) * 1000)
                    return True
            time.sleep(0.001)
        print("boot_to_prompt_ms: no prompt within 60 s")
        return False
    finally:
        p.kill()
        p.wait()


def cpio_newc(entries):
    """A cpio archive (newc) of (name, mode, data, rdev) entries."""
    out = bytearray()
    for ino, (name, mode, data, rdev) in enumerate(entries + [("TRAILER!!!", 0, b"", (0, 0))]):
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            ino + 1, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nb), 0))
        out += hdr.encode() + nb
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def lua_entries(a):
    """The cpio entries of the Lua pair (lua_pipe_rtt_linux): Debian's
    lua5.4 and the libraries it loads (tests/bench/linux/fetch_lua.sh),
    /lua_pipe.lua and its two named pipes /ab and /ba."""
    fetch = os.path.join(ROOT, "tests", "bench", "linux", "fetch_lua.sh")
    p = subprocess.run(["sh", fetch, a.cache], capture_output=True, text=True)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        print("linux: could not fetch Debian's lua5.4")
        return []
    tree = p.stdout.strip().splitlines()[-1]
    entries = []
    for d, dirs, files in os.walk(tree):
        dirs.sort()
        rel = os.path.relpath(d, tree)
        if rel != ".":
            entries.append((rel, 0o40755, b"", (0, 0)))
        for f in sorted(files):
            with open(os.path.join(d, f), "rb") as fh:
                entries.append((os.path.normpath(os.path.join(rel, f)), 0o100755, fh.read(),
                                (0, 0)))
    with open(os.path.join(ROOT, "tests", "bench", "linux", "lua_pipe.lua"), "rb") as fh:
        entries.append(("lua_pipe.lua", 0o100644, fh.read(), (0, 0)))
    entries += [("ab", 0o10600, b"", (0, 0)), ("ba", 0o10600, b"", (0, 0))]
    return entries


def linux(a, results):
    """Debian's kernel with our /init (tests/bench/linux/), same QEMU flags."""
    fetch = os.path.join(ROOT, "tests", "bench", "linux", "fetch.sh")
    p = subprocess.run(["sh", fetch, a.cache], capture_output=True, text=True)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        print("linux: could not fetch Debian's kernel image")
        return False
    vmlinuz = p.stdout.strip().splitlines()[-1]
    ldir = os.path.join(a.build, "tests", "bench", "linux")
    os.makedirs(ldir, exist_ok=True)
    init = os.path.join(ldir, "init")
    src = os.path.join(ROOT, "tests", "bench", "linux", "linux_init.c")
    p = subprocess.run(["gcc", "-O2", "-static", "-pthread", "-o", init, src],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("linux: building /init failed\n" + p.stderr)
        return False
    with open(init, "rb") as f:
        data = f.read()
    # the disk's modules (fetch.sh), in /modules with their load order
    mdir = os.path.join(os.path.dirname(vmlinuz), "modules")
    entries = [("dev", 0o40755, b"", (0, 0)), ("dev/console", 0o20600, b"", (5, 1)),
               ("init", 0o100755, data, (0, 0)), ("modules", 0o40755, b"", (0, 0))]
    for m in sorted(os.listdir(mdir)):
        with open(os.path.join(mdir, m), "rb") as f:
            entries.append(("modules/" + m, 0o100644, f.read(), (0, 0)))
    initrd = os.path.join(ldir, "initramfs.cpio")
    with open(initrd, "wb") as f:
        f.write(cpio_newc(entries + lua_entries(a)))
    # the same disk as L4ua's (blk_image): ext4 with big.bin, then raw sectors
    img = blk_image(ldir)
    if not img:
        return False
    args = QEMU_BASE + ICOUNT + ["-kernel", vmlinuz, "-initrd", initrd, "-serial", "stdio",
                                 "-append", "console=ttyS0 quiet panic=-1",
                                 "-drive", f"file={img},if=none,id=disk0,format=raw",
                                 "-device", "virtio-blk-pci,drive=disk0"]
    print(f"  linux ({os.path.basename(os.path.dirname(vmlinuz))})", flush=True)
    err = qemu_bench(a.qemu, args, 600, results)
    if err:
        print(f"linux: {err}")
    return linux_net(a, vmlinuz, results) and not err


def linux_net(a, vmlinuz, results):
    """The network rows on Linux: Debian's kernel with its virtio_net module
    and tests/bench/net/linux_net.c as /init, driven as L4ua's network boot
    is, with the same QEMU flags (net_boot)."""
    ldir = os.path.join(a.build, "tests", "bench", "linux-net")
    os.makedirs(ldir, exist_ok=True)
    init = os.path.join(ldir, "init")
    src = os.path.join(ROOT, "tests", "bench", "net", "linux_net.c")
    p = subprocess.run(["gcc", "-O2", "-static", "-pthread", "-o", init, src],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("linux-net: building /init failed\n" + p.stderr)
        return False
    with open(init, "rb") as f:
        entries = [("dev", 0o40755, b"", (0, 0)), ("dev/console", 0o20600, b"", (5, 1)),
                   ("init", 0o100755, f.read(), (0, 0)), ("modules", 0o40755, b"", (0, 0))]
    mdir = os.path.join(os.path.dirname(vmlinuz), "modules")
    for m in sorted(os.listdir(mdir)):
        with open(os.path.join(mdir, m), "rb") as f:
            entries.append(("modules/" + m, 0o100644, f.read(), (0, 0)))
    initrd = os.path.join(ldir, "initramfs.cpio")
    with open(initrd, "wb") as f:
        f.write(cpio_newc(entries))
    args = QEMU_BASE + ICOUNT_IO + ["-kernel", vmlinuz, "-initrd", initrd, "-serial", "stdio",
                                    "-append", "console=ttyS0 quiet panic=-1"]
    return net_boot(a, "linux-net", args, results, "  (linux_")


def compare(results, old):
    """The table, with the change against the previous run."""
    print(f"{'benchmark':28} {'value':>12} {'previous':>12} {'change':>8}")
    worse = []
    for name, value in results.items():
        unit = "ms" if name.endswith("_ms") else ""
        prev = old.get(name)
        change = ""
        if isinstance(prev, (int, float)) and prev > 0:
            pct = (value - prev) * 100.0 / prev
            change = f"{pct:+.1f}%"
            if pct > 2.0:
                change += "  WORSE"
                worse.append(name)
        print(f"{name:28} {value:>10} {unit:2} {prev if prev is not None else '-':>12} {change:>8}")
    if worse:
        print(f"worse by more than 2%: {', '.join(worse)}")
    lua, linux_lua = results.get("ipc_rtt_lua_cross_task"), results.get("lua_pipe_rtt_linux")
    if lua and linux_lua:
        print(f"  (two Lua processes on Linux through pipes / two Lua tasks on L4ua: "
              f"{linux_lua / lua:.1f}x)")
    for name in NET_NAMES + ["blk_read_4k", "blk_write_4k", "blk_seq_read_mib",
                             "blk_seq_read_mib_files"]:
        mine, theirs = results.get(name), results.get("linux_" + name)
        if mine and theirs:
            print(f"  ({name}: L4ua / Linux {mine / theirs:.1f}x)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/l4ua"))
    ap.add_argument("--short", action="store_true",
                    help="L4ua boots only, few operations; check every name came out")
    ap.add_argument("--no-linux", action="store_true", help="skip the Linux baseline")
    ap.add_argument("--scale", action="store_true",
                    help="the scaling curves only (make bench-scale)")
    a = ap.parse_args()
    if a.scale:
        return scale(a)
    results = {}
    ok = l4ua_boots(a, results)
    ok = net_bench(a, results) and ok
    ok = measure_prompt_icount(a, results) and ok
    if a.short:
        short = L4UA_NAMES + NET_NAMES + ["boot_to_prompt", "boot_to_plan_up"]
        missing = [n for n in short if n not in results]
        print("bench names: " + ("all there" if not missing else "missing " + " ".join(missing)))
        # the figures, for tests/run.py to hold against its baseline
        print("bench figures: " + json.dumps({n: results[n] for n in short if n in results},
                                             sort_keys=True))
        return 0 if ok and not missing else 1
    ok = boot_to_prompt_ms(a, results) and ok
    if not a.no_linux:
        ok = linux(a, results) and ok
    path = os.path.join(a.build, "bench.json")
    old = {}
    if os.path.exists(path):
        try:
            with open(path) as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = {}
    ordered = {n: results[n] for n in L4UA_NAMES + NET_NAMES + BOOT_NAMES + LINUX_NAMES
               if n in results}
    compare(ordered, old)
    missing = [n for n in L4UA_NAMES + NET_NAMES + BOOT_NAMES + (LINUX_NAMES if not a.no_linux else [])
               if n not in ordered]
    if missing:
        print("missing: " + " ".join(missing))
        ok = False
    with open(path, "w") as f:
        json.dump(ordered, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
