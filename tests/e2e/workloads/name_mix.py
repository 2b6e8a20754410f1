# SPDX-License-Identifier: MIT
"""Many C-level events (names that are literals in the interpreter) interleaved
with Python-level ones whose names are built at run time, so that one heap
address holds a different name each time. The interpreter's own audit hook
counts every event by name, from its installation to the "mix.end" event; the counts are printed last, as JSON, to be
compared with what seatrace saw.

Usage: name_mix.py ROUNDS"""
import collections
import json
import marshal
import os
import sys
import tempfile

rounds = int(sys.argv[1])
counts = collections.Counter()
TRACKED = ("builtins.id", "os.listdir", "os.scandir", "marshal.dumps", "marshal.loads",
           "compile", "exec", "sys._getframe", "os.chdir", "open", "os.mkdir", "os.rmdir",
           "os.rename", "os.remove", "os.chmod")


counting = True


def hook(name, args):
    if counting and (name in TRACKED or name.startswith("dyn.")):
        counts[name] += 1


sys.addaudithook(hook)
here = os.getcwd()
d = tempfile.mkdtemp()
code = compile("1", "<mix>", "eval")
for i in range(rounds):
    id(i)
    os.listdir(d)
    with os.scandir(d):
        pass
    marshal.loads(marshal.dumps(i))
    compile("2", "<mix>", "eval")
    exec(code)
    sys._getframe()
    os.chdir(d)
    os.chdir(here)
    p = os.path.join(d, "f")
    open(p, "w").close()
    os.chmod(p, 0o600)
    os.rename(p, p + "2")
    os.remove(p + "2")
    os.mkdir(p)
    os.rmdir(p)
    # Built at run time: the same freed block is reused for the next name.
    sys.audit("dyn." + "abcdefghij"[i % 10] * (1 + i % 3), i)
counting = False
sys.audit("mix.end")  # seatrace counts what lies between sys.addaudithook and this
os.rmdir(d)
print(json.dumps(counts), flush=True)
