"""System-wide tracing, process filters, --follow, --list, and other interpreters: real
processes under the real tracer."""
import os
import secrets
import shutil
import subprocess
import time

import pytest

import interpreters
from conftest import PY, PYENV_PY, UNTRACEABLE_PY, Tracer, run_seatrace, trace_code

# Workload: says "ready", waits for a line, raises one event carrying a tag, exits.
WAITER = """
import sys
print("ready", flush=True)
sys.stdin.readline()
sys.audit("seatrace.sys", sys.argv[1])
"""

# Raises its event first thing, before reading anything.
EAGER = "import sys; sys.audit('seatrace.sys', sys.argv[1])"


# System-wide tracing sees every process on the host, a concurrent run of these tests
# included: tags carry this run's token, and only those are counted.
TOKEN = f"{os.getpid()}.{secrets.token_hex(3)}:"


def start(argv, tag, code=WAITER):
    p = subprocess.Popen([*argv, "-c", code, TOKEN + tag], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    if code is WAITER:
        assert p.stdout.readline().strip() == "ready"
    return p


def release(p):
    p.stdin.write("go\n")
    p.stdin.flush()
    p.stdin.close()
    assert p.wait(60) == 0


def tags(res):
    return [e["args"][0][len(TOKEN):] for e in res.events
            if e["event"] == "seatrace.sys" and str(e["args"][0]).startswith(TOKEN)]


def system_tracer(tmp_path, *args):
    t = Tracer(["-j", "-e", "seatrace.sys", *args], tmp_path / "out.jsonl")
    t.wait_attached()
    return t


def test_before_and_after_start(tmp_path):
    before = start([PY], "before")
    try:
        t = system_tracer(tmp_path)
        after = subprocess.run([PY, "-c", EAGER, TOKEN + "after"], timeout=60)
        assert after.returncode == 0
        release(before)
        time.sleep(0.3)
        res = t.stop()
    finally:
        before.kill()
    assert "before" in tags(res) and "after" in tags(res), res
    assert "interpreter file" in res.stderr


def test_new_binary_is_attached_on_exec(tmp_path):
    """A copy of python3.11 is a new file: seatrace sees its exec and attaches to it."""
    copy = tmp_path / "mypython"
    shutil.copy2(PY, copy)
    t = system_tracer(tmp_path)
    # The first run of a new binary can start before the attach completes: try until traced.
    seen = False
    for i in range(20):
        p = start([str(copy)], f"copy{i}")
        release(p)
        time.sleep(0.2)
        if f"{TOKEN}copy{i}" in (tmp_path / "out.jsonl").read_text():
            seen = True
            break
    res = t.stop()
    assert seen, res
    comms = {e["comm"] for e in res.events}
    assert "mypython" in comms


def test_user_filter(tmp_path):
    t = system_tracer(tmp_path, "-u", "nobody")
    as_root = subprocess.run([PY, "-c", EAGER, TOKEN + "root"], timeout=60)
    as_nobody = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                PY, "-c", EAGER, TOKEN + "nobody"], timeout=60)
    assert as_root.returncode == 0 and as_nobody.returncode == 0
    time.sleep(0.3)
    res = t.stop()
    assert tags(res) == ["nobody"], res
    assert res.stats.get("events of processes filtered out", 0) >= 0


def test_comm_filter(tmp_path):
    copy = tmp_path / "pyalpha"
    shutil.copy2(PY, copy)
    t = system_tracer(tmp_path, "--comm", "python3.11")
    subprocess.run([PY, "-c", EAGER, TOKEN + "mine"], timeout=60, check=True)
    subprocess.run([str(copy), "-c", EAGER, TOKEN + "other"], timeout=60, check=True)
    time.sleep(0.3)
    res = t.stop()
    assert tags(res) == ["mine"], res


def test_cgroup_filter(tmp_path):
    # The cgroup v2 hierarchy: /sys/fs/cgroup, or .../unified on hybrid systems.
    roots = [l.split()[1] for l in open("/proc/mounts") if l.split()[2] == "cgroup2"]
    if not roots:
        pytest.skip("no cgroup v2 hierarchy mounted")
    root = roots[0]
    cg = os.path.join(root, f"seatrace-test-{os.getpid()}")
    os.mkdir(cg)
    try:
        t = system_tracer(tmp_path, "--cgroup", cg)
        inside = subprocess.Popen(
            ["sh", "-c", f"echo $$ > {cg}/cgroup.procs && exec {PY} -c \"{EAGER}\" {TOKEN}inside"])
        assert inside.wait(60) == 0
        subprocess.run([PY, "-c", EAGER, TOKEN + "outside"], timeout=60, check=True)
        time.sleep(0.3)
        res = t.stop()
    finally:
        os.rmdir(cg)
    assert tags(res) == ["inside"], res


def test_follow_children():
    code = f"""
import subprocess, sys
sys.audit("seatrace.sys", "parent")
subprocess.run([{PY!r}, "-c", "import sys; sys.audit('seatrace.sys', 'child')"], check=True)
"""
    with_f = trace_code(code, "-f", "-e", "seatrace.sys")
    without = trace_code(code, "-e", "seatrace.sys")
    assert with_f.returncode == 0 and without.returncode == 0
    # Command mode sees only its own processes: no run token needed.
    def names(res):
        return [e["args"][0] for e in res.events if e["event"] == "seatrace.sys"]

    assert sorted(names(with_f)) == ["child", "parent"], with_f
    assert names(without) == ["parent"], without
    pids = {e["pid"] for e in with_f.events}
    assert len(pids) == 2


def test_list_shows_pythons():
    probe = start([PY], "listed")
    noprobe = start([PYENV_PY], "listed2")
    try:
        res = run_seatrace("--list")
    finally:
        for p in (probe, noprobe):
            p.kill()
            p.wait()
    assert res.returncode == 0, res
    rows = {int(l.split()[0]): l for l in res.stdout.splitlines()[1:]}
    assert probe.pid in rows and noprobe.pid in rows, res.stdout
    assert "probe" in rows[probe.pid] and "3.11.2" in rows[probe.pid]
    assert "without the python:audit probe" in rows[noprobe.pid]
    assert "3.11.7" in rows[noprobe.pid]


def test_deleted_binary(tmp_path):
    copy = tmp_path / "deleted-python"
    shutil.copy2(PY, copy)
    p = start([str(copy)], "deleted")
    try:
        os.unlink(copy)
        t = Tracer(["-j", "-e", "seatrace.sys", "-p", p.pid], tmp_path / "out.jsonl")
        t.wait_attached()
        release(p)
        res = t.result()
    finally:
        p.kill()
    assert res.returncode == 0, res
    assert tags(res) == ["deleted"], res


def test_other_mount_namespace(tmp_path):
    """A Python whose binary is only visible in its own mount namespace."""
    if not shutil.which("unshare"):
        pytest.skip("unshare not installed")
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    shutil.copy2(PY, hidden / "python3.11")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    t = system_tracer(tmp_path)
    script = (f"mount --bind {hidden} {mnt} && umount -l {hidden} 2>/dev/null; "
              f"exec {mnt}/python3.11 -c \"{EAGER}\" {TOKEN}namespaced")
    seen = False
    for _ in range(10):
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                           timeout=60)
        assert r.returncode == 0
        time.sleep(0.3)
        if f"{TOKEN}namespaced" in (tmp_path / "out.jsonl").read_text():
            seen = True
            break
    res = t.stop()
    assert seen, res


def test_hundred_processes(tmp_path):
    procs = [start([PY], f"p{i}") for i in range(100)]
    try:
        t = system_tracer(tmp_path)
        for p in procs:
            release(p)
        time.sleep(0.5)
        res = t.stop()
    finally:
        for p in procs:
            p.kill()
    assert sorted(tags(res)) == sorted(f"p{i}" for i in range(100)), res


def test_processes_exiting_during_attach(tmp_path):
    """Short-lived processes come and go while seatrace scans /proc: no error, no hang."""
    churn = subprocess.Popen(["sh", "-c", f"for i in $(seq 200); do {PY} -c pass; done"])
    try:
        t = system_tracer(tmp_path)
        res = t.stop()
    finally:
        churn.kill()
        churn.wait()
    assert res.returncode == 0, res


@pytest.mark.parametrize("interp", interpreters.params(probe=True))
def test_values_on_each_interpreter(interp):
    code = ("import sys; sys.audit('seatrace.v', 'é€😀', -(2**100), 2.5, b'\\x00\\xff', "
            "[1, (2, None)], {'k': True}, 10**30)")
    res = run_seatrace("-j", "-e", "seatrace.v", "--", *interp.argv, "-c", code)
    assert res.returncode == 0, res
    ev = res.one("seatrace.v")
    assert ev["args"] == ["é€😀", -(2**100), 2.5, {"bytes": "AP8="}, [1, [2, None]],
                          {"k": True}, 10**30], res


def test_untraceable_refused_clearly():
    """A Python older than 3.8 (no audit events): refused with the binary named, never
    decoded by guess. (Free-threaded builds are refused too: see tests/unit/test_layout.c.)"""
    if not os.path.exists(UNTRACEABLE_PY):
        pytest.skip(f"{UNTRACEABLE_PY} not installed")
    res = run_seatrace("-j", "--", UNTRACEABLE_PY, "-c", "pass")
    assert res.returncode != 0
    assert "python3.7" in res.stderr and "3.8" in res.stderr, res


@pytest.mark.parametrize("interp", interpreters.params(probe=True))
def test_asyncio_pairing_each_interpreter(interp):
    """Interleaved tasks on one thread pair by their frames on every version with a probe
    (3.12+ find the thread's state by walking the interpreter's threads)."""
    code = """
import sys, asyncio
async def task(n):
    sys.audit("prehook:t", (n,), {})
    await asyncio.sleep(0.02 * (4 - n))
    sys.audit("posthook:t", n * 10)
async def main():
    await asyncio.gather(task(1), task(2), task(3))
asyncio.run(main())
"""
    res = run_seatrace("-j", "-e", "p*hook:t", "--", *interp.argv, "-c", code)
    assert res.returncode == 0, res
    spans = [r for r in res.records if r.get("type") == "span"]
    assert len(spans) == 3, res
    for s in spans:
        n = s["pre_args"][0][0]
        assert s["post_args"] == [n * 10], s
        assert not s["ambiguous"] and not s["unfinished"] and not s["no_pre"], s
    # The last started finishes first: the spans close in reverse order.
    assert [s["pre_args"][0][0] for s in spans] == [3, 2, 1]


def test_pid_reuse_and_death_inside_span(tmp_path):
    """A process killed inside a span: its span is reported unfinished as it dies, not at the
    end; a new process given the same pid does not close it."""
    import json
    import signal as sig
    t = Tracer(["-j", "-e", "p*hook:reuse"], tmp_path / "out.jsonl")
    t.wait_attached()
    a = subprocess.Popen([PY, "-c", "import sys, time\nsys.audit('prehook:reuse', ('a',), {})\n"
                          "print('in', flush=True)\ntime.sleep(600)"],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert a.stdout.readline().strip() == "in"
        pid = a.pid
        a.send_signal(sig.SIGKILL)
        a.wait(60)

        def records():
            return [json.loads(l) for l in (tmp_path / "out.jsonl").read_text().splitlines()]

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            spans = [r for r in records() if r.get("type") == "span"]
            if spans:
                break
            time.sleep(0.1)
        assert len(spans) == 1 and spans[0]["unfinished"] and spans[0]["pid"] == pid, records()
        # Put a new Python on the same pid: the kernel hands out ns_last_pid + 1 next.
        b = None
        for _ in range(50):
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(pid - 1))
            b = subprocess.Popen([PY, "-c", "import sys\nsys.audit('posthook:reuse', 'b')"])
            b.wait(60)
            if b.pid == pid:
                break
        if b.pid != pid:
            pytest.skip("could not get the same pid again (a busy machine)")
        time.sleep(0.3)
        res = t.stop()
    finally:
        a.kill()
        t.kill()
    spans = [r for r in res.records if r.get("type") == "span" and r["pid"] == pid]
    assert len(spans) == 2, res
    assert spans[0]["unfinished"] and spans[0]["post_args"] is None
    assert spans[1]["no_pre"] and spans[1]["post_args"] == ["b"] and spans[1]["pre_args"] is None
