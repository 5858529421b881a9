"""The debugger and the profiler at the console (docs/debugger.md): a person
types `debug echo`, sets breakpoints in services/echo.lua's handler, has
a client thread call echo (`!` runs a Lua line at the REPL from the
sub-mode), sees the stop, prints and changes the handler's state, steps,
stops at an error, reloads, and detaches; `profile` names the hot function
of a service kept busy on purpose. run.py's run_repl runs these after
cases.CASES, in the same boot."""

import os
import re
import time

import cases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ECHO = os.path.join(ROOT, "scripts", "services", "echo.lua")
SERVICE = os.path.join(ROOT, "scripts", "service.lua")
DPROMPT = rb"\rdebug echo> \x1b\[K"


def line_of(path, text):
    for n, l in enumerate(open(path), 1):
        if text in l:
            return n
    raise AssertionError(f"{path} has no line with {text!r}: update tests/repl/debug_cases.py")


COUNT_LINE = line_of(ECHO, "state.count = state.count + 1")     # the ECHO handler's first line
FAIL_LINE = line_of(ECHO, "error(message or")
CALL_LINE = line_of(SERVICE, "return finish(from, hooked, pcall(h, ctx.state, from, ...))")


def dprompt(s, timeout=10):
    s.expect(DPROMPT, timeout)


def drun(s, line, want, timeout=10):
    """Types a line in the sub-mode and waits for output matching want."""
    s.send(line + "\r")
    m = s.expect(rb"\r\n" + want.encode() + rb"[^\r\n]*\r?\r\n", timeout)
    dprompt(s, timeout)
    return m


def client(s, label, arg, tag="reply"):
    """A root thread that calls echo once and prints what came back."""
    s.send(f"""!l4.thread.create{{code = "local r = table.pack(require('service').call('echo', {label}, '{arg}')) print('{tag}', r[1], r[2])"}}\r""")
    dprompt(s)


def stop_at(s, where, why, timeout=10):
    """where: a regular expression of file:line."""
    s.expect(rb"stopped at " + where.encode() + rb" in [^\r]*\(" + why.encode()
             + rb"[^\r]*\)", timeout)


def cont_until(s, want, timeout=10):
    """c: the target runs; want appears; Ctrl-C ends the waiting."""
    s.send("c\r")
    s.expect(rb"running \(Ctrl-C stops waiting\)")
    m = s.expect(want, timeout)
    s.send("\x03")
    s.expect(rb"interrupted")
    dprompt(s)
    return m


def c_debug_breakpoint_print_assign(s):
    s.send("debug echo\r")
    s.expect(rb"attached to echo \(thread [^\r]*services/echo.lua\); it runs on")
    dprompt(s)
    drun(s, f"b {COUNT_LINE}", f"breakpoint 1 at services/echo.lua:{COUNT_LINE}")
    client(s, 1, "hi")
    s.send("c\r")
    stop_at(s, f"services/echo.lua:{COUNT_LINE}", "breakpoint 1")
    s.expect(rb"\s+%d  \s*state.count = state.count \+ 1" % COUNT_LINE)
    dprompt(s)
    m = drun(s, "p state.count", r"(\d+)")
    assert int(m.group(1)) >= 0
    drun(s, "v", r"  state = table: 1 field  \[x \d+\]")
    drun(s, "p state.count = 100", "ok")
    drun(s, "p state.count", "100")
    drun(s, "bt", rf" #\d [^\r]*service.lua:{CALL_LINE} ")
    cont_until(s, rb"reply\t101\thi")


def c_debug_step_in_over_out(s):
    drun(s, f"b service.lua:{CALL_LINE}", f"breakpoint 2 at service.lua:{CALL_LINE}")
    client(s, 1, "step")
    s.send("c\r")
    stop_at(s, rf"\S*service.lua:{CALL_LINE}", "breakpoint 2")
    dprompt(s)
    s.send("s\r")                               # into the handler
    stop_at(s, f"services/echo.lua:{COUNT_LINE}", "step")
    dprompt(s)
    s.send("n\r")                               # over: the next line of the handler
    stop_at(s, f"services/echo.lua:{COUNT_LINE + 1}", "step")
    dprompt(s)
    s.send("o\r")                               # out: back in the framework
    stop_at(s, r"\S*service.lua:\d+", "step")
    dprompt(s)
    drun(s, "d 2", "deleted breakpoint 2")
    cont_until(s, rb"reply\t102\tstep")


def c_debug_conditional_breakpoint(s):
    drun(s, "d 1", "deleted breakpoint 1")
    # the condition holds at the second call only (102 before the first);
    # the current file is service.lua now (the last stop's): name echo's
    drun(s, f"b services/echo.lua:{COUNT_LINE} if state.count == 103", f"breakpoint 3 at services/echo.lua:{COUNT_LINE} if state.count == 103")
    start = s.pos
    client(s, 1, "first")                      # not stopped: it answers at once
    s.pos = start
    s.expect(rb"reply\t103\tfirst")
    dprompt(s)
    client(s, 1, "second")
    s.send("c\r")
    stop_at(s, f"services/echo.lua:{COUNT_LINE}", "breakpoint 3")
    dprompt(s)
    drun(s, "p state.count", "103")
    drun(s, "b", r"  3  services/echo.lua:\d+  if state.count == 103  \(1 hit\)")
    drun(s, "d 3", "deleted breakpoint 3")
    cont_until(s, rb"reply\t104\tsecond")


def c_debug_break_on_error(s):
    drun(s, "e uncaught", "stop at errors: uncaught")
    client(s, 3, "oops", "failed")
    s.send("c\r")
    stop_at(s, f"services/echo.lua:{FAIL_LINE}", "error")
    dprompt(s)
    drun(s, "p message", '"oops"')
    drun(s, "e none", "stop at errors: none")
    cont_until(s, rb"failed\tnil\toops")


def c_debug_paused_service_client_times_out(s):
    """While echo is stopped its other clients time out on their own, the
    supervisor does not take it for hung (6 s > its 5 s), and it serves
    again after continue."""
    row = rb"\r\necho +\S+ +\S+ +\S+ +(\d+) +(\S+) +([^\r]*)\r?\r\n"
    s.send("!services()\r")
    before = s.expect(row)
    dprompt(s)
    drun(s, f"b services/echo.lua:{COUNT_LINE}", "breakpoint 4 at")
    client(s, 1, "held")
    s.send("c\r")
    stop_at(s, f"services/echo.lua:{COUNT_LINE}", "breakpoint 4")
    dprompt(s)
    s.send("""!l4.thread.create{code = "print('other', require('service').call({'echo', timeout = 300}, 2))"}\r""")
    s.expect(rb"other\tnil\techo: [^\r]*timeout[^\r]*\t\d+")
    dprompt(s)
    time.sleep(6)
    s.send("!services()\r")
    after = s.expect(row)
    dprompt(s)
    assert after.group(1) == before.group(1) and after.group(2) == before.group(2), \
        f"echo was restarted while held: {before.group(0)!r} -> {after.group(0)!r}"
    assert b"restart" not in after.group(3) and b"hung" not in after.group(3), after.group(0)
    drun(s, "d 4", "deleted breakpoint 4")
    cont_until(s, rb"reply\t\d+\theld")


def c_debug_reload_keeps_breakpoint(s):
    drun(s, f"b {COUNT_LINE}", f"breakpoint 5 at services/echo.lua:{COUNT_LINE}")
    drun(s, "!print(require('service').reload_file('echo'))", r"1\t\d+")
    drun(s, "b", rf"  5  services/echo.lua:{COUNT_LINE}  \(0 hits\)")
    client(s, 1, "after")
    s.send("c\r")
    stop_at(s, f"services/echo.lua:{COUNT_LINE}", "breakpoint 5")
    dprompt(s)
    cont_until(s, rb"reply\t\d+\tafter")


def c_debug_detach_leaves_it_serving(s):
    s.send("q\r")
    s.expect(rb"detached from echo; it runs on")
    cases.prompt(s)
    cases.run(s, "select(2, require('service').call('echo', 1, 'free'))", '"free"')
    s.send("help debug\r")
    s.expect(rb"s, n, o +step in, over")
    cases.prompt(s)
    # no hook is left in it, and the supervisor's mark is gone
    cases.run(s, "l4.sys.store_get(require('debugger').held_key(require('names').lookup('echo')))",
              r'nil\s+"no such key in the store"\s+1')


def c_debug_attaches_to_any_component(s):
    """`debug` attaches to the other kinds of Lua thread the issue names
    and leaves each running: the disk's driver (a task whose agent is read
    through the file service, which must not ask the disk for it: that
    deadlocked and the supervisor deleted the file service as hung), the
    pager policy (a root thread, by its name) and the scheduling policy by
    its thread id as ps shows it. Nothing is restarted on the way."""
    s.send("restarts = {} for _, e in ipairs(require('supervisor').status()) do "
           "restarts[e.name] = e.restarts end\r")
    cases.prompt(s)
    sched = cases.run(s, "tostring(require('names').lookup('sched'))", r'"([0-9a-f]+\.[0-9a-f]+\.[0-9a-f]+)"')
    for target in ("disk0", "pager", sched.group(1).decode()):
        s.send(f"debug {target}\r")
        s.expect(rb"attached to " + re.escape(target.encode()) + rb" \(thread [^\r]*\); it runs on", 15)
        s.expect(rb"\rdebug " + re.escape(target.encode()) + rb"> \x1b\[K", 5)
        s.send("q\r")
        s.expect(rb"detached from " + re.escape(target.encode()) + rb"; it runs on", 10)
        cases.prompt(s)
    cases.run(s, "changed = {} for _, e in ipairs(require('supervisor').status()) do "
                 "if e.restarts ~= restarts[e.name] then changed[#changed + 1] = e.name end end "
                 "print('restarted since: [' .. table.concat(changed, ',') .. '] of ' .. #require('supervisor').status())",
              r"restarted since: \[\] of \d\d?")
    cases.run(s, "io.open('init.lua') ~= nil", "true")


def c_debug_attaches_to_a_repl_session(s):
    """A REPL session waits for its next line in calls to its console
    server, and lets a debugger that holds it in between two of them
    (scripts/debug_door.lua): the screen's session by its name in the
    console plan, and a TCP session by its thread id. Keys typed at a
    session while it is stopped are not lost: the line runs once it goes
    on."""
    target = "repl.screen"
    s.send(f"debug {target}\r")
    s.expect(rb"attached to repl\.screen \(thread [^\r]*\); it runs on", 15)
    prompt = rb"\rdebug repl\.screen> \x1b\[K"
    s.expect(prompt, 5)
    s.send("pause\r")
    s.expect(rb"stopped at debug_door\.lua:\d+ in knock \(pause\)", 10)
    s.expect(prompt, 5)
    s.send("bt\r")
    s.expect(rb"#2 session\.lua:\d+ in read\r", 10)
    s.expect(prompt, 5)
    s.send("f 2\r")
    s.expect(prompt, 5)
    s.send("p con_name\r")
    s.expect(rb'\r\n"screen"\r?\r\n', 10)
    s.expect(prompt, 5)
    s.send("q\r")
    s.expect(rb"detached from repl\.screen; it runs on", 10)
    cases.prompt(s)

    import net_cases
    r = net_cases.Raw(s)
    try:
        r.expect(rb"L4ua REPL over TCP: Lua 5\.4", 30)
        r.expect(net_cases.TCP_PROMPT)
        tid = r.run("=tostring(l4.self())", r'"([0-9a-f]+\.[0-9a-f]+\.[0-9a-f]+)"').group(1).decode()
        s.send(f"debug {tid}\r")
        s.expect(rb"attached to " + re.escape(tid.encode()) + rb" \(thread [^\r]*\); it runs on", 15)
        prompt = rb"\rdebug " + re.escape(tid.encode()) + rb"> \x1b\[K"
        s.expect(prompt, 5)
        s.send("pause\r")
        s.expect(rb"stopped at debug_door\.lua:\d+ in knock \(pause\)", 10)
        s.expect(prompt, 5)
        s.send("bt\r")
        s.expect(rb"#2 push_agent\.lua:\d+ in [^\r]*\r+\n +\d+ +turn = door\.turn\(door\.knock\(\)\)", 10)
        s.expect(prompt, 5)
        r.send("6 * 7\r")              # typed while the session is stopped
        time.sleep(1)
        assert b"42" not in r.out[r.pos:], r.out[r.pos:]
        s.send("q\r")
        s.expect(rb"detached from " + re.escape(tid.encode()) + rb"; it runs on", 10)
        cases.prompt(s)
        r.expect(rb"\r\n42\r?\r\n", 10)
        r.expect(net_cases.TCP_PROMPT)
        r.run("=1 + 1", "2")
    finally:
        r.close()


def c_profile_names_the_hot_function(s):
    s.send("""busy = l4.thread.create{code = "local function hot(n) local x = 0 for i = 1, n do x = x + i % 7 end return x end local function cold() return 0 end require('service').run{name = 'busy', handlers = {}, period = 5, tick = function() hot(20000) cold() end}"}\r""")
    cases.prompt(s)
    cases.run(s, "require('service').wait('busy') ~= nil", "true")
    s.send("profile busy 1\r")
    s.expect(rb"profile of busy: (\d+) samples", 20)
    m = s.expect(rb"\r\n +(\d+) +([\d.]+)% +(\d+) +([\d.]+)% +[^\r]*:1 hot\r?\r\n", 5)
    assert float(m.group(2)) > 80, f"hot has {m.group(2)}% of the CPU time"
    assert float(m.group(4)) > 80, f"hot has {m.group(4)}% of the Lua instructions"
    cases.prompt(s)
    cases.run(s, "l4.thread.kill(busy)", "true")


def c_profile_charges_time_in_c(s):
    """The profiler charges CPU time, C functions' time included: `lua`
    runs a Lua loop (some 80,000 Lua instructions a turn) and `cfun` few
    (some 800) around string.upper on 64 KiB, which does its work in C.
    By Lua instructions lua is the hot function; by CPU time, cfun."""
    s.send("""both = l4.thread.create{code = "local function lua(n) local x = 0 for i = 1, n do x = x + i % 7 end return x end local function cfun() local t = ('x'):rep(65536) for i = 1, 200 do t = t:upper() end return #t end require('service').run{name = 'both', handlers = {}, period = 5, tick = function() lua(20000) cfun() end}"}\r""")
    cases.prompt(s)
    cases.run(s, "require('service').wait('both') ~= nil", "true")
    s.send("profile both 2\r")
    s.expect(rb"profile of both: (\d+) samples, one every 1000 Lua instructions at most, \d+ instructions and (\d+) ms of CPU", 30)
    m = s.expect(rb"\r\n( +CPU ms[^\r]*FUNCTION\r?\r\n(?:[^\r]*\r?\r\n)+?) +CPU ms", 10)
    rows = re.findall(r" +(\d+) +([\d.]+)% +(\d+) +([\d.]+)% +\S+ (\w+)\r", m.group(1).decode())
    by = {name: (float(cpu), float(ins)) for _, cpu, _, ins, name in rows}
    assert "lua" in by and "cfun" in by, f"rows: {rows}"
    assert by["cfun"][0] > 50 and by["cfun"][0] > by["lua"][0], f"CPU shares: {by}"
    assert by["lua"][1] > 80 and by["lua"][1] > by["cfun"][1], f"instruction shares: {by}"
    print(f"  CPU share cfun {by['cfun'][0]}%, lua {by['lua'][0]}%; "
          f"Lua instructions lua {by['lua'][1]}%, cfun {by['cfun'][1]}%", flush=True)
    cases.prompt(s)
    cases.run(s, "l4.thread.kill(both)", "true")


def c_trace_shows_echo_messages(s):
    """`trace echo 3` while a thread calls echo three times: each request
    in (label 0x1, the client's id) and each reply out (label 0x0)."""
    s.send("""l4.thread.create{code = "for i = 1, 3 do l4.sleep(500) require('service').call('echo', 1, 'traced') end"}\r""")
    cases.prompt(s)
    s.send("trace echo 3\r")
    s.expect(rb"\r\n +MS DIR +LABEL PARTNER +BYTES\r?\r\n", 20)
    m = s.expect(rb"\r\n(\d+) messages of echo in 3 s\r?\r\n", 20)
    text = s.out[s.pos - 4000:s.pos].decode("latin-1")
    ins = re.findall(r"\n +[\d.]+ in +0x1 +(\S+) +(\d+)\r", text)
    outs = re.findall(r"\n +[\d.]+ out +0x0 +(\S+) +(\d+)\r", text)
    assert len(ins) == 3 and len(outs) >= 3, f"{len(ins)} requests and {len(outs)} replies traced"
    assert all(int(n) == 22 for _, n in ins), ins        # one string item: 16 bytes + its 6
    cases.prompt(s)
    # switched off at the end: echo serves as before
    cases.run(s, "select(2, require('service').call('echo', 1, 'untraced'))", '"untraced"')


CASES = [c_debug_breakpoint_print_assign, c_debug_step_in_over_out,
         c_debug_conditional_breakpoint, c_debug_break_on_error,
         c_debug_paused_service_client_times_out, c_debug_reload_keeps_breakpoint,
         c_debug_detach_leaves_it_serving, c_debug_attaches_to_any_component,
         c_debug_attaches_to_a_repl_session,
         c_profile_names_the_hot_function,
         c_profile_charges_time_in_c,
         c_trace_shows_echo_messages]
