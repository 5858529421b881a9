"""The debugger from the host (docs/debugging.md): in the boot of
tests/repl/cases.py, a real DAP client (npm's DebugClient, run by node:
tests/dap/echo_test.js) drives `tools/l4ua dap` over COM2 against
services/echo.lua, while the console starts the client task whose reply
must carry the count the client set; and `tools/l4ua profile` names the
hot function of a service kept busy on purpose, with folded stacks.
run.py's run_repl runs these after debug_cases.CASES."""

import os
import re
import select
import subprocess
import tempfile
import time

import cases
import debug_cases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "l4ua")
TEST = os.path.join(ROOT, "tests", "dap", "echo_test.js")
HITS = 20               # echo_test.js's step 8: calls in a row, each a stop


class Node:
    """node echo_test.js, its stdout read line by line with timeouts."""

    def __init__(self, build, log):
        modules = os.path.join(build, "dap", "node_modules")
        if not os.path.isdir(os.path.join(modules, "@vscode", "debugadapter-testsupport")):
            raise AssertionError(f"{modules} has no DebugClient: make test installs it "
                                 "(the Makefile's dap-client target, npm ci)")
        env = dict(os.environ, NODE_PATH=modules, L4UA_DAP_LOG=log)
        self.p = subprocess.Popen(["node", TEST, ROOT, build, str(debug_cases.COUNT_LINE),
                                   str(debug_cases.FAIL_LINE), str(HITS)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        self.text = b""

    def line(self, want, timeout):
        """Waits for a line starting with want; a FAIL line ends the case."""
        until = time.monotonic() + timeout
        while True:
            while b"\n" in self.text:
                l, self.text = self.text.split(b"\n", 1)
                l = l.decode("utf-8", "replace")
                self.seen = getattr(self, "seen", []) + [l]
                if l.startswith("FAIL"):
                    raise AssertionError("the DAP client: " + "\n".join(self.seen[-30:]))
                if l.startswith(want):
                    return l
            left = until - time.monotonic()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                raise AssertionError(f"the DAP client did not say {want} within {timeout} s; it said: "
                                     + "\n".join(getattr(self, "seen", [])[-30:]))
            more = os.read(self.p.stdout.fileno(), 65536)
            if not more:
                raise AssertionError(f"the DAP client ended before {want}: "
                                     + "\n".join(getattr(self, "seen", [])[-30:]))
            self.text += more

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def c_dap_client_sets_echo_count(s):
    log = os.path.join(s.build, "tests", "logs", "dap-adapter.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    if os.path.exists(log):
        os.remove(log)
    node = Node(s.build, log)
    try:
        try:
            node.line("READY", 60)
            # a client task (a task of its own, not a root thread) calls echo once
            s.send("""require("files").write("dap_client.lua", "print('reply', require('service').call('echo', 1, 'dap'))")\r""")
            cases.prompt(s)
            s.send("""l4.task.spawn{script = "dap_client.lua", name = "dapclient"}\r""")
            cases.prompt(s)
            print("  " + node.line("STACK", 60), flush=True)
            node.line("COUNT", 30)
            node.line("CONTINUED", 60)
            s.expect(rb"reply\t101\tdap", 30)
            node.line("READY2", 30)
            s.send("""require("files").write("dap_fail.lua", "print('failed', require('service').call('echo', 3, 'oops'))")\r""")
            cases.prompt(s)
            s.send("""l4.task.spawn{script = "dap_fail.lua", name = "dapfail"}\r""")
            cases.prompt(s)
            node.line("EXCEPTION", 60)
            s.expect(rb"failed\tnil\t[^\r]*oops", 30)
            node.line("PAUSED", 30)
            # step 8: HITS calls in a row, each reaching the breakpoint at
            # once after the continue before: the client sees every stop
            node.line("READY3", 30)
            s.send(f"""require("files").write("dap_hits.lua", "local r for i = 1, {HITS} do r = require('service').call('echo', 1) end print('hits', r)")\r""")
            cases.prompt(s)
            s.send("""l4.task.spawn{script = "dap_hits.lua", name = "daphits"}\r""")
            cases.prompt(s)
            # the last stop's count is before the increment: its reply has one more
            m = re.match(r"HITS \d+ last count (\d+)", node.line("HITS", 120))
            s.expect(rb"hits\t%d\r" % (int(m.group(1)) + 1), 30)
            node.line("PASS", 30)
        except AssertionError as e:
            tail = open(log).read()[-4000:] if os.path.exists(log) else "(no adapter log)"
            raise AssertionError(f"{e}\n--- tools/l4ua dap's messages (L4UA_DAP_LOG) ---\n{tail}")
    finally:
        node.close()
    # detached: echo serves on, and no debugger holds it
    cases.run(s, "select(2, require('service').call('echo', 1, 'after'))", '"after"', timeout=20)
    cases.run(s, "l4.sys.store_get(require('debugger').held_key(require('names').lookup('echo')))",
              r'nil\s+"no such key in the store"\s+1')


def tool(s, *args, timeout=60):
    p = subprocess.run([TOOL, "--build", s.build] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def c_host_profile_names_the_hot_function(s):
    s.send("""hotsvc = l4.thread.create{code = "local function hot(n) local x = 0 for i = 1, n do x = x + i % 7 end return x end local function cold() return 0 end require('service').run{name = 'hotsvc', handlers = {}, period = 5, tick = function() hot(20000) cold() end}"}\r""")
    cases.prompt(s)
    cases.run(s, "require('service').wait('hotsvc') ~= nil", "true")
    with tempfile.TemporaryDirectory() as d:
        folded = os.path.join(d, "hot.folded")
        rc, out, err = tool(s, "profile", "hotsvc", "1", "--folded", folded)
        assert rc == 0, f"profile failed ({rc}): {out} {err}"
        m = re.search(r"profile of hotsvc: (\d+) samples, one every 1000 Lua instructions at most", out)
        assert m and int(m.group(1)) > 100, out
        # CPU ms, its share, Lua instructions, their share, the function
        m = re.search(r"\n +(\d+) +([\d.]+)% +(\d+) +([\d.]+)% +\S+ hot\n", out)
        assert m and float(m.group(2)) > 80 and float(m.group(4)) > 80, \
            f"hot is not the hot function:\n{out}"
        stacks = open(folded).read().splitlines()
        assert stacks and all(re.fullmatch(r".+ \d+", l) for l in stacks), stacks[:5]
        assert "folded stacks (CPU microseconds) in" in out, out
        top = max(stacks, key=lambda l: int(l.rsplit(" ", 1)[1]))
        assert top.rsplit(" ", 1)[0].endswith(" hot") and " tick;" in top, top
        print(f"  hottest folded stack: {top}", flush=True)
    rc, out, err = tool(s, "profile", "nosuchservice", "1")
    assert rc == 1 and 'no service, task or component named "nosuchservice"' in err, (rc, out, err)
    cases.run(s, "l4.thread.kill(hotsvc)", "true")


def c_host_trace_shows_echo_messages(s):
    """tools/l4ua trace echo while a task calls echo three times: each
    request in (label 0x1 from the task's thread, one 6-byte string: 22
    bytes) and its reply out (label 0x0, the count and the string: 30);
    switched off after, echo serves as before."""
    s.send("""require("files").write("trace_client.lua", "for i = 1, 3 do l4.sleep(800) require('service').call('echo', 1, 'traced') end print('traced', l4.self())")\r""")
    cases.prompt(s)
    s.send("""l4.task.spawn{script = "trace_client.lua", name = "traceclient"}\r""")
    cases.prompt(s)
    rc, out, err = tool(s, "trace", "echo", "4")
    assert rc == 0, f"trace failed ({rc}): {out} {err}"
    m = s.expect(rb"traced\t(\S+)", 20)
    me = m.group(1).decode()
    ins = re.findall(r"\n +[\d.]+ in +0x1 +(\S+) +(\d+)\n", out)
    outs = re.findall(r"\n +[\d.]+ out +0x0 +(\S+) +(\d+)\n", out)
    assert re.search(r"\n\d+ messages of echo in 4 s\n?$", out), out
    assert ins == [(me, "22")] * 3, f"requests from {me}: {ins}\n{out}"
    assert [o for o in outs if o[0] == me] == [(me, "30")] * 3, f"replies to {me}: {outs}\n{out}"
    cases.prompt(s)
    cases.run(s, "select(2, require('service').call('echo', 1, 'untraced'))", '"untraced"')
    rc, out, err = tool(s, "trace", "nosuchservice", "1")
    assert rc == 1 and 'no service, task or component named "nosuchservice"' in err, (rc, out, err)


CASES = [c_dap_client_sets_echo_count, c_host_profile_names_the_hot_function,
         c_host_trace_shows_echo_messages]
