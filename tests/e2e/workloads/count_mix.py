# SPDX-License-Identifier: MIT
"""-c's exactness workload: each process counts its own audit events in-process (an audit
hook, per thread, merged and written to OUT.PID at exit) while raising many, from several
threads, with varied names, Python-level (sys.audit) and C-level (builtins.id); the parent
also starts child processes running the same.

    count_mix.py OUT_PREFIX N [CHILDREN] [--errors K]

--errors K: also K os.open() calls of missing paths (ENOENT), counted as "errors.open".
Only the names the workload raises itself are compared (st.*, builtins.id): they are never
raised before the hook is installed.
"""
import sys

_counts = {}


def _hook(name, args):
    # Per thread: a dict shared by threads would lose increments between get and set.
    c = _counts.get(_ident())
    if c is None:
        c = _counts[_ident()] = {}
    c[name] = c.get(name, 0) + 1


import _thread  # noqa: E402  (raises no event: a builtin module)

_ident = _thread.get_ident
sys.addaudithook(_hook)

import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402

NAMES = ["st.alpha", "st.b", "st.gamma.long.name.of.an.event.with.more.bytes.than.a.cache.line!",
         "st.δ", "st.e"]


def work(n, seed):
    audit = sys.audit
    names = NAMES
    many = [f"st.many.{k}" for k in range(301)]
    for i in range(n):
        # Uneven shares: name k gets about 1/(k+1) of the calls.
        k = (i * 7 + seed) % 15
        audit(names[0 if k < 5 else 1 if k < 9 else 2 if k < 12 else 3 if k < 14 else 4], i)
        if i % 3 == 0:
            id(i)
        if i % 16 == 0:
            # More names than a CPU's cache of keys holds: counts move to the kernel's hash.
            audit(many[i % 301])


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    children = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] != "--errors" else 0
    errors = int(sys.argv[sys.argv.index("--errors") + 1]) if "--errors" in sys.argv else 0
    procs = [subprocess.Popen([sys.executable, __file__, out, str(n // 2)]
                              + (["--errors", str(errors)] if errors else []))
             for _ in range(children)]
    threads = [threading.Thread(target=work, args=(n // 4, t)) for t in range(3)]
    for t in threads:
        t.start()
    work(n // 4, 3)
    for t in threads:
        t.join()
    failed = 0
    for i in range(errors):
        try:
            os.close(os.open(f"/nonexistent-seatrace-{os.getpid()}/{i}", os.O_RDONLY))
        except FileNotFoundError:
            failed += 1
    for p in procs:
        p.wait()
    total = {}
    for c in list(_counts.values()):
        for name, v in c.items():
            if name.startswith("st.") or name == "builtins.id":
                total[name] = total.get(name, 0) + v
    total["errors.open"] = failed
    # Snapshotted above: the open below is not in `total`. dumps(), not dump(): the pure
    # Python encoder calls id() on each container.
    text = json.dumps(total, check_circular=False)
    with open(f"{out}.{os.getpid()}", "w") as f:
        f.write(text)


main()
