# SPDX-License-Identifier: MIT
"""seatrace as a daemon writing files: -o appends, rotation with gzip, SIGHUP (reopen after
logrotate's mv, the configuration's filters re-read), --config, and a SIGKILL at any moment
leaving every file readable. Every event is counted against what the Python process raised.
"""
import gzip
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from conftest import PY, TIMEOUT, parse_json_lines, run_seatrace, wait_for

# Raises seatrace.d(TAG, i) for i in range(N), one after another.
COUNTED = ("import sys\n"
           "tag, n = sys.argv[1], int(sys.argv[2])\n"
           "for i in range(n):\n"
           "    sys.audit('seatrace.d', tag, i)\n")

# Raises NAMES in turn with a shared sequence number, in bursts, until STOP exists; then prints
# how many rounds it raised. Never fast enough to fill the ring buffer.
# With a tag, the events are seatrace.x(TAG, i).
def looping(names, stop, tag=None, pause=0.002):
    return ("import os, sys, time\n"
            f"names, stop, tag = {names!r}, {str(stop)!r}, {tag!r}\n"
            "i = 0\n"
            "while not os.path.exists(stop):\n"
            "    for _ in range(200):\n"
            "        for n in names:\n"
            "            sys.audit(n, tag, i) if tag else sys.audit(n, i)\n"
            "        i += 1\n"
            f"    time.sleep({pause})\n"
            "print('rounds', i, flush=True)\n")


def read_any(path):
    """The bytes of a plain or gzip file: through Python's gzip module for .gz."""
    p = Path(path)
    if p.name.endswith(".gz"):
        with gzip.open(p, "rb") as f:
            return f.read()
    return p.read_bytes()


def zcat(path):
    return subprocess.run(["zcat", str(path)], stdout=subprocess.PIPE, check=True,
                          timeout=TIMEOUT).stdout


def gunzip_t(path):
    r = subprocess.run(["gunzip", "-t", str(path)], capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 0, f"gunzip -t {path}: {r.stderr!r}"


def rotated(out, ext):
    """FILE.N<ext> that exist, oldest (highest N) first."""
    pat = re.compile(re.escape(out.name) + r"\.(\d+)" + re.escape(ext) + "$")
    found = [(int(m.group(1)), p) for p in out.parent.iterdir()
             if (m := pat.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def seqs(recs, name, tag=None):
    return [r["args"][-1] for r in recs
            if r.get("type") == "event" and r.get("event") == name
            and (tag is None or r["args"][0] == tag)]


def test_rotation_with_gzip_keeps_every_event_once(tmp_path):
    out = tmp_path / "ev.jsonl"
    n = 20000
    res = run_seatrace("-j", "-o", out, "--rotate-size", "8K", "--rotate-keep", "1000",
                       "-e", "seatrace.d", "--", PY, "-c", COUNTED, "rot", n)
    assert res.returncode == 0, res
    gz = rotated(out, ".gz")
    assert len(gz) > 50, f"only {len(gz)} rotated files: {sorted(os.listdir(tmp_path))}"
    # Nothing left half done, nothing plain besides FILE.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name] +
                                                                [p.name for p in gz])
    recs = []
    for p in gz:
        gunzip_t(p)
        data = read_any(p)
        assert zcat(p) == data
        assert len(data) <= 8192
        recs += parse_json_lines(data, str(p))
    recs += parse_json_lines(out.read_bytes(), str(out))
    assert not [r for r in recs if r.get("type") == "lost"]
    # Every event once, in order, across the rotated files and FILE.
    assert seqs(recs, "seatrace.d", "rot") == list(range(n))


def test_rotation_plain_and_keep(tmp_path):
    out = tmp_path / "ev.jsonl"
    n = 3000
    res = run_seatrace("-j", "-o", out, "--rotate-size", "4K", "--rotate-keep", "3",
                       "--no-compress", "-e", "seatrace.d", "--", PY, "-c", COUNTED, "keep", n)
    assert res.returncode == 0, res
    files = rotated(out, "")
    assert [p.name for p in files] == [f"{out.name}.{k}" for k in (3, 2, 1)]
    assert not list(tmp_path.glob("*.gz"))
    recs = []
    for p in files + [out]:
        recs += parse_json_lines(p.read_bytes(), str(p))
    # The oldest were deleted: what is kept is the newest events, each once, in order.
    got = seqs(recs, "seatrace.d", "keep")
    assert got and got == list(range(n - len(got), n))


def test_output_file_appends(tmp_path):
    out = tmp_path / "ev.jsonl"
    out.write_text('{"type":"earlier run"}\n')
    for tag in ("one", "two"):
        res = run_seatrace("-j", "-o", out, "-e", "seatrace.d", "--", PY, "-c", COUNTED, tag,
                           3)
        assert res.returncode == 0, res
    recs = parse_json_lines(out.read_bytes())
    assert recs[0] == {"type": "earlier run"}
    # Each run starts its part with its header (seq 1).
    assert [r.get("seq") for r in recs if r.get("type") == "header"] == [1, 1]
    recs = [r for r in recs if r.get("type") != "header"]
    assert [(r["args"][0], r["args"][1]) for r in recs[1:]] == \
        [("one", 0), ("one", 1), ("one", 2), ("two", 0), ("two", 1), ("two", 2)]


def wait_stderr(t, pattern, count=1):
    rx = re.compile(pattern)
    wait_for(lambda: len([l for l in t.stderr.splitlines() if rx.search(l)]) >= count,
             what=f"{count} stderr line(s) matching {pattern!r}; stderr:\n{t.stderr}")


def test_sighup_reopens_after_mv(procs, tmp_path):
    """logrotate's way: mv FILE FILE.old, kill -HUP; a new FILE, nothing lost or repeated."""
    out, stop = tmp_path / "ev.jsonl", tmp_path / "stop"
    t = procs.tracer(["-j", "-o", out, "-e", "seatrace.hup", "--", PY, "-c",
                      looping(["seatrace.hup"], stop)], tmp_path / "stdout")
    t.wait_attached()
    olds = []
    # An event in FILE, not only the header a reopened file starts with.
    has_events = lambda: out.exists() and b'"seatrace.hup"' in out.read_bytes()  # noqa: E731
    for k in (1, 2):
        wait_for(has_events, what="events in FILE")
        old = tmp_path / f"ev.jsonl.old{k}"
        out.rename(old)
        olds.append(old)
        t.signal(signal.SIGHUP)
        wait_stderr(t, r"SIGHUP: .*ev\.jsonl reopened", k)
    wait_for(has_events, what="events in the new FILE")
    stop.touch()
    res = t.result()
    assert res.returncode == 0, res
    rounds = int(res.stdout.split()[-1])
    got = []
    for p in olds + [out]:
        part = seqs(parse_json_lines(p.read_bytes(), str(p)), "seatrace.hup")
        assert part, f"{p.name} is empty"
        got += part
    assert got == list(range(rounds))


def test_sighup_rereads_the_filters(procs, tmp_path):
    """The config's -e changes from a to b while tracing: a's up to a point, b's after it,
    nothing in between lost; what takes a restart is said."""
    out, stop, conf = tmp_path / "ev.jsonl", tmp_path / "stop", tmp_path / "seatrace.conf"
    conf.write_text("json = true\nevent = seatrace.a\n")
    t = procs.tracer(["--config", conf, "-o", out, "--", PY, "-c",
                      looping(["seatrace.a", "seatrace.b"], stop)], tmp_path / "stdout")
    t.wait_attached()
    wait_for(lambda: out.exists() and out.stat().st_size > 0, what="a events")
    conf.write_text("# now the other one\njson = true\nevent = seatrace.b\nstring-size = 10\n")
    t.signal(signal.SIGHUP)
    wait_stderr(t, r"SIGHUP: event filters of .*seatrace\.conf applied")
    wait_for(lambda: b'"seatrace.b"' in out.read_bytes(), what="b events")
    stop.touch()
    res = t.result()
    assert res.returncode == 0, res
    assert re.search(r"string-size changed in .*seatrace\.conf, which takes a restart", t.stderr)
    rounds = int(res.stdout.split()[-1])
    recs = parse_json_lines(out.read_bytes())
    names = [r["event"] for r in recs if r.get("type") == "event"]
    a, b = seqs(recs, "seatrace.a"), seqs(recs, "seatrace.b")
    # One switch, in raise order: a_0 b_0 a_1 b_1 ... judged by the old filter, then the new.
    assert names == ["seatrace.a"] * len(a) + ["seatrace.b"] * len(b)
    assert a == list(range(len(a))) and len(a) > 0
    assert b and b == list(range(b[0], rounds)) and b[0] in (len(a) - 1, len(a))


def test_config_file_applied_and_overridden(tmp_path):
    conf, from_conf, from_cli = (tmp_path / "c.conf", tmp_path / "conf.jsonl",
                                 tmp_path / "cli.jsonl")
    conf.write_text("# seatrace settings\n"
                    "json = true\n"
                    f"output = {from_conf}\n"
                    "event = seatrace.d   # only ours\n"
                    "string-size = 3\n")
    res = run_seatrace("--config", conf, "-o", from_cli, "--", PY, "-c", COUNTED, "conf", 2)
    assert res.returncode == 0, res
    assert not from_conf.exists()
    recs = parse_json_lines(from_cli.read_bytes())
    # JSON, only seatrace.d, strings cut at 3 characters: the file's settings.
    assert [r["event"] for r in recs] == ["seatrace.d", "seatrace.d"]
    assert recs[0]["args"][0] == {"str": "con", "length": 4, "truncated": True}
    # Without -o, the file's output is used.
    res = run_seatrace("--config", conf, "-s", "10", "--", PY, "-c", COUNTED, "conf", 1)
    assert res.returncode == 0, res
    assert res.stdout == ""
    recs = parse_json_lines(from_conf.read_bytes())
    assert recs[0]["args"] == ["conf", 0]


def test_bad_config_refused_before_attach(tmp_path):
    marker = tmp_path / "ran"
    cmd = ["--", PY, "-c", f"open({str(marker)!r}, 'w')"]
    conf = tmp_path / "bad.conf"
    cases = [
        ("json = true\n\nrotate-sise = 1M\n", r":3: unknown key 'rotate-sise'"),
        ("json = true\nstring-size = ten\n", r":2: invalid -s 'ten'"),
        ("json = yes\n", r":1: 'json' is a flag"),
        ("output = /tmp/x\nrotate-size = 10X\n", r":2: invalid --rotate-size '10X'"),
    ]
    for text, err in cases:
        conf.write_text(text)
        res = run_seatrace("--config", conf, *cmd)
        assert res.returncode == 64, res
        assert re.search("^" + re.escape(str(conf)) + re.escape(err), res.stderr, re.M), res
        assert "attached" not in res.stderr
        assert not marker.exists()
    res = run_seatrace("--config", tmp_path / "missing.conf", *cmd)
    assert res.returncode == 64, res
    assert f"{tmp_path / 'missing.conf'}: cannot read the configuration" in res.stderr
    assert not marker.exists()


def test_sigkill_during_rotation_leaves_files_readable(procs, tmp_path):
    out = tmp_path / "ev.jsonl"
    args = ["-j", "-o", out, "--rotate-size", "16K", "--rotate-keep", "1000", "-e", "seatrace.k"]
    skip = ("stdout", "stop")
    for round_ in range(3):
        stop = tmp_path / f"stop{round_}"
        # About 1 MB/s: a rotation every 16 ms or so, each file then compressed.
        code = looping(["seatrace.k"], stop, f"r{round_}", pause=0.02)
        t = procs.tracer(args + ["--", PY, "-c", code], tmp_path / f"stdout{round_}")
        t.wait_attached()
        before = len(rotated(out, ".gz"))
        # Killed in the thick of it: while it rotates and compresses, a few files in.
        wait_for(lambda: len(rotated(out, ".gz")) >= before + 5 + 3 * round_,
                 what="rotated files")
        t.proc.kill()
        stop.touch()  # the command, no longer traced, ends too (it holds seatrace's stderr)
        t.wait()
        # Every file readable as it was left: FILE and pending ones whole lines, each .gz
        # complete. (.gz.tmp files are half-written by design, and finished at the next start.)
        for p in sorted(tmp_path.iterdir()):
            if p.name.startswith(skip) or p.name.endswith(".gz.tmp"):
                continue
            if p.name.endswith(".gz"):
                gunzip_t(p)
                assert zcat(p) == read_any(p)
            parse_json_lines(read_any(p), p.name)
    # A last run picks up what the killed ones left: no .tmp nor pending file, no event twice.
    res = run_seatrace(*args, "--", PY, "-c", "pass")
    assert res.returncode == 0, res
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not [n for n in names if "pending" in n or n.endswith(".tmp")], names
    seen = {}
    for p in rotated(out, ".gz") + [out]:
        gunzip_t(p) if p.name.endswith(".gz") else None
        for r in parse_json_lines(read_any(p), p.name):
            if r.get("type") == "event":
                seen.setdefault(r["args"][0], []).append(r["args"][1])
    assert sorted(seen) == ["r0", "r1", "r2"]
    for tag, got in seen.items():
        # Oldest file first: each run's events in the order raised, none twice.
        assert got == sorted(set(got)), f"{tag}: events out of order or written twice"


def test_signals_with_the_compressor_running(procs, tmp_path):
    """SIGHUP and SIGTERM are the reader's even while rotated files are being compressed: the
    compressor thread must never take them (it would end seatrace undrained)."""
    out, stop = tmp_path / "ev.jsonl", tmp_path / "stop"
    t = procs.tracer(["-j", "-o", out, "--rotate-size", "8K", "--rotate-keep", "1000",
                      "-e", "seatrace.sig", "--", PY, "-c", looping(["seatrace.sig"], stop)],
                     tmp_path / "stdout")
    t.wait_attached()
    wait_for(lambda: rotated(out, ".gz"), what="a compressed rotated file")
    t.signal(signal.SIGHUP)
    wait_stderr(t, r"SIGHUP: .*ev\.jsonl reopened")
    wait_for(lambda: len(rotated(out, ".gz")) >= 2, what="another rotation after SIGHUP")
    # The first SIGTERM is passed on to the command, which dies of it; seatrace drains.
    t.signal(signal.SIGTERM)
    res = t.result()
    assert res.returncode == 128 + signal.SIGTERM, res
    got = []
    for p in rotated(out, ".gz") + [out]:
        got += seqs(parse_json_lines(read_any(p), str(p)), "seatrace.sig")
    assert got and got == list(range(len(got))), "events lost or repeated across rotations"
