# SPDX-License-Identifier: MIT
"""seatrace run by a non-root user holding exactly the capabilities its permission message
names (check_privileges() in user/main.c): decoded events in every mode, and, with any one
of them missing, a refusal naming them before anything runs.

The sets, and why each capability is there:
  tracing another user's processes (-p, system-wide): CAP_SYS_ADMIN (uprobe perf events
      need it since the fix for CVE-2025-38466; it covers CAP_BPF, CAP_PERFMON and
      /proc/PID/map_files), CAP_SYS_PTRACE (their /proc/PID/exe, maps, root, memory),
      CAP_DAC_READ_SEARCH (their /proc/PID/map_files and environ are owner-only: without it a
      library in a directory only they can enter is missed, or mistaken for a public one);
  a command (our own child): CAP_SYS_ADMIN;
  --list (loads nothing): CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_CHECKPOINT_RESTORE.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import threading

import pytest

from conftest import (PY, TIMEOUT, Result, assert_clean_error, parse_json_lines,
                      seatrace_for_nobody, wait_for)

NOBODY = 65534  # seatrace runs as nobody/nogroup
OTHER = 1  # daemon: the traced Python belongs to someone else
FULL = ("sys_admin", "sys_ptrace", "dac_read_search")
COMMAND = ("sys_admin",)
LIST = ("sys_ptrace", "dac_read_search", "checkpoint_restore")
NAMES = {c: "CAP_" + c.upper() for c in FULL + LIST}
LIBPYTHON = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"

# Raises seatrace.priv(i, "other") every 20 ms, once it said it is ready.
LOOP = ("import sys, time\nprint('ready', flush=True)\ni = 0\n"
        "while True:\n    sys.audit('seatrace.priv', i, 'other')\n    i += 1\n"
        "    time.sleep(0.02)\n")


def as_user(uid, caps):
    """setpriv: uid and gid `uid`, no groups, exactly `caps` (ambient, so they survive exec)."""
    c = "".join(f",+{cap}" for cap in caps)
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            f"--inh-caps=-all{c}", f"--ambient-caps=-all{c}"]


@pytest.fixture(scope="module")
def exe():
    with seatrace_for_nobody() as path:
        yield path


@pytest.fixture
def other_python(procs):
    """A python3.11 of another user (daemon), raising events until killed."""
    p = procs.popen([*as_user(OTHER, ()), PY, "-c", LOOP], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    return p


EMBED_C = r"""
#include <Python.h>
int main(void)
{
	Py_Initialize();
	return PyRun_SimpleString(LOOP) ? 1 : Py_FinalizeEx();
}
"""


@pytest.fixture(scope="module")
def embedder():
    """A program of another user running its own copy of Debian's libpython3.11, both in a
    directory only that user can enter (mode 0700), as a venv in a private home would be.
    seatrace reaches the library through /proc/PID/map_files, owner-only: without
    CAP_DAC_READ_SEARCH it would fall back to the public libpython of the same name, attach
    there and see nothing."""
    cflags = subprocess.run(["python3.11-config", "--includes"], capture_output=True, text=True)
    if not shutil.which("cc") or cflags.returncode or not os.path.exists(LIBPYTHON):
        pytest.skip(f"needs cc, python3.11-config and {LIBPYTHON} (libpython3.11-dev)")
    top = tempfile.mkdtemp(prefix="seatrace-priv-")
    os.chmod(top, 0o755)
    d = os.path.join(top, "private")
    os.makedirs(os.path.join(d, "lib"))
    lib = os.path.join(d, "lib", os.path.basename(LIBPYTHON))
    shutil.copy(LIBPYTHON, lib)
    src, app = os.path.join(d, "app.c"), os.path.join(d, "app")
    with open(src, "w") as f:
        f.write(EMBED_C.replace("LOOP", '"' + LOOP.encode("unicode_escape").decode() + '"'))
    subprocess.run(["cc", "-O1", *cflags.stdout.split(), "-o", app, src,
                    f"-L{os.path.dirname(LIBPYTHON)}", "-lpython3.11",
                    f"-Wl,-rpath,{os.path.dirname(lib)}"], check=True)
    for root, dirs, files in os.walk(d):
        for name in [root, *(os.path.join(root, x) for x in dirs + files)]:
            os.chown(name, OTHER, OTHER)
    os.chmod(d, 0o700)
    yield {"app": app, "lib": lib}
    shutil.rmtree(top, ignore_errors=True)


def run(exe, caps, *args, timeout=TIMEOUT):
    argv = [*as_user(NOBODY, caps), exe, *map(str, args)]
    p = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return Result(argv, p.returncode, p.stdout, p.stderr)


class Background:
    """seatrace as nobody in the background: waits for its 'attached' line, stops on SIGINT."""

    def __init__(self, procs, exe, caps, args, out_path):
        self.out_path = out_path
        self.argv = [*as_user(NOBODY, caps), exe, *map(str, args)]
        with open(out_path, "wb") as out:
            self.proc = procs.popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.PIPE)
        self.lines = []
        self.attached = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            if line.startswith("seatrace: attached:"):
                self.attached.set()
        self.attached.set()  # ended: the caller sees why in the lines

    def wait_attached(self):
        assert self.attached.wait(TIMEOUT), "".join(self.lines)
        assert self.proc.poll() is None, "".join(self.lines)

    def events(self):
        data = self.out_path.read_bytes()
        return parse_json_lines(data[:data.rfind(b"\n") + 1])

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(TIMEOUT)
        res = Result(self.argv, self.proc.returncode, self.out_path.read_bytes(),
                     "".join(self.lines))
        assert res.returncode == 0, res
        return res


def events_of(res, pid):
    return [e for e in res.events if e["event"] == "seatrace.priv" and e["pid"] == pid]


def assert_counting(evs, tag):
    """Decoded, in order, none missing: seatrace.priv(i, tag), i consecutive."""
    assert len(evs) >= 3, evs
    first = evs[0]["args"][0]
    assert [e["args"] for e in evs] == [[first + k, tag] for k in range(len(evs))], evs


def test_attach_to_another_users_python(procs, exe, other_python, tmp_path):
    pid = other_python.pid
    t = Background(procs, exe, FULL, ["-j", "-e", "seatrace.priv", "-p", pid],
                   tmp_path / "out.jsonl")
    t.wait_attached()
    wait_for(lambda: len(t.events()) >= 5, what="five events of another user's python")
    res = t.stop()
    assert_counting(events_of(res, pid), "other")


def test_attach_to_another_users_private_libpython(procs, exe, embedder, tmp_path):
    p = procs.popen([*as_user(OTHER, ()), embedder["app"]], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    t = Background(procs, exe, FULL, ["-j", "-e", "seatrace.priv", "-p", p.pid],
                   tmp_path / "out.jsonl")
    t.wait_attached()
    assert f"attached: PID {p.pid}, {embedder['lib']} " in "".join(t.lines), t.lines
    wait_for(lambda: len(t.events()) >= 5, what="five events of another user's embedder")
    res = t.stop()
    assert_counting(events_of(res, p.pid), "other")


def test_system_wide(procs, exe, other_python, tmp_path):
    """Processes already running and started later, of another user, are traced."""
    t = Background(procs, exe, FULL, ["-j", "-e", "seatrace.priv"], tmp_path / "out.jsonl")
    t.wait_attached()
    late = procs.popen([*as_user(OTHER, ()), PY, "-c",
                        "import sys\nfor i in range(3): sys.audit('seatrace.priv', i, 'late')"])
    assert late.wait(TIMEOUT) == 0

    def seen():
        evs = [e for e in t.events() if e["event"] == "seatrace.priv"]
        return ({e["pid"] for e in evs} >= {other_python.pid, late.pid}
                and len([e for e in evs if e["pid"] == other_python.pid]) >= 3)

    wait_for(seen, what="events of both processes")
    res = t.stop()
    assert_counting(events_of(res, other_python.pid), "other")
    assert [e["args"] for e in events_of(res, late.pid)] == [[0, "late"], [1, "late"],
                                                              [2, "late"]]


def test_command(exe):
    res = run(exe, COMMAND, "-j", "--", PY, "-c", "import sys; sys.audit('seatrace.priv', 7, 'c')")
    assert res.returncode == 0, res
    assert [e["args"] for e in res.named("seatrace.priv")] == [[7, "c"]], res


def test_command_with_syscalls(exe):
    res = run(exe, COMMAND, "-j", "-S", "-e", "open", "--", PY, "-c",
              "open('/dev/null').close()")
    assert res.returncode == 0, res
    opens = [r for r in res.records
             if r.get("path") == "/dev/null" or r.get("args", [None])[0] == "/dev/null"]
    assert [r["type"] for r in opens] == ["event", "syscall"], opens
    assert opens[0]["event"] == "open", opens
    assert opens[1]["audit"]["event"] == "open" and opens[1]["ret"] >= 0, opens


def test_list(procs, exe, other_python, embedder):
    emb = procs.popen([*as_user(OTHER, ()), embedder["app"]], stdout=subprocess.PIPE, text=True)
    assert emb.stdout.readline() == "ready\n"
    res = run(exe, LIST, "--list")
    assert res.returncode == 0, res
    rows = {int(l.split()[0]): l.split() for l in res.stdout.splitlines()[1:]}
    assert rows[other_python.pid][1:5] == ["daemon", "3.11.2", "probe", PY], res
    # Its library, behind the owner-only map_files, in a directory only its owner enters.
    assert rows[emb.pid][1:4] == ["daemon", "3.11.2", "probe"], res
    assert f"(CPython in {embedder['lib']})" in " ".join(rows[emb.pid]), res


CASES = [
    # (what, capabilities it needs, arguments)
    ("attach", FULL, ["-p", "{pid}"]),
    ("system-wide", FULL, []),
    ("command", COMMAND, ["--", PY, "-c", "open({marker!r}, 'w')"]),
    ("list", LIST, ["--list"]),
]


@pytest.mark.parametrize("what,caps,args,drop",
                         [(w, c, a, d) for w, c, a in CASES for d in c],
                         ids=[f"{w}-no-{d}" for w, c, _ in CASES for d in c])
def test_one_capability_less(exe, other_python, what, caps, args, drop):
    d = tempfile.mkdtemp(prefix="seatrace-priv-")
    os.chmod(d, 0o777)  # the command, run as nobody, could write its marker if it ran
    marker = os.path.join(d, "ran")
    args = [a.format(pid=other_python.pid, marker=marker) for a in args]
    try:
        res = run(exe, [c for c in caps if c != drop], *args, timeout=60)
        ran = os.path.exists(marker)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    msg = assert_clean_error(res, "permission denied", *(NAMES[c] for c in caps))
    assert res.returncode == 1, res
    assert not ran, "the command ran although seatrace refused to trace it"
    assert "attached" not in res.stderr, msg


def test_old_set_refused(exe, other_python):
    """CAP_BPF and CAP_PERFMON no longer attach a uprobe: refused up front, not by libbpf."""
    res = run(exe, ("bpf", "perfmon", "sys_ptrace", "dac_read_search"), "-p", other_python.pid,
              timeout=60)
    assert_clean_error(res, "permission denied", "CAP_SYS_ADMIN")
    assert res.returncode == 1, res
