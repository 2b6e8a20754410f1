# SPDX-License-Identifier: MIT
"""Seagrass-style calls in flight across the tracer's start and the process's death.

  pair_controlled.py slow   prints "ready PID", waits for a line on stdin, then calls
                            slow('zzz') which raises prehook:slow, prints "inside" and
                            sleeps for an hour (the test kills it).
  pair_controlled.py early  prints "ready PID" from inside early('e', n=7): its
                            prehook:early is already raised. Waits for a line on stdin,
                            returns 'early-result' (posthook:early), raises
                            pair.after(1) and prints "done".
  pair_controlled.py held   prints "ready PID", waits for a line, then calls held('h')
                            which raises prehook:held, prints "inside", waits for another
                            line and returns 'held-result'; prints "done".
"""
import os
import sys
import time

from pair_hooks import audit


@audit("slow")
def slow(x):
    print("inside", flush=True)
    time.sleep(3600)
    return x


@audit("early")
def early(x, n=0):
    print("ready", os.getpid(), flush=True)
    sys.stdin.readline()
    return "early-result"


@audit("held")
def held(x):
    print("inside", flush=True)
    sys.stdin.readline()
    return "held-result"


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "slow":
        print("ready", os.getpid(), flush=True)
        sys.stdin.readline()
        slow("zzz")
    elif mode == "early":
        assert early("e", n=7) == "early-result"
        sys.audit("pair.after", 1)
        print("done", flush=True)
    elif mode == "held":
        print("ready", os.getpid(), flush=True)
        sys.stdin.readline()
        held("h")
        print("done", flush=True)
