# SPDX-License-Identifier: MIT
"""seatrace -p PID: attach to running processes; exit when they are all gone;
SIGINT/SIGTERM drain the ring buffer and leave complete JSON lines."""
import re
import signal

import pytest

from conftest import parse_json_lines, wait_for


def start(procs, tmp_path, n=1, opts=("-j", "-e", "seatrace.*"), slow_reader=False):
    ws = [procs.workload("controlled.py") for _ in range(n)]
    for w in ws:
        w.expect("ready")
    args = list(opts)
    for w in ws:
        args += ["-p", w.pid]
    t = procs.tracer(args, tmp_path / "out.jsonl", slow_reader=slow_reader)
    t.wait_attached(n)
    return ws, t


def test_attach_single(procs, tmp_path):
    (w,), t = start(procs, tmp_path)
    line = next(l for l in t.stderr.splitlines() if l.startswith("seatrace: attached:"))
    assert re.search(rf"\b{w.pid}\b", line), line
    w.send("event hello wörld")
    w.expect("done")
    w.send("thread")
    tid = int(w.expect("done").split()[1])
    w.send("exit 0")
    assert w.wait() == 0
    res = t.result()  # seatrace exits by itself once the process is gone
    assert res.returncode == 0, res
    evs = res.events
    assert [e["event"] for e in evs] == ["seatrace.p", "seatrace.thread"], evs
    assert evs[0]["args"] == ["hello", "wörld"]
    assert evs[0]["pid"] == evs[0]["tid"] == w.pid
    assert evs[0]["comm"] == "python3.11"
    assert evs[1]["args"] == [tid] and evs[1]["tid"] == tid and evs[1]["pid"] == w.pid
    assert tid != w.pid


def test_attach_does_not_see_earlier_events(procs, tmp_path):
    (w,), t = start(procs, tmp_path)
    w.send("exit 0")
    w.wait()
    res = t.result()
    assert res.returncode == 0
    assert res.named("seatrace.before") == []
    assert res.events == []


def test_same_pid_twice_is_traced_once(procs, tmp_path):
    """-p X -p X: one target, each event once."""
    w = procs.workload("controlled.py")
    w.expect("ready")
    t = procs.tracer(["-j", "-e", "seatrace.*", "-p", w.pid, "-p", w.pid], tmp_path / "out.jsonl")
    t.wait_attached()
    w.send("event once")
    w.expect("done")
    w.send("exit 0")
    assert w.wait() == 0
    res = t.result()
    assert res.returncode == 0, res
    assert [e["args"] for e in res.named("seatrace.p")] == [["once"]], res


def test_attach_two_processes(procs, tmp_path):
    (w1, w2), t = start(procs, tmp_path, n=2)
    attached = [l for l in t.stderr.splitlines() if l.startswith("seatrace: attached:")]
    assert len(attached) == 2
    assert any(str(w1.pid) in l for l in attached) and any(str(w2.pid) in l for l in attached)
    w1.send("event one")
    w1.expect("done")
    w2.send("event two")
    w2.expect("done")
    w1.send("burst 100")
    w2.send("burst 100")
    w1.expect("done")
    w2.expect("done")
    w1.send("exit 0")
    w1.wait()
    # still tracing the second one
    w2.send("event three")
    w2.expect("done")
    w2.send("exit 0")
    w2.wait()
    res = t.result()
    assert res.returncode == 0, res
    by_pid = {w1.pid: [], w2.pid: []}
    for e in res.events:
        by_pid[e["pid"]].append((e["event"], e["args"]))
    burst = [("seatrace.burst", [i]) for i in range(100)]
    assert by_pid[w1.pid] == [("seatrace.p", ["one"])] + burst
    assert by_pid[w2.pid] == [("seatrace.p", ["two"])] + burst + [("seatrace.p", ["three"])]


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_traced_process_ends(procs, tmp_path, how):
    (w,), t = start(procs, tmp_path)
    if how == "exit":
        w.send("exit 3")
        assert w.wait() == 3
    else:
        w.kill()
    res = t.result()
    assert res.returncode == 0, res
    assert res.events == []


def test_one_of_two_ends_first(procs, tmp_path):
    (w1, w2), t = start(procs, tmp_path, n=2)
    w1.kill()
    w2.send("event still-here")
    w2.expect("done")
    assert t.proc.poll() is None  # the second one is still alive
    w2.send("exit 0")
    w2.wait()
    res = t.result()
    assert res.returncode == 0
    assert [(e["pid"], e["args"]) for e in res.events] == [(w2.pid, ["still-here"])]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_drains_and_exits_0(procs, tmp_path, sig):
    n = 20000
    (w,), t = start(procs, tmp_path, opts=("-j", "-e", "seatrace.*", "--stats"))
    w.send(f"burst {n}")
    w.expect("done")
    t.signal(sig)
    res = t.result()
    assert res.returncode == 0, res
    assert w.proc.poll() is None  # the traced process is left alone
    recs = res.records  # every line parses
    assert res.lost == [], res.stderr
    assert [e["args"][0] for e in res.named("seatrace.burst")] == list(range(n))
    assert len(recs) == n


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_while_busy_leaves_complete_lines(procs, tmp_path, sig):
    (w,), t = start(procs, tmp_path)
    w.send("busy")
    w.expect("busy")
    wait_for(lambda: t.output_size() > 0, what="some output")
    t.signal(sig)
    res = t.result()
    assert res.returncode == 0, res
    recs = parse_json_lines(res.output)
    seq = [r["args"][0] for r in recs if r.get("type") == "event"]
    assert seq and seq[0] == 0
    assert seq == sorted(seq) and len(set(seq)) == len(seq)
    if not res.lost:
        assert seq == list(range(len(seq)))
    assert w.proc.poll() is None


def test_signal_stops_promptly_under_sustained_load(procs, tmp_path):
    """A busy traced process and a slow reader of seatrace's output: after SIGINT,
    seatrace detaches, writes what is left in its (small) ring buffer and exits. It must
    not go on draining a ring that the still-running process keeps refilling."""
    (w,), t = start(procs, tmp_path, opts=("-j", "-e", "seatrace.*", "--buffer-size", "64K"),
                    slow_reader=True)
    w.send("busy")
    w.expect("busy")
    wait_for(lambda: t.output_size() > 0, what="some output")
    t.signal(signal.SIGINT)
    # hang guard: what is left then (a 64 KiB ring, a pipe, stdio's buffer) is written in
    # about a second at the slow rate; 30 s are needed only if seatrace kept tracing
    res = t.result(timeout=30)
    assert res.returncode == 0, res
    parse_json_lines(res.output)
    assert w.proc.poll() is None


def test_text_mode_attach(procs, tmp_path):
    (w,), t = start(procs, tmp_path, opts=("-e", "seatrace.*"))
    w.send("event a b")
    w.expect("done")
    w.send("exit 0")
    w.wait()
    res = t.result()
    assert res.returncode == 0
    lines = res.stdout.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(rf"\d\d:\d\d:\d\d\.\d{{6}} {w.pid}/{w.pid} python3\.11 "
                        r"seatrace\.p\('a', 'b'\)", lines[0]), lines[0]
