"""Syscall correlation (-S): real syscalls of real python3.11 processes, each linked to the
audit event before it on its thread, or flagged as unaudited; and the tampering alerts."""
import os
import re
import socket
import subprocess
import threading

import pytest

from conftest import PY, run_seatrace, trace_code


def syscalls(res, name=None):
    out = [r for r in res.records if r.get("type") == "syscall"]
    if name:
        out = [r for r in out if r["syscall"] == name]
    return out


def alerts(res):
    return [r for r in res.records if r.get("type") == "alert"]


def opens_of(res, path):
    return [s for s in syscalls(res) if s["syscall"] in ("open", "openat", "openat2")
            and s.get("path") == path]


def test_open_existing_gives_fd_linked_to_open_event(tmp_path):
    f = tmp_path / "exists.txt"
    f.write_text("x")
    res = trace_code(f"open({str(f)!r}).close()", "-S", "-e", "open")
    assert res.returncode == 0, res
    ev = [e for e in res.named("open") if e["args"][0] == str(f)]
    assert len(ev) == 1, res
    sc = opens_of(res, str(f))
    assert len(sc) == 1, res
    s = sc[0]
    assert s["ret"] >= 3 and "errno" not in s
    assert s["audit"]["event"] == "open"
    assert s["unaudited"] is False and s["startup"] is False
    assert s["pid"] == ev[0]["pid"] and s["tid"] == ev[0]["tid"]
    # The audit event's own timestamp identifies the event the syscall belongs to.
    assert abs(s["audit"]["ts_ns"] / 1e9 - (ev[0]["ts"] - 0)) < 86400 * 365 * 100


def test_open_missing_gives_errno(tmp_path):
    missing = tmp_path / "no" / "such"
    res = trace_code(f"""
try:
    open({str(missing)!r})
except FileNotFoundError:
    pass
""", "-S", "-e", "open")
    assert res.returncode == 0, res
    sc = opens_of(res, str(missing))
    assert len(sc) == 1, res
    assert sc[0]["ret"] == -1 and sc[0]["errno"] == "ENOENT"
    assert sc[0]["audit"]["event"] == "open" and not sc[0]["unaudited"]


def test_open_forbidden_gives_eacces(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s")
    os.chmod(secret, 0o600)
    os.chmod(tmp_path, 0o755)
    # The workload drops to nobody (setpriv execs python3.11: seatrace attaches at that exec).
    res = run_seatrace("-j", "-S", "-e", "open", "--", "setpriv", "--reuid=65534",
                       "--regid=65534", "--clear-groups", PY, "-c", f"""
try:
    open({str(secret)!r})
except PermissionError:
    pass
""")
    assert res.returncode == 0, res
    sc = opens_of(res, str(secret))
    assert len(sc) == 1, res
    assert sc[0]["errno"] == "EACCES" and sc[0]["audit"]["event"] == "open"


def test_loopback_connect_linked():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    t = threading.Thread(target=lambda: srv.accept()[0].close(), daemon=True)
    t.start()
    try:
        res = trace_code(f"""
import socket
s = socket.create_connection(('127.0.0.1', {port}))
s.close()
""", "-S", "-e", "socket.*")
    finally:
        srv.close()
    assert res.returncode == 0, res
    ev = res.one("socket.connect")
    assert ev["args"][1] == ["127.0.0.1", port]
    sc = syscalls(res, "connect")
    assert len(sc) == 1, res
    assert sc[0]["ret"] == 0
    assert sc[0]["address"] == f"('127.0.0.1', {port})"
    assert sc[0]["audit"]["event"] == "socket.connect" and not sc[0]["unaudited"]
    assert syscalls(res, "socket")[0]["audit"]["event"] == "socket.__new__"


def test_subprocess_run_new_pid_and_exec_path():
    res = trace_code("import subprocess; subprocess.run(['/bin/true'], check=True)",
                     "-S", "-e", "subprocess.Popen")
    assert res.returncode == 0, res
    popen = res.one("subprocess.Popen")
    spawns = [s for s in syscalls(res) if s["syscall"] in ("clone", "clone3", "vfork", "fork")
              and s["pid"] == popen["pid"]]
    assert spawns, res
    child = spawns[-1]["ret"]
    assert child > 0 and spawns[-1]["audit"]["event"] == "subprocess.Popen"
    execs = [s for s in syscalls(res, "execve") if s["pid"] == child]
    assert execs, f"no execve from child {child}: {syscalls(res)}"
    ok = [s for s in execs if s["ret"] == 0]
    assert len(ok) == 1 and ok[0]["path"] == "/bin/true"
    # The child raised no audit event: it inherits the parent's subprocess.Popen.
    assert ok[0]["audit"]["event"] == "subprocess.Popen" and ok[0]["audit"]["inherited"]
    assert not ok[0]["unaudited"]


def test_ctypes_libc_open_is_unaudited(tmp_path):
    f = tmp_path / "via-ctypes"
    f.write_text("x")
    res = trace_code(f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.open({str(f).encode()!r}, os.O_RDONLY)
assert fd >= 0
os.close(fd)
""", "-S", "-x", "open")
    assert res.returncode == 0, res
    sc = opens_of(res, str(f))
    assert len(sc) == 1, res
    assert sc[0]["ret"] >= 0
    assert sc[0]["unaudited"] is True
    assert sc[0]["audit"]["event"].startswith("ctypes.")
    # ctypes itself is a sign worth an alert.
    assert any("ctypes" in a["reason"] for a in alerts(res)), res
    # The Python-level open() of the same file, by contrast, is audited (and -x open hid its
    # event, but not its role in accounting for the syscall).
    res2 = trace_code(f"open({str(f)!r}).close()", "-S", "-x", "open")
    sc2 = opens_of(res2, str(f))
    assert len(sc2) == 1 and sc2[0]["unaudited"] is False, res2


def test_addaudithook_alert():
    res = trace_code("import sys; sys.addaudithook(lambda e, a: None); sys.audit('after.hook')",
                     "-e", "sys.addaudithook,after.hook")
    assert res.returncode == 0, res
    assert res.one("sys.addaudithook")
    al = alerts(res)
    assert len(al) == 1 and "addaudithook" in al[0]["reason"], res


def semaphore_address():
    out = subprocess.run(["readelf", "-n", PY], capture_output=True, text=True).stdout
    m = re.search(r"Name: audit\s+Location: \S+, Base: \S+, Semaphore: (0x[0-9a-f]+)", out)
    assert m, out
    return int(m.group(1), 16)


def test_semaphore_cleared_alert():
    """A cleared semaphore is set again by seatrace, with an alert each time."""
    sem = semaphore_address()
    res = trace_code(f"""
import ctypes, sys, time
sys.audit("before.clear")
for i in range(2):
    ctypes.c_ushort.from_address({sem}).value = 0
    sys.audit("while.cleared")   # never reaches the probe: CPython skips it
    time.sleep(0.5)
    sys.audit("after.clear", i)  # seatrace has set it again meanwhile
""", "-e", "before.clear,while.cleared,after.clear")
    assert res.returncode == 0, res
    assert res.named("before.clear") and not res.named("while.cleared"), res
    assert [e["args"] for e in res.named("after.clear")] == [[0], [1]], res
    al = [a for a in alerts(res) if "semaphore" in a["reason"]]
    assert len(al) == 2 and all("set again" in a["reason"] for a in al), res


def test_untraced_process_syscalls_not_recorded(tmp_path):
    f = tmp_path / "other"
    f.write_text("x")
    # Another python opens files the whole time; only the traced one's syscalls appear.
    other = subprocess.Popen([PY, "-c", f"""
import time
end = time.time() + 20
while time.time() < end:
    open({str(f)!r}).close()
"""])
    try:
        res = trace_code("open('/etc/hostname').close()", "-S", "-e", "open")
    finally:
        other.kill()
        other.wait()
    assert res.returncode == 0, res
    pids = {s["pid"] for s in syscalls(res)}
    assert other.pid not in pids
    assert not opens_of(res, str(f))
    assert opens_of(res, "/etc/hostname")


def test_startup_syscalls_marked_not_unaudited():
    res = trace_code("pass", "-S", "-e", "nothing")
    assert res.returncode == 0, res
    sc = syscalls(res)
    # The dynamic loader opens libraries before Python raises anything.
    early = [s for s in sc if s["startup"]]
    assert early, res
    assert all(s["audit"] is None and not s["unaudited"] for s in early)


def test_text_mode_shows_result():
    res = run_seatrace("-S", "-e", "open", "--", PY, "-c",
                       "import os\ntry: open('/nonexistent/x')\nexcept OSError: pass")
    assert res.returncode == 0, res
    line = [l for l in res.stdout.splitlines() if "/nonexistent/x" in l and "openat(" in l]
    assert line, res
    assert re.search(r'openat\(AT_FDCWD, "/nonexistent/x", O_RDONLY\|O_CLOEXEC(, 0\d*)?\) = -1 '
                     r'ENOENT \(No such file or directory\)', line[0]), line


# System-wide -S: a python3.11 that names itself (its comm), says "ready", and after a line on
# stdin opens a file and connects a socket. Started before the tracer, as a long-running
# service would be.
SYS_WORKLOAD = """
import socket, sys
with open('/proc/self/comm', 'w') as f:
    f.write(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
open(sys.argv[2]).close()
socket.create_connection(('127.0.0.1', int(sys.argv[3]))).close()
"""


def start_sys_workload(comm, path, port):
    p = subprocess.Popen([PY, "-c", SYS_WORKLOAD, comm, str(path), str(port)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def go(p):
    p.stdin.write("go\n")
    p.stdin.flush()
    p.stdin.close()
    assert p.wait(60) == 0


def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    return srv


def assert_linked(res, pid, path, port):
    """The open and the connect of process pid, each linked to its audit event."""
    ev = [e for e in res.named("open") if e["pid"] == pid and e["args"][0] == str(path)]
    assert len(ev) == 1, res
    sc = [s for s in opens_of(res, str(path)) if s["pid"] == pid]
    assert len(sc) == 1, res
    assert sc[0]["ret"] >= 3 and sc[0]["audit"]["event"] == "open", sc
    assert sc[0]["audit"]["ts_ns"] and not sc[0]["unaudited"] and not sc[0]["startup"]
    conn = [s for s in syscalls(res, "connect") if s["pid"] == pid]
    assert len(conn) == 1, res
    assert conn[0]["address"] == f"('127.0.0.1', {port})"
    assert conn[0]["audit"]["event"] == "socket.connect" and not conn[0]["unaudited"]


def test_system_wide_syscalls_linked(tmp_path, procs):
    """No -p, no command: every traced Python's syscalls are recorded, as in -p mode."""
    f = tmp_path / "sysw.txt"
    f.write_text("x")
    srv = listener()
    port = srv.getsockname()[1]
    p = start_sys_workload("stsysw", f, port)
    try:
        t = procs.tracer(["-j", "-S", "-e", "open", "-e", "socket.connect"],
                         tmp_path / "out.jsonl")
        t.wait_attached()
        go(p)
        srv.accept()[0].close()
        res = t.stop()
    finally:
        p.kill()
        srv.close()
    assert_linked(res, p.pid, f, port)


def test_system_wide_syscalls_with_comm(tmp_path, procs):
    """--comm selects the processes whose syscalls are recorded too."""
    f = tmp_path / "comm.txt"
    f.write_text("x")
    srv = listener()
    port = srv.getsockname()[1]
    mine = start_sys_workload("stcommyes", f, port)
    other = start_sys_workload("stcommno", f, port)
    try:
        t = procs.tracer(["-j", "-S", "--comm", "stcommyes", "-e", "open", "-e",
                          "socket.connect"], tmp_path / "out.jsonl")
        t.wait_attached()
        go(mine)
        go(other)
        srv.accept()[0].close()
        srv.accept()[0].close()
        res = t.stop()
    finally:
        mine.kill()
        other.kill()
        srv.close()
    assert_linked(res, mine.pid, f, port)
    assert not [r for r in res.records if r.get("pid") == other.pid], res
