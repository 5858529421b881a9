"""The host's side of the network boot (tests/run.py stage "net"; the
guest's side is tests/net/cases.lua): real clients and servers with
Python's socket module, on QEMU's user network.

- a TCP server on 127.0.0.1 (the guest reaches it as 10.0.2.2): per
  connection, lines "ECHO text" (answers "text"), "BLOB n" (answers "SUM
  <hex>" and n bytes), "UPLOAD n" and n bytes (answers "SUM <hex>"), "QUIT";
- a UDP server that answers each datagram with it upper-cased;
- a client that connects to the guest's listener (port 23) through
  QEMU's forward, tells it the ports above, and exchanges lines and a blob;
- a client that sends UDP datagrams to the guest's port 7 (forwarded)
  until one comes back.
The sums are those of cases.lua: the little-endian 64-bit words added
modulo 2^64, in 16 hex digits. The boot runs without icount: the guest's
clock must follow the host's, or its timeouts would end before the host
answered."""

import os
import random
import re
import socket
import struct
import subprocess
import threading
import time


def wsum(data):
    n = len(data) // 8
    return "%016x" % (sum(struct.unpack("<%dQ" % n, data[:n * 8])) & (2**64 - 1))


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Servers:
    def __init__(self):
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(64)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.fwd_tcp, self.fwd_udp = free_port(), free_port(socket.SOCK_DGRAM)
        self.results = {}           # name -> None (ok) or why it failed
        self.stop = False
        for fn in (self.serve_tcp, self.serve_udp, self.connect_in, self.udp_in):
            threading.Thread(target=fn, daemon=True).start()

    def netdev(self):
        return ["-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{self.fwd_tcp}-:23,"
                           f"hostfwd=udp:127.0.0.1:{self.fwd_udp}-:7",
                "-device", "virtio-net-pci,netdev=net0,addr=5"]

    def serve_tcp(self):
        while not self.stop:
            c, _ = self.tcp.accept()
            threading.Thread(target=self.conversation, args=(c,), daemon=True).start()

    def conversation(self, c):
        try:
            c.settimeout(120)
            f = c.makefile("rwb")
            for line in f:
                line = line.rstrip(b"\r\n")
                if line.startswith(b"ECHO "):
                    f.write(line[5:] + b"\n")
                elif line.startswith(b"BLOB "):
                    data = random.Random(7).randbytes(int(line[5:]))
                    f.write(b"SUM %s\n" % wsum(data).encode() + data)
                elif line.startswith(b"UPLOAD "):
                    data = f.read(int(line[7:]))
                    f.write(b"SUM %s\n" % wsum(data).encode())
                elif line == b"QUIT":
                    f.flush()
                    break
                f.flush()
        except OSError:
            pass
        finally:
            c.close()

    def serve_udp(self):
        while not self.stop:
            data, peer = self.udp.recvfrom(65536)
            self.udp.sendto(data.upper(), peer)

    def dns_name(self):
        """A name the host resolves (QEMU's DNS asks the host's resolver),
        and its addresses; "-" if the host resolves none."""
        name = "deb.debian.org"
        try:
            ips = sorted({a[4][0] for a in socket.getaddrinfo(name, 80, socket.AF_INET)})
            return name, ",".join(ips) if ips else "-"
        except OSError:
            return "-", "-"

    def connect_in(self):
        """Into the guest's listener: QEMU accepts at once and closes when
        the guest does not (yet) listen, so try until the greeting."""
        name = "host_connects_to_guest"
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            try:
                c = socket.create_connection(("127.0.0.1", self.fwd_tcp), timeout=30)
            except OSError:
                time.sleep(0.3)
                continue
            try:
                f = c.makefile("rwb")
                if f.readline() != b"L4UA HELLO\n":
                    c.close()
                    time.sleep(0.3)
                    continue
                c.settimeout(60)
                dns, ips = self.dns_name()
                f.write(b"PORTS %d %d %s %s\n" % (self.tcp.getsockname()[1],
                                                   self.udp.getsockname()[1], dns.encode(), ips.encode()))
                f.flush()
                if f.readline() != b"OK\n":
                    self.results[name] = "no OK after PORTS"
                    return
                for i in range(1, 21):
                    f.write(b"LINE %d\n" % i)
                    f.flush()
                    got = f.readline()
                    if got != b"GOT %d\r\n" % i:
                        self.results[name] = f"line {i}: {got!r}"
                        return
                data = os.urandom(200 * 1024)
                f.write(b"BLOB %d\n" % len(data) + data)
                f.flush()
                got = f.readline()
                if got != b"SUM %s\n" % wsum(data).encode():
                    self.results[name] = f"the guest's sum of 200 KiB: {got!r}"
                    return
                f.write(b"BYE\n")
                f.flush()
                self.results[name] = None
                return
            except OSError as e:
                self.results[name] = f"the conversation broke: {e}"
                return
            finally:
                c.close()
        self.results[name] = "the guest's listener never greeted"

    def udp_in(self):
        """Datagrams to the guest's port 7 until one comes back."""
        name = "udp_host_to_guest"
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(0.3)
        deadline = time.monotonic() + 200
        k = 0
        while time.monotonic() < deadline and not self.stop:
            k += 1
            msg = b"udp ping %d" % k
            u.sendto(msg, ("127.0.0.1", self.fwd_udp))
            try:
                data, _ = u.recvfrom(2048)
            except OSError:
                continue
            self.results[name] = None if re.match(rb"^udp ping \d+$", data) else f"echo {data!r}"
            return
        self.results[name] = "no echo from the guest's port 7"
