"""The documentation, run as written (docs/README.md "Examples are tested").

A fenced block whose info string is `session` is a person at the serial
console of `make run`: a line "> text" is typed (a line ">> text" after it
continues the same chunk), the lines after it are what the console shows
before the next prompt; a line "debug NAME> text" is typed at the
debugger's sub-mode (the REPL's `debug NAME`), whose prompt that is. A
block whose info string is `shell` is a host
terminal in the repository's root: a line "$ command" is run by bash, the
lines after it are its output. Shown output is compared line by line,
whitespace runs counting as one space; "..." inside a line matches any
text, and a line that is only "..." any number of lines. A shell
command whose output shows lines "> text" (a REPL's prompt and a typed
line, as `tools/l4ua console` shows them) runs on a pseudo-terminal, and
each text is typed at the next empty prompt, with Enter, or, when it
ends in "^]", with Ctrl-] instead (which shows nothing). Lines the system
logs on its own (a "name: " prefix of a component, e.g. "push: ...") are
left out of what the console showed unless the block shows them.

Each document runs in a boot of its own, its blocks in order; a path under
/tmp/ in a shell command is a fresh temporary folder instead. The first
block that differs fails the document and shows both sides."""

import os
import re
import subprocess
import tempfile
import time

import cases
import term

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The documents make test runs; each must hold at least one tested block.
DOCS = ["README.md", "docs/shell.md", "docs/tutorial-hot-reload.md", "docs/tutorial-pager.md",
        "docs/tutorial-driver.md", "docs/services.md", "docs/console.md", "docs/lua-api.md",
        "docs/drivers.md", "docs/network.md", "docs/tutorial-debug.md", "docs/storage.md",
        "docs/tutorial-http.md"]

# Components that print on COM1 by themselves, between a REPL's lines.
LOGGERS = ("lua-root", "push", "supervisor", "consoles", "init", "names", "files", "keeper", "pager",
           "sched", "watch", "echo", "net0", "net")
LOG_LINE = re.compile(r"^(%s): " % "|".join(LOGGERS))
FENCE = re.compile(r"^```(\S*)\s*$")
# In a shell block's output, a line typed at the command's REPL prompt
# (tools/l4ua console); it is typed when an empty prompt is drawn.
TYPED = re.compile(r"^>>? ")
REPL_PROMPT = rb"\r>>? \x1b\[K"
# The debugger's sub-mode (docs/debugger.md): its prompt in a session block,
# and on the console; a session step waits for either prompt.
SUBMODE = re.compile(r"^debug [^\s>]+> ")
ANY_PROMPT = rb"\r(?:> |debug [^\r\n>]+> )\x1b\[K"
DETACH = "\x1d"                     # Ctrl-], shown "^]": leaves tools/l4ua console


class DocError(Exception):
    pass


def blocks(path):
    """-> [(kind, line number, [(input lines, [expected lines])])] of the
    document's session and shell blocks."""
    out, kind, steps, start = [], None, None, 0
    with open(os.path.join(ROOT, path)) as f:
        text = f.read().split("\n")
    for no, line in enumerate(text, 1):
        m = FENCE.match(line)
        if m and kind is None:
            kind, steps, start = (m.group(1) or "-"), [], no
            continue
        if m and kind is not None:
            if kind in ("session", "shell"):
                out.append((kind, start, steps))
            kind = None
            continue
        if kind == "session":
            if line.startswith(">> ") and steps:
                steps[-1][0].append(line[3:])
            elif line.startswith("> ") or line == ">":
                steps.append(([line[2:]], []))
            elif SUBMODE.match(line):
                steps.append(([SUBMODE.sub("", line, count=1)], []))
            elif steps:
                steps[-1][1].append(line)
            else:
                raise DocError(f"{path}:{no}: a session block must start with a '> ' line")
        elif kind == "shell":
            if line.startswith("$ "):
                steps.append(([line[2:]], []))
            elif steps:
                steps[-1][1].append(line)
            else:
                raise DocError(f"{path}:{no}: a shell block must start with a '$ ' line")
    return out


def norm(line):
    return " ".join(line.split())


def line_matches(want, got):
    parts = [re.escape(p) for p in norm(want).split("...")]
    return re.fullmatch(".*".join(parts), norm(got)) is not None


def matches(want, got):
    """Whether the lines got are what want shows ('...' lines: any lines)."""
    want = [w for w in want]
    while want and not want[-1].strip():
        want.pop()
    got = [g for g in got]
    while got and not got[-1].strip():
        got.pop()

    def m(i, j):
        if i == len(want):
            return j == len(got)
        if norm(want[i]) == "...":
            return any(m(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and line_matches(want[i], got[j]) and m(i + 1, j + 1)
    return m(0, 0)


def shown(raw, typed, want, before=()):
    """The console's lines after typing `typed`: the echo of the typed
    lines, bare prompts that other output redrew, a line typed before
    (`before`) that the editor redrew late (a log line came while it
    waited: once seen in a full run, docs.services), and the system's
    own log lines (unless wanted) left out."""
    got = [cases.screen_line(l.rstrip("\r")) for l in raw.split("\n")]
    keep_logs = any(LOG_LINE.match(norm(w)) for w in want)
    out, echo = [], list(typed)
    for g in got:
        # the echo of a typed line: the prompt and the line, or (a line
        # longer than the screen) the tail the editor scrolled to
        tail = norm(SUBMODE.sub("", re.sub(r"^>>? ", "", g), count=1))
        if echo and tail and norm(echo[0]).endswith(tail):
            echo.pop(0)
        elif re.match(r"^>>? ", g) and tail and any(norm(b) == tail for b in before):
            continue
        elif (norm(g) in (">", ">>") or SUBMODE.match(g + " ")
              or (not keep_logs and LOG_LINE.match(norm(g)))):
            continue
        else:
            out.append(g)
    return out


def next_prompt(s, timeout=60):
    """Waits for the REPL's next empty prompt, as a person sees it at the
    end: a log line printed while a typed line waits (the first line waits
    for the boot plan, services.md "The boot plan") is followed by an
    empty prompt and then the redrawn line, which is not the answer yet."""
    until = time.monotonic() + timeout
    while True:
        s.expect(ANY_PROMPT, max(0.1, until - time.monotonic()))
        quiet = s.settle(0.3, 5)
        if not re.sub(rb"\x1b\[K|\s", b"", s.out[s.pos:]):
            return quiet


def run_session(s, path, no, steps):
    before = []
    quiet_at = None     # len(s.out) when the step before ended, the console quiet for 0.3 s
    for typed, want in steps:
        # what the system printed on its own is not the answer: wait until
        # nothing comes for 0.3 s, unless the step before has just ended so
        # and nothing came since (another 0.3 s, at each of some 170 steps,
        # was a fixed wait of nearly a minute in stage docs)
        if quiet_at != len(s.out):
            s.settle(0.3, 5)
        start = s.pos = len(s.out)
        for i, line in enumerate(typed):
            s.send(line + "\r")
            if i + 1 < len(typed):
                s.expect(rb"\r>> \x1b\[K", 10)
        quiet = next_prompt(s, 60)
        # Lines that come on their own (the kernel's log, which the watcher
        # copies every 200 ms) may follow the prompt on a busy host: what
        # does not match yet gets up to 3 s more.
        until = time.monotonic() + 3
        while True:
            got = shown(s.out[start:].decode("latin-1"), typed, want, before)
            if matches(want, got) or time.monotonic() > until:
                break
            quiet = s.settle(0.3, 1)
        quiet_at = len(s.out) if quiet else None
        before += typed
        if not matches(want, got):
            raise DocError(f"{path}:{no}: after typing {typed!r}\n  the text shows:\n"
                           + "".join(f"    {w}\n" for w in want)
                           + "  the console showed:\n" + "".join(f"    {g}\n" for g in got))


def keys_of(shown_line):
    """What a person types for a line "> text" of a shell block: the text
    and Enter, or, for a text ending in "^]", the text and Ctrl-]."""
    text = TYPED.sub("", shown_line, count=1)
    return text[:-2] + DETACH if text.endswith("^]") else text + "\r"


def run_pty(env, cmd, want, logpath):
    """cmd on a pseudo-terminal, each "> text" line of want typed at its
    next empty prompt -> (the lines the terminal showed, the lines it
    should show: want without the "^]" marks, which show nothing)."""
    typed = [keys_of(w) for w in want if TYPED.match(w)]
    s = term.Session(ROOT, None, logpath, env=env, argv=["bash", "-c", cmd])
    try:
        for k in typed:
            s.expect(REPL_PROMPT, 30)
            s.settle(0.2, 2)
            s.send(k)
        s.wait_end(30)
        text = s.text()             # before close(), which types Ctrl-] X at the end
    finally:
        s.close()
    got = [cases.screen_line(l.rstrip("\r")) for l in text.split("\n")]
    return got, [w[:-2] if TYPED.match(w) and w.endswith("^]") else w for w in want]


def run_shell(build, tmp, path, no, steps, logpath, ports):
    # this boot's forwards (make run's REPL_PORT and HTTP_PORT): a
    # document writes ${HTTP_PORT:-8080}, make run's default for a person
    env = dict(os.environ, L4UA_BUILD=build, **dict(p.split("=", 1) for p in ports))
    for typed, want in steps:
        cmd = typed[0].replace("/tmp/", tmp + "/")
        if any(TYPED.match(w) for w in want):
            got, want = run_pty(env, cmd, want, f"{logpath[:-4]}.{no}.pty.log")
            status = "on a terminal"
        else:
            p = subprocess.run(["bash", "-c", cmd], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=90)
            got, status = p.stdout.split("\n"), f"status {p.returncode}"
        got = [g.replace(tmp + "/", "/tmp/") for g in got]
        if not matches(want, got):
            raise DocError(f"{path}:{no}: $ {typed[0]}\n  the text shows:\n"
                           + "".join(f"    {w}\n" for w in want)
                           + f"  the command printed ({status}):\n"
                           + "".join(f"    {g}\n" for g in got))


def run_doc(build, path, logpath):
    """One document in a boot of its own -> number of blocks run; raises
    DocError or term.Timeout."""
    found = blocks(path)
    if not found:
        raise DocError(f"{path}: no session or shell block to run")
    s = term.Session(ROOT, build, logpath)
    try:
        s.expect(r"L4ua REPL on the serial console", 60)
        cases.prompt(s, 30)
        with tempfile.TemporaryDirectory() as tmp:
            for kind, no, steps in found:
                if kind == "session":
                    run_session(s, path, no, steps)
                else:
                    run_shell(build, tmp, path, no, steps, logpath, s.ports)
    finally:
        s.close()
    return len(found)
