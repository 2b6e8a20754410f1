"""Health: periodic stats records (--stats-interval) and Prometheus metrics (--metrics) read
through Debian's node_exporter, with real Python processes under the real system-wide tracer.

Other tracers and Pythons run on the host at the same time: each run's events carry a name
of their own, and the tracer's -e keeps only those, so its delivered count is exactly ours."""
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import PY, TIMEOUT, Tracer, parse_json_lines

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"

# Raises N events named argv[1] for each line N it reads, then says how many so far.
RAISER = """
import sys
name, total = sys.argv[1], 0
print("ready", flush=True)
for line in sys.stdin:
    n = int(line)
    for i in range(n):
        sys.audit(name, total + i)
    total += n
    print(total, flush=True)
"""


class Raiser:
    def __init__(self, name):
        self.p = subprocess.Popen([PY, "-c", RAISER, name], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "ready"

    def raise_events(self, n):
        self.p.stdin.write(f"{n}\n")
        self.p.stdin.flush()
        return int(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        assert self.p.wait(TIMEOUT) == 0


def event_name():
    return f"seatrace.health.{os.getpid()}.{secrets.token_hex(3)}"


def wait_for(what, check, timeout=TIMEOUT):
    """Polls check() until it returns something true; a hang guard, not a timing test."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout}s")
        time.sleep(0.2)


def whole_records(path):
    data = path.read_bytes()
    return parse_json_lines(data[:data.rfind(b"\n") + 1])


def stats_of(records):
    return [r for r in records if r.get("type") == "stats"]


# Every count a stats record carries, by path: all cumulative, so never smaller later.
def counters(s):
    out = {"uptime_s": s["uptime_s"], "invalid": s["invalid"],
           "name_faults": s["name_faults"]}
    for group in ("events", "lost", "syscalls", "notices", "notices_lost", "cpu_s"):
        for k, v in s[group].items():
            out[f"{group}.{k}"] = v
    for k in ("files_total", "released_total"):
        out[f"attached.{k}"] = s["attached"][k]
    for k, v in s["not_traced"].items():
        out[f"not_traced.{k}"] = v
    for sink in s["sinks"]:
        out[f"sink.{sink['name']}.lines_dropped"] = sink["lines_dropped"]
        out[f"sink.{sink['name']}.errors"] = sink["errors"]
    return out


def test_stats_records_consistent_and_monotonic(tmp_path):
    name = event_name()
    t = Tracer(["-j", "-e", name, "--stats-interval", "1"], tmp_path / "out.jsonl")
    try:
        t.wait_attached()
        r = Raiser(name)
        # Batches with a stats record after each, so the records are seen to move.
        sent = 0
        for n in (150, 75, 300):
            sent = r.raise_events(n)
            wait_for(f"stats record with delivered >= {sent}", lambda: any(
                s["events"]["delivered"] >= sent
                for s in stats_of(whole_records(t.out_path))))
        r.close()
        res = t.stop()
    finally:
        t.kill()
    records = res.records
    stats = stats_of(records)
    assert len(stats) >= 3, res
    # Each stats record counts exactly the event records before it: nothing else passes -e.
    events_so_far = 0
    for rec in records:
        if rec.get("type") == "event":
            assert rec["event"] == name
            events_so_far += 1
        elif rec.get("type") == "stats":
            ev = rec["events"]
            assert ev["delivered"] == events_so_far, rec
            assert ev["lost"] == sum(rec["lost"].values()), rec
            assert ev["seen"] == (ev["delivered"] + ev["filtered_name"] +
                                  ev["filtered_process"] + ev["lost"]), rec
            assert isinstance(rec["ts"], (int, float)) and rec["ts"] > 0
            assert rec["sinks"] and rec["sinks"][0]["errors"] == 0, rec
    assert events_so_far == sent, f"{events_so_far} events of {sent}: {res.lost}"
    assert stats[-1]["events"]["delivered"] == sent
    # While attached, the interpreter files and their links are counted.
    assert any(s["attached"]["files"] >= 1 and s["attached"]["links"] >= 1 and
               s["attached"]["processes"] >= 1 for s in stats), stats
    assert stats[-1]["attached"]["files_total"] >= 1
    # Cumulative: no counter ever goes down, and the uptime goes up.
    for a, b in zip(stats, stats[1:]):
        ca, cb = counters(a), counters(b)
        for k, v in ca.items():
            assert cb[k] >= v, (k, a, b)
        assert cb["uptime_s"] > ca["uptime_s"]
    # The host's other Pythons raise events too: the kernel counted them as filtered by name.
    assert stats[-1]["events"]["seen"] >= sent


def test_stats_record_text(tmp_path):
    name = event_name()
    t = Tracer(["-e", name, "--stats-interval", "1"], tmp_path / "out.txt")
    try:
        t.wait_attached()
        r = Raiser(name)
        sent = r.raise_events(20)
        wait_for("text stats line", lambda: re.search(
            rf"^--- stats .* delivered={sent} .*---$", t.out_path.read_text(), re.M))
        r.close()
        res = t.stop()
    finally:
        t.kill()
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("--- stats ")]
    assert lines, res
    fields = dict(kv.split("=", 1) for kv in lines[-1].split()[2:-1])
    assert fields["delivered"] == str(sent)
    assert int(fields["seen"]) >= sent
    assert fields["stdout_dropped"] == "0" and fields["stdout_errors"] == "0"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        assert resp.status == 200
        return resp.read().decode()


def samples(text):
    """{series: value} of the seatrace_ and textfile samples of an exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith(("seatrace_", "node_textfile_")):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


@pytest.fixture
def node_exporter(tmp_path):
    if not os.access(NODE_EXPORTER, os.X_OK):
        pytest.skip("prometheus-node-exporter is not installed: run tools/install-deps.sh")
    textdir = tmp_path / "textfile"
    textdir.mkdir()
    port = free_port()
    p = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
                          "--collector.disable-defaults", "--collector.textfile",
                          f"--collector.textfile.directory={textdir}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def up():
        assert p.poll() is None, p.stderr.read().decode()
        try:
            return scrape(port)
        except OSError:
            return None

    try:
        wait_for("node_exporter answering", up)
        yield port, textdir
    finally:
        p.kill()
        p.wait()


def test_metrics_through_node_exporter(tmp_path, node_exporter):
    port, textdir = node_exporter
    prom = textdir / "seatrace.prom"
    name = event_name()
    t = Tracer(["-j", "-e", name, "--stats-interval", "1", "--metrics", prom],
               tmp_path / "out.jsonl")
    try:
        t.wait_attached()
        # Written at start, before any interval: node_exporter shows seatrace at once.
        first = samples(wait_for("seatrace metrics in a scrape", lambda: (
            lambda s: "seatrace_events_delivered_total" in s and s)(scrape(port))))
        r = Raiser(name)
        n = r.raise_events(400)
        later = samples(wait_for(f"delivered {n}", lambda: (
            lambda s: s if f"seatrace_events_delivered_total {n}" in s else None)(scrape(port))))
        r.close()
        # Not a partial file at any scrape, and nothing left behind by the replacement.
        assert later["node_textfile_scrape_error"] == 0
        assert sorted(p.name for p in textdir.iterdir()) == ["seatrace.prom"]
        assert (prom.stat().st_mode & 0o777) == 0o644
        res = t.stop()
    finally:
        t.kill()
    final = samples(scrape(port))
    assert final["node_textfile_scrape_error"] == 0
    # Exactly the events this test raised, as the output has them; the counters moved.
    assert len(res.named(name)) == n
    assert first["seatrace_events_delivered_total"] <= later["seatrace_events_delivered_total"]
    assert later["seatrace_events_delivered_total"] == n
    assert final["seatrace_events_delivered_total"] == n  # written again at exit
    assert later["seatrace_uptime_seconds"] > first["seatrace_uptime_seconds"]
    assert later["seatrace_events_seen_total"] >= n
    for cause in ("ring_full", "probe_preempted", "probe_missed"):
        assert f'seatrace_events_lost_total{{cause="{cause}"}}' in later
    lost = sum(v for k, v in later.items() if k.startswith("seatrace_events_lost_total"))
    assert later["seatrace_events_seen_total"] == (
        n + later['seatrace_events_filtered_total{by="name"}'] +
        later['seatrace_events_filtered_total{by="process"}'] + lost)
    for k, v in first.items():
        if k.startswith("seatrace_") and "_total" in k:
            assert later[k] >= v, k
    assert later['seatrace_cpu_seconds_total{mode="user"}'] >= 0
    assert later['seatrace_sink_errors_total{sink="stdout"}'] == 0
    assert later["seatrace_attached_files"] >= 1
    assert later["seatrace_files_attached_total"] >= later["seatrace_attached_files"]
    assert 'seatrace_not_traced_total{what="processes"}' in later
    # node_exporter kept the types: counters are counters.
    text = scrape(port)
    assert "# TYPE seatrace_events_delivered_total counter" in text
    assert "# TYPE seatrace_uptime_seconds gauge" in text


def test_output_failure_in_metrics(tmp_path):
    """A sink that fails (a full disk: /dev/full) stops the tracing; the metrics file written
    at exit still says so: the write error and the line it dropped."""
    prom = tmp_path / "seatrace.prom"
    name = event_name()
    t = Tracer(["-j", "-e", name, "-o", "/dev/full", "--metrics", prom], tmp_path / "stdout")
    try:
        t.wait_attached()
        r = Raiser(name)
        r.raise_events(1)
        rc = t.wait()
        r.close()
    finally:
        t.kill()
    assert rc == 1, t.stderr
    assert "No space left on device" in t.stderr
    m = samples(prom.read_text())
    assert m["seatrace_events_delivered_total"] == 1
    assert m['seatrace_sink_errors_total{sink="file"}'] >= 1
    assert m['seatrace_output_lines_dropped_total{sink="file"}'] >= 1
