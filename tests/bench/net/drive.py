"""The host side of the network benchmarks (tests/bench/run.py): the same
work for L4ua's server (tests/bench/net/init.lua) and Linux's
(tests/bench/net/linux_net.c), through QEMU's forwards of the guest's
ports 23 (the commands and the TCP rows) and 80 (HTTP)."""

import socket
import time

REQ = b"q" * 64


def connect(port, deadline):
    """The guest's server on port 23 once it greets -> (socket, file) or None.
    QEMU's forward accepts before the guest listens: such a connection
    comes closed, so try again."""
    while time.time() < deadline:
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=30)
            f = c.makefile("rwb")
            if f.readline() == b"L4UA BENCH\n":
                return c, f
            c.close()
        except OSError:
            pass
        time.sleep(0.3)
    return None


def http_get(port, i):
    """GET /hello?name=h<i> on a connection of its own -> None or what was wrong."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(b"GET /hello?name=h%d HTTP/1.1\r\nHost: bench\r\n\r\n" % i)
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0]:
        return f"request {i}: {head[:60]!r}"
    if not body.startswith(b"hello h%d," % i):
        return f"request {i}: body {body[:60]!r}"
    return None


def drive(ctl_port, http_port, rtt, stream, nhttp):
    """RTT, IN, OUT and HTTP, then END -> None, or what went wrong."""
    got = connect(ctl_port, time.time() + 120)
    if not got:
        return "the guest's server never greeted"
    c, f = got
    c.settimeout(300)
    err = None
    try:
        f.write(b"RTT %d\n" % rtt)
        f.flush()
        for _ in range(rtt):
            f.write(REQ)
            f.flush()
            if f.read(64) != REQ:
                return "a round trip came back wrong"
        f.write(b"IN %d\n" % stream + b"i" * stream)
        f.flush()
        if f.readline() != b"DONE\n":
            return "no DONE after IN"
        f.write(b"OUT %d\n" % stream)
        f.flush()
        if len(f.read(stream)) != stream:
            return "OUT came short"
        f.write(b"HTTP %d\n" % nhttp)
        f.flush()
        if f.readline() != b"GO\n":
            return "no GO after HTTP"
        for i in range(nhttp):
            err = http_get(http_port, i)
            if err:
                return err
        f.write(b"DONE\n")
        f.flush()
        return None
    except OSError as e:
        return f"{type(e).__name__}: {e}"
    finally:
        try:
            f.write(b"END\n")
            f.flush()
        except OSError:
            pass
        c.close()
