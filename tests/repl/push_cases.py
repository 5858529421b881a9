"""tools/l4ua end to end (docs/tutorial-hot-reload.md): in the boot of
tests/repl/cases.py, push a changed scripts/services/echo.lua over COM2
(BUILD/com2.sock) with the host tool, and see the new version answer at
the console; a push with a bad checksum is refused and changes nothing.
run.py's run_repl runs these after cases.CASES."""

import os
import re
import socket
import subprocess
import tempfile
import time

import cases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "l4ua")
ECHO = os.path.join(ROOT, "scripts", "services", "echo.lua")


def tool(s, *args, timeout=60):
    """tools/l4ua with args on the system of s -> (status, stdout, stderr)"""
    p = subprocess.run([TOOL, "--build", s.build] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def changed_echo(version, tag):
    """echo.lua whose ECHO answer carries tag before the values."""
    src = open(ECHO).read()
    src = re.sub(r"version = \d+", f"version = {version}", src, count=1)
    src2 = src.replace("return state.count, ...", f"return state.count, {tag!r}, ...")
    assert src2 != src, "services/echo.lua changed shape: update tests/repl/push_cases.py"
    return src2


def c_push_reloads_service(s):
    s.send("service = require 'service'\r")
    cases.prompt(s)
    cases.run(s, "select(2, service.call('echo', 1, 'hi'))", '"hi"', timeout=20)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "echo.lua")
        with open(path, "w") as f:
            f.write(changed_echo(42, "pushed"))
        t0 = time.monotonic()
        rc, out, err = tool(s, "push", path)
        secs = time.monotonic() - t0
        assert rc == 0, f"push failed ({rc}): {out} {err}"
        assert re.search(r"echo: version 42", out), out
        print(f"  push through tools/l4ua to the new version serving: {secs:.2f} s wall",
              flush=True)
    cases.run(s, "select(2, service.call('echo', 1, 'hi'))", r'"pushed"\t"hi"', timeout=20)
    # make run's disk (a new one for each test boot): a push is kept there
    cases.run(s, "require('files').stat('services/echo.lua').where", '"disk"')


def c_push_bad_checksum_changes_nothing(s):
    data = changed_echo(99, "broken").encode()
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(os.path.join(s.build, "com2.sock"))
    try:
        c.sendall(b"\x1d\n" + f"L4UA-PUSH echo {len(data)} 00000000\n".encode() + data)
        c.settimeout(20)
        got = b""
        while b"ERR checksum" not in got:
            more = c.recv(4096)
            assert more, f"the line closed; got {got!r}"
            got += more
    finally:
        c.close()
    cases.run(s, "select(2, service.call('echo', 1, 'hi'))", r'"pushed"\t"hi"', timeout=20)
    cases.run(s, "require('files').read('services/echo.lua'):find('broken') == nil", "true")


def c_push_errors_are_clear(s):
    rc, out, err = tool(s, "--build", "/nonexistent-l4ua", "push", ECHO)
    assert rc == 2 and "no system is running" in err, (rc, err)
    rc, out, err = tool(s, "push", ECHO, "--as", "nosuchservice")
    assert rc == 1 and "nosuchservice" in err, (rc, out, err)


def c_put_get_ls_binary_files(s):
    # every byte value (\n, \r, Ctrl-C, Ctrl-], NUL among them) in and out
    # through COM2: 64 KiB put (the line takes some 11 KB/s in) and got
    # back; a megabyte the guest wrote, got (some 50 KB/s out, in base64)
    data = bytes(range(256)) * 16 + os.urandom((64 << 10) - 4096)
    with tempfile.TemporaryDirectory() as d:
        src, back = os.path.join(d, "blob.bin"), os.path.join(d, "back.bin")
        with open(src, "wb") as f:
            f.write(data)
        t0 = time.monotonic()
        rc, out, err = tool(s, "put", src, "data/blob.bin", timeout=120)
        t_put = time.monotonic() - t0
        assert rc == 0 and err == f"{src} -> data/blob.bin: 65536 bytes", (rc, out, err)
        cases.run(s, "=require('fs').stat('data/blob.bin').where, "
                     "require('fs').stat('data/blob.bin').size", r'"disk"\t65536')
        cases.run(s, "=require('files').read('data/blob.bin'):sub(1, 4) == '\\0\\1\\2\\3'",
                  "true")
        rc, out, err = tool(s, "ls", "data")
        assert rc == 0 and re.fullmatch(r"file\s+65536 disk\s+blob\.bin", out), (rc, out, err)
        rc, out, err = tool(s, "get", "data/blob.bin", back)
        assert rc == 0, (rc, out, err)
        with open(back, "rb") as f:
            assert f.read() == data, "the file came back changed"
        s.send("t = {} for i = 0, 255 do t[#t + 1] = i end b = string.char(table.unpack(t))\r")
        cases.prompt(s)
        cases.run(s, "=io.open('data/mega.bin', 'wb'):write(b:rep(4096)):close()", "true",
                  timeout=30)
        # 3 MiB written at close takes the file service longer than the
        # 4 s a request may take: the last piece waits 4 s a MiB more
        cases.run(s, "=io.open('data/big.bin', 'wb'):write(b:rep(12288)):close()", "true",
                  timeout=60)
        cases.run(s, "=#io.open('data/big.bin', 'rb'):read('a'), os.remove('data/big.bin')",
                  r"3145728\ttrue", timeout=30)
        t0 = time.monotonic()
        rc, out, err = tool(s, "get", "data/mega.bin", back, timeout=120)
        t_get = time.monotonic() - t0
        assert rc == 0, (rc, out, err)
        with open(back, "rb") as f:
            assert f.read() == bytes(range(256)) * 4096, "the megabyte came back changed"
        print(f"  tools/l4ua put of 64 KiB: {t_put:.2f} s wall; get of 1 MiB: {t_get:.2f} s wall",
              flush=True)
        # an empty file, and get to standard output
        with open(src, "wb") as f:
            pass
        rc, out, err = tool(s, "put", src, "data/empty")
        assert rc == 0, (rc, out, err)
        p = subprocess.run([TOOL, "--build", s.build, "get", "data/empty", "-"],
                           capture_output=True, timeout=60)
        assert p.returncode == 0 and p.stdout == b"", (p.returncode, p.stdout, p.stderr)
        rc, out, err = tool(s, "ls")
        assert rc == 0 and re.search(r"(?m)^folder\s+\d+ disk\s+data/$", out), out


def c_file_tool_errors_are_clear(s):
    # each refusal names the path, says why and ends in the code's name
    rc, out, err = tool(s, "get", "no/such.txt")
    assert rc == 1 and err == "get: no/such.txt: no such file: no/such.txt (ENOENT)", \
        (rc, out, err)
    rc, out, err = tool(s, "get", "data")
    assert rc == 1 and "data: a folder" in err and "(EISDIR)" in err, (rc, out, err)
    rc, out, err = tool(s, "ls", "nothing/here")
    assert rc == 1 and "(ENOENT)" in err, (rc, out, err)
    rc, out, err = tool(s, "ls", "data/empty")
    assert rc == 1 and "not a folder" in err, (rc, out, err)
    rc, out, err = tool(s, "put", "/nonexistent-l4ua-file", "x")
    assert rc == 2 and "No such file or directory" in err, (rc, out, err)
    rc, out, err = tool(s, "put", ECHO, "data/empty/under_a_file.lua")
    assert rc == 1 and err == ("put: data/empty/under_a_file.lua: not a folder: data/empty "
                               "(EINVAL)"), (rc, out, err)
    rc, out, err = tool(s, "put", ECHO, "../outside.lua")
    assert rc == 1 and "bad path" in err and "(EINVAL)" in err, (rc, out, err)
    rc, out, err = tool(s, "--build", "/nonexistent-l4ua", "get", "x")
    assert rc == 2 and "no system is running" in err, (rc, err)


def c_rolled_back_version_stays_rolled_back(s):
    """A pushed version that compiles but fails its first request is rolled
    back; the file service still holds it, but when the service is killed
    the supervisor restarts the version that last worked, not the file's.
    Runs first of all cases (run.py EARLY): echo is still the boot's, started
    from its file, with no reload behind it."""
    s.send("service = require 'service'\r")
    cases.prompt(s)
    cases.run(s, "select(2, service.call('echo', 1, 'x'))", '"x"', timeout=20)
    src = open(ECHO).read()
    bad = re.sub(r"version = \d+", "version = 77", src, count=1)
    bad2 = bad.replace("return state.count, ...", "error('not today')")
    assert bad2 != bad, "services/echo.lua changed shape: update tests/repl/push_cases.py"
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "echo.lua")
        with open(path, "w") as f:
            f.write(bad2)
        rc, out, err = tool(s, "push", path)
        assert rc == 0 and "echo: version 77" in out, (rc, out, err)
    cases.run(s, "service.call('echo', 1, 'x')", r'nil\t".*not today"\t101', timeout=20)
    cases.run(s, "service.info('echo').version", '"1"')
    cases.run(s, "require('files').read('services/echo.lua'):find('not today') ~= nil", "true")
    s.send("kill echo\r")
    s.expect(r"killed task \d+ \(echo\)")
    cases.prompt(s)
    cases.run(s, "l4.sleep(1000)", "true")
    cases.run(s, "service.info('echo').version", '"1"', timeout=20)
    cases.run(s, "select(2, service.call('echo', 1, 'x'))", '"x"', timeout=20)
    # leave the file service as the boot had it
    cases.run(s, "require('files').remove('services/echo.lua')", "true")


EARLY = [c_rolled_back_version_stays_rolled_back]
CASES = [c_push_reloads_service, c_push_bad_checksum_changes_nothing, c_push_errors_are_clear,
         c_put_get_ls_binary_files, c_file_tool_errors_are_clear]
