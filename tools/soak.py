#!/usr/bin/python3.11
"""seatrace soak run: the daemon system-wide for SOAK_SECONDS (default 180) with Python
processes starting and stopping all the time, writing -o FILE rotated at 256K.

Each child process raises soak.ev(TAG, i) for i = 0, 1, ... at about SOAK_RATE/SOAK_PROCS
events a second for 1 to 4 seconds, then prints how many it raised. Every SOAK_FRESH-th child
runs from a fresh copy of python3.11 (deleted when it ends), so seatrace attaches new
interpreter files and releases them all the time. seatrace runs with `-e soak.ev` (the other
Pythons on a shared host do not count) and --rotate-keep 1000, so nothing rotated is deleted.

At the end: the daemon's VmRSS and VmHWM a few seconds after start and just before SIGTERM;
every event accounted for (found once in FILE, FILE.N.gz and pending files, plus what `lost`
records report, equals what the children raised; duplicates counted); CPU of the whole
daemon (reader and compression thread, /proc/PID/stat) and of the reader (its main thread,
/proc/PID/task/PID/stat) per million events, both over the soak only (not attach at start).
The run is done twice: compressed rotation, then --no-compress.

This is a benchmark, not a test: it reports, it does not fail on a slow machine (it exits
non-zero only when records are unaccounted for or duplicated, or seatrace did not exit 0).
"""
import gzip
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEATRACE = os.environ.get("SEATRACE", os.path.join(ROOT, "seatrace"))
PY = "/usr/bin/python3.11"
SECONDS = float(os.environ.get("SOAK_SECONDS", "180"))
RATE = int(os.environ.get("SOAK_RATE", "3000"))      # events per second, all children
PROCS = int(os.environ.get("SOAK_PROCS", "4"))       # children running at once
FRESH = int(os.environ.get("SOAK_FRESH", "5"))       # every FRESH-th child: a fresh copy
ROTATE = os.environ.get("SOAK_ROTATE_SIZE", "256K")

CHILD = """
import sys, time
tag, rate, secs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
i = 0
t0 = time.monotonic()
step = max(1, int(rate / 100))          # bursts of `step`, 100 a second
while time.monotonic() - t0 < secs:
    for _ in range(step):
        sys.audit("soak.ev", tag, i)
        i += 1
    time.sleep(0.01)
print(i, flush=True)
"""

def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def proc_cpu(pid, tid=None):
    """utime + stime of every thread of PID (or of thread TID only), seconds."""
    with open(f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Driver:
    """Keeps PROCS children running, each for 1-4 s, until stopped; collects their counts."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.raised = {}
        self.started = 0
        self.fresh = 0
        self.stop = threading.Event()
        self.errors = []

    def child(self, k):
        tag = f"s{os.getpid()}-{k}"
        py = PY
        if k % FRESH == 0:
            py = os.path.join(self.tmp, f"py{k}")
            shutil.copy(PY, py)
            self.fresh += 1
        try:
            r = subprocess.run([py, "-I", "-S", "-c", CHILD, tag, str(RATE / PROCS),
                                str(random.uniform(1, 4))],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                self.errors.append(r.stderr[-500:])
            else:
                self.raised[tag] = int(r.stdout.split()[-1])
        finally:
            if py != PY:
                os.unlink(py)

    def lane(self, lane):
        k = lane
        while not self.stop.is_set():
            self.child(k)
            k += PROCS

    def run(self, seconds):
        threads = [threading.Thread(target=self.lane, args=(i,)) for i in range(PROCS)]
        for t in threads:
            t.start()
        time.sleep(seconds)
        self.stop.set()
        for t in threads:
            t.join()
        self.started = len(self.raised) + len(self.errors)


def outputs(out, compress):
    """Every file seatrace wrote: FILE.N[.gz] (oldest first), pending files, FILE."""
    d, base = os.path.split(out)
    ext = r"\.gz" if compress else ""
    rot = re.compile(re.escape(base) + r"\.(\d+)" + ext + "$")
    pend = re.compile(re.escape(base) + r"\.pending-(\d+)$")
    rotated = sorted(((int(m.group(1)), n) for n in os.listdir(d) if (m := rot.match(n))),
                     reverse=True)
    pending = sorted((int(m.group(1)), n) for n in os.listdir(d) if (m := pend.match(n)))
    names = [n for _, n in rotated] + [n for _, n in pending] + [base]
    return [os.path.join(d, n) for n in names]


def read_lines(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read().splitlines()


def soak(compress):
    tmp = tempfile.mkdtemp(prefix="seatrace-soak-")
    out = os.path.join(tmp, "soak.jsonl")
    argv = [SEATRACE, "-j", "--stats", "-e", "soak.ev", "-o", out, "--rotate-size", ROTATE,
            "--rotate-keep", "1000"] + ([] if compress else ["--no-compress"])
    tracer = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = []

    attached = threading.Event()

    def read_stderr():
        for line in tracer.stderr:
            stderr.append(line)
            if line.startswith("seatrace: attached:"):
                attached.set()
    t = threading.Thread(target=read_stderr, daemon=True)
    t.start()
    if not attached.wait(60):
        tracer.kill()
        sys.exit("seatrace did not attach: " + "".join(stderr[-20:]))
    time.sleep(2)
    mem_start = proc_status(tracer.pid)
    cpu_start = proc_cpu(tracer.pid)
    reader_start = proc_cpu(tracer.pid, tracer.pid)   # the main thread is the reader

    drv = Driver(tmp)
    t0 = time.monotonic()
    drv.run(SECONDS)
    time.sleep(1)   # the last children's events reach the file
    mem_end = proc_status(tracer.pid)
    cpu_end = proc_cpu(tracer.pid)
    reader_end = proc_cpu(tracer.pid, tracer.pid)
    wall = time.monotonic() - t0
    tracer.send_signal(signal.SIGTERM)
    rc = tracer.wait(120)
    t.join(10)
    err = "".join(stderr)

    files = outputs(out, compress)
    seen = {}
    dups = 0
    lost = 0
    lines = 0
    other = {}      # lines that are not the children's events, by type (and event name)
    for path in files:
        for raw in read_lines(path):
            lines += 1
            r = json.loads(raw)
            if r.get("type") == "lost":
                lost += r.get("count", 0)
            elif r.get("type") == "event" and r.get("event") == "soak.ev":
                tag, i = r["args"][0], r["args"][1]
                if tag not in drv.raised:
                    other["soak.ev of no child"] = other.get("soak.ev of no child", 0) + 1
                    continue        # a child that failed, or another soak on the host
                s = seen.setdefault(tag, set())
                if i in s:
                    dups += 1
                s.add(i)
            else:
                k = r.get("type") + (":" + r["event"] if "event" in r else "")
                other[k] = other.get(k, 0) + 1
    raised = sum(drv.raised.values())
    found = sum(len(s) for s in seen.values())
    beyond = sum(1 for tag, s in seen.items() for i in s if i >= drv.raised[tag])
    reader_cpu = reader_end - reader_start
    shutil.rmtree(tmp)
    return {
        "compress": compress, "rc": rc, "seconds": round(wall, 1),
        "children": drv.started, "fresh_copies": drv.fresh, "child_errors": len(drv.errors),
        "files": len(files), "lines": lines, "other_lines": other,
        "raised": raised, "found": found, "lost_reported": lost, "duplicates": dups,
        "beyond_raised": beyond, "unaccounted": raised - found - lost,
        "rss_kb_start": mem_start["VmRSS"], "rss_kb_end": mem_end["VmRSS"],
        "hwm_kb_start": mem_start["VmHWM"], "hwm_kb_end": mem_end["VmHWM"],
        "daemon_cpu_s": round(cpu_end - cpu_start, 2),
        "daemon_cpu_s_per_M": round((cpu_end - cpu_start) / raised * 1e6, 2) if raised else None,
        "reader_cpu_s": round(reader_cpu, 2),
        "reader_cpu_s_per_M": round(reader_cpu / raised * 1e6, 2) if raised else None,
        "stderr_tail": err.splitlines()[-3:] if rc else [],
    }


def main():
    print(f"soak: {SECONDS:.0f} s per run, ~{RATE} events/s from {PROCS} children at a time, "
          f"every {FRESH}th a fresh copy, rotation at {ROTATE}", file=sys.stderr)
    rows = [soak(True), soak(False)]
    print(json.dumps(rows, indent=1))
    print("\n| | compressed | --no-compress |\n| --- | --- | --- |")
    for k in rows[0]:
        if k != "stderr_tail":
            print(f"| {k} | {rows[0][k]} | {rows[1][k]} |")
    bad = [r for r in rows if r["rc"] not in (0, None) or r["unaccounted"] != 0 or r["duplicates"]
           or r["beyond_raised"]]
    if bad:
        print("soak: records unaccounted for or duplicated, or seatrace failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
