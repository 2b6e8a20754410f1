# SPDX-License-Identifier: MIT
"""A process for -p tests, driven by commands on stdin, one per line:

  event ARG...   raise seatrace.p(ARG...), then print "done"
  burst N        raise seatrace.burst(i) for i in range(N), then print "done N"
  busy           raise seatrace.busy(i) for i = 0, 1, ... until killed
  thread         raise seatrace.thread(native tid) in a new thread, print "done TID"
  exit N         exit with status N

It raises seatrace.before before printing "ready PID": no tracer is attached yet.
"""
import os
import sys
import threading

sys.audit("seatrace.before", os.getpid())
print("ready", os.getpid(), flush=True)

for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "event":
        sys.audit("seatrace.p", *args)
        print("done", flush=True)
    elif cmd == "burst":
        n = int(args[0])
        for i in range(n):
            sys.audit("seatrace.burst", i)
        print("done", n, flush=True)
    elif cmd == "busy":
        print("busy", flush=True)
        i = 0
        while True:
            sys.audit("seatrace.busy", i)
            i += 1
    elif cmd == "thread":
        box = []
        t = threading.Thread(target=lambda: (box.append(threading.get_native_id()),
                                             sys.audit("seatrace.thread", box[0])))
        t.start()
        t.join()
        print("done", box[0], flush=True)
    elif cmd == "exit":
        sys.exit(int(args[0]))
