#!/usr/bin/env python3
"""The dashboard in a real browser: Debian's chromium, headless, driven by
chromium-driver through python3-selenium.
    browser.py URL SCREENSHOT    a dashboard already served at URL
    browser.py --host SCREENSHOT the host's server (tests/host/net/serve.lua)
    browser.py --counters URL SCREENSHOT TABLE:KEY>=MIN...
                                 only the counters of the rejected input: the
                                 page's Network ("net") and HTTP server
                                 ("httpd") tables show each KEY at MIN or more
                                 (tests/net/storm.py, after its malformed input)
    browser.py --across URL SCREENSHOT
                                 the page open while the network service is
                                 killed: says "ready" once live, waits for a
                                 line on its input (the test killed net), then
                                 the open page must show net restarted and
                                 update live again, never reloaded by hand
                                 (tests/repl/net_cases.py)
Checks what a person would look at: the page loads and says "live", the
task and thread tables fill, a figure changes between two reads (the
uptime, a thread's CPU time), the reload button of `echo` raises its
version in the page, and the Lua box is off (disabled, and the server
refuses a line posted anyway). Saves a screenshot. One "ok name" /
"FAIL name: why" line per case, then "browser: N passed, N failed"."""
import json, os, shutil, subprocess, sys, tempfile, time, urllib.error, urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
passed = failed = 0


def case(fn, name=None):
    global passed, failed
    name = name or fn.__name__
    try:
        fn()
        passed += 1
        print("ok " + name)
    except Exception as e:  # noqa: BLE001 - every failure is a line
        failed += 1
        print(f"FAIL {name}: {e!r}"[:2000])
    sys.stdout.flush()


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    server = None
    args = sys.argv[1:]
    counters = args[0] == "--counters"
    across = args[0] == "--across"
    if counters or across:
        args = args[1:]
    if args[0] == "--host":
        server = subprocess.Popen(["lua5.4", "tests/host/net/serve.lua"], cwd=ROOT,
                                  stdout=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{int(server.stdout.readline().split()[1])}"
    else:
        url = args[0].rstrip("/")
    shot = args[1]
    profile = tempfile.mkdtemp(prefix="l4ua-chromium-")    # removed at the end
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1600", f"--user-data-dir={profile}"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    drv.set_page_load_timeout(30)
    wait = WebDriverWait(drv, 30, poll_frequency=0.2)
    # the tables are drawn anew at each poll: read and click in one script
    # (an element found first may be gone by the time it is used)
    def text(sel):
        return drv.execute_script("const e = document.querySelector(arguments[0]);"
                                  "return e ? e.textContent : null;", sel)

    def count(sel):
        return drv.execute_script("return document.querySelectorAll(arguments[0]).length;", sel)

    def page_loads_and_is_live():
        drv.get(url + "/")
        expect(drv.title == "L4ua dashboard", drv.title)
        wait.until(lambda d: text("#status") == "live")

    def task_list_is_shown():
        wait.until(lambda d: count("#tasks tbody tr") > 0)
        names = drv.execute_script("return [...document.querySelectorAll('#tasks tbody tr')]"
                                   ".map(r => r.dataset.name);")
        expect("echo" in names and "console" in names, names)
        expect(count("#threads tbody tr") > 0, "no threads")

    def it_updates_live():
        u0, n0 = float(text("#uptime")), int(text("#updates"))
        wait.until(lambda d: int(text("#updates")) >= n0 + 2)
        u1 = float(text("#uptime"))
        expect(u1 > u0, f"uptime {u0} then {u1}")

    def reload_button_reloads_echo():
        row = "#services tr[data-name=echo]"
        wait.until(lambda d: count(row) == 1)
        seen = lambda: (text(row + " .version"), text(row + " .reloads"))
        v0 = seen()
        drv.execute_script("document.querySelector(arguments[0]).click();", row + " button.reload")
        wait.until(lambda d: text("#message").startswith("reloaded echo: version"))
        wait.until(lambda d: seen() != v0)
        print(f"   echo (version, reloads): {v0} -> {seen()}, page says {text('#message')!r}")

    def lua_box_is_off():
        expect(not drv.find_element(By.ID, "lua-line").is_enabled(), "the Lua line is enabled")
        expect("off" in text("#lua-out"), text("#lua-out"))
        req = urllib.request.Request(url + "/api/lua", data=b"return 6 * 7")
        try:
            urllib.request.urlopen(req, timeout=10)
            raise AssertionError("a line of Lua was taken")
        except urllib.error.HTTPError as e:
            expect(e.code == 403 and "off" in json.loads(e.read())["error"], e.code)

    def shown(table, key):
        """The figure in the row of key in the page's table, or None."""
        t = text(f"#{table} tr[data-key='{key}'] td.n")
        return int(t) if t and t.isdigit() else None

    def counter_shown(table, key, least):
        # the page draws the table anew at each poll: wait for the figure
        # there, read as a person reads it (a row "key  figure")
        try:
            wait.until(lambda d: (shown(table, key) or 0) >= least)
        finally:
            print(f"   {table} {key}: the page shows {shown(table, key)} (at least {least} wanted)")

    def live_again_after_net_killed():
        row = "#services tr[data-name=net]"
        wait.until(lambda d: count(row) == 1)
        r0 = int(text(row + " .restarts") or 0)
        print("ready", flush=True)
        sys.stdin.readline()                # the test killed net
        long = WebDriverWait(drv, 60, poll_frequency=0.2)
        long.until(lambda d: int(text(row + " .restarts") or 0) > r0)
        n0 = int(text("#updates"))
        long.until(lambda d: int(text("#updates")) >= n0 + 2 and text("#status") == "live")
        print(f"   net's restarts on the open page: {r0} -> {text(row + ' .restarts')}, "
              f"then {int(text('#updates')) - n0} updates, status {text('#status')!r}")

    try:
        if across:
            case(page_loads_and_is_live)
            case(live_again_after_net_killed)
        if counters:
            case(page_loads_and_is_live)
            for want in args[2:]:
                table, rest = want.split(":", 1)
                key, least = rest.split(">=")
                case(lambda: counter_shown(table, key, int(least)), f"{table}.{key}_shown")
            # the tables in view for the screenshot
            drv.execute_script("document.getElementById('net').scrollIntoView();")
        for fn in () if counters or across else (page_loads_and_is_live, task_list_is_shown, it_updates_live,
                                       reload_button_reloads_echo, lua_box_is_off):
            case(fn)
        drv.save_screenshot(shot)
        print(f"   screenshot: {shot}")
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)
        if server:
            server.kill()
    print(f"browser: {passed} passed, {failed} failed")
    return 1 if failed else 0


sys.exit(main())
