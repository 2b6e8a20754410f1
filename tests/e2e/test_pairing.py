# SPDX-License-Identifier: MIT
"""Pairing of events into spans (user/pair.h), end to end: Seagrass-style runtime events
(workloads/pair_hooks.py raises them exactly as Seagrass does with raise_runtime_events=True),
CPython's own paired events, user rules, and the edge cases: calls cut short by a kill, calls
begun before seatrace attached, --no-pair, the text format.

Every complete span is checked against the raw events printed beside it: its start_ts is
the ts of the very prehook event (same args), and start_ts + duration_ns is the ts of the
very posthook event. Timestamps are compared exactly, as decimals."""
import json
import os
import pty
import re
import select
import signal
import subprocess
import time
from decimal import Decimal

import pytest

import interpreters
from conftest import (PY, SEATRACE, TIMEOUT, WORKLOADS, assert_clean_error, assert_value,
                      parse_json_lines, run_seatrace, trace_code, trace_script)

SPAN_KEYS = ["type", "seq", "ts", "ts_ns", "pid", "tid", "comm", "name", "pre_event",
             "post_event", "pre_args", "post_args", "start_ts", "duration_ns", "depth",
             "unfinished", "no_pre", "ambiguous"]
# The process context after them, in this order, each when known (test_context.py).
CONTEXT_KEYS = ["uid", "gid", "loginuid", "ppid", "exe", "cgroup", "container_id", "nspid"]


# ---------------------------------------------------------------------------
# Helpers


def exact_records(res_or_bytes):
    """The JSON records with numbers exact (timestamps as Decimal)."""
    data = res_or_bytes if isinstance(res_or_bytes, bytes) else res_or_bytes.output
    parse_json_lines(data)  # well-formed, line by line
    return [json.loads(l, parse_float=Decimal) for l in data.decode("utf-8").splitlines()
            if not l.startswith('{"type":"header"')]


def spans_of(recs, name=None):
    out = [r for r in recs if r.get("type") == "span"]
    for s in out:
        keys = list(s.keys())
        assert keys[:len(SPAN_KEYS)] == SPAN_KEYS, f"span keys/order: {keys}"
        rest = keys[len(SPAN_KEYS):]
        assert rest == [k for k in CONTEXT_KEYS if k in rest], f"span keys/order: {keys}"
    if name is not None:
        out = [s for s in out if s["name"] == name]
    return out


def events_of(recs, name):
    return [r for r in recs if r.get("type") == "event" and r["event"] == name]


def check_complete_span(recs, span, depth=None):
    """A span with both sides: flags clear, its times are those of its own two raw events
    (found by name, pid and exact args), and it is written after its posthook event."""
    __tracebackhide__ = True
    assert span["unfinished"] is False and span["no_pre"] is False, span
    assert span["ambiguous"] is False, span
    assert isinstance(span["duration_ns"], int) and span["duration_ns"] >= 0, span
    assert isinstance(span["start_ts"], Decimal) and span["ts"] == span["start_ts"], span
    pre = [e for e in events_of(recs, span["pre_event"])
           if e["pid"] == span["pid"] and e["args"] == span["pre_args"]]
    assert len(pre) == 1, f"no single pre event for {span}: {pre}"
    pre = pre[0]
    assert span["start_ts"] == pre["ts"], (span, pre)
    assert span["tid"] == pre["tid"] and span["comm"] == pre["comm"], (span, pre)
    # Results need not be unique (threads): the post is the one at start + duration.
    end = pre["ts"] + Decimal(span["duration_ns"]) / Decimal(10**9)
    posts = [e for e in events_of(recs, span["post_event"])
             if e["pid"] == span["pid"] and e["args"] == span["post_args"]]
    post = [e for e in posts if e["ts"] == end]
    assert len(post) == 1, f"no post event at start_ts + duration_ns for {span}: {posts}"
    post = post[0]
    assert recs.index(span) > recs.index(post), "span written before its post event"
    if depth is not None:
        assert span["depth"] == depth, span
    return pre, post


def assert_span(span, name, pre_event, post_event, pre_args, post_args):
    __tracebackhide__ = True
    assert span["name"] == name, span
    assert span["pre_event"] == pre_event and span["post_event"] == post_event, span
    assert_value(span["pre_args"], pre_args, f"pre_args of {name}")
    assert_value(span["post_args"], post_args, f"post_args of {name}")


def check_after(recs, tag, tid=None):
    """The after(tag) call made once the thread's other spans were closed: depth 0."""
    __tracebackhide__ = True
    spans = [s for s in spans_of(recs, "after") if s["pre_args"] == [[tag], {}]]
    assert len(spans) == 1, spans_of(recs, "after")
    assert_span(spans[0], "after", "prehook:after", "posthook:after", [[tag], {}], [tag])
    check_complete_span(recs, spans[0], depth=0)
    if tid is not None:
        assert spans[0]["tid"] == tid, spans[0]


def scenario(name, *opts):
    res = trace_script("pair_scenarios.py", *opts, script_args=[name])
    assert res.returncode == 0, res
    recs = exact_records(res)
    assert events_of(recs, "pair.done")[0]["args"] == [name], res
    return res, recs


# ---------------------------------------------------------------------------
# Seagrass-style prehook:NAME / posthook:NAME


def test_nested_calls():
    res, recs = scenario("nested")
    g, f = spans_of(recs)  # the inner call ends, and is written, first
    assert_span(g, "g", "prehook:g", "posthook:g", [[2], {}], [102])
    assert_span(f, "f", "prehook:f", "posthook:f", [[1], {"k": "v"}], [1020])
    check_complete_span(recs, g, depth=1)
    check_complete_span(recs, f, depth=0)
    assert f["duration_ns"] >= g["duration_ns"]
    assert f["start_ts"] <= g["start_ts"]
    assert f["pid"] == f["tid"] == g["tid"]
    assert f["comm"] == "python3.11"


def test_recursion_five_nested_spans():
    res, recs = scenario("recursive")
    spans = spans_of(recs, "fact")
    assert len(spans) == 5, spans
    facts = {1: 1, 2: 2, 3: 6, 4: 24, 5: 120}
    # Innermost first: fact(1) at depth 4, ..., fact(5) at depth 0.
    for span, n in zip(spans, (1, 2, 3, 4, 5)):
        assert_span(span, "fact", "prehook:fact", "posthook:fact", [[n], {}], [facts[n]])
        check_complete_span(recs, span, depth=5 - n)
    starts = [s["start_ts"] for s in spans]
    assert starts == sorted(starts, reverse=True)


def test_deep_recursion_depth():
    """40 nested calls: depths 39 down to 0 in JSON."""
    res = run_seatrace(
        "-j", "-e", "prehook:deep,posthook:deep", "--", PY, "-c",
        "import sys\nsys.path.insert(0, sys.argv[1])\nfrom pair_hooks import audit\n"
        "@audit('deep')\ndef deep(n):\n    return n if n == 0 else deep(n - 1) + 1\n"
        "assert deep(39) == 39\n", WORKLOADS)
    assert res.returncode == 0, res
    recs = exact_records(res)
    spans = spans_of(recs, "deep")
    assert len(spans) == 40
    for k, span in enumerate(spans):  # deep(0) first, at depth 39
        assert_span(span, "deep", "prehook:deep", "posthook:deep", [[k], {}], [k])
        check_complete_span(recs, span, depth=39 - k)


def test_raising_call_posthook_none():
    res, recs = scenario("raising")
    boom, ok = spans_of(recs)
    assert_span(boom, "boom", "prehook:boom", "posthook:boom", [["bad"], {}], [None])
    check_complete_span(recs, boom, depth=0)
    # The posthook came from the wrapper's finally, before the handler outside ran.
    caught = events_of(recs, "pair.caught")
    assert [c["args"] for c in caught] == [["bad"]]
    post = events_of(recs, "posthook:boom")[0]
    assert recs.index(post) < recs.index(caught[0])
    assert post["ts"] <= caught[0]["ts"]
    # The next call, from the same place, is paired on its own.
    assert_span(ok, "ok", "prehook:ok", "posthook:ok", [[3], {}], [6])
    check_complete_span(recs, ok, depth=0)


def test_threads_each_span_pairs_its_own_call():
    res, recs = scenario("threaded")
    spans = spans_of(recs, "work")
    assert len(spans) == 200, len(spans)
    seen = set()
    for s in spans:
        assert s["pre_event"] == "prehook:work" and s["post_event"] == "posthook:work"
        (tid, i), kwargs = s["pre_args"]
        assert kwargs == {}
        assert s["post_args"] == [i * 2], s
        assert s["tid"] == tid, f"span on tid {s['tid']}, call made on {tid}: {s}"
        assert s["pid"] != tid
        _, post = check_complete_span(recs, s, depth=0)
        assert post["tid"] == tid, (s, post)
        seen.add((tid, i))
    tids = {t for t, _ in seen}
    assert len(tids) == 4 and seen == {(t, i) for t in tids for i in range(50)}
    # The calls did overlap: in each round, every thread's prehook before any posthook.
    for i in range(50):
        pres = [e["ts"] for e in events_of(recs, "prehook:work") if e["args"][0][1] == i]
        posts = [e["ts"] for e in events_of(recs, "posthook:work") if e["args"] == [i * 2]]
        assert len(pres) == len(posts) == 4 and max(pres) < min(posts), i


def test_asyncio_interleaved_tasks():
    res, recs = scenario("asyncio_tasks")
    # The raw order is what the workload promises: pre A, B, C, then post A, C, B.
    hooks = [(r["event"], r["args"]) for r in recs if r.get("type") == "event"
             and r["event"] in ("prehook:job", "posthook:job")]
    assert hooks == [("prehook:job", [["A"], {"n": 1}]), ("prehook:job", [["B"], {"n": 2}]),
                     ("prehook:job", [["C"], {"n": 3}]), ("posthook:job", ["A-result"]),
                     ("posthook:job", ["C-result"]), ("posthook:job", ["B-result"])], hooks
    spans = spans_of(recs, "job")
    assert len(spans) == 3, spans
    for span, (tag, n) in zip(spans, (("A", 1), ("C", 3), ("B", 2))):
        assert_span(span, "job", "prehook:job", "posthook:job", [[tag], {"n": n}],
                    [f"{tag}-result"])
        check_complete_span(recs, span)
    assert len({s["tid"] for s in spans}) == 1
    check_after(recs, "asyncio", spans[0]["tid"])


def test_asyncio_many_tasks_random_interleaving():
    res, recs = scenario("asyncio_many")
    spans = spans_of(recs, "job2")
    assert len(spans) == 40, len(spans)
    # The interleaving is not nested (else last-in first-out would do).
    order = [r["event"] for r in recs if r.get("type") == "event"
             and r["event"] in ("prehook:job2", "posthook:job2")]
    assert len(order) == 80 and order.index("posthook:job2") < 39, order
    for span in spans:
        (i,), kwargs = span["pre_args"]
        assert kwargs == {} and span["post_args"] == [i * i], span
        check_complete_span(recs, span)
    assert sorted(s["pre_args"][0][0] for s in spans) == list(range(40))
    check_after(recs, "asyncio_many", spans[0]["tid"])


@pytest.mark.parametrize("python", ["debian-3.11", "pyenv-3.11"])
def test_asyncio_depth_is_call_nesting(python):
    """Concurrent tasks do not nest: depth counts the open spans on the task's own call chain
    (probe and uprobe fallback)."""
    exe = interpreters.by_name(python).exe
    res = run_seatrace("-j", "--", exe, str(WORKLOADS / "pair_scenarios.py"), "asyncio_depth")
    assert res.returncode == 0, res
    recs = exact_records(res)
    pres = [e["args"][0] for e in events_of(recs, "prehook:top")]
    assert pres == [["0"], ["1"], ["2"]], pres
    # All three were open at once: the first posthook came after the last prehook.
    order = [r["event"] for r in recs if r.get("type") == "event"
             and r["event"] in ("prehook:top", "posthook:top")]
    assert order[:3] == ["prehook:top"] * 3, order
    tops = spans_of(recs, "top")
    assert sorted(s["pre_args"][0][0] for s in tops) == ["0", "1", "2"], tops
    for span in tops:
        tag = span["pre_args"][0][0]
        assert span["post_args"] == ["1-inner" if tag == "1" else tag], span
        check_complete_span(recs, span, depth=0)
    (inner,) = spans_of(recs, "inner")
    assert_span(inner, "inner", "prehook:inner", "posthook:inner", [["1"], {}], ["1-inner"])
    check_complete_span(recs, inner, depth=1)
    check_after(recs, "asyncio_depth", inner["tid"])


def test_generators_interleaved():
    res, recs = scenario("generators")
    hooks = [(r["event"], r["args"]) for r in recs if r.get("type") == "event"
             and r["event"] in ("prehook:gen", "posthook:gen")]
    assert hooks == [("prehook:gen", [["A"], {}]), ("prehook:gen", [["B"], {}]),
                     ("posthook:gen", ["A-done"]), ("posthook:gen", ["B-done"])], hooks
    a, b = spans_of(recs, "gen")
    assert_span(a, "gen", "prehook:gen", "posthook:gen", [["A"], {}], ["A-done"])
    assert_span(b, "gen", "prehook:gen", "posthook:gen", [["B"], {}], ["B-done"])
    check_complete_span(recs, a)
    check_complete_span(recs, b)
    check_after(recs, "generators", a["tid"])


def test_generator_finished_on_another_thread():
    """pair.h: the post may come from another thread; the span is the pre's (pid, tid)."""
    res, recs = scenario("gen_thread")
    other = events_of(recs, "pair.tid")[0]["args"][0]
    (span,) = spans_of(recs, "moved")
    assert_span(span, "moved", "prehook:moved", "posthook:moved", [["M"], {}], ["M-done"])
    pre, post = check_complete_span(recs, span, depth=0)
    assert post["tid"] == other != pre["tid"] == span["tid"] == span["pid"]
    # Neither thread is left counting the moved span as open.
    check_after(recs, "other", other)
    check_after(recs, "main", span["pid"])


def test_fork_inside_span():
    """-f: the child goes on with the call it was forked in. Its posthook closes the child's
    copy of the span (the parent's prehook, the child's pid), never the parent's own."""
    res, recs = scenario("forked", "-f")
    child = events_of(recs, "pair.child")[0]["args"][0]
    parent = events_of(recs, "pair.done")[0]["pid"]
    assert child != parent
    spans = spans_of(recs, "forked")
    assert len(spans) == 2, spans
    c = [s for s in spans if s["pid"] == child]
    p = [s for s in spans if s["pid"] == parent]
    assert len(c) == len(p) == 1, spans
    assert_span(p[0], "forked", "prehook:forked", "posthook:forked", [[], {}], ["parent"])
    check_complete_span(recs, p[0], depth=0)
    assert_span(c[0], "forked", "prehook:forked", "posthook:forked", [[], {}], ["child"])
    assert c[0]["no_pre"] is False and c[0]["unfinished"] is False, c[0]
    assert c[0]["ambiguous"] is False and c[0]["tid"] == child and c[0]["depth"] == 0
    # Its start is the parent's prehook (the one call both went on with), its end the
    # child's posthook.
    (pre,) = events_of(recs, "prehook:forked")
    assert pre["pid"] == parent and c[0]["start_ts"] == pre["ts"] == p[0]["start_ts"]
    (post,) = [e for e in events_of(recs, "posthook:forked") if e["pid"] == child]
    assert c[0]["start_ts"] + Decimal(c[0]["duration_ns"]) / Decimal(10**9) == post["ts"]


def test_open_spans_bounded_in_bytes(tmp_path):
    """pair.h: at most 64 MiB of pre record copies are kept; opening one more evicts the
    oldest. 3000 open spans of about 28 KiB each: the oldest k are evicted (unfinished,
    their posts no_pre), the 3000 - k others pair; with records between 28 KiB (the string
    data) and 32 KiB (the most a record holds), 2048 <= 3000 - k <= 2340."""
    out = tmp_path / "ev.jsonl"
    # 128 MiB of ring: all 86 MB of records fit even if the reader never ran.
    res = trace_script("pair_scenarios.py", "--buffer-size", "128M", "--stats", "-s", "4096",
                       "-o", out, "-e", "prehook:big,posthook:big", script_args=["big_open"],
                       out_path=out)
    try:
        assert res.returncode == 0, res
        assert res.stats.get("records lost (ring buffer full)") == 0, res.stderr
        evicted, no_pre, paired = [], [], []
        nevents = 0
        with open(out, "rb") as f:
            for line in f:
                if line.startswith(b'{"type":"header"'):
                    continue
                if not line.startswith(b'{"type":"span"'):
                    nevents += 1
                    continue
                s = json.loads(line)
                if s["unfinished"]:
                    assert s["post_args"] is None
                    evicted.append(s["pre_args"][0][0])
                elif s["no_pre"]:
                    assert s["pre_args"] is None
                    no_pre.append(s["post_args"][0])
                else:
                    i = s["pre_args"][0][0]
                    assert s["pre_args"] == [[i] + [chr(97 + k) * 4096 for k in range(7)],
                                             {}]
                    assert s["post_args"] == [i] and not s["ambiguous"], s["post_args"]
                    paired.append(i)
    finally:
        out.unlink(missing_ok=True)
    assert nevents == 6000
    k = len(evicted)
    assert evicted == list(range(k)) and no_pre == list(range(k)), (evicted[:5], no_pre[:5])
    assert paired == list(range(k, 3000))
    assert 2048 <= 3000 - k <= 2340, k


@pytest.mark.parametrize("follow", [False, True])
def test_exec_inside_span(follow):
    """A span open when its process execs never pairs with a post of the new program."""
    res = trace_code("import os, sys\n"
                     "sys.audit('prehook:x', 1)\n"
                     "os.execv(sys.executable, [sys.executable, '-c', "
                     "'import sys; sys.audit(\"pair.new\"); sys.audit(\"posthook:x\", 2)'])\n",
                     *(["-f"] if follow else []), "-e", "prehook:*,posthook:*,pair.*")
    assert res.returncode == 0, res
    recs = exact_records(res)
    assert len(events_of(recs, "pair.new")) == 1, res
    spans = spans_of(recs, "x")
    assert len(spans) == 2, spans
    old = [s for s in spans if s["pre_event"]]
    new = [s for s in spans if s["post_event"]]
    assert len(old) == len(new) == 1, spans
    assert_span(old[0], "x", "prehook:x", None, [1], None)
    assert old[0]["unfinished"] is True
    assert_span(new[0], "x", None, "posthook:x", None, [2])
    assert new[0]["no_pre"] is True


def test_more_open_spans_than_kept(tmp_path):
    """pair.h: at most 65536 spans open; one more evicts the oldest as unfinished, and its
    post, when it comes, is a span without pre."""
    out = tmp_path / "ev.jsonl"
    res = trace_script("pair_scenarios.py", "--buffer-size", "64M", "--stats", "-o", out,
                       "-e", "prehook:many,posthook:many", script_args=["many_open"],
                       out_path=out)
    assert res.returncode == 0, res
    assert res.stats.get("records lost (ring buffer full)") == 0, res.stderr
    n = 65536 + 100
    nevents = 0
    first_post = None
    spans = []
    with open(out, "rb") as f:
        for k, line in enumerate(f):
            if line.startswith(b'{"type":"span"'):
                spans.append((k, json.loads(line)))
            elif not line.startswith(b'{"type":"header"'):
                nevents += 1
                if first_post is None and b'"event":"posthook:many"' in line:
                    first_post = k
    assert nevents == 2 * n
    evicted = [(k, s) for k, s in spans if s["unfinished"]]
    no_pre = [s for _, s in spans if s["no_pre"]]
    paired = [s for _, s in spans if not s["unfinished"] and not s["no_pre"]]
    assert [s["pre_args"] for _, s in evicted] == [[[i], {}] for i in range(100)]
    assert all(k < first_post for k, _ in evicted), "eviction came late"
    assert all(s["post_args"] is None and s["pre_event"] == "prehook:many"
               for _, s in evicted)
    assert [s["post_args"] for s in no_pre] == [[f"{i}-done"] for i in range(100)]
    assert all(s["pre_args"] is None for s in no_pre)
    assert len(paired) == 65536
    assert [s["pre_args"][0][0] for s in paired] == list(range(100, n))
    assert all(s["post_args"] == [f"{s['pre_args'][0][0]}-done"] and not s["ambiguous"]
               and s["duration_ns"] >= 0 for s in paired)


def test_same_frame_reopened_before_its_post():
    """pair.h: a second pre from the frame of one still open closes the old one as
    unfinished, and the new one is ambiguous; a post with no pre at all is no_pre."""
    res = trace_code("import sys\n"
                     "sys.audit('prehook:x', 1)\n"
                     "sys.audit('prehook:x', 2)\n"
                     "sys.audit('posthook:x', 3)\n"
                     "sys.audit('posthook:y', 4)\n", "-e", "prehook:*,posthook:*")
    assert res.returncode == 0, res
    recs = exact_records(res)
    x1, x2, y = spans_of(recs)
    assert_span(x1, "x", "prehook:x", None, [1], None)
    assert x1["unfinished"] is True and x1["ambiguous"] is False and x1["no_pre"] is False
    assert x1["duration_ns"] is None
    assert x1["start_ts"] == events_of(recs, "prehook:x")[0]["ts"]
    assert_span(x2, "x", "prehook:x", "posthook:x", [2], [3])
    assert x2["ambiguous"] is True and x2["unfinished"] is False and x2["no_pre"] is False
    assert x2["start_ts"] == events_of(recs, "prehook:x")[1]["ts"]
    assert x2["duration_ns"] >= 0
    assert_span(y, "y", None, "posthook:y", None, [4])
    assert y["no_pre"] is True and y["start_ts"] is None and y["duration_ns"] is None
    assert y["depth"] == 0


def test_names_at_the_limit_non_ascii_and_cut_values():
    """NAME of 118 characters: both names fit in 127 bytes, paired. A non-ASCII NAME. Args
    cut by -s are shown in the span as in the raw events."""
    n118 = "n" * 118
    res = trace_code(f"import sys\nsys.audit('prehook:{n118}', 1)\n"
                     f"sys.audit('posthook:{n118}', 2)\n"
                     "sys.audit('prehook:café', 'abcdefgh')\n"
                     "sys.audit('posthook:café', b'123456')\n",
                     "-s", "4", "-e", "prehook:*,posthook:*")
    assert res.returncode == 0, res
    recs = exact_records(res)
    long, cafe = spans_of(recs)
    assert_span(long, n118, "prehook:" + n118, "posthook:" + n118, [1], [2])
    check_complete_span(recs, long, depth=0)
    assert_span(cafe, "café", "prehook:café", "posthook:café",
                [{"str": "abcd", "length": 8, "truncated": True}],
                [{"bytes": "MTIzNA==", "length": 6, "truncated": True}])
    check_complete_span(recs, cafe, depth=0)


def test_truncated_event_names_not_paired():
    """pair.h: events whose name the probe cut (over 511 bytes) are never paired."""
    long = "n" * 600
    res = trace_code(f"import sys\nsys.audit('prehook:{long}', 1)\n"
                     f"sys.audit('posthook:{long}', 2)\n", "-e", "prehook:*,posthook:*")
    assert res.returncode == 0, res
    recs = exact_records(res)
    assert [r["type"] for r in recs] == ["event", "event"], recs


# ---------------------------------------------------------------------------
# CPython's own paired events


def test_input_from_pipe(tmp_path):
    """The brief's case: input() with stdin a pipe. CPython 3.11 raises builtins.input but
    not builtins.input/result when stdin/stdout are not terminals (the non-interactive
    branch of builtin_input_impl; checked with sys.addaudithook, no tracer involved), so the
    span has its pre side only and is reported unfinished at seatrace's exit."""
    hook = subprocess.run(
        [PY, "-c", "import sys\nsys.addaudithook(lambda e, a: e.startswith('builtins.input') "
         "and print(e, a, file=sys.stderr))\nprint(repr(input('> ')))"],
        input=b"hello\n", capture_output=True, timeout=TIMEOUT)
    assert hook.stdout == b"> 'hello'\n"
    assert hook.stderr == b"builtins.input ('> ',)\n", hook.stderr
    out = tmp_path / "ev.jsonl"
    res = run_seatrace("-j", "-o", out, "--", PY, "-c",
                       "x = input('> ')\nassert x == 'hello'", input=b"hello\n", out_path=out)
    assert res.returncode == 0, res
    assert res.stdout_bytes == b"> ", res
    recs = exact_records(res)
    assert [e["args"] for e in events_of(recs, "builtins.input")] == [["> "]]
    assert events_of(recs, "builtins.input/result") == []
    (span,) = spans_of(recs, "builtins.input")
    assert_span(span, "builtins.input", "builtins.input", None, ["> "], None)
    assert span["unfinished"] is True and span["no_pre"] is False
    assert span["start_ts"] == events_of(recs, "builtins.input")[0]["ts"]


def test_input_from_terminal(tmp_path):
    """input() on a terminal (a pty): builtins.input ('> ',) then builtins.input/result
    ('hello',) make one span."""
    out = tmp_path / "ev.jsonl"
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([SEATRACE, "-j", "-o", out, "--", PY, "-c",
                              "x = input('> ')\nassert x == 'hello', x"],
                             stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    finally:
        os.close(slave)
    try:
        os.write(master, b"hello\n")
        deadline = time.monotonic() + TIMEOUT
        while p.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    os.read(master, 4096)
                except OSError:
                    break
        rc = p.wait(TIMEOUT)
        err = p.stderr.read().decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    assert rc == 0, err
    recs = exact_records(out.read_bytes())
    (span,) = spans_of(recs, "builtins.input")
    assert_span(span, "builtins.input", "builtins.input", "builtins.input/result", ["> "],
                ["hello"])
    check_complete_span(recs, span, depth=0)


def test_sqlite3_connect():
    res = trace_code("import sqlite3\nc = sqlite3.connect(':memory:')\nc.close()")
    assert res.returncode == 0, res
    recs = exact_records(res)
    (span,) = spans_of(recs)
    assert_span(span, "sqlite3.connect", "sqlite3.connect", "sqlite3.connect/handle",
                [":memory:"], [{"type": "sqlite3.Connection"}])
    check_complete_span(recs, span, depth=0)


def test_sqlite3_connect_python_factory():
    """With a Python subclass as factory, CPython 3.11 raises both events from its __init__:
    one frame, one span, the post showing the subclass."""
    res = trace_code("import sqlite3\n"
                     "class MyConn(sqlite3.Connection):\n"
                     "    def __init__(self, *a, **k):\n"
                     "        super().__init__(*a, **k)\n"
                     "sqlite3.connect(':memory:', factory=MyConn).close()\n")
    assert res.returncode == 0, res
    recs = exact_records(res)
    (span,) = spans_of(recs)
    assert_span(span, "sqlite3.connect", "sqlite3.connect", "sqlite3.connect/handle",
                [":memory:"], [{"type": "MyConn"}])
    check_complete_span(recs, span, depth=0)


# ---------------------------------------------------------------------------
# User rules


def test_user_rule():
    res = trace_code("import sys\nsys.audit('enter:job', 1)\nsys.audit('exit:job', 2)\n"
                     "sys.audit('prehook:d', 3)\nsys.audit('posthook:d', 4)",
                     "--pair", "enter:*=exit:*")
    assert res.returncode == 0, res
    recs = exact_records(res)
    job, d = spans_of(recs)
    assert_span(job, "job", "enter:job", "exit:job", [1], [2])
    check_complete_span(recs, job, depth=0)
    # The defaults still apply beside a user rule.
    assert_span(d, "d", "prehook:d", "posthook:d", [3], [4])
    check_complete_span(recs, d, depth=0)


def test_user_rule_exact_names():
    """Exact names on both sides: NAME is the PRE name."""
    res = trace_code("import sys\nsys.audit('a.begin', 'x')\nsys.audit('a.end', 'y')",
                     "--pair", "a.begin=a.end", "-e", "a.*")
    assert res.returncode == 0, res
    recs = exact_records(res)
    (span,) = spans_of(recs)
    assert_span(span, "a.begin", "a.begin", "a.end", ["x"], ["y"])
    check_complete_span(recs, span, depth=0)


def test_user_rule_post_side_wins():
    """pair.h precedence 1: an event matching a rule's POST side is a POST, so under
    '*=*.done' the end marker task.done closes task's span instead of opening one."""
    res = trace_code("import sys\nsys.audit('task', 1)\nsys.audit('task.done', 2)",
                     "--pair", "*=*.done", "-e", "task*")
    assert res.returncode == 0, res
    recs = exact_records(res)
    (span,) = spans_of(recs)
    assert_span(span, "task", "task", "task.done", [1], [2])
    check_complete_span(recs, span, depth=0)


def test_user_rule_interleaved_by_frame():
    """With --pair the kernel records the frame of every event: a user rule's events
    raised from two interleaved generators pair by generator, not last-in first-out."""
    code = ("import sys\n"
            "def g(tag):\n"
            "    sys.audit('enter:job', tag)\n"
            "    yield\n"
            "    sys.audit('exit:job', tag + '-end')\n"
            "a, b = g('A'), g('B')\n"
            "next(a); next(b)\n"
            "for _ in a: pass\n"
            "for _ in b: pass\n")
    res = trace_code(code, "--pair", "enter:*=exit:*", "-e", "enter:*,exit:*")
    assert res.returncode == 0, res
    recs = exact_records(res)
    assert [r["args"] for r in recs if r["type"] == "event"] == [["A"], ["B"], ["A-end"],
                                                                 ["B-end"]]
    a, b = spans_of(recs, "job")
    assert_span(a, "job", "enter:job", "exit:job", ["A"], ["A-end"])
    assert_span(b, "job", "enter:job", "exit:job", ["B"], ["B-end"])
    check_complete_span(recs, a)
    check_complete_span(recs, b)


@pytest.mark.parametrize("spec,pre,post,name", [("begin.*.x=end.*.x", "begin.foo.x",
                                                   "end.foo.x", "foo"),
                                                  ("*.start=*.stop", "dl.start", "dl.stop",
                                                   "dl")])
def test_user_rule_prefix_and_suffix(spec, pre, post, name):
    res = trace_code(f"import sys\nsys.audit({pre!r}, 1)\nsys.audit({post!r}, 2)",
                     "--pair", spec, "-e", f"{pre},{post}")
    assert res.returncode == 0, res
    recs = exact_records(res)
    (span,) = spans_of(recs)
    assert_span(span, name, pre, post, [1], [2])
    check_complete_span(recs, span, depth=0)


def test_rules_are_part_of_the_key():
    """pair.h: two rules yielding the same NAME never pair with each other; the first rule
    added wins for an event's role, and user rules come before the defaults."""
    res = trace_code("import sys\n"
                     "sys.audit('x:a', 1); sys.audit('z:a', 2)\n"
                     "sys.audit('x:b', 3); sys.audit('y:b', 4)\n"
                     "sys.audit('prehook:f', 5); sys.audit('posthook:f', 6)\n"
                     "sys.audit('done:f', 7)\n",
                     "--pair", "x:*=y:*", "--pair", "x:*=z:*", "--pair", "prehook:*=done:*",
                     "-e", "x:*,y:*,z:*,prehook:*,posthook:*,done:*")
    assert res.returncode == 0, res
    recs = exact_records(res)
    za, b, posthook_f, f, xa = spans_of(recs)
    # x:a opened under the first rule (x:*=y:*): z:a, a post of the second, finds no pre.
    assert_span(za, "a", None, "z:a", None, [2])
    assert za["no_pre"] is True
    assert_span(b, "b", "x:b", "y:b", [3], [4])
    check_complete_span(recs, b)
    # prehook:f opened under the user rule: posthook:f (default rule) finds no pre,
    # done:f closes it.
    assert_span(posthook_f, "f", None, "posthook:f", None, [6])
    assert posthook_f["no_pre"] is True
    assert_span(f, "f", "prehook:f", "done:f", [5], [7])
    check_complete_span(recs, f)
    # x:a is still open at the end.
    assert_span(xa, "a", "x:a", None, [1], None)
    assert xa["unfinished"] is True


@pytest.mark.parametrize("spec", ["enter", "a*=b", "a**=b*", "a=b=c", "=b", "a*="])
def test_invalid_pair_spec(spec):
    res = run_seatrace("--pair", spec, "--", PY, "-c", "pass")
    assert_clean_error(res, "--pair", spec)


# ---------------------------------------------------------------------------
# Calls cut short, calls begun before tracing, --no-pair


def check_unfinished_slow(output, pid):
    recs = exact_records(output)
    pre = events_of(recs, "prehook:slow")
    assert [e["args"] for e in pre] == [[["zzz"], {}]], output
    assert events_of(recs, "posthook:slow") == []
    (span,) = spans_of(recs, "slow")
    assert_span(span, "slow", "prehook:slow", None, [["zzz"], {}], None)
    assert span["unfinished"] is True and span["no_pre"] is False
    assert span["ambiguous"] is False
    assert span["duration_ns"] is None
    assert span["start_ts"] == span["ts"] == pre[0]["ts"]
    assert span["pid"] == span["tid"] == pid and span["depth"] == 0
    assert recs.index(span) > recs.index(pre[0]), output


def test_killed_inside_span_attached(procs, tmp_path):
    w = procs.workload("pair_controlled.py", "slow")
    w.expect("ready")
    t = procs.tracer(["-j", "-p", w.pid], tmp_path / "ev.jsonl")
    t.wait_attached()
    w.send("go")
    w.expect("inside")
    w.proc.send_signal(signal.SIGKILL)
    assert w.wait() == -signal.SIGKILL
    res = t.result()  # seatrace exits once the process is gone
    assert res.returncode == 0, res
    check_unfinished_slow(res.output, w.pid)


def test_killed_inside_span_command(tmp_path):
    out = tmp_path / "ev.jsonl"
    p = subprocess.Popen([SEATRACE, "-j", "-o", out, "--", PY,
                          WORKLOADS / "pair_controlled.py", "slow"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = p.stdout.readline().split()
        assert line[0] == b"ready", line
        pid = int(line[1])
        p.stdin.write(b"go\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"inside\n"
        os.kill(pid, signal.SIGKILL)
        rc = p.wait(TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = p.stderr.read().decode()
    assert rc == 128 + signal.SIGKILL, err
    check_unfinished_slow(out.read_bytes(), pid)


def test_posthook_before_tracing_no_pre(procs, tmp_path):
    # early() has raised its prehook when it prints "ready": seatrace is not there yet.
    w = procs.workload("pair_controlled.py", "early")
    w.expect("ready")
    t = procs.tracer(["-j", "-p", w.pid], tmp_path / "ev.jsonl")
    t.wait_attached()
    w.send("go")
    w.expect("done")
    w.close_stdin()
    assert w.wait() == 0
    res = t.result()
    assert res.returncode == 0, res
    recs = exact_records(res)
    assert events_of(recs, "prehook:early") == []
    post = events_of(recs, "posthook:early")
    assert [e["args"] for e in post] == [["early-result"]], res
    assert [e["args"] for e in events_of(recs, "pair.after")] == [[1]]
    (span,) = spans_of(recs)
    assert_span(span, "early", None, "posthook:early", None, ["early-result"])
    assert span["no_pre"] is True and span["unfinished"] is False
    assert span["ambiguous"] is False
    assert span["start_ts"] is None and span["duration_ns"] is None and span["depth"] == 0
    assert span["pid"] == span["tid"] == w.pid
    assert span["ts"] == post[0]["ts"]


def test_exit_of_one_process_leaves_others_spans_open(procs, tmp_path):
    """Two traced processes, each inside a span; one is killed: its span is unfinished,
    while the other's, still open then, completes normally afterwards."""
    ws = procs.workload("pair_controlled.py", "slow")
    wh = procs.workload("pair_controlled.py", "held")
    ws.expect("ready")
    wh.expect("ready")
    t = procs.tracer(["-j", "-p", ws.pid, "-p", wh.pid], tmp_path / "ev.jsonl")
    t.wait_attached(2)
    ws.send("go")
    ws.expect("inside")
    wh.send("go")
    wh.expect("inside")
    ws.proc.send_signal(signal.SIGKILL)
    assert ws.wait() == -signal.SIGKILL
    time.sleep(0.5)  # give seatrace time to see the exit (not a timing assertion)
    wh.send("go")
    wh.expect("done")
    wh.close_stdin()
    assert wh.wait() == 0
    res = t.result()
    assert res.returncode == 0, res
    recs = exact_records(res)
    (slow,) = spans_of(recs, "slow")
    assert slow["unfinished"] is True and slow["pid"] == ws.pid
    assert_span(slow, "slow", "prehook:slow", None, [["zzz"], {}], None)
    (held,) = spans_of(recs, "held")
    assert_span(held, "held", "prehook:held", "posthook:held", [["h"], {}], ["held-result"])
    check_complete_span(recs, held, depth=0)
    assert held["pid"] == wh.pid


@pytest.mark.parametrize("script", ["nested", "asyncio_tasks"])
def test_no_pair(script):
    res, recs = scenario(script, "--no-pair")
    assert [r for r in recs if r.get("type") == "span"] == []
    _, paired = scenario(script)
    hooks = lambda rs: [(r["event"], r["args"]) for r in rs if r.get("type") == "event"
                        and r["event"].startswith(("prehook:", "posthook:"))]
    assert hooks(recs) == hooks(paired) and len(hooks(recs)) >= 4, hooks(recs)
    res = trace_code("import sqlite3\nsqlite3.connect(':memory:').close()", "--no-pair")
    assert res.returncode == 0, res
    assert [r for r in res.records if r.get("type") == "span"] == []
    assert res.one("sqlite3.connect")["args"] == [":memory:"]
    assert res.one("sqlite3.connect/handle")["args"] == [{"type": "sqlite3.Connection"}]


# ---------------------------------------------------------------------------
# Text format

SPAN_LINE = (r"^(\d\d:\d\d:\d\d\.\d{6}) (\d+)/(\d+) python3\.11 == "
             r"(?P<indent>(?:  )*)(?P<rest>\S.*)$")


def test_text_format():
    res = run_seatrace("--", PY, WORKLOADS / "pair_scenarios.py", "nested")
    assert res.returncode == 0, res
    lines = [l for l in res.stdout.splitlines() if re.match(SPAN_LINE, l)]
    assert len(lines) == 2, res
    g = re.match(SPAN_LINE, lines[0])
    f = re.match(SPAN_LINE, lines[1])
    assert g and f, lines
    assert g.group("indent") == "  " and f.group("indent") == "", lines
    assert re.fullmatch(r"g\(\(2,\), \{\}\) -> 102 <\d+\.\d{6}s>", g.group("rest")), lines
    assert re.fullmatch(r"f\(\(1,\), \{'k': 'v'\}\) -> 1020 <\d+\.\d{6}s>",
                        f.group("rest")), lines
    # The span line carries its pre event's time, pid and tid.
    pre_f = [l for l in res.stdout.splitlines() if " prehook:f(" in l]
    assert len(pre_f) == 1 and pre_f[0].split()[:2] == [f.group(1), f"{f.group(2)}/{f.group(3)}"]


def test_text_format_markers():
    res = run_seatrace("-e", "prehook:*,posthook:*", "--", PY, "-c",
                       "import sys\n"
                       "sys.audit('prehook:x', 1)\n"
                       "sys.audit('prehook:x', 2)\n"
                       "sys.audit('posthook:x', 3)\n"
                       "sys.audit('posthook:y', 'r')\n"
                       "sys.audit('prehook:z', (5, 'five'))\n")
    assert res.returncode == 0, res
    rests = [re.match(SPAN_LINE, l) for l in res.stdout.splitlines() if " == " in l]
    assert all(rests), res.stdout
    rests = [m.group("rest") for m in rests]
    assert len(rests) == 4, rests
    assert rests[0] == "x(1) <unfinished>"
    assert re.fullmatch(r"x\(2\) -> 3 <\d+\.\d{6}s> \[ambiguous\]", rests[1]), rests
    assert rests[2] == "y(?) -> 'r' <began before tracing>"
    assert rests[3] == "z((5, 'five')) <unfinished>"
