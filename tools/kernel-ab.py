#!/usr/bin/python3.11
"""In-kernel cost of two seatrace builds (or option sets), compared on the same events.

    tools/kernel-ab.py [-r ROUNDS] [-n EVENTS] [--loop CODE] A[:OPTIONS] B[:OPTIONS]

A and B are seatrace binaries; OPTIONS (default `-o /dev/null`) are passed to each. Both
tracers attach to one python3.11 process at once, so every event runs both BPF programs
under the same conditions; which one attaches first alternates from round to round. Each
round prints their ns per event from the kernel's BPF statistics (run_time_ns / run_cnt of
the programs each tracer loaded), and the end prints the medians and the paired differences.

Timing a build in its own run, one after the other, moved the same build by up to 50% on a
shared 2-CPU machine; side by side, an A/A comparison stays within about 30 ns. What this
measures is the BPF program alone: not the trap every probe hit costs (see `make bench`).
Needs root; turns kernel.bpf_stats_enabled on for the run, and restores it after.
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import prog_stats, start_tracer, stop_tracer  # noqa: E402

PY = "/usr/bin/python3.11"
LOOP = "for i in range({n}): id(i)"
WORKLOAD = """
import sys
sys.stdin.readline()
{loop}
print("done", flush=True)
sys.stdin.readline()
"""


def one_round(tracers, code):
    py = subprocess.Popen([PY, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True)
    sts = [start_tracer([*o, "-p", str(py.pid)], b) for b, o in tracers]
    before = [prog_stats(s.pid) for s in sts]
    py.stdin.write("\n")
    py.stdin.flush()
    py.stdout.readline()
    after = [prog_stats(s.pid) for s in sts]
    py.stdin.write("\n")
    py.stdin.close()
    py.wait()
    for s in sts:
        stop_tracer(s)
    return [(t1 - t0) / max(1, c1 - c0) for (t0, c0), (t1, c1) in zip(before, after)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("-r", "--rounds", type=int, default=8)
    ap.add_argument("-n", "--events", type=int, default=200000)
    ap.add_argument("--loop", help="Python code raising the events (default: id() in a loop)")
    ap.add_argument("a")
    ap.add_argument("b")
    args = ap.parse_args()
    tracers = []
    for spec in (args.a, args.b):
        binary, _, opts = spec.partition(":")
        tracers.append((binary, opts.split() if opts else ["-o", "/dev/null"]))
    code = WORKLOAD.format(loop=args.loop or LOOP.format(n=args.events))
    stats = "/proc/sys/kernel/bpf_stats_enabled"
    old = open(stats).read().strip()
    open(stats, "w").write("1")
    a, b = [], []
    try:
        for r in range(args.rounds):
            if r % 2 == 0:
                x, y = one_round(tracers, code)
            else:
                y, x = one_round(tracers[::-1], code)
            a.append(x)
            b.append(y)
            print(f"round {r + 1}: A {x:7.1f}  B {y:7.1f}  A-B {x - y:6.1f} ns/event", flush=True)
    finally:
        open(stats, "w").write(old)
    d = sorted(x - y for x, y in zip(a, b))
    print(f"A {args.a}: median {statistics.median(a):.1f} ns/event")
    print(f"B {args.b}: median {statistics.median(b):.1f} ns/event")
    print(f"A-B paired: median {statistics.median(d):.1f}, range {d[0]:.1f} to {d[-1]:.1f}")


if __name__ == "__main__":
    main()
