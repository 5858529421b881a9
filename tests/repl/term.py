"""A person at the console of `make run`, for tests: runs `make run` on a
pseudo-terminal (so QEMU sees a terminal, puts it in raw mode and passes
every key, Ctrl-C included, to the guest's serial line), types at it and
waits for what the system prints, expect-style. Every wait has its own
timeout; the whole session is killed (its process group) on close."""

import os
import pty
import re
import select
import signal
import socket
import subprocess
import time


class Timeout(Exception):
    pass


MKE2FS = "/usr/sbin/mke2fs"


def fresh_disk(log_path):
    """A new empty disk next to the log (its name and .disk.img), made as
    the Makefile makes build/disk.img: a boot of a test keeps no file of an
    earlier boot or run. -> "DISK=<path>" for make run."""
    img = log_path + ".disk.img"
    if os.path.exists(img):
        os.remove(img)
    with open(img, "wb") as f:
        f.truncate(64 << 20)
    subprocess.run([MKE2FS, "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-b", "4096",
                    "-L", "l4ua", img], check=True, stdout=subprocess.DEVNULL, timeout=60)
    return f"DISK={img}"


def free_ports():
    """Host ports nothing listens on now, for make run's forwards of the
    guest's REPL and HTTP ports (docs/network.md): boots that run at the
    same time (other tests, other checkouts) must not ask QEMU for the same
    port. -> ["REPL_PORT=<n>", "HTTP_PORT=<m>"] for make run."""
    held, ports = [], []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        held.append(s)
        ports.append(s.getsockname()[1])
    for s in held:
        s.close()
    return [f"REPL_PORT={ports[0]}", f"HTTP_PORT={ports[1]}"]


class Session:
    def __init__(self, root, build, log_path, env=None, argv=None):
        """Runs `make run` of build on the pty (on a fresh disk), or the
        command argv (a host tool such as tools/l4ua console) with the
        environment env."""
        self.log_path = log_path
        self.out = b""          # everything the terminal showed
        self.pos = 0            # expect() searches from here
        self.ports = free_ports()
        argv = argv or ["make", "-s", "--no-print-directory", "run", f"BUILD={build}",
                        fresh_disk(log_path)] + self.ports
        pid, fd = pty.fork()
        if pid == 0:            # the child: a new session on the pty
            try:
                os.chdir(root)
                os.execvpe(argv[0], argv, env if env is not None else os.environ)
            finally:
                os._exit(127)   # never back into the test's own code
        self.pid, self.fd = pid, fd

    def _read(self, until):
        left = until - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.fd], [], [], min(left, 0.2))
        if r:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                data = b""
            if not data:
                raise Timeout("the session ended (QEMU exited)")
            self.out += data
        return True

    def expect(self, pattern, timeout=10):
        """Waits until pattern (a regex over bytes or str) appears after the
        last match; returns the match and moves past it."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        until = time.monotonic() + timeout
        while True:
            m = rx.search(self.out, self.pos)
            if m:
                self.pos = m.end()
                return m
            if not self._read(until):
                raise Timeout(f"no {pattern!r} within {timeout} s")

    def settle(self, quiet=0.3, timeout=5):
        """Reads until nothing arrives for `quiet` seconds -> True if so,
        False if things still came at the timeout."""
        until = time.monotonic() + timeout
        n = -1
        while n != len(self.out) and time.monotonic() < until:
            n = len(self.out)
            t = time.monotonic() + quiet
            while time.monotonic() < t:
                self._read(t)
        return n == len(self.out)

    def send(self, data, chunk=None, pause=0):
        """Types data; in pieces of `chunk` bytes `pause` seconds apart if
        given (a terminal's paste comes in pieces, too)."""
        b = data.encode("latin-1") if isinstance(data, str) else data
        step = chunk or len(b) or 1
        for i in range(0, len(b), step):
            if i and pause:
                until = time.monotonic() + pause
                while self._read(until):
                    pass
            part = b[i:i + step]
            while part:
                _, w, _ = select.select([], [self.fd], [], 1)
                if w:
                    k = os.write(self.fd, part)
                    part = part[k:]
                self._read(time.monotonic() + 0.001)

    def wait_end(self, timeout=10):
        """Reads until the command ends (its side of the pty closes);
        raises Timeout if it runs on."""
        until = time.monotonic() + timeout
        try:
            while self._read(until):
                pass
        except Timeout:
            return                  # the end of its output: it ended
        raise Timeout(f"the command still runs after {timeout} s")

    def since(self, pos=None):
        return self.out[self.pos if pos is None else pos:].decode("latin-1")

    def text(self):
        return self.out.decode("latin-1")

    def close(self):
        if self.fd is None:                     # closed already
            return
        try:
            os.write(self.fd, b"\x1dx")         # Ctrl-] X: QEMU quits (make run's -echr)
        except OSError:
            pass
        until = time.monotonic() + 3
        while time.monotonic() < until:
            try:
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:
                break
            try:
                self._read(time.monotonic() + 0.1)
            except Timeout:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)
        self.fd = None
        with open(self.log_path, "wb") as f:
            f.write(self.out)
