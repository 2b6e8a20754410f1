# SPDX-License-Identifier: MIT
"""Records that can be joined: the header record, seq and ts_ns on every record, and the
process context (uid, gid, loginuid, ppid, exe, cgroup, container_id, nspid) of real Python
processes, checked against what /proc says of them.

Each test traces only its own processes (-p), so other tracers' and helpers' Pythons on the
host do not show up; the processes stay alive until seatrace has stopped, so /proc still
describes them when the reader looks.
"""
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time

import pytest

from conftest import PY, cgroup2_root, TIMEOUT, Tracer, wait_for

# Says "ready", waits for a line, then raises a span's two events around a plain one, opens a
# file (a syscall with -S), uses ctypes (an alert), says "done" and waits for end of input.
CODE = r"""
import os, sys
print("ready", flush=True)
sys.stdin.readline()
sys.audit("prehook:ctx", 1)
sys.audit("ctx.plain", os.getpid())
sys.audit("posthook:ctx", 2)
open("/etc/hostname", "rb").close()
import ctypes
ctypes.CDLL(None)
print("done", flush=True)
sys.stdin.read()
"""

TS_RE = re.compile(rb'"ts":(-?\d+\.\d{9}),"ts_ns":(-?\d+)[,}]')


class Proc:
    """A python3.11 running CODE under argv's prefix; pid is the interpreter's host pid."""

    def __init__(self, prefix=(), find_pid=None):
        self.proc = subprocess.Popen([*prefix, PY, "-c", CODE], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        assert line == b"ready\n", (line, self.proc.stderr.read() if not line else b"")
        self.pid = find_pid(self.proc.pid) if find_pid else self.proc.pid

    def go(self):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line == b"done\n", (line, self.proc.stderr.read() if not line else b"")

    def end(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(TIMEOUT)


@pytest.fixture
def running():
    made = []

    def make(*a, **kw):
        p = Proc(*a, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.end()


def trace(tmp_path, proc, *opts):
    """Trace proc with -j -S -p while it raises its events; the tracer's Result."""
    t = Tracer(["-j", "-S", *opts, "-p", proc.pid], tmp_path / f"out-{proc.pid}.jsonl")
    try:
        t.wait_attached()
        proc.go()
        res = t.stop()
    finally:
        t.kill()
    return res


def mine(res, pid):
    return [r for r in res.records if r.get("pid") == pid and r["type"] in
            ("event", "span", "syscall")]


def proc_status(pid):
    st = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        st[k] = v.split()
    return st


def expected_context(pid):
    """What /proc says of pid, as seatrace should write it."""
    st = proc_status(pid)
    cg = [l[3:].rstrip("\n") for l in open(f"/proc/{pid}/cgroup") if l.startswith("0::")]
    want = {"uid": int(st["Uid"][0]), "gid": int(st["Gid"][0]), "ppid": int(st["PPid"][0]),
            "exe": os.readlink(f"/proc/{pid}/exe"), "cgroup": cg[0]}
    try:
        login = int(open(f"/proc/{pid}/loginuid").read())
        if login != 4294967295:
            want["loginuid"] = login
    except OSError:
        pass
    return want


def test_header_seq_and_ts_ns(tmp_path, running):
    p = running()
    res = trace(tmp_path, p)
    raw = res.output.splitlines()
    recs = res.all_records
    # The header first, with this machine's name and boot id.
    h = recs[0]
    assert h["type"] == "header", recs[:3]
    assert h["host"] == socket.gethostname()
    assert h["boot_id"] == open("/proc/sys/kernel/random/boot_id").read().strip()
    assert h["schema"] == 2 and isinstance(h["seatrace"], str) and h["seatrace"], h
    assert sum(r["type"] == "header" for r in recs) == 1
    # seq: 1, 2, 3, ... over every record of the run, whatever its type.
    assert [r.get("seq") for r in recs] == list(range(1, len(recs) + 1)), \
        [(r.get("seq"), r["type"]) for r in recs]
    types = {r["type"] for r in recs}
    assert {"header", "event", "span", "syscall", "alert"} <= types, types
    assert [e["args"] for e in res.named("ctx.plain")] == [[p.pid]]
    # ts_ns: an integer, the same instant as ts to the nanosecond (checked on the text: a
    # float64 cannot hold it).
    for line, r in zip(raw, recs):
        assert isinstance(r["ts_ns"], int) and not isinstance(r["ts_ns"], bool), r
        if "ts" in r:
            m = TS_RE.search(line)
            assert m, line
            sec, _, frac = m.group(1).partition(b".")
            assert int(sec) * 10**9 + int(frac) == int(m.group(2)) == r["ts_ns"], line
    # The wall clock: within the run's own span of time, give or take the hang guard.
    now = time.time_ns()
    assert all(now - 600 * 10**9 < r["ts_ns"] <= now for r in recs), recs[:3]


def test_context_of_another_user(tmp_path, running):
    """A Python run as nobody: every event, span and syscall record carries its ids, parent,
    executable and cgroup, as /proc says."""
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) not installed")
    p = running(prefix=["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"])
    want = expected_context(p.pid)
    assert want["uid"] == 65534 and want["gid"] == 65534, want
    assert want["ppid"] == os.getpid() and want["exe"] == os.path.realpath(PY), want
    res = trace(tmp_path, p)
    recs = mine(res, p.pid)
    assert {r["type"] for r in recs} == {"event", "span", "syscall"}, recs
    for r in recs:
        got = {k: r.get(k) for k in want}
        assert got == want, r
        assert "loginuid" in r or "loginuid" not in want, r
        assert "container_id" not in r and "nspid" not in r, r


@pytest.fixture
def docker_cgroup():
    """A cgroup v2 directory named as Docker's systemd driver names a container's."""
    root = cgroup2_root()
    if not root:
        pytest.skip("no cgroup v2 hierarchy mounted")
    cid = secrets.token_hex(32)
    cg = os.path.join(root, f"docker-{cid}.scope")
    os.mkdir(cg)
    yield cg, cid
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            os.rmdir(cg)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_container_id(tmp_path, running, docker_cgroup):
    cg, cid = docker_cgroup
    p = running(prefix=["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg])
    try:
        want = expected_context(p.pid)
        assert want["cgroup"] == "/" + os.path.relpath(cg, cgroup2_root()), want
        res = trace(tmp_path, p)
        recs = mine(res, p.pid)
        assert {r["type"] for r in recs} == {"event", "span", "syscall"}, recs
        for r in recs:
            assert r.get("container_id") == cid, r
            assert r.get("cgroup") == want["cgroup"], r
    finally:
        p.end()


def only_child(pid):
    def child():
        kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
        return int(kids[0]) if len(kids) == 1 else None

    wait_for(lambda: child() is not None, what=f"the child of {pid}")
    return child()


def test_nspid(tmp_path, running):
    """A Python that is pid 1 of its own PID namespace: nspid 1, pid the host's."""
    p = running(prefix=["unshare", "--fork", "--pid", "--mount-proc", "--kill-child"],
                find_pid=only_child)
    ns = proc_status(p.pid)["NSpid"]
    assert ns == [str(p.pid), "1"], ns
    res = trace(tmp_path, p)
    recs = mine(res, p.pid)
    assert {r["type"] for r in recs} == {"event", "span", "syscall"}, recs
    for r in recs:
        assert r.get("nspid") == 1 and r["pid"] == p.pid, r
    # A process in the host's namespace has none.
    q = running()
    res = trace(tmp_path, q)
    assert all("nspid" not in r for r in mine(res, q.pid))


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

# Raises one event per line read, tagged by the line, and says so.
RAISER = r"""
import sys
print("ready", flush=True)
for line in sys.stdin:
    sys.audit("ctx.clock", line.strip())
    print("raised", flush=True)
"""


def test_wall_clock_step_shows(tmp_path):
    """The wall clock steps an hour forward during the run (libfaketime, in seatrace alone:
    its CLOCK_REALTIME moves, CLOCK_MONOTONIC and the kernel's stamps do not, as after an
    NTP step or a suspend): events raised after it carry the new time, not the start's."""
    if not os.path.exists(FAKETIME):
        pytest.skip("libfaketime (Debian package libfaketime) not installed")
    step = 3600 * 10**9
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    env = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": str(offset),
           "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
           "DONT_FAKE_MONOTONIC": "1"}
    py = subprocess.Popen([PY, "-c", RAISER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, bufsize=1)
    out = tmp_path / "out.jsonl"
    t = Tracer(["-j", "-p", py.pid], out, env=env)
    try:
        assert py.stdout.readline() == "ready\n"
        t.wait_attached()

        def raise_and_read(tag):
            py.stdin.write(tag + "\n")
            assert py.stdout.readline() == "raised\n"
            got = []

            def seen():
                for line in out.read_text().splitlines():
                    if f'"args":["{tag}"]' in line:
                        got.append(json.loads(line))
                        return True
                return False

            wait_for(seen, what=f"event {tag}")
            return got[0], time.time_ns()

        before, real = raise_and_read("before")
        assert abs(before["ts_ns"] - real) < 60 * 10**9, (before, real)
        offset.write_text(f"+{step // 10**9}\n")
        # The reader re-derives the wall clock at most once a second: raise events until one
        # shows the step (hang guard: 30 of them, 0.5 s apart).
        for i in range(30):
            ev, real = raise_and_read(f"after{i}")
            if abs(ev["ts_ns"] - real - step) < 60 * 10**9:
                break
            assert abs(ev["ts_ns"] - real) < 60 * 10**9, (ev, real)
            time.sleep(0.5)
        else:
            raise AssertionError(f"no event carried the stepped wall clock: {ev}")
        res = t.stop()
        assert res.all_records[0]["type"] == "header"
    finally:
        t.kill()
        py.kill()
        py.wait(TIMEOUT)
