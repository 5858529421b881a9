"""A damaged disk never crashes the system (docs/storage.md "A damaged
disk"): `make run SCRIPTS=tests/damaged DISK=<image>` boots on a disk
whose file system the host damaged, random bytes written over its
metadata, and the autorun (tests/damaged/init.lua) damages it again and
again (the file service killed and mounting it afresh each time): the
file service answers every request with a value or an error, never
fails or hangs, and echo, the REPL and a spawned task go on.

The image: a 4 MiB ext4 file system as `make run` makes them (4 KiB
blocks, no journal, metadata checksums) holding a few files and folders,
then an undamaged copy of it, then a control block (the regions to
damage, the seed, the number of variants) in its last 64 KiB. The regions,
one kind drawn for each variant: the superblock, the group descriptor,
both bitmaps, the inode table's used part, every folder's block (found
by dumpe2fs and debugfs)."""

import os
import random
import re
import shutil
import subprocess

import cases

MKE2FS = "/usr/sbin/mke2fs"
DUMPE2FS = "/usr/sbin/dumpe2fs"
DEBUGFS = "/usr/sbin/debugfs"
FS_BYTES = 4 << 20
CTL_BYTES = 64 << 10
FOLDERS = ["/", "/sub", "/sub/deeper", "/many"]


def tree(at):
    """The files the image holds (the autorun's requests name them)."""
    os.makedirs(os.path.join(at, "sub", "deeper"))
    os.makedirs(os.path.join(at, "many"))
    for path, data in [("hello.txt", b"hello\n"), ("sub/a.txt", b"a\n"), ("sub/deeper/b.txt", b"b\n"),
                       ("big.bin", bytes(range(256)) * 800)]:
        with open(os.path.join(at, path), "wb") as f:
            f.write(data)
    for i in range(60):
        with open(os.path.join(at, "many", f"f{i}"), "w") as f:
            f.write(f"{i}\n")


def regions(img):
    """The metadata's byte ranges: [(offset, length)]"""
    dump = subprocess.run([DUMPE2FS, img], capture_output=True, text=True, check=True, timeout=60).stdout
    bs = int(re.search(r"^Block size:\s+(\d+)", dump, re.M).group(1))
    blocks = int(re.search(r"^Block count:\s+(\d+)", dump, re.M).group(1))
    isize = int(re.search(r"^Inode size:\s+(\d+)", dump, re.M).group(1))
    g = re.search(r"Group descriptors at (\d+)", dump).group(1)
    bb = re.search(r"Block bitmap at (\d+)", dump).group(1)
    ib = re.search(r"Inode bitmap at (\d+)", dump).group(1)
    it = re.search(r"Inode table at (\d+)", dump).group(1)
    first_free = int(re.search(r"Free inodes: (\d+)", dump).group(1))
    folders = []
    for folder in FOLDERS:
        out = subprocess.run([DEBUGFS, "-R", f"blocks {folder}", img], capture_output=True,
                             text=True, check=True, timeout=60).stdout
        folders += [(int(b) * bs, bs) for b in out.split()]
    return [("superblock", [(1024, 1024)]), ("group descriptor", [(int(g) * bs, 64)]),
            ("bitmaps", [(int(bb) * bs, blocks // 8), (int(ib) * bs, blocks // 8)]),
            ("inode table", [(int(it) * bs, (first_free - 1) * isize)]), ("folders", folders)]


def damage(data, regs, rng):
    """1-8 pieces of 1-16 random bytes over one kind of region (the guest's way)"""
    data = bytearray(data)
    name, ranges = rng.choice(regs)
    said = [name + ":"]
    for _ in range(rng.randint(1, 8)):
        off, length = rng.choice(ranges)
        n = rng.randint(1, 16)
        at = off + rng.randrange(max(1, length - n + 1))
        data[at:at + n] = bytes(rng.randrange(256) for _ in range(n))
        said.append(f"{at}+{n}")
    return bytes(data), " ".join(said)


def make_image(work, runs, rng):
    """-> (the image's path, the regions, what the boot's damage was)"""
    src = os.path.join(work, "tree")
    shutil.rmtree(src, ignore_errors=True)
    tree(src)
    fs = os.path.join(work, "fs.img")
    with open(fs, "wb") as f:
        f.truncate(FS_BYTES)
    subprocess.run([MKE2FS, "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-b", "4096",
                    "-L", "l4ua", "-d", src, fs], check=True, stdout=subprocess.DEVNULL, timeout=60)
    regs = regions(fs)
    with open(fs, "rb") as f:
        clean = f.read()
    damaged, said = damage(clean, regs, rng)
    ctl = ("L4UA-DAMAGE\n{fs = %d, copy = %d, seed = %d, runs = %d, regions = {%s}}"
           % (FS_BYTES // 512, FS_BYTES // 512, rng.randrange(1, 1 << 62), runs,
              ", ".join(f'{{"{name}", ' + ", ".join(f"{{{o}, {n}}}" for o, n in ranges) + "}"
                        for name, ranges in regs))).encode() + b"\0"
    assert len(ctl) <= CTL_BYTES
    img = os.path.join(work, "damaged.img")
    with open(img, "wb") as f:
        f.write(damaged + clean + ctl.ljust(CTL_BYTES, b"\0"))
    return img, regs, said


def run(term, root, sb, work, log, runs, rng):
    """Boots once on a damaged image (the ISO of sb, built with SCRIPTS=
    tests/damaged) and lets the autorun try runs variants more. -> (ok,
    a line for the report, the end of the screen if it failed)"""
    img, regs, said = make_image(work, runs, rng)
    argv = ["make", "-s", "--no-print-directory", "run", f"BUILD={sb}", f"DISK={img}",
            f"SCRIPTS={os.path.join(root, 'tests', 'damaged')}"] + term.free_ports()
    s = term.Session(root, sb, log, argv=argv)
    try:
        s.expect(r"L4ua REPL on the serial console", 90)
        cases.prompt(s, 30)
        # a variant is some 1-2 s of a busy host's time
        m = s.expect(rb"damaged-end (\d+) variants: (\d+) mounted, (\d+) refused; "
                     rb"(\d+) requests answered, (\d+) errors; (\d+) failures", 60 + 3 * runs)
        text = s.out.decode("latin-1")
        fails = re.findall(r"damaged-fail [^\r\n]*", text)
        done = len(re.findall(r"damaged \d+: ", text))
        bad = [l for l in re.findall(r"[^\r\n]*(?:PANIC|supervisor: files (?:failed|did not answer)"
                                     r"|supervisor: (?!files )\S+ (?:failed|did not answer|was killed))"
                                     r"[^\r\n]*", text)]
        # the REPL goes on: typed at, it answers
        cases.run(s, "=6 * 7", "42")
        cases.run(s, "=require('service').call('echo', 1, 'typed')", r"\d+\t\"typed\"")
        g = [int(x) for x in m.groups()]
        ok = (not fails and not bad and g[5] == 0 and done == runs + 1 and g[0] == runs + 1)
        note = (f"{g[0]} damaged variants (the boot's: {said}): {g[1]} mounted, "
                f"{g[2]} refused at mount; {g[3]} requests answered, {g[4]} errors; "
                f"the file service never failed, echo, a spawned task and the REPL went on")
        if not ok:
            note = "; ".join(fails[:5] + bad[:5]) or f"{done} variant lines for {runs + 1}"
        return ok, note, None if ok else text[-3000:]
    finally:
        s.close()
