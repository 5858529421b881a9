#!/usr/bin/env python3
"""Self-test of the test runner (tests/run.py), fed with made-up logs: a
runner that lets a truncated suite, a missing case or a summary that
disagrees with its lines pass would make every stage's green meaningless.
Run by stage host; prints "ok X" / "FAIL X" and "runner: N passed, M failed"."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402

passed = failed = 0


def case(fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"ok {fn.__name__}")
    except AssertionError as e:
        failed += 1
        print(f"FAIL {fn.__name__}: {e}")
    return fn


def judged(status, log):
    """(clean?, passed, failed) of the runner's verdict on one suite boot."""
    res = run.Results(quiet=True)
    res.stage = "x"
    clean = run.judge_ktest(res, "x.suite", status, log, 60)
    return clean, res.passed, res.failed


GOOD = "boot banner\nok a\nok b\nok c\nktest: 3 passed, 0 failed\n"


@case
def a_clean_suite_passes():
    assert judged(run.EXIT_PASS, GOOD) == (True, 3, 0), judged(run.EXIT_PASS, GOOD)


@case
def a_truncated_suite_fails():
    # QEMU ended (or was stopped) after two cases: no summary line
    log = "ok a\nok b\n"
    assert judged(run.EXIT_PASS, log)[0] is False
    assert judged(None, log)[0] is False
    assert judged(run.EXIT_PASS, log)[2] == 1


@case
def a_summary_that_disagrees_fails():
    # a case counted itself passed but printed no line
    log = "ok a\nok b\nktest: 3 passed, 0 failed\n"
    clean, p, f = judged(run.EXIT_PASS, log)
    assert f == 1, (clean, p, f)
    # or printed its ok line without being counted
    log = "ok a\nok b\nok c\nok d\nktest: 3 passed, 0 failed\n"
    assert judged(run.EXIT_PASS, log)[2] == 1


@case
def a_failed_case_or_bad_status_fails():
    assert judged(run.EXIT_PASS, "ok a\nFAIL b: x\nktest: 1 passed, 1 failed\n")[0] is False
    assert judged(run.EXIT_FAIL, GOOD)[0] is False
    assert judged(run.EXIT_PANIC, GOOD)[0] is False
    assert judged(run.EXIT_PASS, GOOD + "PANIC: something\n")[0] is False


@case
def no_case_at_all_fails():
    assert judged(run.EXIT_PASS, "ktest: 0 passed, 0 failed\n")[0] is False


def listed(names, seen):
    """The case_list verdict for a stage that reported `seen` against a
    list holding `names`: (passed, failed, the failure's text)."""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "s.txt"), "w") as f:
            f.write("# a comment\n" + "".join(n + "\n" for n in names))
        res = run.Results(quiet=True)
        res.stage = "s"
        for n in seen:
            res.ok(n)
        res.passed = res.failed = 0
        why = []
        res.fail = lambda name, w, log=None, _f=res.fail: (why.append(w), _f(name, w, log))
        run.check_cases(res, "s", cases_dir=d)
        return res.passed, res.failed, " ".join(why)


@case
def the_listed_cases_pass():
    assert listed(["s.a", "s.b"], ["s.a: a note", "s.b (12 s wall)"])[:2] == (1, 0)


@case
def a_missing_case_fails():
    p, f, why = listed(["s.a", "s.b", "s.c"], ["s.a", "s.b"])
    assert (p, f) == (0, 1) and "s.c" in why, why


@case
def an_unlisted_case_fails():
    p, f, why = listed(["s.a"], ["s.a", "s.new"])
    assert (p, f) == (0, 1) and "s.new" in why, why


@case
def a_stage_with_no_list_fails():
    with tempfile.TemporaryDirectory() as d:
        res = run.Results(quiet=True)
        res.stage = "s"
        res.ok("s.a")
        run.check_cases(res, "s", cases_dir=d)
        assert res.failed == 1


@case
def update_writes_the_list_the_check_then_accepts():
    with tempfile.TemporaryDirectory() as d:
        res = run.Results(quiet=True)
        res.stage = "s"
        res.ok("s.b: x")
        res.ok("s.a")
        run.check_cases(res, "s", cases_dir=d, update=True)
        with open(os.path.join(d, "s.txt")) as f:
            assert f.read() == "s.a\ns.b\n"
        run.check_cases(res, "s", cases_dir=d)
        assert res.failed == 0 and res.passed == 3


@case
def each_stage_gets_its_row_of_the_times_table():
    now = [100.0]
    res = run.Results(quiet=True, clock=lambda: now[0])
    res.begin("a")
    now[0] += 2.5
    res.ok("a.one: a note")
    now[0] += 60
    res.fail("a.two", "why")
    assert res.end() == ("a", 2, 1, 1, 62.5), res.times
    res.begin("b")
    now[0] += 0.5
    res.ok("b.x")
    res.end()
    lines = run.times_table(res, 2)
    rows = [l.split() for l in lines[1:4]]
    assert rows == [["a", "2", "1", "1", "62.5"], ["b", "1", "1", "0", "0.5"],
                    ["total", "3", "2", "1", "63.0"]], lines
    # the slowest results: a.two came 60 s after a.one, a.one 2.5 s after a's start
    assert lines[-2:] == ["     60.0  a: a.two", "      2.5  a: a.one"], lines
    assert len(run.times_table(res)) == 4


@case
def a_second_runners_results_are_counted():
    # the host stages' runner, run beside guest, user and lua (run.merge_lane)
    res = run.Results(quiet=True)
    res.ok("guest.boot")
    out = ("ok   host.a\nFAIL host.b: why\nstage host: 2 cases, 1 passed, 1 failed, 3.0 s\n"
           + run.LANE_MARK + '{"passed": 1, "failed": 1, "failures": [["host.b", "why"]], '
           '"times": [["host", 2, 1, 1, 3.0]], "gaps": [[2.0, "host", "host.b"]]}\n')
    run.merge_lane(res, out, 1)
    assert (res.passed, res.failed, res.failures) == (2, 1, [("host.b", "why")]), \
        (res.passed, res.failed, res.failures)
    assert res.times == [("host", 2, 1, 1, 3.0)] and res.gaps == [(2.0, "host", "host.b")]


@case
def a_second_runner_that_ends_without_its_results_fails():
    res = run.Results(quiet=True)
    run.merge_lane(res, "ok   host.a\nTraceback (most recent call last):\n", 1)
    assert (res.passed, res.failed) == (0, 1) and res.failures[0][0] == "lane", res.failures


def off_baseline(figures):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "b.json")
        with open(path, "w") as f:
            f.write('{"band": {"default": 0.15, "noisy": 1.0}, "figures": {"ipc": 400, "noisy": 1000}}')
        return run.figures_off_baseline(figures, path)


@case
def bench_figures_within_their_bands_pass():
    assert off_baseline({"ipc": 450, "noisy": 1990}) == [], off_baseline({"ipc": 450, "noisy": 1990})


@case
def a_zero_or_far_or_missing_or_new_figure_fails():
    assert any("not above 0" in b for b in off_baseline({"ipc": 0, "noisy": 1000}))
    assert any("baseline 400" in b for b in off_baseline({"ipc": 470, "noisy": 1000}))
    assert any("baseline 400" in b for b in off_baseline({"ipc": 340, "noisy": 1000}))
    assert off_baseline({"ipc": 400}) == ["noisy missing"]
    assert any("no baseline" in b for b in off_baseline({"ipc": 400, "noisy": 1000, "new": 5}))


print(f"runner: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
