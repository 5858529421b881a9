#!/usr/bin/env python3
"""make faultinject's boot (tests/faultinject/init.lua; docs/reliability.md
"Fault injection"): sigma0, lua-root and the campaign's archive on the
test kernel under icount, COM1 on this program's pipes, COM2 into a file;
with --disk (make faultinject's; not make test's short run) a disk for
the file service too: a fresh 32 MiB ext4 image (no journal, made by the
host's mke2fs as make run's) on virtio-blk; with --net (make faultinject's
FAULT_NET=1) a virtio-net card on QEMU's user network, whose address
10.0.2.100 port 7 is an echo: QEMU starts `cat` for each TCP connection
the guest makes there (guestfwd), so no port of this machine is used.

While the guest runs, this program types at COM1 as a person would, one
record "t<seq>.<crc>\\n" every 2 ms (crc: CRC-32 of "t<seq>", 8 hex
digits; the reader task checks what it reads). At the end it shows the
campaign's lines and checks, beyond the guest's own verdict, that every
console write the guest's writers were told was done (their lines
"faultinject: acked w<i> <console> <ranges>") came out on that console's
line, whole and in order: case console_writes_on_the_line. Last line:
"faultinject: N passed, M failed"."""
import argparse
import os
import re
import subprocess
import sys
import threading
import time
import zlib

EXIT_PASS, EXIT_PANIC = 0x10 * 2 + 1, 0x12 * 2 + 1
NAME = "faultinject"


def typist(proc, stop):
    """Types records at COM1 until the guest ends (the pipe holds what
    the UART does not take yet). -> the number typed, in a list."""
    typed = [0]

    def run():
        seq = 0
        try:
            while not stop.is_set() and proc.poll() is None:
                seq += 1
                rec = f"t{seq}"
                proc.stdin.write(f"{rec}.{zlib.crc32(rec.encode()):08x}\n".encode())
                proc.stdin.flush()
                typed[0] = seq
                time.sleep(0.002)
        except (BrokenPipeError, OSError):
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, typed


def record(writer, console, seq):
    """The record writer `writer` wrote as number `seq` to `console` (as
    cclient.lua makes it)."""
    return f"[w{writer} {console} {seq} {chr(97 + seq % 26) * (1 + seq % 47)}]"


def check_lines(log, lines):
    """Every acknowledged record on its line, whole, in order. -> list of
    problems, figures."""
    acked, told = {}, {}
    for m in re.finditer(r"^faultinject: acked w(\d+) (\w+) ([\d,-]+)$", log, re.M):
        seqs = acked.setdefault((int(m.group(1)), m.group(2)), [])
        for part in m.group(3).split(","):
            a, _, b = part.partition("-")
            seqs.extend(range(int(a), int(b or a) + 1))
    for m in re.finditer(r"^faultinject: console writer (\d+) acknowledged console (\d+) com2 (\d+)$",
                         log, re.M):
        told[(int(m.group(1)), "console")] = int(m.group(2))
        told[(int(m.group(1)), "com2")] = int(m.group(3))
    bad, total = [], 0
    if not told:
        bad.append("the writers' acknowledged counts are not in the log")
    for key, n in sorted(told.items()):
        seqs = acked.get(key, [])
        if len(seqs) != n:
            bad.append(f"writer {key[0]} on {key[1]}: {n} writes acknowledged, {len(seqs)} listed")
        text = lines[key[1]]
        pos, missing, disorder = 0, 0, 0
        for seq in seqs:
            rec = record(key[0], key[1], seq)
            at = text.find(rec, pos)
            if at < 0:
                if text.find(rec) >= 0:
                    disorder += 1
                else:
                    missing += 1
                if missing + disorder <= 3:
                    bad.append(f"writer {key[0]}'s acknowledged {rec} is "
                               f"{'out of order' if text.find(rec) >= 0 else 'not'} on {key[1]}'s line")
                continue
            pos = at + len(rec)
        if missing or disorder:
            bad.append(f"writer {key[0]} on {key[1]}: {missing} acknowledged records missing, "
                       f"{disorder} out of order")
        total += len(seqs)
    return bad, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--archive", required=True)
    ap.add_argument("--seeds", required=True, help="the seed, for the report")
    ap.add_argument("--timeout", type=int, default=7 * 24 * 3600, help="seconds of wall time")
    ap.add_argument("--disk", action="store_true", help="attach a fresh ext4 disk")
    ap.add_argument("--mke2fs", default="/usr/sbin/mke2fs")
    ap.add_argument("--net", action="store_true", help="attach a network card with an echo")
    a = ap.parse_args()
    b = a.build
    logdir = os.path.join(b, "tests", "fuzz")
    os.makedirs(logdir, exist_ok=True)
    log, com2 = os.path.join(logdir, NAME + ".log"), os.path.join(logdir, NAME + "-com2.log")
    disk = os.path.join(logdir, NAME + "-disk.img")
    if a.disk:
        with open(disk, "wb") as f:
            f.truncate(0)
            f.truncate(32 << 20)
        subprocess.run([a.mke2fs, "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-b", "4096", "-L",
                        "fi", disk], check=True)
    modules = (os.path.join(b, "sigma0.elf") + " sigma0," + os.path.join(b, "lua-root.elf") + " root," +
               a.archive + " scripts")
    argv = [a.qemu, "-m", "256M", "-display", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-icount", "shift=0,align=off,sleep=off", "-rtc", "clock=vm",
            "-kernel", os.path.join(b, "kernel-test32.elf"), "-initrd", modules,
            "-serial", "stdio", "-serial", "file:" + com2]
    if a.disk:
        argv += ["-drive", f"file={disk},if=none,id=disk0,format=raw", "-device", "virtio-blk-pci,drive=disk0"]
    if a.net:   # (slot 5: its interrupt line is not the disk's; one driver per line)
        argv += ["-netdev", "user,id=net0,guestfwd=tcp:10.0.2.100:7-cmd:cat",
                 "-device", "virtio-net-pci,netdev=net0,addr=5"]
    else:
        argv += ["-net", "none"]
    print(f"{NAME}: seeds {a.seeds}", flush=True)
    t0 = time.monotonic()
    stop = threading.Event()
    with open(log, "wb") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)
        th, typed = typist(p, stop)
        try:
            status = p.wait(timeout=a.timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            status = None
        stop.set()
        th.join(5)
    secs = time.monotonic() - t0
    text = open(log, "rb").read().decode("utf-8", "replace").replace("\r", "")
    for line in text.splitlines():
        if re.match(r"^(ok|FAIL) |^ktest: ", line) or (line.startswith(NAME + ": ") and
                                                       not line.startswith(NAME + ": acked ")):
            print(line)
    print(f"{NAME}: {secs:.0f} s wall; {typed[0]} records typed at COM1; log {log}, COM2 {com2}")
    m = re.search(r"^faultinject: (\d+) faults injected in (\d+) ms of guest time", text, re.M)
    if m and secs > 0 and int(m.group(2)) > 0:
        n, guest = int(m.group(1)), int(m.group(2)) / 1000
        print(f"{NAME}: {n / secs:.2f} faults/s of wall time (the boot included), {n / guest:.2f} "
              f"faults/s of guest time; guest time {guest / secs:.2f}x the wall's")
    # the guest's own case (faultinject.campaign), as it said
    oks = len(re.findall(r"^ok ", text, re.M))
    fails = len(re.findall(r"^FAIL ", text, re.M))
    if status is None:
        print(f"FAIL {NAME}.boot: timed out after {a.timeout} s")
        print("\n".join(text.splitlines()[-40:]))
        fails += 1
    elif status == EXIT_PANIC or "PANIC" in text:
        print(f"FAIL {NAME}.boot: kernel panic")
        print("\n".join(text.splitlines()[-40:]))
        fails += 1
    elif status != EXIT_PASS or not re.search(r"^ktest: 1 passed, 0 failed$", text, re.M):
        print(f"FAIL {NAME}.boot: QEMU status {status}, the campaign did not pass")
        print("\n".join(text.splitlines()[-40:]))
        fails += 1
    else:
        lines = {"console": text,
                 "com2": open(com2, "rb").read().decode("utf-8", "replace").replace("\r", "")}
        bad, total = check_lines(text, lines)
        if bad:
            print(f"FAIL {NAME}.console_writes_on_the_line: {bad[0]}")
            for why in bad[1:12]:
                print(f"  {why}")
            fails += 1
        else:
            print(f"ok {NAME}.console_writes_on_the_line: {total} acknowledged console writes, each on "
                  f"its line whole and in order")
            oks += 1
    print(f"{NAME}: {oks} passed, {fails} failed")
    return 0 if fails == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
