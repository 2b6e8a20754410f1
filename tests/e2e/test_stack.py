# SPDX-License-Identifier: MIT
"""-k: the Python stack of each event. workloads/stack_cases.py raises events from plain
calls, methods, a C-level event, recursion, generators, coroutines, C functions calling back
into Python (sorted's key, map, __eq__, __del__) and threads, and records at each what
traceback.extract_stack() gives in-process; seatrace's stacks must be the same frames, files
and lines, with each function's qualified name, on every interpreter: the probe (Debian's
3.11, trixie/sid 3.13, sid 3.14) and the uprobe fallback (pyenv 3.8-3.13).
"""
import json
import os
import signal
import subprocess

import pytest

import interpreters
from conftest import (PY, SEATRACE, TIMEOUT, WORKLOADS, assert_clean_error, parse_json_lines,
                      run_seatrace, wait_for)

# The static build lacks _posixsubprocess, which asyncio imports.
INTERPS = [p for p in interpreters.params() if p.id != "static-3.13"]
NAMES = "stk.ev,os.listdir"


def key_of(rec):
    return rec["args"][0]


def trace_alive(procs, tmp_path, opts, cmd, seen):
    """seatrace OPTS -o FILE -- CMD, where CMD waits for the file `go` in tmp_path once done;
    `go` is written when seen(output text) says every record is out, so that the traced
    process lives while the reader reads its code objects. The output text."""
    out = tmp_path / "out.txt"
    p = procs.popen([SEATRACE, *opts, "-o", str(out), "--", *cmd],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def text():
        if not out.exists():
            return ""
        t = out.read_text()
        return t[:t.rfind("\n") + 1]
    wait_for(lambda: p.poll() is not None or seen(text()), what="seatrace's records")
    (tmp_path / "go").write_text("")
    _, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 0, err.decode()
    return text()


# The end of a script that waits for the test's `go` (hang-guarded).
WAIT_GO = """
import os, time
_t = time.monotonic()
while not os.path.exists(os.path.join(os.path.dirname(__file__), "go")) and \\
        time.monotonic() - _t < 120:
    time.sleep(0.02)
"""


def run_cases(procs, interp, tmp_path, *opts):
    """seatrace -k -j OPTS -- python stack_cases.py: (expected, {key: event record})."""
    work = tmp_path / "w"
    work.mkdir()
    exp_path = work / "expected.json"

    def got(text):
        exp = json.loads(exp_path.read_text())
        return {key_of(r): r for r in parse_json_lines(text)
                if r.get("type") == "event" and r.get("pid") == exp["pid"]}

    def seen(text):
        if not exp_path.exists():
            return False
        return {e["key"] for e in json.loads(exp_path.read_text())["events"]} <= set(got(text))
    # stack_cases.py waits for DIR/go: tmp_path/w/go
    text = trace_alive(procs, work, ["-j", "-e", NAMES, *opts],
                       [*interp.argv, str(WORKLOADS / "stack_cases.py"), str(work)], seen)
    assert exp_path.exists()
    return json.loads(exp_path.read_text()), got(text)


def check(exp, got, depth):
    keys = [e["key"] for e in exp["events"]]
    assert len(keys) == 19 and len(set(keys)) == 19, keys
    for e in exp["events"]:
        rec = got[e["key"]]
        assert rec["event"] == e["event"]
        full = e["stack"]
        assert rec["stack"] == full[:depth], (e["key"], rec["stack"], full)
        assert rec.get("stack_truncated", False) == (len(full) > depth), (e["key"], len(full))


@pytest.mark.parametrize("interp", INTERPS)
def test_stacks_match_extract_stack(procs, tmp_path, interp):
    exp, got = run_cases(procs, interp, tmp_path, "-k", "--stack-depth", "64")
    check(exp, got, 64)
    # The cases are what they say: the deepest is the recursion, threads have their own.
    by_key = {e["key"]: e["stack"] for e in exp["events"]}
    fn = {k: [f["function"] for f in v] for k, v in by_key.items()}
    assert fn["rec40"][:42] == ["ev"] + ["rec"] * 41
    assert fn["thread3"][:6] == ["ev"] + ["rec"] * 4 + ["in_thread"]
    assert fn["co1"][:3] == ["ev", "leaf", "mid"]
    assert fn["del"][2] == "drop" and fn["key1"][1] == "callbacks"
    assert [len(by_key["exact%d" % n]) for n in (7, 8, 9)] == [7, 8, 9]


@pytest.mark.parametrize("interp", [
    p for p in INTERPS if p.id in ("debian-3.11", "sid-3.14", "pyenv-3.8", "pyenv-3.12")])
def test_cut_at_depth(procs, tmp_path, interp):
    """--stack-depth 8: the 8 innermost frames, and a mark exactly on the deeper stacks (a
    stack of exactly 8 frames is whole: the 3.12+ entry frames below it do not count)."""
    exp, got = run_cases(procs, interp, tmp_path, "--stack-depth", "8")
    check(exp, got, 8)
    assert not got["exact8"].get("stack_truncated") and got["exact9"]["stack_truncated"]


def test_text_frames_under_event(procs, tmp_path):
    script = tmp_path / "t.py"
    script.write_text("import sys\n"
                      "def f():\n"
                      "    sys.audit('stk.text', 1)\n"
                      "f()\n" + WAIT_GO)
    text = trace_alive(procs, tmp_path, ["-k", "-e", "stk.text"], [PY, str(script)],
                       lambda t: "<module>" in t)
    lines = text.splitlines()
    i = next(n for n, l in enumerate(lines) if "stk.text(1)" in l)
    assert lines[i + 1:] == [f" > {script}:3 f", f" > {script}:4 <module>"], text
    # Without -k, nothing of it.
    res = run_seatrace("-e", "stk.text", "--", PY, "-c", "import sys; sys.audit('stk.text', 1)")
    assert res.returncode == 0 and "stk.text(1)" in res.stdout and " > " not in res.stdout, res


GONE = """import sys
def f(x):
    sys.audit("stk.gone", x)
    if x == "second":
        sys.audit("stk.gone2", x)
def g():
    sys.audit("stk.gone3", 0)
print("ready", flush=True)
sys.stdin.readline()
f("first")
sys.stdin.readline()
f("second")
g()
"""


def test_approximate_when_gone(procs, tmp_path):
    """Records read after their process ended: code objects read before (f, <module>) still
    give exact lines; one never read (g) gives its first line, marked approximate."""
    script = tmp_path / "gone.py"
    script.write_text(GONE)
    out = tmp_path / "out.jsonl"
    w = procs.workload(script)
    w.expect("ready")
    t = procs.tracer(["-k", "-j", "-e", "stk.*", "-p", w.pid], out)
    t.wait_attached()
    w.send()
    wait_for(lambda: b'"stk.gone"' in out.read_bytes(), what="the first event")
    t.signal(signal.SIGSTOP)
    try:
        w.send()
        w.proc.wait(TIMEOUT)
    finally:
        t.signal(signal.SIGCONT)
    res = t.stop()
    ev = {(e["event"], e["args"][0]): e["stack"] for e in res.events}
    f = str(script)
    mod = {"file": f, "line": 12, "function": "<module>"}
    assert ev[("stk.gone", "first")] == [{"file": f, "line": 3, "function": "f"},
                                         {"file": f, "line": 10, "function": "<module>"}]
    assert ev[("stk.gone", "second")] == [{"file": f, "line": 3, "function": "f"}, mod]
    assert ev[("stk.gone2", "second")] == [{"file": f, "line": 5, "function": "f"}, mod]
    assert ev[("stk.gone3", 0)] == [
        {"file": None, "line": 6, "function": None, "approximate": True},
        {"file": f, "line": 13, "function": "<module>"}]


@pytest.mark.parametrize("bad", ["0", "257", "100000", "-1", "x"])
def test_absurd_depth_refused(bad):
    res = run_seatrace("-k", "--stack-depth", bad, "--", PY, "-c", "pass")
    assert res.returncode == 64, res
    assert_clean_error(res, "--stack-depth")


SPAN = """import sys
def call(n):
    if n:
        return call(n - 1)
    sys.audit("prehook:stk.call", 1)
    sys.audit("posthook:stk.call", 2)
def outer():
    call(2)
outer()
""" + WAIT_GO


@pytest.mark.parametrize("interp", [p for p in INTERPS if p.id in ("debian-3.11", "pyenv-3.10")])
def test_span_has_prehook_stack(procs, tmp_path, interp):
    """A span carries its prehook's stack: where the call was made."""
    script = tmp_path / "span.py"
    script.write_text(SPAN)
    text = trace_alive(procs, tmp_path, ["-k", "-j", "-e", "*hook:stk.call"],
                       [*interp.argv, str(script)], lambda t: '"type":"span"' in t)
    recs = parse_json_lines(text)
    f = str(script)
    where = [{"file": f, "line": 4, "function": "call"}] * 2 + [
        {"file": f, "line": 8, "function": "outer"},
        {"file": f, "line": 9, "function": "<module>"}]
    pre = [{"file": f, "line": 5, "function": "call"}] + where
    spans = [r for r in recs if r.get("type") == "span"]
    ev = {r["event"]: r for r in recs if r.get("type") == "event"}
    assert len(spans) == 1, text
    assert spans[0]["stack"] == pre
    assert ev["prehook:stk.call"]["stack"] == pre
    assert ev["posthook:stk.call"]["stack"] == [{"file": f, "line": 6, "function": "call"}] + where


def test_full_record_says_stack_cut():
    """Values that fill the 32 KiB record leave no room for the stack: an empty stack marked
    cut, never a record that looks as if it had none."""
    code = ("import sys\n"
            "def f():\n"
            "    sys.audit('stk.big', *['\\U0001F600' * 4096] * 3)\n"
            "f()\n")
    res = run_seatrace("-k", "-j", "-s", "4096", "-e", "stk.big", "--", PY, "-c", code)
    assert res.returncode == 0, res
    ev = res.one("stk.big")
    assert ev["truncated"] and ev["stack"] == [] and ev["stack_truncated"], ev
