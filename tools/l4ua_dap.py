"""tools/l4ua dap: a Debug Adapter Protocol adapter on stdin/stdout, so
that an editor (VS Code, Neovim's nvim-dap, Emacs' dape) debugs a Lua
service of the running system (docs/debugging.md "From an editor").

It speaks DAP (Content-Length framed JSON) with the editor and reaches the
guest's debugger through the push agent, over COM2's socket or TCP
(l4ua_debug.Line): each request becomes a call of scripts/debugger.lua's
session API in the root task, whose agent in the target does the work.
One thread (the service's), one session; the target keeps running while
attached, and detach (disconnect) leaves it running.

The attach request's arguments: "service" (a service name, a task number
or a thread id; "target" is the same), and optionally "tcp" ("host:port",
or true for the default) and "build" (the build folder whose com2.sock to
use), "sourceRoots" (host folders whose files the guest knows by their
path below them; default this repository's scripts/, drivers-lua/,
shell/). While the target runs the adapter asks the guest every POLL
seconds whether it stopped, and tells the editor (event "stopped").
L4UA_DAP_LOG=FILE writes every message in and out to FILE."""

import json
import os
import select
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREAD = 1                  # the one thread a session shows
POLL = 0.1                  # seconds between two looks while the target runs
REASONS = {"breakpoint": "breakpoint", "step": "step", "pause": "pause", "error": "exception"}
STEPS = {"next": "over", "stepIn": "in", "stepOut": "out"}
KINDS = (("Locals", "locals", False), ("Upvalues", "upvalues", False),
         ("Varargs", "varargs", False), ("Globals", "globals", True))


class Failed(Exception):
    """A request that cannot be done: its response says why."""


class Adapter:
    def __init__(self, tool, Line, GuestError, a):
        self.tool, self.Line, self.GuestError, self.a = tool, Line, GuestError, a
        self.seq = 0
        self.line = None
        self.name = None
        self.running = False        # attached and not stopped: poll
        self.seen = None            # the stop (its seq) the editor was told of
        self.refs = {}              # variablesReference -> ("scope", level, kind) | ("table", ref)
        self.tables = {}            # the guest's table ref -> its variablesReference
        self.bps = {}               # guest file -> the guest's breakpoint ids there
        self.fbps = []
        self.roots = [os.path.join(ROOT, d) for d in ("scripts", "drivers-lua", "shell")]
        self.done = False
        self.after = None           # an event to send after the current response
        path = os.environ.get("L4UA_DAP_LOG")
        self.log = open(path, "a") if path else None

    # ---- the editor's side: DAP messages on stdin/stdout ----

    def note(self, what, msg):
        if self.log:
            self.log.write(f"{time.strftime('%H:%M:%S')} {what} {json.dumps(msg)}\n")
            self.log.flush()

    def send(self, msg):
        self.seq += 1
        msg["seq"] = self.seq
        self.note(">", msg)
        body = json.dumps(msg).encode()
        sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        sys.stdout.buffer.flush()

    def event(self, name, body=None):
        self.send({"type": "event", "event": name, "body": body or {}})

    def respond(self, req, body=None, message=None):
        msg = {"type": "response", "request_seq": req.get("seq", 0), "command": req.get("command"),
               "success": message is None}
        if message is None:
            msg["body"] = body or {}
        else:
            msg["message"] = message
            msg["body"] = {"error": {"id": 1, "format": message, "showUser": True}}
        self.send(msg)

    def output(self, text):
        self.event("output", {"category": "console", "output": text + "\n"})

    def run(self):
        buf = b""
        while not self.done:
            wait = POLL if self.running else None
            if select.select([0], [], [], wait)[0]:
                data = os.read(0, 65536)
                if not data:                 # the editor is gone: let the target go
                    self.quit()
                    break
                buf += data
                while True:
                    head, sep, rest = buf.partition(b"\r\n\r\n")
                    if not sep:
                        break
                    length = None
                    for h in head.split(b"\r\n"):
                        k, _, v = h.partition(b":")
                        if k.strip().lower() == b"content-length":
                            length = int(v.strip())
                    if length is None:       # not a header: drop it
                        buf = rest
                        continue
                    if len(rest) < length:
                        break
                    body, buf = rest[:length], rest[length:]
                    self.dispatch(json.loads(body))
                    if self.done:
                        break
            if self.running and not self.done:
                self.look()
        if self.log:
            self.log.close()

    def dispatch(self, req):
        self.note("<", req)
        cmd = req.get("command", "")
        fn = getattr(self, "do_" + cmd, None)
        if req.get("type") != "request":
            return
        if fn is None:
            return self.respond(req, message=f"l4ua dap: '{cmd}' is not supported")
        try:
            body = fn(req.get("arguments") or {})
            self.respond(req, body)
            if self.after:
                self.event(self.after)
                self.after = None
        except (Failed, self.GuestError) as e:
            self.respond(req, message=str(e))
        except self.tool.Trouble as e:
            self.respond(req, message=str(e))
            if self.line is not None and cmd not in ("attach", "disconnect"):
                self.output(f"l4ua dap: {e}")
                self.end()

    # ---- the guest's side ----

    def call(self, op, *args, timeout=10.0):
        if self.line is None:
            raise Failed("not attached (the attach request comes first)")
        return self.line.call(op, *args, timeout=timeout)

    def ok(self, op, *args):
        """A method whose failure is nil, message: -> its first result."""
        r = self.call(op, *args)
        if r[0] is None:
            raise Failed(r[1] if len(r) > 1 and r[1] else f"{op} failed")
        return r[0]

    def look(self):
        """While running: has the target stopped, or gone?"""
        try:
            r = self.call("poll")
        except self.tool.Trouble as e:
            self.output(f"l4ua dap: {e}")
            return self.end()
        st = r[0]
        if st is None:
            if r[1] and "is gone" in r[1]:
                self.output(r[1])
                self.end()
            return                          # busy in C or in IPC: look again
        if st.get("state") == "stopped" and st.get("seq") != self.seen:
            self.seen = st.get("seq")
            self.stopped(st)

    def stopped(self, st):
        self.running = False
        self.refs, self.tables = {}, {}
        reason = REASONS.get(st.get("reason"), "pause")
        body = {"reason": reason, "threadId": THREAD, "allThreadsStopped": True,
                "description": f"{st.get('reason')} at {st.get('file')}:{st.get('line')}"}
        if st.get("message"):
            body["text"] = st["message"]
        if st.get("breakpoint"):
            body["hitBreakpointIds"] = [st["breakpoint"]]
        self.event("stopped", body)

    def end(self):
        self.running = False
        self.event("terminated")
        if self.line is not None:
            self.line.close()
            self.line = None

    def quit(self):
        if self.line is not None:
            try:
                self.call("detach", timeout=5)
            except Exception:
                pass
            self.line.close()
            self.line = None
        self.done = True

    # ---- files: the host's paths and the guest's names ----

    def guest_file(self, path):
        path = os.path.abspath(path)
        for root in self.roots:
            root = os.path.abspath(root)
            if path.startswith(root + os.sep):
                return os.path.relpath(path, root).replace(os.sep, "/")
        return os.path.basename(path)

    def host_source(self, file):
        if not file or file.startswith("["):
            return None
        for root in self.roots:
            p = os.path.join(root, file)
            if os.path.isfile(p):
                return {"name": os.path.basename(file), "path": os.path.abspath(p)}
        return {"name": file, "path": file}

    def ref_of(self, what):
        n = len(self.refs) + 1
        self.refs[n] = what
        return n

    def table_ref(self, guest_ref):
        if not guest_ref:
            return 0
        if guest_ref not in self.tables:
            self.tables[guest_ref] = self.ref_of(("table", guest_ref))
        return self.tables[guest_ref]

    def need_stop(self):
        if self.running:
            raise Failed("the target is running (pause it first)")

    # ---- the requests ----

    def do_initialize(self, a):
        return {"supportsConfigurationDoneRequest": True,
                "supportsConditionalBreakpoints": True,
                "supportsFunctionBreakpoints": True,
                "supportsEvaluateForHovers": True,
                "supportsSetVariable": True,
                "supportTerminateDebuggee": False,
                "exceptionBreakpointFilters": [
                    {"filter": "uncaught", "label": "Errors a handler lets out", "default": False},
                    {"filter": "all", "label": "All errors (pcall's too)", "default": False}]}

    def do_launch(self, a):
        raise Failed("l4ua dap attaches to a running service: use \"request\": \"attach\" "
                     "with \"service\": NAME")

    def do_attach(self, a):
        target = a.get("service", a.get("target"))
        if target in (None, ""):
            raise Failed("attach: say which service (\"service\": \"echo\")")
        roots = a.get("sourceRoots")
        if isinstance(roots, list):
            self.roots = [os.path.abspath(os.path.expanduser(r)) for r in roots] + self.roots
        tcp = a.get("tcp", self.a.tcp)
        if tcp is True:
            tcp = ""
        build = a.get("build") or self.a.build
        if self.line is not None:
            self.line.close()
        self.line = self.Line(self.tool, build, tcp if tcp not in (None, False) else None)
        info = self.ok("attach", target)
        self.name = info.get("name") or str(target)
        self.running = True
        self.output(f"attached to {self.name} (thread {info.get('thread')}"
                    f"{', ' + info['script'] if info.get('script') else ''}); it runs on")
        self.after = "initialized"      # sent after this response
        return {}

    def do_setBreakpoints(self, a):
        src = a.get("source") or {}
        file = self.guest_file(src.get("path") or src.get("name") or "")
        for bid in self.bps.pop(file, []):
            self.call("break_clear", bid)
        out, ids = [], []
        for bp in a.get("breakpoints") or []:
            r = self.call("break_line", file, int(bp["line"]), bp.get("condition") or None)
            if r[0] is not None:
                ids.append(r[0])
                out.append({"id": r[0], "verified": True, "line": bp["line"]})
            else:
                out.append({"verified": False, "line": bp["line"], "message": r[1]})
        self.bps[file] = ids
        return {"breakpoints": out}

    def do_setFunctionBreakpoints(self, a):
        for bid in self.fbps:
            self.call("break_clear", bid)
        self.fbps, out = [], []
        for bp in a.get("breakpoints") or []:
            r = self.call("break_func", bp["name"], bp.get("condition") or None)
            if r[0] is not None:
                self.fbps.append(r[0])
                out.append({"id": r[0], "verified": True})
            else:
                out.append({"verified": False, "message": r[1]})
        return {"breakpoints": out}

    def do_setExceptionBreakpoints(self, a):
        filters = a.get("filters") or []
        mode = "all" if "all" in filters else "uncaught" if "uncaught" in filters else "none"
        self.ok("on_error", mode)
        return {}

    def do_configurationDone(self, a):
        return {}

    def do_threads(self, a):
        return {"threads": [{"id": THREAD, "name": self.name or "not attached"}]}

    def do_stackTrace(self, a):
        self.need_stop()
        frames = self.ok("stack")
        out = []
        for f in frames:
            line = max(f.get("line") or 0, 0)           # a C function's is -1
            fr = {"id": f["level"], "name": f.get("name") or "?", "line": line,
                  "column": 1 if line > 0 else 0}
            src = self.host_source(f.get("file"))
            if src:
                fr["source"] = src
            else:
                fr["presentationHint"] = "subtle"
            out.append(fr)
        start = int(a.get("startFrame") or 0)
        levels = int(a.get("levels") or 0)
        shown = out[start:start + levels] if levels > 0 else out[start:]
        return {"stackFrames": shown, "totalFrames": len(out)}

    def do_scopes(self, a):
        self.need_stop()
        level = int(a.get("frameId") or 1)
        return {"scopes": [{"name": name, "variablesReference": self.ref_of(("scope", level, kind)),
                            "expensive": costly} for name, kind, costly in KINDS]}

    def do_variables(self, a):
        self.need_stop()
        what = self.refs.get(int(a.get("variablesReference") or 0))
        if what is None:
            raise Failed("no such variables (they last while the target stays stopped)")
        vs = self.ok("vars", what[1], what[2]) if what[0] == "scope" else self.ok("expand", what[1])
        return {"variables": [{"name": v["name"], "value": v["value"], "type": v.get("type"),
                               "variablesReference": self.table_ref(v.get("ref"))} for v in vs]}

    def eval(self, level, text):
        r = self.call("eval", level, text, timeout=15)
        if r[0] is None:
            raise Failed(r[1] or "eval failed")
        if r[0] is False:
            raise Failed(r[1] or "error")
        return r[1] if len(r) > 1 and r[1] not in (None, "") else "ok", r[2] if len(r) > 2 else None

    def do_evaluate(self, a):
        self.need_stop()
        value, ref = self.eval(int(a.get("frameId") or 1), a.get("expression") or "")
        return {"result": value, "variablesReference": self.table_ref(ref)}

    def do_setVariable(self, a):
        self.need_stop()
        what = self.refs.get(int(a.get("variablesReference") or 0))
        if what is None or what[0] != "scope" or what[2] == "varargs":
            raise Failed("set a table's field with evaluate (t.k = v)")
        name, level = a["name"], what[1]
        self.eval(level, f"{name} = {a['value']}")
        value, ref = self.eval(level, name)
        return {"value": value, "variablesReference": self.table_ref(ref)}

    def go(self, op, *args):
        self.need_stop()
        self.ok(op, *args)
        self.refs, self.tables = {}, {}
        self.running = True

    def do_continue(self, a):
        # With the stop the editor was shown (as the REPL's `c`): a target
        # stopped at a later one is not run past, it stays stopped and the
        # look after this response tells the editor of that stop.
        self.go("continue", self.seen)
        return {"allThreadsContinued": True}

    def do_next(self, a):
        self.go("step", STEPS["next"])

    def do_stepIn(self, a):
        self.go("step", STEPS["stepIn"])

    def do_stepOut(self, a):
        self.go("step", STEPS["stepOut"])

    def do_pause(self, a):
        if self.running:
            self.ok("pause")        # the next look sees the stop
        return {}

    def do_disconnect(self, a):
        if self.line is not None:
            try:
                self.ok("detach")
            finally:
                self.line.close()
                self.line = None
        # the adapter stays until the editor closes its input (a client
        # may send disconnect again, as DebugClient.stop does)
        self.running = False
        return {}


def main(tool, Line, GuestError, a):
    Adapter(tool, Line, GuestError, a).run()
    return 0
