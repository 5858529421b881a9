"""The host's line to the guest's debugger (tools/l4ua dap, tools/l4ua
profile; docs/debugging.md). One request is a frame the push agent takes,

    L4UA-DEBUG <length> <crc32>\\n<length bytes>

whose bytes are "return " and a Lua table literal {n = k, op, args...}; the guest's
scripts/debug_remote.lua runs the op (a method of scripts/debugger.lua's
session, or attach/profile) and answers one line, "OK <JSON>" with the
op's results or "ERR <why>". This module also holds `tools/l4ua profile`.

tools/l4ua (the script) hands its helpers in as `tool`: connect,
frames_line, answer and Trouble (exit status 2: no system, a broken
line)."""

import json
import zlib


def lua_literal(v):
    """A Python value as Lua source the guest's service.decode reads:
    None, bool, int, float, str (as bytes, non-printable ones as \\ddd),
    list (with its length as n, so nils keep their place), dict."""
    if v is None:
        return "nil"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError("a number Lua source cannot write")
        return repr(v)
    if isinstance(v, str):
        out = []
        for b in v.encode("utf-8"):
            c = chr(b)
            out.append(c if 32 <= b < 127 and c not in '"\\' else "\\%03d" % b)
        return '"' + "".join(out) + '"'
    if isinstance(v, (list, tuple)):
        return "{n=%d%s}" % (len(v), "".join("," + lua_literal(x) for x in v))
    if isinstance(v, dict):
        return "{" + ",".join("[%s]=%s" % (lua_literal(k), lua_literal(x))
                              for k, x in v.items()) + "}"
    raise TypeError(f"cannot send a {type(v).__name__} to the guest")


class GuestError(Exception):
    """The guest refused a request (ERR ...): a message for the person."""


class Line:
    """A connection to the push agent in frames mode (COM2's socket, or
    TCP with tcp set); call() sends one request and returns its results."""

    def __init__(self, tool, build, tcp=None):
        self.tool = tool
        self.s = tool.frames_line(build, tcp)

    def call(self, op, *args, timeout=10.0):
        """-> the op's results as a list (Lua's nil as None)."""
        body = ("return " + lua_literal([op] + list(args))).encode()
        head = f"L4UA-DEBUG {len(body)} {zlib.crc32(body):08x}\n".encode()
        try:
            self.s.sendall(head + body)
        except OSError as e:
            raise self.tool.Trouble(f"the line broke: {e.strerror}")
        reply = self.tool.answer(self.s, timeout)
        if reply.startswith("ERR "):
            raise GuestError(reply[4:])
        if not reply.startswith("OK "):
            raise self.tool.Trouble(f"not a debugger's answer: {reply[:80]}")
        try:
            r = json.loads(reply[3:])
        except ValueError as e:
            raise self.tool.Trouble(f"a broken answer ({e}): {reply[:80]}")
        return [r.get(str(i)) for i in range(1, int(r.get("n", 0)) + 1)]

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def folded(stacks, cpu=True):
    """The profile's stacks as folded lines ("a;b;c 1234"), as flame-graph
    tools read them (flamegraph.pl, speedscope, inferno: the count is the
    last field, so a frame's "file:line name" may hold spaces): weighed by
    CPU microseconds, or by Lua instructions for a profile that saw no
    timer tick (cpu False); stacks of weight 0 are left out."""
    key = "cpu_us" if cpu else "instructions"
    return "".join(f"{e['where']} {e.get(key) or 0}\n" for e in stacks if e.get(key))


def table(r, secs, top=10):
    cpu = r.get("cpu_us") or 0
    out = [f"profile of {r.get('name')}: {r['samples']} samples, one every {r['count']} Lua "
           f"instructions at most, {r['instructions']} instructions and {cpu // 1000} ms of CPU in {secs:g} s"]
    if r["samples"] == 0:
        out.append("(it ran no Lua: it waited the whole time)")
    total = max(1, r["instructions"])
    for title, rows in (("FUNCTION", r.get("funcs") or []), ("LINE", r.get("lines") or [])):
        if rows:
            out.append(f"{'CPU ms':>8} {'%':>6} {'INSTRUCTIONS':>12} {'%':>6}  {title}")
            for e in rows[:top]:
                us = e.get("cpu_us") or 0
                out.append(f"{us // 1000:8d} {100 * us / max(1, cpu):5.1f}% "
                           f"{e['instructions']:12d} {100 * e['instructions'] / total:5.1f}%  "
                           f"{e['where']}")
    return "\n".join(out)


def cmd_profile(tool, a):
    """tools/l4ua profile NAME [SECONDS] [--folded FILE] [--count N]."""
    if not 0 < a.seconds <= 600:
        raise tool.Trouble("profile: seconds from 0 to 600")
    line = Line(tool, a.build, a.tcp)
    try:
        r, err = (line.call("profile", a.name, int(a.seconds * 1000), a.count, bool(a.folded),
                            timeout=a.seconds + 15) + [None])[:2]
    except GuestError as e:
        print(f"profile {a.name}: {e}", file=__import__("sys").stderr)
        return 1
    finally:
        line.close()
    if r is None:
        print(f"profile {a.name}: {err}", file=__import__("sys").stderr)
        return 1
    print(table(r, a.seconds))
    if a.folded:
        cpu = bool(r.get("cpu_us"))
        text = folded(r.get("stacks") or [], cpu)
        with open(a.folded, "w") as f:
            f.write(text)
        print(f"{text.count(chr(10))} folded stacks ({'CPU microseconds' if cpu else 'Lua instructions'}) "
              f"in {a.folded}")
    return 0


def trace_table(r, secs):
    """The IPC trace as the REPL's `trace` prints it."""
    out = [f"{'MS':>10} {'DIR':<3} {'LABEL':>10} {'PARTNER':<12} {'BYTES':>6}"]
    entries = r.get("entries") or []
    t0 = entries[0]["t"] if entries else 0
    for e in entries:
        label = e["label"]
        label = f"0x{label:x}" if isinstance(label, int) else str(label)
        out.append(f"{(e['t'] - t0) / 1000:10.3f} {e['dir']:<3} {label:>10} {e['partner']:<12} "
                   f"{e['size']:6d}")
    dropped = r.get("dropped") or 0
    out.append(f"{len(entries)} messages of {r.get('name')} in {secs:g} s"
               + (f" ({dropped} earlier ones dropped: the ring keeps 500)" if dropped else ""))
    return "\n".join(out)


def cmd_trace(tool, a):
    """tools/l4ua trace NAME [SECONDS]: the target's IPC meanwhile."""
    import sys
    if not 0 < a.seconds <= 600:
        raise tool.Trouble("trace: seconds from 0 to 600")
    line = Line(tool, a.build, a.tcp)
    try:
        r, err = (line.call("trace_for", a.name, int(a.seconds * 1000), 500,
                            timeout=a.seconds + 15) + [None])[:2]
    except GuestError as e:
        print(f"trace {a.name}: {e}", file=sys.stderr)
        return 1
    finally:
        line.close()
    if r is None:
        print(f"trace {a.name}: {err}", file=sys.stderr)
        return 1
    print(trace_table(r, a.seconds))
    return 0


def add_commands(sub, tool):
    """Registers `profile`, `trace` (and `dap`, from l4ua_dap) on tools/l4ua's parser."""
    p = sub.add_parser("profile", help="where a service's time goes (CPU time and Lua instructions, sampled)")
    p.add_argument("name", help="a service name, a task number or a thread id")
    p.add_argument("seconds", nargs="?", type=float, default=2.0)
    p.add_argument("--folded", metavar="FILE",
                   help="also write folded stacks (flamegraph.pl, speedscope) to FILE")
    p.add_argument("--count", type=int, default=1000,
                   help="Lua instructions per sample (at least 100)")
    p.set_defaults(fn=lambda a: cmd_profile(tool, a))
    p = sub.add_parser("trace", help="a service's IPC for a while: each message in and out")
    p.add_argument("name", help="a service name, a task number or a thread id")
    p.add_argument("seconds", nargs="?", type=float, default=2.0)
    p.set_defaults(fn=lambda a: cmd_trace(tool, a))
    import l4ua_dap
    p = sub.add_parser("dap", help="a Debug Adapter Protocol adapter on stdio (VS Code, nvim-dap)")
    p.set_defaults(fn=lambda a: l4ua_dap.main(tool, Line, GuestError, a))
