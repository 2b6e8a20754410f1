# SPDX-License-Identifier: MIT
"""-c / -C: summaries counted in the kernel (issue 13).

Exactness: workloads/count_mix.py raises hundreds of thousands of events from several
threads and processes while each process counts its own in an audit hook; every name's count
in seatrace's summary (JSON and text) must equal the sum of the processes' own counts, on the
probe path (Debian's python3.11) and the uprobe fallback (pyenv builds). Also: SIGUSR1 prints a
summary while tracing goes on; -C prints the events and the summary; -S counts syscalls with
their errno names; filters apply; a bad -o is refused before anything is attached.
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

import interpreters
from conftest import (PY, SEATRACE, TIMEOUT, WORKLOADS, Tracer, assert_clean_error,
                      parse_json_lines, run_seatrace, wait_for)

MIX = WORKLOADS / "count_mix.py"
# Events per run: the parent raises about 1.5 N (sys.audit and id()), each child half that.
N = 120000
CHILDREN = 2

FALLBACK = [p for p in interpreters.params(probe=False)
            if p.id in ("pyenv-3.8", "pyenv-3.11", "pyenv-3.13")]
PROBE = interpreters.params(probe=True)[:1]  # Debian's python3.11


def own_counts(prefix):
    """The processes' own counts, summed: {name: count}; and how many processes wrote."""
    d = os.path.dirname(prefix)
    total, n = {}, 0
    for f in os.listdir(d):
        if f.startswith(os.path.basename(prefix) + "."):
            n += 1
            with open(os.path.join(d, f)) as fh:
                for k, v in json.load(fh).items():
                    total[k] = total.get(k, 0) + v
    total.pop("errors.open", None)
    return total, n


def summaries(res):
    recs = [r for r in res.records if r.get("type") == "summary"]
    assert recs, f"no summary record: {res}"
    return recs


def ours(events):
    """The summary's counts of the names the workload counts itself."""
    return {e["event"]: e["count"] for e in events
            if e["event"].startswith("st.") or e["event"] == "builtins.id"}


def run_mix(tmp_path, python, *opts, n=N, children=CHILDREN):
    prefix = str(tmp_path / "own")
    res = run_seatrace(*opts, "-f", "--", python, MIX, prefix, n, children)
    assert res.returncode == 0, res
    own, nproc = own_counts(prefix)
    assert nproc == children + 1, f"{nproc} processes wrote their counts: {res}"
    # The workload's volume is what this test is about: never let it shrink unseen.
    assert sum(own.values()) >= n * (1 + children) // 2, own
    return res, own


def check_summary(s, own, nproc):
    assert s["uncounted"] == 0 and s["lost"] == 0, s
    assert ours(s["events"]) == own
    for e in s["events"]:
        if e["event"] in own:
            assert e["processes"] == nproc, e
            assert e["first_ns"] <= e["last_ns"], e
    # The total is every name's count, shares follow from it.
    assert s["total"] == sum(e["count"] for e in s["events"])
    counts = [e["count"] for e in s["events"]]
    assert counts == sorted(counts, reverse=True)


@pytest.mark.parametrize("interp", PROBE + FALLBACK)
def test_counts_exact_json(tmp_path, interp):
    before = time.time_ns()
    res, own = run_mix(tmp_path, interp.exe, "-c", "-j")
    after = time.time_ns()
    # -c: no event record crossed, one summary at the end.
    assert not res.events, res.events[:3]
    (s,) = summaries(res)
    check_summary(s, own, CHILDREN + 1)
    assert s["processes"] == CHILDREN + 1
    for e in s["events"]:
        assert before <= e["first_ns"] <= e["last_ns"] <= after, e


@pytest.mark.parametrize("interp", PROBE + FALLBACK[:1])
def test_counts_exact_text(tmp_path, interp):
    res, own = run_mix(tmp_path, interp.exe, "-c")
    lines = res.stdout.splitlines()
    rules = [i for i, l in enumerate(lines) if l.startswith("------ ")]
    assert len(rules) == 2, res.stdout
    assert lines[rules[0] - 1].split()[:4] == ["%", "all", "count", "processes"]
    got, shares = {}, 0.0
    for l in lines[rules[0] + 1:rules[1]]:
        share, count, procs, first, last, name = l.split(None, 5)
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{6}", first), l
        shares += float(share)
        if name in own:
            got[name] = int(count)
            assert int(procs) == CHILDREN + 1, l
    assert got == own
    total = lines[rules[1] + 1].split()
    assert total[-1] == "total" and float(total[0]) == 100.0
    assert int(total[1]) >= sum(own.values())
    assert abs(shares - 100.0) < 0.01 * len(lines)


@pytest.mark.parametrize("interp", PROBE + FALLBACK[1:2])
def test_both_events_and_summary(tmp_path, interp):
    """-C: every event as usual, then the summary, whose counts are the events'."""
    res, own = run_mix(tmp_path, interp.exe, "-C", "-j", "--buffer-size", "64M", n=40000)
    assert not res.lost, res.lost
    (s,) = summaries(res)
    kinds = [r.get("type") for r in res.records]
    assert kinds.index("summary") > max(i for i, k in enumerate(kinds) if k == "event")
    check_summary(s, own, CHILDREN + 1)
    seen = {}
    for e in res.events:
        seen[e["event"]] = seen.get(e["event"], 0) + 1
    assert {e["event"]: e["count"] for e in s["events"]} == seen


def test_sigusr1_mid_run(tmp_path):
    """SIGUSR1: a summary of what was counted so far; tracing goes on to the end."""
    go = tmp_path / "go"
    out = tmp_path / "out.jsonl"
    code = (f"import os, sys, time\n"
            f"for i in range(5000): sys.audit('st.phase1', i)\n"
            f"open({str(tmp_path / 'ready')!r}, 'w').close()\n"
            f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
            f"for i in range(7000): sys.audit('st.phase2', i)\n")
    p = subprocess.Popen([SEATRACE, "-c", "-j", "-o", str(out), "--", PY, "-c", code],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: (tmp_path / "ready").exists() or p.poll() is not None,
                 what="phase 1")
        assert p.poll() is None, p.communicate()
        p.send_signal(signal.SIGUSR1)

        def first_summary():
            if not out.exists():
                return None
            recs = [r for r in parse_json_lines(out.read_bytes()) if r.get("type") == "summary"]
            return recs[0] if recs else None

        box = []
        wait_for(lambda: box.append(first_summary()) or box[-1],
                 what="the summary SIGUSR1 asks for")
        mid = box[-1]
        go.touch()
        _, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    recs = [r for r in parse_json_lines(out.read_bytes()) if r.get("type") == "summary"]
    assert len(recs) == 2, recs
    assert ours(mid["events"]) == {"st.phase1": 5000}
    assert ours(recs[1]["events"]) == {"st.phase1": 5000, "st.phase2": 7000}


SYS = r'''
import json, os, sys
d = f"/tmp/seatrace-count-{os.getpid()}"
own = {"mkdir": [0, {}], "rmdir": [0, {}]}
def call(f, name, path):
    own[name][0] += 1
    try:
        f(path)
    except OSError as e:
        import errno as E
        n = E.errorcode[e.errno]
        own[name][1][n] = own[name][1].get(n, 0) + 1
call(os.mkdir, "mkdir", d)
for i in range(13):
    call(os.rmdir, "rmdir", f"{d}/missing{i}")      # ENOENT
for i in range(6):
    call(os.mkdir, "mkdir", d)                      # EEXIST
for i in range(4):
    call(os.mkdir, "mkdir", f"{d}/x"); call(os.rmdir, "rmdir", f"{d}/x")
call(os.rmdir, "rmdir", d)
call(os.rmdir, "rmdir", "/proc/1")                  # EBUSY or EPERM, whichever: compared
for i in range(2500):
    sys.audit("st.sys", i)
with open(sys.argv[1], "w") as f:
    f.write(json.dumps(own))
'''


@pytest.mark.parametrize("interp", PROBE + FALLBACK[1:2])
def test_syscalls_counted(interp, tmp_path):
    own_path = tmp_path / "own.json"
    res = run_seatrace("-c", "-S", "-j", "--", interp.exe, "-c", SYS, own_path)
    assert res.returncode == 0, res
    own = json.loads(own_path.read_text())
    (s,) = summaries(res)
    assert ours(s["events"]) == {"st.sys": 2500}
    calls = {c["syscall"]: c for c in s["syscalls"]}
    for name, (count, errs) in own.items():
        c = calls[name]
        assert c["count"] == count, (c, own)
        assert c["errors"] == sum(errs.values()), (c, own)
        assert c["errnos"] == errs, (c, own)
    assert calls["rmdir"]["errnos"]["ENOENT"] == 13
    assert calls["mkdir"]["errnos"]["EEXIST"] == 6
    assert s["syscalls_total"] == sum(c["count"] for c in s["syscalls"])

    text = run_seatrace("-c", "-S", "--", interp.exe, "-c", SYS, own_path)
    own = json.loads(own_path.read_text())
    rows = {}
    for l in text.stdout.splitlines():
        f = l.split()
        if len(f) >= 3 and f[0].isdigit() and f[2] in ("mkdir", "rmdir"):
            rows[f[2]] = (int(f[0]), int(f[1]), f[3:])
    assert rows["rmdir"][:2] == (own["rmdir"][0], sum(own["rmdir"][1].values()))
    assert "ENOENT:13" in rows["rmdir"][2]
    assert rows["mkdir"][2] == ["EEXIST:6"]


def test_filters_apply(tmp_path):
    """-e/-x: only the events kept are counted, each exactly."""
    res, own = run_mix(tmp_path, PY, "-c", "-j", "-e", "st.*", "-x", "st.b,st.e", n=30000,
                       children=1)
    (s,) = summaries(res)
    want = {k: v for k, v in own.items() if k.startswith("st.") and k not in ("st.b", "st.e")}
    assert {e["event"]: e["count"] for e in s["events"]} == want
    assert s["total"] == sum(want.values())


def test_process_filter(tmp_path):
    """--comm: a process left out by the filter is not counted at all."""
    prefix = str(tmp_path / "own")
    res = run_seatrace("-c", "-j", "--comm", "nosuchcomm", "-f", "--", PY, MIX, prefix, 3000)
    assert res.returncode == 0, res
    (s,) = summaries(res)
    assert s["events"] == [] and s["total"] == 0 and s["processes"] == 0


def test_bad_output_path():
    res = run_seatrace("-c", "-o", "/nonexistent-seatrace-dir/summary.txt", "--", PY, "-c",
                       "pass")
    msg = assert_clean_error(res, "/nonexistent-seatrace-dir")
    assert "attached" not in res.stderr
    assert "-c" not in msg and "invalid option" not in msg.lower(), msg


ARGS = r'''
import os
for i in range(50):
    try: os.open(f"/nonexistent-seatrace/a{i}", os.O_RDONLY)
    except OSError: pass
for i in range(30):
    try: os.open(f"/nonexistent-seatrace-b/{i}", os.O_RDONLY)
    except OSError: pass
'''


@pytest.mark.parametrize("interp", PROBE + FALLBACK[1:2])
@pytest.mark.parametrize("mode", ["-c", "-C"])
def test_argument_filters_apply(interp, mode):
    """An argument filter decides in the kernel before the count: only the 50 opens kept."""
    res = run_seatrace(mode, "-j", "-e", "open(path=/nonexistent-seatrace/*)", "--",
                       interp.exe, "-c", ARGS)
    assert res.returncode == 0, res
    (s,) = summaries(res)
    assert {e["event"]: e["count"] for e in s["events"]} == {"open": 50}
    assert len(res.events) == (50 if mode == "-C" else 0)


RELOAD = r'''
import json, os, select, sys
ready, go = sys.argv[1], sys.argv[2]
own = {"builtins.id": [0, 0], "sys._getframe": [0, 0]}
phase = 0
def hook(ev, args):
    if ev in own:
        own[ev][phase] += 1
sys.addaudithook(hook)
for i in range(3000):
    id(i); sys._getframe()
open(ready, "w").close()
while not os.path.exists(go):
    select.select([], [], [], 0.01)
phase = 1
for i in range(4000):
    id(i); sys._getframe()
print(json.dumps(own), flush=True)
'''


def test_filter_reload_counts(procs, tmp_path):
    """-c with --config: SIGHUP switches -e from builtins.id to sys._getframe between two
    phases. Both names lie in the interpreter's read-only data, so their events are counted
    from the kernel's per-CPU cache without a verdict; that cache must not outlive the filter
    it was filled under: each name counts in its own phase only, as the process counted."""
    conf, ready, go, out = (tmp_path / "c.conf", tmp_path / "ready", tmp_path / "go",
                            tmp_path / "out.jsonl")
    conf.write_text("event = builtins.id\n")
    t = procs.tracer(["-c", "-j", "-o", out, "--config", conf, "--", PY, "-c", RELOAD,
                      ready, go], tmp_path / "stdout")
    t.wait_attached()
    wait_for(lambda: ready.exists(), what="phase 1")
    conf.write_text("event = sys._getframe\n")
    t.signal(signal.SIGHUP)
    wait_for(lambda: re.search(r"SIGHUP: event filters of .*c\.conf applied", t.stderr),
             what=f"the new filter; stderr:\n{t.stderr}")
    go.touch()
    res = t.result()
    assert res.returncode == 0, res
    own = json.loads(res.stdout.strip().splitlines()[-1])
    assert own["builtins.id"][0] == 3000 and own["sys._getframe"][1] == 4000, own
    recs = [r for r in parse_json_lines(out.read_bytes()) if r.get("type") == "summary"]
    assert len(recs) == 1, recs
    got = {e["event"]: e["count"] for e in recs[0]["events"]}
    assert got == {"builtins.id": 3000, "sys._getframe": 4000}, got



FORKED = r'''
import os, sys, time
n, k = int(sys.argv[1]), int(sys.argv[2])
# All on one CPU: a freed kernel stack goes to that CPU's cache, where the next fork takes it.
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
for c in range(k):
    pid = os.fork()
    if pid == 0:
        for i in range(n):
            id(i)
        os._exit(0)
    os.waitpid(pid, 0)
    # Time for the ended child's kernel stack to be freed, and maybe given to the next.
    time.sleep(0.03)
'''


@pytest.mark.parametrize("interp", PROBE + FALLBACK[1:2])
def test_forked_children_counted_apart(interp, tmp_path):
    """System-wide -c, children forked one after the other, each raising the same C-level
    event from the same place. The name lies on a page a child never touched, which the
    kernel cannot read from the child: it is known from the file instead. A child may also get
    the kernel stack the one before left, which -c's fast path (no helper call for a task it
    remembers) must not take for it. Each child is a process of its own in the summary, and
    the counts add up."""
    n, k = 500, 24
    out = tmp_path / "out.jsonl"
    # Running already: its file is attached when the tracer starts, not on a later exec.
    sleeper = subprocess.Popen([interp.exe, "-c", "import time; time.sleep(600)"])
    t = Tracer(["-c", "-j", "-e", "builtins.id", "-o", out], tmp_path / "stdout")
    try:
        t.wait_attached()
        p = subprocess.run([interp.exe, "-c", FORKED, str(n), str(k)], timeout=TIMEOUT)
        assert p.returncode == 0
        res = t.stop()
    finally:
        t.kill()
        sleeper.kill()
        sleeper.wait()
    recs = [r for r in parse_json_lines(out.read_bytes()) if r.get("type") == "summary"]
    ev = {e["event"]: e for e in recs[-1]["events"]}
    assert ev["builtins.id"]["count"] == n * k, ev
    assert ev["builtins.id"]["processes"] == k, ev



@pytest.mark.parametrize("mode", ["fork", "thread"])
def test_short_lived_tasks_counted_apart(tmp_path, mode):
    """-f: children (or threads) one after the other, each raising the same C-level event from
    the same place, on a page of the interpreter a forked child never touched (its name comes
    from the file). Every child is its own process in the summary, and the counts add up."""
    n, k = 700, 24
    code = FORKED
    if mode == "thread":
        code = ("import sys, threading\n"
                "n, k = int(sys.argv[1]), int(sys.argv[2])\n"
                "def work():\n"
                "    for i in range(n):\n"
                "        id(i)\n"
                "for c in range(k):\n"
                "    t = threading.Thread(target=work); t.start(); t.join()\n")
    res = run_seatrace("-c", "-j", "-f", "-e", "builtins.id", "--", PY, "-c", code, n, k)
    assert res.returncode == 0, res
    ev = {e["event"]: e for e in summaries(res)[-1]["events"]}
    assert ev["builtins.id"]["count"] == n * k, ev
    assert ev["builtins.id"]["processes"] == (k if mode == "fork" else 1), ev
