# SPDX-License-Identifier: MIT
"""Raises `stk.ev` events (and C-level `os.listdir` ones) from many kinds of Python stacks;
an audit hook records, at each, the stack as the process itself sees it:
traceback.extract_stack() without the hook's own frame, innermost first, and each frame's
qualified name (co_qualname from 3.11, co_name before). Written to DIR/expected.json; then
the process waits for DIR/go (written once seatrace has shown every event), so that the
tracer can read its code objects while it lives.

    python stack_cases.py DIR
"""
import asyncio
import json
import os
import sys
import threading
import time
import traceback

OUT = sys.argv[1]
expected = []
lock = threading.Lock()


def qualname(code):
    return getattr(code, "co_qualname", code.co_name)


def hook(event, args):
    if event == "stk.ev":
        key = args[0]
    elif event == "os.listdir" and isinstance(args[0], str) and args[0].startswith(OUT):
        key = args[0]
    else:
        return
    summary = traceback.extract_stack()[:-1]
    frames = []
    f = sys._getframe(1)
    while f is not None:
        frames.append(f)
        f = f.f_back
    stack = []
    for fs, fr in zip(reversed(summary), frames):
        # extract_stack() names a frame by co_name; seatrace by its qualified name
        assert fs.name == fr.f_code.co_name, (fs.name, fr.f_code.co_name)
        stack.append({"file": fs.filename, "line": fs.lineno,
                      "function": qualname(fr.f_code)})
    assert len(summary) == len(frames), (len(summary), len(frames))
    with lock:
        expected.append({"key": key, "event": event, "stack": stack})


sys.addaudithook(hook)


def ev(key):
    sys.audit("stk.ev", key)


# plain calls
def plain_inner():
    ev("plain")


def plain_outer():
    plain_inner()


class K:
    def method(self):
        sys.audit("stk.ev", "method")

    def listdir(self):
        os.listdir(os.path.join(OUT, "d"))  # a C-level event


# recursion
def rec(n, key):
    if n:
        return rec(n - 1, key)
    ev(key)


def exactly(total, key):
    """Recursion to a stack of exactly `total` frames at the event."""
    here = len(traceback.extract_stack())  # this frame and its callers
    rec(total - here - 2, key)  # then ev() and rec() total - here - 1 times


# generators
def gen(n, tag):
    for i in range(n):
        sys.audit("stk.ev", "%s%d" % (tag, i))
        yield i


def gen_outer():
    yield from gen(1, "yieldfrom")


def use_gens():
    for _ in gen(2, "gen"):
        pass
    list(gen_outer())  # list() is C, resuming a generator


# coroutines
async def leaf(key):
    await asyncio.sleep(0)
    ev(key)


async def mid(key):
    await leaf(key)


async def amain():
    await asyncio.gather(mid("co1"), mid("co2"))


# C calling back into Python
def keyfunc(x):
    sys.audit("stk.ev", "key%d" % x)
    return -x


class Eq:
    def __eq__(self, other):
        ev("eq")
        return False

    __hash__ = object.__hash__


class Del:
    def __del__(self):
        ev("del")


def drop():
    d = Del()
    del d


def callbacks():
    sorted([2, 1], key=keyfunc)
    list(map(lambda x: ev("map%d" % x), [1]))
    _ = Eq() in [0]
    drop()


# threads
def in_thread(n):
    rec(n, "thread%d" % n)


def main():
    os.mkdir(os.path.join(OUT, "d"))
    plain_outer()
    K().method()
    K().listdir()
    rec(40, "rec40")
    for total in (7, 8, 9):
        exactly(total, "exact%d" % total)
    use_gens()
    asyncio.run(amain())
    callbacks()
    threads = [threading.Thread(target=in_thread, args=(n,)) for n in (1, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


main()
sys.addaudithook(lambda *a: None)  # nothing more is recorded from here on
with open(os.path.join(OUT, "expected.json.tmp"), "w") as f:
    json.dump({"pid": os.getpid(), "events": expected}, f)
os.rename(os.path.join(OUT, "expected.json.tmp"), os.path.join(OUT, "expected.json"))
deadline = time.monotonic() + 120  # a hang guard: the test writes `go` well before
while not os.path.exists(os.path.join(OUT, "go")) and time.monotonic() < deadline:
    time.sleep(0.02)
