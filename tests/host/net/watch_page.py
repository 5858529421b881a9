#!/usr/bin/env python3
"""A page open in a browser, watched: Debian's chromium, headless, driven by
chromium-driver through python3-selenium (as the dashboard's test,
browser.py). docs/tutorial-http.md runs it as its reader would watch the
page in a browser.

    watch_page.py URL --until TEXT [--then COMMAND] [--shot FILE] [--timeout SECONDS]

Opens URL once and never loads it again itself: a page that updates
itself (tutorial-http.md's asks for itself again every second) is seen
changing as a person sees it. Prints the page's first heading (<h1>)
each time it changes, until one holds TEXT; then how many times the page
loaded itself again, and whether a load failed (chromium's error page, or
a page without a heading). With --then, runs COMMAND (by the shell) once
the page showed its first heading, and prints its output at the end
(tutorial-http.md pushes the new version so). Saves a screenshot of the
browser if asked. Exit status 0 once TEXT is seen (and COMMAND
succeeded), 1 if not within the timeout (60 s), a load failed or
COMMAND failed."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--until", required=True, help="stop once the heading holds this text")
    ap.add_argument("--then", help="a shell command, run once the page is shown")
    ap.add_argument("--shot", help="a screenshot of the browser, at the end")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    profile = tempfile.mkdtemp(prefix="l4ua-chromium-")    # removed at the end
    opts = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=900,500", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.binary_location = "/usr/bin/chromium"
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    drv.set_page_load_timeout(30)
    try:
        drv.get(a.url)
        # what the open page shows: each load of it is a document of its own
        # (its timeOrigin); chromium shows a failed load as chrome-error://
        look = ("const h = document.querySelector('h1');"
                "return [performance.timeOrigin, location.href, h ? h.textContent : null];")
        loads, failed, last, then = set(), [], None, None
        until = time.monotonic() + a.timeout
        while time.monotonic() < until:
            try:
                origin, href, heading = drv.execute_script(look)
            except WebDriverException:
                time.sleep(0.05)            # between two loads: look again
                continue
            heading = " ".join(heading.split()) if heading is not None else None
            if origin not in loads:
                loads.add(origin)
                if href.startswith("chrome-error:") or heading is None:
                    failed.append(href)
            if heading is not None and heading != last:
                print(heading, flush=True)
                last = heading
            if a.then and then is None and last is not None:
                then = subprocess.Popen(a.then, shell=True, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
            if heading is not None and a.until in heading or failed:
                break
            time.sleep(0.1)
        if a.shot:
            os.makedirs(os.path.dirname(os.path.abspath(a.shot)), exist_ok=True)
            drv.save_screenshot(a.shot)
        print(f"(the page loaded itself again {len(loads) - 1} times; "
              + (f"{len(failed)} loads failed: {failed[0]})" if failed else "no load failed)"),
              flush=True)
        status = 0
        if then is not None:
            out, _ = then.communicate(timeout=max(10, until - time.monotonic()))
            sys.stdout.write(out)
            status = then.returncode
        if status:
            print(f"watch_page: {a.then!r} failed (status {status})", file=sys.stderr)
            return 1
        if failed or last is None or a.until not in last:
            print(f"watch_page: {'a load failed' if failed else 'not shown'} before {a.until!r} "
                  f"(waited at most {a.timeout:.0f} s)", file=sys.stderr)
            return 1
        return 0
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


sys.exit(main())
