# SPDX-License-Identifier: MIT
"""strace's habits (issue 13): -t, -tt, -ttt, -r, -T on text lines, -ff per-process files,
grouped --help. Each time is checked against clocks read inside the traced process around
the event that carries it: CLOCK_MONOTONIC (the kernel's own clock for records: exact
brackets) for -r and -T, CLOCK_REALTIME for the absolute stamps (mapped from the kernel's
clock by seatrace, re-derived every second: a slack of WALL_SLACK_NS allows for NTP slewing
between derivations, nothing else)."""
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import PY, PYENV_PY, SEATRACE, TIMEOUT, assert_clean_error, run_seatrace, wait_for

WALL_SLACK_NS = 2_000_000

# N events c13.mark(i), each bracketed by both clocks; printed as JSON on stdout.
MARKS = r"""
import json, sys, time
out = []
for i in range(int(sys.argv[1])):
    b_real, b_mono = time.time_ns(), time.monotonic_ns()
    sys.audit("c13.mark", i)
    a_mono, a_real = time.monotonic_ns(), time.time_ns()
    out.append((b_real, a_real, b_mono, a_mono))
    time.sleep(0.002 * (i % 3))
print("C13 " + json.dumps(out), flush=True)
"""

# Spans prehook:c13.call -> posthook:c13.call, a sleep of i ms inside, bracketed outside
# (before the prehook, after the posthook) and inside (after the prehook returns, before
# the posthook is raised) on CLOCK_MONOTONIC; and an open(2) of a unique path, bracketed.
SPANS = r"""
import json, os, sys, time
out, path = [], sys.argv[2]
for i in range(int(sys.argv[1])):
    t0 = time.monotonic_ns()
    sys.audit("prehook:c13.call", i)
    t1 = time.monotonic_ns()
    time.sleep(0.001 * i)
    t2 = time.monotonic_ns()
    sys.audit("posthook:c13.call", i)
    t3 = time.monotonic_ns()
    out.append((t0, t1, t2, t3))
t0 = time.monotonic_ns()
fd = os.open(path, os.O_RDONLY)
t1 = time.monotonic_ns()
os.close(fd)
print("C13 " + json.dumps({"spans": out, "open": [t0, t1]}), flush=True)
"""

HEAD = r"(?P<pid>\d+)/(?P<tid>\d+) python3(\.11)? "
MARK_RE = HEAD + r"c13\.mark\((?P<i>\d+)\)$"


def run_marks(tmp_path, *opts, n=8, python=PY):
    script = tmp_path / "marks.py"
    script.write_text(MARKS)
    out = tmp_path / f"trace{len(list(tmp_path.iterdir()))}.txt"  # -o appends: a new one
    res = run_seatrace(*opts, "-e", "c13.*", "-o", out, "--", python, script, n)
    assert res.returncode == 0, res
    m = re.search(r"^C13 (.*)$", res.stdout, re.M)
    assert m, res
    brackets = json.loads(m.group(1))
    lines = out.read_text().splitlines()
    assert len(lines) == n, lines
    return lines, brackets


def parse(lines, stamp_re):
    got = []
    for line in lines:
        m = re.match(stamp_re + " " + MARK_RE, line)
        assert m, f"{line!r} does not match {stamp_re!r}"
        got.append(m)
    assert [int(m["i"]) for m in got] == list(range(len(lines)))
    return got


def local_tod_ns(real_ns):
    """Nanoseconds since local midnight of a CLOCK_REALTIME time."""
    tm = time.localtime(real_ns // 1_000_000_000)
    return (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) * 1_000_000_000 + \
        real_ns % 1_000_000_000


def check_within(stamp_ns, unit_ns, lo_ns, hi_ns, what):
    """stamp_ns, cut to unit_ns, of a time in [lo_ns, hi_ns] (+- the slack)."""
    lo = (lo_ns - WALL_SLACK_NS) // unit_ns * unit_ns
    hi = hi_ns + WALL_SLACK_NS
    assert lo <= stamp_ns <= hi, f"{what}: {stamp_ns} not in [{lo}, {hi}]"


def test_t_time_of_day_seconds(tmp_path):
    lines, br = run_marks(tmp_path, "-t")
    for m, (b_real, a_real, _, _) in zip(parse(lines, r"(\d\d):(\d\d):(\d\d)"), br):
        h, mi, s = (int(x) for x in m.groups()[:3])
        tod = (h * 3600 + mi * 60 + s) * 1_000_000_000
        check_within(tod, 1_000_000_000, local_tod_ns(b_real), local_tod_ns(a_real), "-t")


def test_tt_time_of_day_microseconds(tmp_path):
    lines, br = run_marks(tmp_path, "-tt")
    for m, (b_real, a_real, _, _) in zip(parse(lines, r"(\d\d):(\d\d):(\d\d)\.(\d{6})"), br):
        h, mi, s, us = (int(x) for x in m.groups()[:4])
        tod = (h * 3600 + mi * 60 + s) * 1_000_000_000 + us * 1000
        check_within(tod, 1000, local_tod_ns(b_real), local_tod_ns(a_real), "-tt")


@pytest.mark.parametrize("python", [PY, PYENV_PY], ids=["probe", "fallback"])
def test_ttt_epoch_microseconds(tmp_path, python):
    lines, br = run_marks(tmp_path, "-ttt", python=python)
    for m, (b_real, a_real, _, _) in zip(parse(lines, r"(\d{10,})\.(\d{6})"), br):
        stamp = int(m.group(1)) * 1_000_000_000 + int(m.group(2)) * 1000
        check_within(stamp, 1000, b_real, a_real, "-ttt")


def test_timestamps_unix_ns(tmp_path):
    lines, br = run_marks(tmp_path, "--timestamps=unix,ns")
    for m, (b_real, a_real, _, _) in zip(parse(lines, r"(\d{10,})\.(\d{9})"), br):
        stamp = int(m.group(1)) * 1_000_000_000 + int(m.group(2))
        check_within(stamp, 1, b_real, a_real, "--timestamps=unix,ns")


def test_r_deltas_sum_to_the_elapsed_time(tmp_path):
    """-r in nanoseconds: each delta is the kernel's time between two events, so the deltas
    after the first (0) add up to the last event's time minus the first's, which lies
    between the in-process brackets on the same clock."""
    lines, br = run_marks(tmp_path, "--relative-timestamps=ns", n=12)
    got = parse(lines, r" *(-?\d+)\.(\d{9})")
    deltas = [int(m.group(1)) * 1_000_000_000 + int(m.group(2)) for m in got]
    assert deltas[0] == 0
    assert all(d > 0 for d in deltas[1:]), deltas
    total = sum(deltas)
    # first event in [b0, a0], last in [bN, aN]
    assert br[-1][2] - br[0][3] <= total <= br[-1][3] - br[0][2], (total, br[0], br[-1])
    # Each one, too, between its neighbours' brackets.
    for k in range(1, len(deltas)):
        assert br[k][2] - br[k - 1][3] <= deltas[k] <= br[k][3] - br[k - 1][2], k


def test_r_is_stracelike(tmp_path):
    """strace -r: '%6ld.%06ld ' alone; with -t '(+%6ld.%06ld)' after the stamp."""
    lines, _ = run_marks(tmp_path, "-r", n=3)
    got = parse(lines, r"( {5}\d)\.(\d{6})")
    assert lines[0].startswith("     0.000000 ")
    lines, br = run_marks(tmp_path, "-t", "-r", n=3)
    parse(lines, r"\d\d:\d\d:\d\d \(\+ {5}\d\.\d{6}\)")
    assert re.match(r"\d\d:\d\d:\d\d \(\+     0\.000000\) ", lines[0])


def run_spans(tmp_path, *opts, n=6, python=PY):
    script = tmp_path / "spans.py"
    script.write_text(SPANS)
    target = tmp_path / f"c13-open-{os.getpid()}"
    target.write_text("")
    out = tmp_path / f"trace{len(list(tmp_path.iterdir()))}.txt"
    res = run_seatrace(*opts, "-e", "*c13.call", "-o", out, "--", python, script, n, target)
    assert res.returncode == 0, res
    m = re.search(r"^C13 (.*)$", res.stdout, re.M)
    assert m, res
    return out.read_text().splitlines(), json.loads(m.group(1)), str(target)


@pytest.mark.parametrize("python", [PY, PYENV_PY], ids=["probe", "fallback"])
def test_T_span_durations_within_the_call(tmp_path, python):
    lines, br, _ = run_spans(tmp_path, "-T", python=python)
    spans = [l for l in lines if " == " in l]
    assert len(spans) == len(br["spans"]), lines
    for i, (line, (t0, t1, t2, t3)) in enumerate(zip(spans, br["spans"])):
        m = re.search(r" == c13\.call\((\d+)\) -> (\d+) <(\d+)\.(\d{6})>$", line)
        assert m, line
        assert int(m.group(1)) == i and int(m.group(2)) == i
        dur = int(m.group(3)) * 1_000_000_000 + int(m.group(4)) * 1000
        # Cut to microseconds: at most the outer bracket, at least the inner one's cut.
        assert (t2 - t1) // 1000 * 1000 <= dur <= t3 - t0, (line, t0, t1, t2, t3)
    # Without -T the span line keeps seatrace's own '<0.000123s>'.
    lines, _, _ = run_spans(tmp_path, n=2)
    assert all(re.search(r" <\d+\.\d{6}s>$", l) for l in lines if " == " in l), lines


def test_T_syscall_duration(tmp_path):
    """With -S, the open(2) behind os.open ends with its duration, within the bracket."""
    lines, br, target = run_spans(tmp_path, "-S", "-T", "--syscall-times=ns", n=1)
    opens = [l for l in lines if target in l and "open" in l]
    assert len(opens) == 1, lines
    m = re.search(r" <(\d+)\.(\d{9})>$", opens[0])
    assert m, opens[0]
    dur = int(m.group(1)) * 1_000_000_000 + int(m.group(2))
    assert 0 < dur <= br["open"][1] - br["open"][0], (opens[0], br["open"])


# ---------------------------------------------------------------------------------------- -ff

FORKS = r"""
import os, sys, time
kids = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        for j in range(i + 2):
            sys.audit(f"c13.child{i}", j, "x" * i)
        os._exit(0)
    kids.append(pid)
for k in kids:
    os.waitpid(k, 0)
sys.audit("c13.parent", len(kids))
print("KIDS", os.getpid(), *kids, flush=True)
sys.stdin.readline()
sys.audit("c13.parent.end", 0)
"""


def open_files(pid):
    """The paths process pid has open."""
    paths = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            paths.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return paths


def text_events(path):
    """(pid, name, args) of each text line of a -ff file."""
    out = []
    for line in Path(path).read_text().splitlines():
        m = re.match(r"\d\d:\d\d:\d\d\.\d{6} (\d+)/\d+ \S+ ([\w.]+)\((.*)\)$", line)
        assert m, line
        out.append((int(m.group(1)), m.group(2), m.group(3)))
    return out


def json_events(path):
    recs = [json.loads(l) for l in Path(path).read_text().splitlines()]
    assert recs[0]["type"] == "header", recs[:1]
    assert all(r["type"] == "event" for r in recs[1:]), recs
    return [(r["pid"], r["event"], r["args"]) for r in recs[1:]]


@pytest.mark.parametrize("fmt,python", [("text", PY), ("json", PY), ("text", PYENV_PY)],
                         ids=["text", "json", "fallback"])
def test_ff_one_file_per_process_complete_at_its_end(tmp_path, procs, fmt, python):
    """Debian's 3.11 through its probe; pyenv's 3.11 through the uprobe fallback."""
    script = tmp_path / "forks.py"
    script.write_text(FORKS)
    base = tmp_path / "tr"
    opts = ["-j"] if fmt == "json" else []
    p = procs.popen([SEATRACE, *opts, "-ff", "-o", str(base), "-e", "c13.*", "--", python,
                     str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith("KIDS "), (line, p.poll())
    ppid, *kids = [int(x) for x in line.split()[1:]]
    events = json_events if fmt == "json" else text_events

    def quote(i, j):
        return [j, "x" * i] if fmt == "json" else f"{j}, {'x' * i!r}"

    # Each child has ended: its file is complete and closed, while seatrace and the parent run.
    for i, kid in enumerate(kids):
        path = f"{base}.{kid}"
        wait_for(lambda: os.path.exists(path) and path not in open_files(p.pid),
                 what=f"{path} written and closed")
        assert events(path) == [(kid, f"c13.child{i}", quote(i, j)) for j in range(i + 2)]
    assert p.poll() is None
    # The parent goes on: its file stays open.
    ppath = f"{base}.{ppid}"
    wait_for(lambda: ppath in open_files(p.pid), what=f"{ppath} open")
    p.stdin.write("go\n")
    p.stdin.close()
    assert p.wait(TIMEOUT) == 0, p.stderr.read()
    want = [(ppid, "c13.parent", [3] if fmt == "json" else "3"),
            (ppid, "c13.parent.end", [0] if fmt == "json" else "0")]
    assert events(ppath) == want
    # Nothing else: no FILE of its own (no lost records), no other process.
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["forks.py", *(f"tr.{k}" for k in kids), f"tr.{ppid}"])


def test_ff_without_o_is_a_usage_error():
    res = run_seatrace("-ff", "--", PY, "-c", "pass")
    assert res.returncode == 64, res
    assert_clean_error(res, "-ff", "-o FILE")
    assert "attached" not in res.stderr


def test_ff_with_rotation_is_a_usage_error(tmp_path):
    res = run_seatrace("-ff", "-o", tmp_path / "tr", "--rotate-size", "1M", "--", PY, "-c",
                       "pass")
    assert res.returncode == 64, res
    assert_clean_error(res, "-ff", "--rotate-size")
    assert os.listdir(tmp_path) == []


def test_ff_into_a_missing_directory_says_so(tmp_path):
    """FILE itself is made only for records of no process: the directory is checked at
    start, before anything is loaded, and the message names it and -ff."""
    res = run_seatrace("-ff", "-o", tmp_path / "no" / "tr", "--", PY, "-c", "pass")
    assert res.returncode == 1, res
    assert_clean_error(res, f"files in {tmp_path / 'no'}", "-ff")


def test_help_lists_options_in_groups_with_examples():
    res = run_seatrace("--help")
    assert res.returncode == 0, res
    text = res.stdout
    heads = [" What to trace", " Filters", " Output:", " Time on text lines",
             " Service", " Information:", " Tuning:", "EXAMPLES:"]
    at = [text.find(h) for h in heads]
    assert all(a >= 0 for a in at) and at == sorted(at), list(zip(heads, at))
    # Where a flag means something else than strace's, the help says so.
    assert re.search(r"-u, --user=USER.*Not strace's\s+-u", text, re.S)
    assert re.search(r"-v, --verbose.*Not strace's -v", text, re.S)
    # Every option in the man page too.
    man = (Path(SEATRACE).parent / "pkg" / "seatrace.8").read_text()
    for opt in ("--timestamps", "--relative-timestamps", "--syscall-times",
                "--output-separately"):
        assert opt in text and opt.replace("-", r"\-") in man, opt
