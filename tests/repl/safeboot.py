"""Safe boot as a person meets it (docs/recovery.md): `make run
SCRIPTS=folder` on a pseudo-terminal with a folder whose init.lua (the
autorun) or module is broken, `make run SAFE=1`, and a key typed during
the first second. Each boot must end at a working prompt with the error,
its traceback and the line on how to go back. One build folder serves
every boot (only the archive and the ISO change between them)."""

import os
import pty
import re
import subprocess
import time

import term
from cases import PROMPT, run, screen_line

BACK_AUTORUN = r"autorun: the REPL is yours; to boot without your scripts: safe mode"
BACK_RESCUE = r"rescue: to get the standard boot plan back, reboot: in safe mode"
REPL_UP = r"L4ua REPL on the serial console"


class Boot(term.Session):
    """term.Session, but `make run` with arguments of our own."""

    def __init__(self, root, build, log_path, *make_args):
        self.log_path = log_path
        self.out = b""
        self.pos = 0
        disk = term.fresh_disk(log_path)
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(root)
            os.execvp("make", ["make", "-s", "--no-print-directory", "run", f"BUILD={build}", disk]
                      + term.free_ports() + list(make_args))
        self.pid, self.fd = pid, fd


def screen(raw):
    """The lines a terminal shows for raw output, without empty lines and
    the prompt the console redraws under each line of other output."""
    shown = [screen_line(l.rstrip("\r")) for l in raw.decode("latin-1").split("\n")]
    return "\n".join(l for l in shown if l.strip() not in ("", ">"))


def see(s, pattern, timeout=10):
    """Waits until pattern matches the screen's lines after the last match
    of see() (s.spos); raw expect()s go on from the end of what came."""
    rx = re.compile(pattern)
    until = time.monotonic() + timeout
    while True:
        m = rx.search(screen(s.out), getattr(s, "spos", 0))
        if m:
            s.spos, s.pos = m.end(), len(s.out)
            return m
        if not s._read(until):
            raise term.Timeout(f"no {pattern!r} on the screen within {timeout} s")


def folder(base, name, files):
    """A user's SCRIPTS folder: {relative path: text}."""
    d = os.path.join(base, name)
    for rel, text in files.items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if not os.path.exists(p) or open(p).read() != text:
            with open(p, "w") as f:
                f.write(text)
    return d


def guest_s(s):
    """The guest's clock (seconds since boot), read at the prompt."""
    m = run(s, "=l4.clock() / 1e6", r"[\d.]+")
    return float(re.search(rb"[\d.]+", m.group(0)).group(0))


def works(s):
    """The prompt answers: Enter for a fresh line, 1+1, ps."""
    s.send("\r")
    s.expect(PROMPT, 10)
    run(s, "1+1", "2")
    s.send("ps\r")
    s.expect(r"TASK NAME +THREAD")
    s.expect(PROMPT, 10)


# A greeting module (shows that user/ is on package.path) and an init.lua
# that raises at line 3.
RAISES = {
    "greet.lua": "return 'hello from the user module'\n",
    "init.lua": "print(require 'greet')\nlocal x = 41\nerror('boom at line ' .. 3)\n",
}


def c_raises(s):
    s.expect(r"hello from the user module", 60)
    see(s, r"autorun: user/init\.lua failed: user/init\.lua:3: boom at line 3\n"
             r"stack traceback:\n(.*\n)*?\s+user/init\.lua:3: in ", 20)
    see(s, BACK_AUTORUN, 10)
    works(s)


def c_syntax_error(s):
    see(s, r"autorun: user/init\.lua failed: user/init\.lua:2: unexpected symbol near '='"
             r"\nstack traceback:", 60)
    see(s, BACK_AUTORUN, 10)
    works(s)


def c_waits_then_loops(s):
    # a loop that waits between its steps is the user's to keep: not
    # stopped as a runaway, even past the guard's 5 s
    see(s, r"tick 1\b", 60)
    see(s, r"tick 8\b", 60)
    assert "runaway" not in screen(s.out), "a waiting loop was stopped as a runaway"
    # then it computes without a pause, below the REPL's priority: the
    # prompt answers meanwhile, and the guard stops it 5 s later
    run(s, "2+3", "5")
    see(s, r"autorun: user/init\.lua failed: user/init\.lua:4: computed for 5 s without a "
           r"pause \(a runaway loop\?\): stopped\nstack traceback:(.*\n)*?\s+"
           r"user/init\.lua:4: in ", 60)
    see(s, BACK_AUTORUN, 10)
    works(s)
    t = guest_s(s)
    assert t < 18, f"the loop was stopped too late (the prompt at {t:.1f} s of guest time)"
    return f"prompt answering at {t:.1f} s of guest time"


def c_killed(s):
    see(s, r"the autorun waits", 60)
    s.send("kill autorun\r")
    see(s, r"killed thread \S+ \(autorun\)", 10)
    s.send("kill autorun\r")
    see(s, r"kill: no task autorun", 10)     # it is gone for good
    works(s)


def c_ctrl_c(s):
    # Ctrl-C with text on the line only drops the line; at an empty prompt
    # it interrupts the autorun (a loop that waits: never stopped as a
    # runaway), which says where it was and the way back
    see(s, r"the autorun loops", 60)
    s.send("\r")
    s.expect(PROMPT, 10)
    s.settle()                  # the REPL reads (a key between reads interrupts the REPL)
    s.send("1 +")
    s.expect(r"1 \+", 10)
    s.send("\x03")
    s.expect(r"\^C", 10)
    s.expect(PROMPT, 10)
    run(s, "=l4.thread.status(require('names').lookup('autorun'))", r'"running"')
    s.settle()
    s.send("\x03")
    see(s, r"autorun: user/init\.lua interrupted \(\d+ ms after Ctrl-C\)\nstack traceback:"
           r"(.*\n)*?\s+user/init\.lua:3: in ", 10)
    see(s, BACK_AUTORUN, 10)
    # it ends (below the REPL's priority: give it a moment)
    run(s, "=(function() local id = require('names').lookup('autorun') for _ = 1, 100 do "
           "if l4.thread.status(id) ~= 'running' then break end l4.sleep(10) end "
           "return l4.thread.status(id) end)()", r'"ended"')
    works(s)


def c_ctrl_c_under_pcall(s):
    # the script's loop catches every error (a pcall around each step):
    # Ctrl-C still ends it, as the error is raised again at each of its
    # instructions until it leaves the script
    see(s, r"the autorun loops under a pcall", 60)
    s.send("\r")
    s.expect(PROMPT, 10)
    s.settle()
    s.send("\x03")
    see(s, r"autorun: user/init\.lua interrupted \(\d+ ms after Ctrl-C\)\nstack traceback:"
           r"(.*\n)*?\s+user/init\.lua:\d+: in ", 10)
    see(s, BACK_AUTORUN, 10)
    run(s, "=(function() local id = require('names').lookup('autorun') for _ = 1, 100 do "
           "if l4.thread.status(id) ~= 'running' then break end l4.sleep(10) end "
           "return l4.thread.status(id) end)()", r'"ended"')
    works(s)


def c_runaway_under_pcall(s):
    # a runaway loop inside a pcall inside a loop: stopped by the guard
    # all the same, 5 s after it began
    see(s, r"autorun: user/init\.lua failed: user/init\.lua:\d+: computed for 5 s without a "
           r"pause \(a runaway loop\?\): stopped\nstack traceback:", 60)
    see(s, BACK_AUTORUN, 10)
    works(s)


def c_eats_memory(s):
    see(s, r"autorun: user/init\.lua failed: not enough memory\nstack traceback:"
             r"(.*\n)*?\s+user/init\.lua:3: in ", 60)
    see(s, BACK_AUTORUN, 10)
    works(s)
    s.send("mem\r")
    s.expect(r"pool: \d+ pages")
    s.expect(PROMPT, 10)


def c_safe_flag(s):
    s.expect(r"L4ua: safe mode \(the kernel command line has safe=1\): none of your scripts run", 60)
    s.expect(r"to leave it, reboot normally")
    s.expect(REPL_UP, 20)
    works(s)
    run(s, "=package.path", '"\\?\\.lua;\\?/init\\.lua"')
    assert "boom" not in s.text() and "hello from the user module" not in s.text(), \
        "the user's init.lua ran in safe mode"


def c_safe_key(s):
    s.expect(r"L4ua kernel", 60)
    s.send("s")         # a key during the first second of boot
    s.expect(r"L4ua: safe mode \(a key was typed on COM1 during the first second\)", 20)
    s.expect(REPL_UP, 20)
    works(s)
    assert "boom" not in s.text(), "the user's init.lua ran in safe mode"


def c_rescue_error(s):
    # the boot plan requires "console": the user's broken one fails it
    # (and the first console driver, which also requires it)
    see(s, r"rescue: the boot plan failed: user/console\.lua:1: a broken console module\n"
             r"stack traceback:", 60)
    see(s, r"rescue: this is the rescue plan: the serial console and its REPL only", 20)
    see(s, BACK_RESCUE, 10)
    see(s, REPL_UP, 10)
    works(s)
    s.send("help\r")
    s.expect(r"Safe mode \(no user script runs\)")
    s.expect(PROMPT, 10)
    # the usual commands, at the rescue prompt: ps, services, reload and
    # kill (the console driver comes back and the session goes on)
    s.send("ps\r")
    s.expect(r"\r\n +\d+ console +[0-9a-f.]+ +receive")
    s.expect(PROMPT, 10)
    s.send("services\r")
    s.expect(r"\r\nconsole +1 +\d+ +0 +- +[0-9a-f.]+ +running")
    s.expect(PROMPT, 10)
    s.send("reload console console_server.lua\r")
    s.expect(r"\r\nreloaded console: version \S+\r?\r\n", 10)
    s.expect(PROMPT, 10)
    s.send("kill console\r")
    s.expect(r"killed task \d+ \(console\): \d+ pages back; it served this console, "
             r"which is started again", 10)
    s.send("\r")
    works(s)


def c_rescue_memory(s):
    # a module of the user's that eats the root's memory while the plan
    # requires it: the plan fails with "not enough memory" (a memory error
    # has no traceback: Lua skips the message handler), the rescue plan's
    # fresh state has the memory back
    see(s, r"rescue: the boot plan failed: not enough memory\n", 90)
    see(s, BACK_RESCUE, 10)
    see(s, REPL_UP, 10)
    works(s)
    t = guest_s(s)
    return f"rescue prompt answering at {t:.1f} s of guest time"


def c_rescue_deadline(s):
    see(s, REPL_UP, 60)
    see(s, r"rescue: the boot plan did not finish: the boot plan was not done 8 s after it "
             r"started \(a runaway loop\?\)\nstack traceback:\n\s+user/supervisor\.lua:1: in main "
             r"chunk\n.*in function 'require'", 60)
    see(s, BACK_RESCUE, 10)
    see(s, REPL_UP, 10)
    works(s)
    t = guest_s(s)
    assert t < 12, f"the rescue prompt came too late ({t:.1f} s of guest time)"
    return f"rescue prompt answering at {t:.1f} s of guest time"


# An autorun that kills COM1's console driver, crashes it (a version that
# runs an illegal instruction) and hangs it (a version that never
# answers), one after the other: the console guardian brings it back each
# time (scripts/consoles.lua, docs/console.md "Consoles and sessions").
TAKES_THE_CONSOLE_DOWN = """\
local service = require "service"
local function console()
  for _, t in ipairs(l4.task.list()) do
    if t.name == "console" and t.state == "running" then return t.id end
  end
end
l4.sleep(500)
l4.task.delete(console())
l4.sleep(1500)
service.reload("console", "return {run = function() l4.task._fault('exception') end}")
l4.sleep(1500)
print(("the autorun hangs the console at %d ms"):format(l4.clock() // 1000))
service.reload("console", "return {run = function() l4.sleep() end}")
"""


def c_takes_the_console_down(s):
    # whatever a script does to the console driver, COM1 ends at a
    # working prompt within 10 s of guest time after the last failure
    m = see(s, r"the autorun hangs the console at (\d+) ms", 60)
    hung_at = int(m.group(1)) / 1000
    see(s, r"consoles: console did not answer for \d+ ms \(hung\): deleted", 20)
    see(s, r"consoles: console is back", 10)
    works(s)
    t = guest_s(s)
    assert t - hung_at < 10, f"the prompt answered {t - hung_at:.1f} s after the hang"
    return f"prompt answering {t - hung_at:.1f} s (guest) after the console hung"


# (case, folder name, its files, extra make arguments)
BOOTS = [
    (c_raises, "raises", RAISES, []),
    (c_safe_flag, "raises", RAISES, ["SAFE=1"]),
    (c_safe_key, "raises", RAISES, []),
    (c_syntax_error, "syntax", {"init.lua": "local ok = 1\nlocal x = = 2\n"}, []),
    (c_waits_then_loops, "loops", {"init.lua": "for i = 1, 8 do print('tick ' .. i); "
                                    "l4.sleep(700) end\nlocal n = 0\n\nwhile true do n = n + 1 end\n"},
     []),
    (c_killed, "waits", {"init.lua": "print('the autorun waits')\nl4.sleep()\n"}, []),
    (c_ctrl_c, "ctrl-c", {"init.lua": "print('the autorun loops')\nlocal n = 0\n"
                          "while true do n = n + 1; l4.sleep(50) end\n"}, []),
    (c_ctrl_c_under_pcall, "ctrl-c-pcall",
     {"init.lua": "print('the autorun loops under a pcall')\nlocal n = 0\nwhile true do\n"
                  "  local ok, err = pcall(function() n = n + 1; l4.sleep(50) end)\nend\n"}, []),
    (c_runaway_under_pcall, "runaway-pcall",
     {"init.lua": "local n = 0\nwhile true do\n"
                  "  pcall(function() while true do n = n + 1 end end)\nend\n"}, []),
    (c_eats_memory, "memory", {"init.lua": "local t = {}\nfor i = 1, math.huge do\n"
                               "  t[i] = ('x'):rep(4096) .. i\nend\n"}, []),
    (c_rescue_error, "rescue-error", {"console.lua": "error('a broken console module')\n"}, []),
    (c_rescue_memory, "rescue-memory", {"supervisor.lua": "local t = {}\nfor i = 1, math.huge do "
                                        "t[i] = ('x'):rep(65536) .. i end\n"}, []),
    (c_rescue_deadline, "rescue-loop", {"supervisor.lua": "while true do end\n"}, []),
    (c_takes_the_console_down, "console-down", {"init.lua": TAKES_THE_CONSOLE_DOWN}, []),
]


def run_all(res, root, build):
    """Runs BOOTS, each a `make run` of its own in build/tests/safeboot."""
    sb = os.path.join(build, "tests", "safeboot")
    logdir = os.path.join(build, "tests", "logs")
    os.makedirs(logdir, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    only = [c for c in os.environ.get("SAFEBOOT_CASES", "").split(",") if c]
    for case, name, files, extra in BOOTS:
        cname = case.__name__[2:]
        if only and cname not in only:
            continue
        test = "safeboot." + cname
        d = folder(os.path.join(sb, "scripts"), name, files)
        args = [f"SCRIPTS={d}"] + extra
        # build first (not under the pty's timeouts): archive and ISO
        target = os.path.join(sb, "l4ua-safe.iso" if "SAFE=1" in extra else "l4ua.iso")
        p = subprocess.run(["make", "-s", "-C", root, f"BUILD={sb}", target] + args,
                           capture_output=True, text=True, timeout=600, env=env)
        if p.returncode != 0:
            res.fail(test, f"make status {p.returncode}", p.stdout + p.stderr)
            continue
        s = Boot(root, sb, os.path.join(logdir, f"safeboot-{cname}.log"), *args)
        try:
            t0 = time.monotonic()
            note = case(s)
            res.ok(f"{test} ({note + ', ' if note else ''}{time.monotonic() - t0:.1f} s wall)")
        except Exception as e:      # a broken case must not end the runner
            res.fail(test, f"{type(e).__name__}: {e}", s.text()[-3000:])
        finally:
            s.close()
