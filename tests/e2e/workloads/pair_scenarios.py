# SPDX-License-Identifier: MIT
"""Seagrass-style runtime events (pair_hooks) in the patterns the pairing engine must get
right. Usage: pair_scenarios.py SCENARIO; each scenario's comment says what it raises.
The marker event pair.done (scenario name) is raised last."""
import asyncio
import sys
import threading

from pair_hooks import audit, audited_gen


@audit("after")
def after(tag):
    """Called once every other span of the thread is closed: depth 0."""
    return tag


def nested():
    # f(1, k='v') calls g(2): spans g (depth 1, -> 102) then f (depth 0, -> 1020).
    @audit("g")
    def g(y):
        return y + 100

    @audit("f")
    def f(x, k=None):
        return g(x + 1) * 10

    assert f(1, k="v") == 1020


def recursive():
    # fact(5): five nested spans; fact(n) at depth 5 - n with result n!.
    @audit("fact")
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(5) == 120


def raising():
    # boom('bad') raises ValueError: posthook:boom (None,); caught outside, then
    # pair.caught('bad'). Then ok(3) -> 6 from the same call site.
    @audit("boom")
    def boom(x):
        raise ValueError(x)

    @audit("ok")
    def ok(x):
        return x * 2

    try:
        boom("bad")
    except ValueError as e:
        sys.audit("pair.caught", e.args[0])
    assert ok(3) == 6


def threaded():
    # 4 threads x 50 calls of work(native_tid, i) -> i * 2. The calls overlap: each waits
    # inside for the other threads' call with the same i, so the 4 prehooks of round i all
    # come before any of its posthooks.
    barrier = threading.Barrier(4)

    @audit("work")
    def work(tid, i):
        barrier.wait()
        return i * 2

    def run():
        tid = threading.get_native_id()
        for i in range(50):
            assert work(tid, i) == i * 2

    ts = [threading.Thread(target=run) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def asyncio_tasks():
    # Three tasks of one coroutine function on one thread: prehooks A, B, C, then posthooks
    # A, C, B (never last-in first-out). job(tag) -> tag + '-result'.
    async def main():
        started = {t: asyncio.Event() for t in "ABC"}
        go = {t: asyncio.Event() for t in "ABC"}

        @audit("job")
        async def job(tag, n=0):
            started[tag].set()
            await go[tag].wait()
            await asyncio.sleep(0)
            return f"{tag}-result"

        tasks = {}
        for tag, n in (("A", 1), ("B", 2), ("C", 3)):
            tasks[tag] = asyncio.create_task(job(tag, n=n))
            await started[tag].wait()   # this task's prehook is out before the next starts
        for tag in "ACB":
            go[tag].set()
            assert await tasks[tag] == f"{tag}-result"
        after("asyncio")

    asyncio.run(main())


def asyncio_many():
    # 40 tasks, job2(i) -> i * i, each suspended a (seeded) random number of times in its
    # span: starts and ends interleave on one thread in no nested order.
    import random
    rng = random.Random(1234)
    waits = [rng.randrange(0, 40) for _ in range(40)]

    @audit("job2")
    async def job2(i):
        for _ in range(waits[i]):
            await asyncio.sleep(0)
        return i * i

    async def main():
        assert await asyncio.gather(*(job2(i) for i in range(40))) == [i * i for i in
                                                                       range(40)]
        after("asyncio_many")

    asyncio.run(main())


def asyncio_depth():
    # Three tasks each inside a span `top` at once (prehooks 0, 1, 2 out before any
    # posthook), each awaiting inside it; task 1 also calls `inner` inside its span, which
    # awaits too. Call nesting: every top at depth 0, inner at depth 1.
    async def main():
        started = {t: asyncio.Event() for t in "012"}
        go = asyncio.Event()

        @audit("inner")
        async def inner(tag):
            await asyncio.sleep(0)
            return tag + "-inner"

        @audit("top")
        async def top(tag):
            started[tag].set()
            await go.wait()
            result = await inner(tag) if tag == "1" else tag
            await asyncio.sleep(0)
            return result

        tasks = []
        for tag in "012":
            tasks.append(asyncio.create_task(top(tag)))
            await started[tag].wait()
        go.set()
        assert await asyncio.gather(*tasks) == ["0", "1-inner", "2"]
        after("asyncio_depth")

    asyncio.run(main())


def generators():
    # Two generator objects of one function: prehook A, prehook B, posthook A, posthook B,
    # each raised by the generator's own (persistent) frame.
    a = audited_gen("gen", "A")
    b = audited_gen("gen", "B")
    assert next(a) == "A-item"
    assert next(b) == "B-item"
    for g, tag in ((a, "A"), (b, "B")):
        try:
            next(g)
        except StopIteration as e:
            assert e.value == f"{tag}-done"
        else:
            raise AssertionError("generator did not finish")
    after("generators")


def gen_thread():
    # A generator started on the main thread (prehook) and finished on another thread
    # (posthook, same frame): pair.tid gives the other thread's native id.
    g = audited_gen("moved", "M")
    next(g)
    box = []

    def finish():
        box.append(threading.get_native_id())
        sys.audit("pair.tid", box[0])
        for _ in g:
            pass
        after("other")

    t = threading.Thread(target=finish)
    t.start()
    t.join()
    after("main")


def forked():
    # fork() inside a span: the child returns 'child' from the same frame (its own copy,
    # same address) and raises pair.child(pid) first; the parent returns 'parent'.
    import os

    @audit("forked")
    def fork():
        pid = os.fork()
        if pid == 0:
            sys.audit("pair.child", os.getpid())
            return "child"
        os.waitpid(pid, 0)
        return "parent"

    if fork() == "child":
        os._exit(0)


def many_open():
    # 65536 + 100 generators each with its span open at once (more than the pairer keeps),
    # then finished in the same order: gen(i) -> f'{i}-done'.
    gens = [audited_gen("many", i) for i in range(65536 + 100)]
    for g in gens:
        next(g)
    for g in gens:
        for _ in g:
            pass


def big_open():
    # 3000 generators with their span open at once, each prehook carrying 7 strings of
    # 4096 characters (about 28 KiB a record: more than the pairer's 64 MiB in all), then
    # finished in the same order: posthook:big (i,).
    def big(i):
        sys.audit("prehook:big", (i,) + tuple(chr(97 + k) * 4096 for k in range(7)), {})
        yield
        sys.audit("posthook:big", i)

    gens = [big(i) for i in range(3000)]
    for g in gens:
        next(g)
    for g in gens:
        for _ in g:
            pass


SCENARIOS = {f.__name__: f for f in (nested, recursive, raising, threaded, asyncio_tasks,
                                      asyncio_depth,
                                      asyncio_many, generators, gen_thread, forked,
                                      many_open, big_open)}

if __name__ == "__main__":
    name = sys.argv[1]
    SCENARIOS[name]()
    sys.audit("pair.done", name)
