"""The probe's semaphore cleared by a traced process, in every mode: seatrace sets it again
and says so each time (system-wide, and in processes it meets by their events)."""
import os
import re
import secrets
import subprocess

from conftest import PY, Tracer, parse_json_lines

TOKEN = f"{os.getpid()}.{secrets.token_hex(3)}"


def semaphore_address():
    out = subprocess.run(["readelf", "-n", PY], capture_output=True, text=True).stdout
    m = re.search(r"Name: audit\s+Location: \S+, Base: \S+, Semaphore: (0x[0-9a-f]+)", out)
    assert m, out
    return int(m.group(1), 16)


# Clears its own semaphore twice; after each clear it waits for seatrace to set it again.
CLEARER = """
import ctypes, os, sys, time
sem = ctypes.c_ushort.from_address({sem})
tag = sys.argv[1]
sys.audit("seatrace.tamper", tag, "before")
child = os.fork() if {fork} else None
if child == 0:
    tag += ".child"   # a forked child: met by its first event, not by an exec
    sys.audit("seatrace.tamper", tag, "forked")
    time.sleep(0.3)
for i in range(2):
    sem.value = 0
    sys.audit("seatrace.tamper", tag, "hidden")
    end = time.time() + 5
    while not sem.value and time.time() < end:
        time.sleep(0.01)
    sys.audit("seatrace.tamper", tag, "after", i)
    time.sleep(0.2)
if child:
    os.waitpid(child, 0)   # seatrace stops when this process ends
"""


def run(tmp_path, fork):
    t = Tracer(["-j", "-e", "seatrace.tamper"], tmp_path / "out.jsonl")
    try:
        t.wait_attached()
        code = CLEARER.format(sem=semaphore_address(), fork=fork)
        p = subprocess.run([PY, "-c", code, TOKEN], timeout=60)
        assert p.returncode == 0
    finally:
        res = t.stop()
    return res


def mine(res, pids):
    return [r for r in res.records if r.get("pid") in pids]


def test_system_wide_semaphore_set_again(tmp_path):
    res = run(tmp_path, fork=False)
    evs = [e["args"] for e in res.events if e["args"][0] == TOKEN]
    assert evs == [[TOKEN, "before"], [TOKEN, "after", 0], [TOKEN, "after", 1]], res
    pid = next(e["pid"] for e in res.events if e["args"][0] == TOKEN)
    al = [r for r in res.records if r["type"] == "alert" and r["pid"] == pid
          and "semaphore" in r["reason"]]
    assert len(al) == 2 and all("set again" in a["reason"] for a in al), res


def test_forked_child_semaphore_set_again(tmp_path):
    res = run(tmp_path, fork=True)
    child = [e for e in res.events if e["args"][0] == TOKEN + ".child"]
    assert [e["args"][1:] for e in child] == [["forked"], ["after", 0], ["after", 1]], res
    al = [r for r in res.records if r["type"] == "alert" and r["pid"] == child[0]["pid"]
          and "semaphore" in r["reason"]]
    assert len(al) == 2, res
