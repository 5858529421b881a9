"""make crash-disk (docs/storage.md "Durability"): QEMU killed with SIGKILL
at a random moment while the guest's file service writes to its disk.

Each run boots `make run SCRIPTS=tests/crash DISK=<image>` on one image
that the runs share. The autorun (tests/crash/init.lua) prints the files
the disk holds, then a seed, then runs writes, renames, removes and
fs.sync() drawn from the seed, printing "crash-done <n>" after each. 0.1
to 2 s after the seed, the host kills QEMU's process (not a guest task),
then runs e2fsck -fy on the image: it must repair it (status 0 or 1). The
next boot's listing must then be what the operations left: every one the
guest said was done (the rule of storage.md: a file is on the disk when
f:close() returns, a rename or removal when its call returns), and maybe
some after it whose "done" line QEMU had not passed on yet; the operation
cut off may show its old state, its new one, or (a rename) both names."""

import os
import random
import re
import signal
import subprocess
import time
import zlib

E2FSCK = "/usr/sbin/e2fsck"
MKE2FS = "/usr/sbin/mke2fs"
PATHS = [f"w/f{i}" for i in range(8)] + [f"w/d/f{i}" for i in range(4)]
MASK = (1 << 64) - 1


def content(i, n):
    """The bytes of write number i (tests/crash/init.lua's content)."""
    tag = f"<{i}>".encode()
    return (tag * (n // len(tag) + 1))[:n]


def operations(seed, start, count):
    """The guest's first count operations from seed, on the files start
    ({path: (size, crc)}) -> the states after 0, 1, ... count of them and
    the operations, each ("write"|"rename"|"remove"|"sync"|"none", paths)."""
    x = seed

    def draw(n):
        nonlocal x
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
        return (x >> 1) % n

    state, states, ops = dict(start), [dict(start)], []
    for i in range(1, count + 1):
        r = draw(100)
        if r < 50:
            p, n = PATHS[draw(len(PATHS))], draw(20000)
            data = content(i, n)
            state[p] = (n, zlib.crc32(data))
            ops.append(("write", (p,)))
        elif r < 70:
            a, b = PATHS[draw(len(PATHS))], PATHS[draw(len(PATHS))]
            if a in state and a != b:
                state[b] = state.pop(a)
                ops.append(("rename", (a, b)))
            else:
                ops.append(("none", ()))
        elif r < 85:
            p = PATHS[draw(len(PATHS))]
            if p in state:
                del state[p]
                ops.append(("remove", (p,)))
            else:
                ops.append(("none", ()))
        else:
            ops.append(("sync", ()))
        states.append(dict(state))
    return states, ops


def listing(text):
    """The crash-state lines of a boot -> {path: (size, crc)}"""
    return {m.group(1): (int(m.group(2)), int(m.group(3), 16))
            for m in re.finditer(r"crash-state (\S+) (\d+) ([0-9a-f]{8})\r*\n", text)}


def matches(found, states, ops, done):
    """The j >= done whose state the disk shows, or None. The operation
    after it may be half done: a write's file made empty at open (the
    runtime stores it then: docs/runtime.md "Files"), a rename with both
    names linked."""
    for j in range(done, len(states)):
        if found == states[j]:
            return j
        half = dict(states[j])
        kind, paths = ops[j] if j < len(ops) else ("none", ())
        if kind == "write":
            half[paths[0]] = (0, 0)
        elif kind == "rename":
            half[paths[1]] = half[paths[0]]
        if kind in ("write", "rename") and found == half:
            return j
    return None


def qemu_of(session_pid):
    """The QEMU process of a `make run` started in its own session."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if comm.startswith("qemu-system") and int(fields[3]) == session_pid:   # its session
            return int(name)
    return None


def new_image(path):
    with open(path, "wb") as f:
        f.truncate(16 << 20)
    subprocess.run([MKE2FS, "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-b", "4096",
                    "-L", "crash", path], check=True, stdout=subprocess.DEVNULL, timeout=60)


def run(term, root, build, work, logdir, runs, rng):
    """runs kills and a last boot to check -> (ok, a summary or why, the
    screen of the boot that failed or None)."""
    img = os.path.join(work, "disk.img")
    new_image(img)
    scripts = os.path.join(root, "tests", "crash")
    expect_states, expect_ops, done = [{}], [], 0        # what the next boot must show
    repaired = total_done = checked = 0
    for n in range(runs + 1):
        argv = ["make", "-s", "--no-print-directory", "run", f"BUILD={build}", f"DISK={img}",
                f"SCRIPTS={scripts}"] + term.free_ports()
        s = term.Session(root, build, os.path.join(logdir, f"crash-disk-{n % 2}.log"), argv=argv)
        try:
            s.expect(r"crash-state-end", 120)
            text = s.text()
            found = listing(text)
            j = matches(found, expect_states, expect_ops, done)
            if j is None:
                want = expect_states[done]
                return False, (f"boot {n + 1}: the disk lost a done operation: it holds {found}, "
                               f"after the {done} done operations it should hold {want}"), text[-3000:]
            checked += len(found)
            if n == runs:
                break
            m = s.expect(r"crash-seed (\d+)\r*\n", 30)
            seed = int(m.group(1))
            time.sleep(rng.uniform(0.1, 2.0))
            pid = qemu_of(s.pid)
            if pid is None:
                return False, f"run {n + 1}: no QEMU process to kill", s.text()[-3000:]
            os.kill(pid, signal.SIGKILL)
            s.close()                           # takes in what came before the kill
            done = max((int(d) for d in re.findall(r"crash-done (\d+)", s.text())), default=0)
            total_done += done
            expect_states, expect_ops = operations(seed, found, done + 400)
        finally:
            s.close()
        f = subprocess.run([E2FSCK, "-fy", img], capture_output=True, text=True, timeout=120)
        if f.returncode not in (0, 1):
            return False, f"run {n + 1}: e2fsck -fy status {f.returncode}", f.stdout[-2000:]
        repaired += f.returncode == 1
    return True, (f"{runs} QEMU processes killed at random during the workload ({total_done} "
                  f"operations done): e2fsck -fy repaired {repaired}, found {runs - repaired} "
                  f"clean; every done operation read back intact on the next boot ({checked} files "
                  "listed and checked by size and CRC-32)"), None
