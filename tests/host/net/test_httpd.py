#!/usr/bin/env python3
"""The dashboard's HTTP server (scripts/httpd.lua, dashboard.lua) on the
host over Debian's LuaSocket (tests/host/net/serve.lua), driven by real
clients: urllib for what a browser asks, raw sockets for what a broken or
hostile client sends. One "ok name" / "FAIL name: why" line per case,
then "net-host: N passed, N failed"."""
import json, os, socket, subprocess, sys, time, urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
passed = failed = 0


def case(fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print("ok " + fn.__name__)
    except Exception as e:  # noqa: BLE001 - every failure is a line
        failed += 1
        print(f"FAIL {fn.__name__}: {e!r}")
    sys.stdout.flush()
    return fn


class Server:
    def __init__(self, *args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(["lua5.4", "tests/host/net/serve.lua", *args], cwd=ROOT, env=e,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError("serve.lua did not start: " + line + self.p.stdout.read())
        self.port = int(line.split()[1])

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, data=None, method=None):
        req = urllib.request.Request(self.url(path), data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def raw(self, data, wait=5):
        """Sends bytes on a new connection, returns all the server says."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=wait)
        s.sendall(data)
        return read_all(s)

    def stop(self):
        self.p.kill()
        self.p.wait()


def read_all(s):
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            break
        out += b
    s.close()
    return out


def status_of(resp):
    return int(resp.split(b" ", 2)[1]) if resp.startswith(b"HTTP/1.1 ") else None


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


srv = Server(env={"HTTPD_IDLE": "1", "HTTPD_WHOLE": "3", "HTTPD_CONNS": "8"})
on = Server("lua")


@case
def page_is_served():
    st, h, body = srv.get("/")
    expect(st == 200 and h["Content-Type"].startswith("text/html"), f"{st} {h['Content-Type']}")
    expect(b'<table id="tasks">' in body and b"/api/state" in body, "the page has no task table")


@case
def state_is_json_and_moves():
    st, h, body = srv.get("/api/state")
    expect(st == 200 and h["Content-Type"] == "application/json", f"{st}")
    a = json.loads(body)
    expect([t["name"] for t in a["tasks"]] == ["console", "echo"], a["tasks"])
    time.sleep(0.3)
    b = json.loads(srv.get("/api/state")[2])
    expect(b["uptime_ms"] > a["uptime_ms"], "uptime did not move")
    expect(b["httpd"]["requests"] > a["httpd"]["requests"], "the server's own count did not move")


@case
def reload_raises_the_version():
    v0 = json.loads(srv.get("/api/state")[2])["services"][0]["version"]
    st, _, body = srv.get("/api/reload", data=b"name=echo")
    r = json.loads(body)
    expect(st == 200 and r["ok"] and int(r["version"]) == int(v0) + 1, body)
    st, _, body = srv.get("/api/reload?name=echo", data=b"")
    expect(st == 200 and int(json.loads(body)["version"]) == int(v0) + 2, body)


@case
def reload_refusals():
    st, _, body = srv.get("/api/reload", data=b"name=nope")
    expect(st == 409 and b"no service nope" in body, f"{st} {body}")
    st, _, body = srv.get("/api/reload", data=b"name=a%20b")
    expect(st == 400, f"{st} {body}")
    st, _, body = srv.get("/api/reload")
    expect(st == 405, f"GET /api/reload: {st}")


@case
def lua_box_is_refused_when_off():
    st, _, body = srv.get("/api/lua", data=b"return 6 * 7")
    expect(st == 403 and b"off" in body, f"{st} {body}")


@case
def lua_box_runs_when_on():
    st, _, body = on.get("/api/lua", data=b"6 * 7")
    expect(st == 200 and json.loads(body) == {"ok": True, "output": "42"}, body)
    st, _, body = on.get("/api/lua", data=b"error('boom', 0)")
    expect(st == 200 and json.loads(body) == {"ok": False, "error": "boom"}, body)


@case
def unknown_path_is_404():
    st, _, body = srv.get("/nope")
    expect(st == 404 and b"no such page" in body, f"{st}")


@case
def malformed_requests_are_refused_and_counted():
    before = json.loads(srv.get("/api/state")[2])["httpd"]
    cases = [(b"GARBAGE\r\n\r\n", 400), (b"GET nope HTTP/1.1\r\n\r\n", 400),
             (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
             (b"POST /api/lua HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
             (b"POST /api/lua HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
             (b"GET / HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431),
             (b"POST /api/lua HTTP/1.1\r\nContent-Length: 70000\r\n\r\n", 413),
             (b"\x00\xff" * 3000 + b"\r\n\r\n", 400)]
    for data, want in cases:
        got = status_of(srv.raw(data))
        expect(got == want, f"{data[:40]!r}: status {got}, want {want}")
    after = json.loads(srv.get("/api/state")[2])["httpd"]
    expect(after["bad_request"] - before["bad_request"] == 5, (before, after))
    expect(after["too_large"] - before["too_large"] == 2, (before, after))
    expect(after["unsupported"] - before["unsupported"] == 1, (before, after))


@case
def a_slow_client_holds_no_one_and_is_closed():
    slow = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    slow.sendall(b"GET / HTTP/1.1\r\nX-a: b\r\n")
    t0 = time.monotonic()
    st, _, _ = srv.get("/api/state")          # served while the slow one waits
    expect(st == 200 and time.monotonic() - t0 < 2.5, "a slow client held the server")
    for _ in range(4):                        # trickles a byte now and then
        time.sleep(0.8)
        try:
            slow.sendall(b"X")
        except OSError:
            break
    rest = read_all(slow)                     # closed WHOLE s after it came
    took = time.monotonic() - t0
    # WHOLE is 3 s; a loaded host may run the server late, never early
    expect(rest == b"" and 2.5 < took < 10, f"closed after {took:.1f} s with {rest[:60]!r}")
    h = json.loads(srv.get("/api/state")[2])["httpd"]
    expect(h["timed_out"] >= 1, h)


@case
def app_pages_go_to_their_service():
    st, h, body = srv.get("/app/hello/a/b?who=x%20y")
    expect(st == 200 and h["Content-Type"] == "text/plain" and body == b"GET /a/b ?who=x%20y []",
           f"{st} {body!r}")
    st, _, body = srv.get("/app/hello", data=b"k=v", method="POST")
    expect(st == 200 and body == b"POST / ? [k=v]", f"{st} {body!r}")
    st, _, body = srv.get("/app/nope/")
    expect(st == 502 and b"nope: no service named nope" in body, f"{st} {body!r}")
    st, _, body = srv.get("/app/")
    expect(st == 404, f"{st} {body!r}")


@case
def open_connections_are_listed_on_request():
    quiet = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    port = quiet.getsockname()[1]
    time.sleep(0.3)
    st, _, body = srv.get("/api/state?conns=1")
    conns = json.loads(body).get("httpd_conns", [])
    mine = [c for c in conns if c["peer"].endswith(f":{port}")]
    quiet.close()
    expect(st == 200 and len(mine) == 1, f"{st} {conns}")
    c = mine[0]
    expect(c["age"] >= 0.2 and c["silent"] >= 0.2 and c["sending"] is False, c)
    expect("httpd_conns" not in json.loads(srv.get("/api/state")[2]), "listed unasked")


@case
def connections_beyond_the_limit_get_503():
    idle = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(8)]
    time.sleep(0.2)
    extra = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    got = status_of(read_all(extra))
    for s in idle:
        s.close()
    expect(got == 503, f"status {got}")
    time.sleep(0.3)
    st, _, body = srv.get("/api/state")
    expect(st == 200 and json.loads(body)["httpd"]["refused"] >= 1, f"{st} {body[:80]}")


@case
def server_survives_all_of_it():
    expect(srv.p.poll() is None and on.p.poll() is None, "a server ended")
    expect(srv.get("/")[0] == 200, "no page")


srv.stop()
on.stop()
print(f"net-host: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
