#!/usr/bin/python3.11
"""In-kernel cost of seatrace builds (or option sets), and bpftrace's, compared on the same events.

    tools/kernel-ab.py [-r ROUNDS] [-n EVENTS] [--loop CODE] A[:OPTIONS] B[:OPTIONS] ...

Each of A, B, ... is a seatrace binary, with OPTIONS (default `-o /dev/null`) passed to it,
or the word `bpftrace` for bpftrace counting events by name (what `make bench` times). All
of them attach to one python3.11 process at once, so every event runs each BPF program
under the same conditions; the order they attach in rotates from round to round. Each
round prints their ns per event from the kernel's BPF statistics (run_time_ns / run_cnt of
all the programs each tracer loaded: with -S among the OPTIONS, that includes the syscall
programs' runs, host-wide); the end prints the medians, and each one's paired
difference from the first.

Timing a build in its own run, one after the other, moved the same build by up to 50% on a
shared 2-CPU machine; side by side, an A/A comparison stays within about 30 ns. Every
tracer attached adds to the others' figures a little (their readers share the CPUs), so
compare differences taken in one run. What this measures is the BPF program alone: not the
trap every probe hit costs (see `make bench`). Needs root; turns kernel.bpf_stats_enabled
on for the run, and restores it after.
"""
import argparse
import os
import shutil
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import KWORKLOAD, bpf_stats, kernel_round  # noqa: E402

LOOP = "for i in range({n}): id(i)"


def label(i):
    """A, B, ... as the specs were given; numbers past Z."""
    return chr(ord("A") + i) if i < 26 else str(i)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("-r", "--rounds", type=int, default=8)
    ap.add_argument("-n", "--events", type=int, default=200000)
    ap.add_argument("--loop", help="Python code raising the events (default: id() in a loop)")
    ap.add_argument("specs", nargs="+", metavar="BUILD[:OPTIONS]")
    args = ap.parse_args()
    if len(args.specs) < 2:
        ap.error("give two builds or more to compare")
    if "bpftrace" in args.specs and not shutil.which("bpftrace"):
        ap.error("bpftrace is not installed")
    tracers = []
    for spec in args.specs:
        binary, _, opts = spec.partition(":")
        tracers.append((binary, opts.split() if opts else ["-o", "/dev/null"]))
    code = KWORKLOAD.format(loop=args.loop or LOOP.format(n=args.events))
    n = len(tracers)
    res = [[] for _ in range(n)]
    with bpf_stats():
        for r in range(args.rounds):
            order = [(r + k) % n for k in range(n)]
            got = kernel_round([tracers[i] for i in order], code)
            for i, v in zip(order, got):
                if v is None:
                    sys.exit(f"{args.specs[i]}: its BPF programs did not run (nothing attached?)")
                res[i].append(v)
            print(f"round {r + 1}: " + "  ".join(f"{label(i)} {res[i][-1]:7.1f}" for i in range(n))
                  + " ns/event", flush=True)
    for i, spec in enumerate(args.specs):
        line = f"{label(i)} {spec}: median {statistics.median(res[i]):.1f} ns/event"
        if i:
            d = sorted(x - y for x, y in zip(res[i], res[0]))
            line += (f"; minus A, paired: median {statistics.median(d):.1f},"
                     f" range {d[0]:.1f} to {d[-1]:.1f}")
        print(line)


if __name__ == "__main__":
    main()
