# SPDX-License-Identifier: MIT
"""Several processes and threads flooding a small ring: every event raised is either delivered
or counted as lost, exactly; and so is every exec and exit notice of the children started."""
import json
import os

from conftest import PY, run_seatrace

# A worker: THREADS threads raise EVENTS events each, while another thread starts CHILDREN
# short-lived processes at once; it writes what it raised and started to its report file.
WORKER = r"""
import os, subprocess, sys, threading
report, threads, events, children = sys.argv[1], *map(int, sys.argv[2:5])
raised = [0] * threads
def flood(t):
    for i in range(events):
        sys.audit("stress.ev", t, i)
        raised[t] += 1
started = 0
def spawn():
    # all at once: a burst of execs and exits on the notice ring
    global started
    ps = [subprocess.Popen(["/bin/true"]) for _ in range(children)]
    started = len(ps)
    for p in ps:
        assert p.wait() == 0
ts = [threading.Thread(target=flood, args=(t,)) for t in range(threads)]
ts.append(threading.Thread(target=spawn))
for t in ts:
    t.start()
for t in ts:
    t.join()
with open(report, "w") as f:
    f.write("%d %d %d\n" % (os.getpid(), sum(raised), started))
"""

# The driver (the command) first stops the reader (its parent) while a burst of BURST
# children overflows the notices' ring, then starts the workers.
DRIVER = r"""
import os, signal, subprocess, sys
tmp, burst, workers, rest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
os.kill(os.getppid(), signal.SIGSTOP)
try:
    ps = [subprocess.Popen(["/bin/true"]) for _ in range(burst)]
    for p in ps:
        assert p.wait() == 0
finally:
    os.kill(os.getppid(), signal.SIGCONT)
ps = [subprocess.Popen([sys.executable, "-c", %r, "%%s/w%%d" %% (tmp, k), *rest])
      for k in range(workers)]
for p in ps:
    assert p.wait() == 0
""" % WORKER


def test_flood_adds_up_exactly(tmp_path):
    burst, workers, threads, events, children = 150, 3, 3, 20000, 60
    out = tmp_path / "out.jsonl"
    res = run_seatrace("-j", "-f", "--buffer-size", "16384", "-e", "stress.*", "--stats",
                       "-o", out, "--", PY, "-c", DRIVER, tmp_path, burst, workers, threads,
                       events, children, out_path=out, timeout=300)
    assert res.returncode == 0, res
    reports = {}
    for k in range(workers):
        pid, raised, started = map(int, (tmp_path / f"w{k}").read_text().split())
        reports[pid] = (raised, started)
    assert all(r == (threads * events, children) for r in reports.values()), reports

    # Events: delivered, per worker and thread in order, plus counted lost = raised.
    delivered = {}
    for e in res.named("stress.ev"):
        assert e["pid"] in reports, e
        t, i = e["args"]
        seq = delivered.setdefault((e["pid"], t), [])
        assert not seq or seq[-1] < i, ("out of order", e)
        seq.append(i)
    got = sum(len(s) for s in delivered.values())
    lost = sum(r["count"] for r in res.lost)
    raised = sum(r for r, _ in reports.values())
    assert lost > 0, "the ring never filled: the test proves nothing"
    assert got + lost == raised, (got, lost, raised, res.stats)
    st = res.stats
    assert lost == (st["records lost (ring buffer full)"] + st["events lost (probe preempted)"]
                    + st["probe runs missed (CPU busy)"]), st

    # Notices: an exec for each child started (the burst, the workers and theirs), an exit
    # for each of them and for the driver; received plus counted lost, exactly.
    started = burst + workers + sum(s for _, s in reports.values())
    assert st["exec notices received"] + st["exec notices lost"] == started, st
    assert st["exit notices received"] + st["exit notices lost"] == started + 1, st
    lost_notices = sum(r.get("notices", 0) for r in res.lost)
    assert lost_notices > 0, "the burst did not overflow the notices' ring"
    kinds = ("exec", "exit", "fork")
    assert lost_notices == sum(st.get(k + " notices lost", 0) for k in kinds), (res.lost, st)
