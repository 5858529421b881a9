#!/usr/bin/python3
"""Coverage of kernel/ by a boot (docs/reliability.md "Coverage"): the
addresses tests/fuzz/cov_plugin.c recorded (instructions of the kernel's
text that ran) mapped to lines of kernel/ with the kernel ELF's line table
(addr2line: the innermost line, so an inlined function's lines count in
its own file). A line has code if an instruction starts in it; it is
reached if one of those ran. A conditional jump is a branch of two
sides; a side counts as reached when the instruction it leads to ran
(which another path may also reach: an upper bound). Lines of functions
no system call can reach (UNREACHABLE, each with its reason) are left
out of the second figure, "of the lines user mode can reach".

    cov.py --elf build/kernel-test.elf RAN... [--unreached] [--reached-out FILE]
"""

import argparse
import bisect
import collections
import re
import subprocess
import sys

# Functions of kernel/ (inlined ones by their own name) that no user-mode
# action can run, and why.
BOOT = "boot only: it runs once before any user code (its other branches are bad boot " \
    "information or no memory at boot: host.bootinfo, host.memmap, host.pmm, host.elf)"
PANIC = "a panic only: a broken invariant or a fault in the kernel itself"
UNREACHABLE = {
    "panic": PANIC, "exception_panic": PANIC, "log_panic_begin": PANIC, "log_frame": PANIC,
    "arch_backtrace": PANIC, "ksyms_lookup": PANIC,
    "arch_exit": "QEMU's exit: a panic and the test kernel's debug op",
    "kmain": BOOT, "high_entry": BOOT, "boot_start_tasks": BOOT, "start_task": BOOT,
    "bootinfo_parse": BOOT, "bootinfo_arg": BOOT, "paging_init": BOOT, "kmem_init": BOOT,
    "kip_init": BOOT, "sigma0_init": BOOT, "memmap_free": BOOT, "cut": BOOT, "elf_load": BOOT,
    "pmm_is_free": BOOT, "map_scripts": BOOT, "keep": BOOT, "add_range": BOOT,
    "add_module": BOOT, "parse_mb1": BOOT, "parse_mb2": BOOT, "show_boot_info": BOOT,
    "kernel_ranges": BOOT, "pick_runs": BOOT, "frame_free": BOOT,
}
def instructions(elf):
    """(address, function, jump target or None, is conditional jump) of .text."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-j", ".text", elf],
                         capture_output=True, text=True, check=True).stdout
    insns, func = [], None
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) <([^>]+)>:$", line)
        if m:
            func = m.group(2)
            continue
        m = re.match(r"^\s*([0-9a-f]+):\s+(\S+)\s*(\S*)", line)
        if not m or not func:
            continue
        addr, mnem, arg = int(m.group(1), 16), m.group(2), m.group(3)
        cond = mnem.startswith("j") and mnem not in ("jmp", "jmpq")
        target = int(arg, 16) if cond and re.match(r"^[0-9a-f]+$", arg) else None
        insns.append((addr, func, target, cond and target is not None))
    return insns


def lines_of(elf, addrs):
    """(kernel/ path, line, function: the inlined one if inlined) per
    address, or None if not in kernel/."""
    p = subprocess.run(["addr2line", "-f", "-e", elf], input="\n".join(f"{a:x}" for a in addrs),
                       capture_output=True, text=True, check=True)
    out = p.stdout.splitlines()
    res = []
    for func, line in zip(out[0::2], out[1::2]):
        m = re.search(r"(?:^|/)(kernel/[^:]+):(\d+)", line)
        res.append((m.group(1), int(m.group(2)), func) if m else None)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elf", required=True)
    ap.add_argument("--unreached", action="store_true", help="list the lines not reached")
    ap.add_argument("--reached-out", help="write the lines reached (path:line) here")
    ap.add_argument("--quiet", action="store_true", help="print nothing (with --reached-out)")
    ap.add_argument("ran", nargs="+", help="files of addresses from cov_plugin")
    a = ap.parse_args()
    ran = set()
    for path in a.ran:
        with open(path) as f:
            ran.update(int(x, 16) for x in f.read().split())
    insns = instructions(a.elf)
    where = lines_of(a.elf, [i[0] for i in insns])
    addrs = [i[0] for i in insns]
    code, hit = collections.defaultdict(set), collections.defaultdict(set)
    funcs_of_line = collections.defaultdict(set)
    excluded = set()
    branches = reached_sides = 0
    for k, ((addr, _, target, cond), loc) in enumerate(zip(insns, where)):
        if loc is None:
            continue
        func, loc = loc[2], loc[:2]
        code[loc[0]].add(loc[1])
        funcs_of_line[loc].add(func)
        if addr in ran:
            hit[loc[0]].add(loc[1])
        if func.split(".")[0] in UNREACHABLE:
            excluded.add(loc)
        if cond:
            branches += 1
            nxt = addrs[k + 1] if k + 1 < len(addrs) else None
            reached_sides += (target in ran) + (nxt in ran)
    if a.reached_out:
        with open(a.reached_out, "w") as f:
            f.writelines(f"{p}:{ln}\n" for p in sorted(hit) for ln in sorted(hit[p]))
    if a.quiet:
        return 0
    total = sum(len(v) for v in code.values())
    covered = sum(len(v) for v in hit.values())
    reachable = total - len(excluded)
    covered_reachable = sum(1 for f, ls in hit.items() for ln in ls if (f, ln) not in excluded)
    print(f"coverage: kernel/ lines {covered} of {total} ({100.0 * covered / total:.1f}%); "
          f"of the lines user mode can reach {covered_reachable} of {reachable} "
          f"({100.0 * covered_reachable / reachable:.1f}%); branch sides {reached_sides} of "
          f"{2 * branches} ({100.0 * reached_sides / max(1, 2 * branches):.1f}%)")
    for f in sorted(code):
        n, h = len(code[f]), len(hit[f])
        print(f"  {f:36} {h:4} of {n:4} lines ({100.0 * h / n:5.1f}%)")
    if a.unreached:
        print("coverage: lines not reached, by function:")
        by_func = collections.defaultdict(list)
        for f in sorted(code):
            for ln in sorted(code[f] - hit[f]):
                fn = sorted(funcs_of_line[(f, ln)])[0]
                by_func[(fn, f)].append(ln)
        for (fn, f), lns in sorted(by_func.items(), key=lambda kv: (kv[0][1], kv[1][0])):
            why = UNREACHABLE.get(fn.split(".")[0])
            print(f"  {f}:{','.join(map(str, lns))} ({fn})" + (f" - {why}" if why else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
