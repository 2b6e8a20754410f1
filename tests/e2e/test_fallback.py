# SPDX-License-Identifier: MIT
"""The uprobe fallback: interpreters built without the python:audit probe (pyenv's
3.8-3.13, --enable-shared, unstripped; and "static-3.13", CPython linked statically into
the executable as python-build-standalone has it, from
tools/build-cpython.sh static) are traced through uprobes on sys_audit_tstate (3.9+) or
PySys_Audit (3.8), and sys_audit (Python-level sys.audit()).

The records must be the ones the probe path writes for the same event: every test
compares with Debian's python3.11 (the probe) where the event is the same, and with
the workload's own view of its values where it differs by version.
"""
import json
import os
import shutil
import subprocess

import pytest

import interpreters
from conftest import (PY, WORKLOADS, assert_clean_error, parse_json_lines,
                      run_seatrace, wait_for)

FALLBACK = interpreters.params(probe=False)

VALUES = ("import sys; sys.audit('seatrace.v', 'é€😀', -(2**100), 2.5, b'\\x00\\xff', "
          "[1, (2, None)], {'k': True}, 10**30)")
VALUES_EXPECTED = ["é€😀", -(2**100), 2.5, {"bytes": "AP8="}, [1, [2, None]], {"k": True},
                   10**30]

# C-level events with formats other than "O": each line's comment gives the format.
C_EVENTS = r'''
import array, ctypes, gc, os, signal, socket, sys, threading
d = sys.argv[1]
p = os.path.join(d, "f")
sys.audit("seatrace.mark", d)
open(p, "w").close()                                  # open "Osi"
x = object()
id(x)                                                 # builtins.id "O": an int, wrapped
os.chdir(d)                                           # os.chdir "(O)"
fd = os.open(d, os.O_RDONLY)                          # open "OOi"
os.chdir(fd)                                          # os.chdir "(i)"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # socket.__new__ "Oiii"
s.close()
os.chmod(p, 0o640)                                    # os.chmod "Oii"
os.chown(p, -1, -1)                                   # os.chown "OIIi"
try:
    os.setxattr(p, "user.seatrace", b"\x00\xffv", 0)  # os.setxattr "OOy#i"
except OSError:
    pass
array.array("d", [1.5])                               # array.__new__ "CO"
signal.pthread_kill(threading.get_ident(), 0)         # signal.pthread_kill "ki"
gc.get_objects(generation=1)                          # gc.get_objects "n"
gc.get_objects()                                      # ... -1
f = os.open(p, os.O_RDWR)
try:
    os.lockf(f, os.F_TEST, 2**40)                     # os.lockf "iiL"
except OSError:
    pass
try:
    os.truncate(p, -(2**40))                          # os.truncate "On", negative
except OSError:
    pass
os.kill(os.getpid(), 0)                               # os.kill "in"
sys._getframe()                                       # sys._getframe "O" / "(O)"
def fn(a, b=1, *, c): pass
c2 = fn.__code__.replace(co_name="renamed")           # code.__new__ "OOOiiiiii": 5 on the stack
for name in ("caf\xe9", "\u20acuro", "\U0001f600x", "plain"):
    try:                                              # ctypes.dlsym "Os": UTF-8, 1, 2, 4 bytes
        getattr(ctypes.pythonapi, name)
    except AttributeError:
        pass
sys.audit("seatrace.expect", {
    "d": d, "p": p, "id": id(x), "tid": threading.get_ident(), "pid": os.getpid(),
    "code": [c2.co_code, c2.co_filename, c2.co_name, c2.co_argcount, c2.co_posonlyargcount,
             c2.co_kwonlyargcount, c2.co_nlocals, c2.co_stacksize, c2.co_flags]})
'''

# Events whose count or values depend on the installation or the version, not on the
# decoding (code.__new__ is checked apart, against the workload's own values).
VARIES = {"import", "exec", "compile", "marshal.loads", "os.listdir", "object.__getattr__",
          "object.__setattr__", "code.__new__", "seatrace.expect"}


def py_minor(interp):
    return interp.version[1]


def events_of(res, pid=None):
    return [e for e in res.events if pid is None or e["pid"] == pid]


def after_mark(events):
    i = next(k for k, e in enumerate(events) if e["event"] == "seatrace.mark")
    return events[i:]


def expect_of(events):
    return next(e for e in events if e["event"] == "seatrace.expect")["args"][0]


def normalized(events):
    """(event, args) from the mark on, paths and ids replaced by names."""
    evs = after_mark(events)
    ex = expect_of(evs)
    out = []
    for e in evs:
        if e["event"] in VARIES:
            continue
        s = json.dumps(e["args"], ensure_ascii=False)
        for k in ("p", "d"):
            s = s.replace(json.dumps(ex[k])[1:-1], k.upper())
        for k in ("id", "tid", "pid"):
            s = s.replace(str(ex[k]), k.upper())
        out.append((e["event"], s))
    return out


def run_c_events(python, tmp_path, env=None):
    d = tmp_path / "w"
    d.mkdir()
    out = tmp_path / "out.jsonl"
    res = run_seatrace("-j", "-o", out, "--", python, "-c", C_EVENTS, d, out_path=out, env=env)
    assert res.returncode == 0, res
    return res


@pytest.fixture(scope="module")
def probe_values():
    """raise_values.py through the probe (Debian's python3.11): the reference."""
    res = run_seatrace("-j", "-e", "seatrace.*", "-e", "prehook:*", "-e", "posthook:*", "--",
                       PY, WORKLOADS / "raise_values.py")
    assert res.returncode == 0, res
    return res.events


@pytest.fixture(scope="module")
def probe_c_events(tmp_path_factory):
    return normalized(run_c_events(PY, tmp_path_factory.mktemp("probe")).events)


# ---------------------------------------------------------------------------


@pytest.mark.parametrize("interp", FALLBACK)
def test_values_of_python_level_event(interp):
    """The brief's command: one sys.audit() with every kind of value."""
    res = run_seatrace("-j", "-e", "seatrace.*", "--", interp.python, "-c", VALUES)
    assert res.returncode == 0, res
    assert "seatrace: attached:" in res.stderr, res
    assert "without the python:audit probe" not in res.stderr, res
    ev = res.one("seatrace.v")
    assert ev["args"] == VALUES_EXPECTED, ev
    assert ev["comm"] == os.path.basename(interp.python)[:15]


@pytest.mark.parametrize("interp", FALLBACK)
def test_values_suite_matches_probe(interp, probe_values):
    """Every value case of the values suite, as the probe path decodes it."""
    res = run_seatrace("-j", "-e", "seatrace.*", "-e", "prehook:*", "-e", "posthook:*", "--",
                       interp.python, WORKLOADS / "raise_values.py")
    assert res.returncode == 0, res
    got = res.events
    assert [e["event"] for e in got] == [e["event"] for e in probe_values]
    for want, have in zip(probe_values, got):
        if want["event"] == "seatrace.ids":
            assert len(have["args"]) == 2 and have["args"][0] == have["pid"]
            continue
        assert have["args"] == want["args"], want["event"]
        # pairs need the raising frame: present for the same events
        assert ("frame" in have) == ("frame" in want), want["event"]


@pytest.mark.parametrize("interp", FALLBACK)
def test_c_level_formats_match_probe(interp, tmp_path, probe_c_events):
    """C-level events built from Py_BuildValue formats: s, i, I, k, n, L, y#, C, (O), (i),
    and nine arguments (five on the stack), decoded as the probe path decodes them."""
    res = run_c_events(interp.python, tmp_path)
    evs = after_mark(res.events)
    assert normalized(res.events) == probe_c_events
    # code.__new__ differs by version: against the workload's own values.
    ex = expect_of(evs)
    code, filename, *rest = ex["code"]
    ev = next(e for e in evs if e["event"] == "code.__new__")
    assert ev["args"][1:] == [filename, *rest], ev
    assert ev["args"][0]["bytes"] == code["bytes"], ev


@pytest.mark.parametrize("interp", FALLBACK)
def test_hooks_installed_no_duplicates(interp):
    """With a Python hook installed, sys.audit() reaches the funnel too: written once."""
    code = """if 1:
        import sys
        sys.audit('seatrace.before', 1)
        sys.addaudithook(lambda e, a: None)
        sys.audit('seatrace.after', 2, 'x')
        sys.audit('seatrace.tuple', (3,))
        sys.audit('seatrace.\xe9', 4)
        def hook(e, a):
            if e == 'seatrace.outer':
                sys.audit('seatrace.inner', 5)
        sys.addaudithook(hook)
        sys.audit('seatrace.outer', 6)
    """
    want = run_seatrace("-j", "-e", "seatrace.*", "-e", "sys.addaudithook", "--", PY, "-c", code)
    res = run_seatrace("-j", "-e", "seatrace.*", "-e", "sys.addaudithook", "--", interp.python,
                       "-c", code)
    assert res.returncode == 0 and want.returncode == 0, res
    assert [(e["event"], e["args"]) for e in res.events] == \
        [(e["event"], e["args"]) for e in want.events]
    assert [e["event"] for e in res.events] == [
        "seatrace.before", "sys.addaudithook", "seatrace.after", "seatrace.tuple",
        "seatrace.\xe9", "sys.addaudithook", "seatrace.outer", "seatrace.inner"]
    # Filtered in the kernel: the outer event is dropped, its funnel call too.
    res = run_seatrace("-j", "-e", "seatrace.a*", "-e", "seatrace.inner", "--", interp.python,
                       "-c", code)
    assert [(e["event"], e["args"]) for e in res.events] == \
        [("seatrace.after", [2, "x"]), ("seatrace.inner", [5])], res


@pytest.mark.parametrize("interp", FALLBACK)
def test_startup_events_as_the_probe(interp):
    """sys_audit_tstate drops events raised without a thread state (3.9+): so does the
    fallback. 3.8's PySys_Audit passes them to the probe: so does the fallback there."""
    res = run_seatrace("-j", "-e", "cpython.*", "--", interp.python, "-c", "pass")
    assert res.returncode == 0, res
    names = [e["event"] for e in res.events]
    tail = ["cpython.run_command", "cpython.PyInterpreterState_Clear",
            "cpython._PySys_ClearAuditHooks"]
    if py_minor(interp) == 8:
        assert names == ["cpython.PyInterpreterState_New", *tail], names
    else:
        assert names == tail, names
    assert res.events[0 if py_minor(interp) > 8 else 1]["args"] == ["pass\n"]


def pyenv_or_skip(minor):
    for i in interpreters.available(probe=False):
        if i.version == (3, minor) and i.source == "pyenv":
            return i
    pytest.skip(f"no pyenv 3.{minor} on this machine")


def present_or_skip(name):
    interp = interpreters.by_name(name)
    reason = interp.missing_reason()
    if reason:
        pytest.skip(reason)
    assert not interp.has_probe, interp
    return interp


# A shared libpython (pyenv) and CPython inside the executable (static).
@pytest.mark.parametrize("name", ["pyenv-3.12", "static-3.13"])
def test_pid_mode(procs, tmp_path, name):
    """-p on a running process: its libpython, or its executable, is mapped, attached
    through map_files."""
    interp = present_or_skip(name)
    w = procs.workload("controlled.py", python=interp.python)
    w.expect("ready")
    t = procs.tracer(["-j", "-e", "seatrace.*", "-p", w.pid], tmp_path / "out.jsonl")
    t.wait_attached()
    w.send("event hello wörld")
    w.expect("done")
    w.send("thread")
    tid = int(w.expect("done").split()[1])
    w.send("exit 0")
    assert w.wait() == 0
    res = t.result()
    assert res.returncode == 0, res
    evs = res.events
    assert [e["event"] for e in evs] == ["seatrace.p", "seatrace.thread"], evs
    assert evs[0]["args"] == ["hello", "wörld"]
    assert evs[0]["pid"] == evs[0]["tid"] == w.pid
    assert evs[1]["args"] == [tid] and evs[1]["tid"] == tid
    assert evs[0]["comm"] == os.path.basename(interp.python)[:15]


@pytest.mark.parametrize("name", ["pyenv-3.10", "static-3.13"])
def test_system_wide_new_process(procs, tmp_path, name):
    """System-wide: an interpreter without the probe started after seatrace is attached
    by its file (its libpython, or the executable itself)."""
    interp = present_or_skip(name)
    t = procs.tracer(["-j", "-e", "seatrace.fbsys"], tmp_path / "out.jsonl")
    t.wait_attached()
    # It raises its event until told to stop: attaching takes what it takes.
    p = procs.popen([interp.python, "-c", """if 1:
        import sys, threading, time
        stop = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        while not stop.is_set():
            sys.audit('seatrace.fbsys', 42)
            time.sleep(0.02)
        """], stdin=subprocess.PIPE)

    def seen():
        recs = parse_json_lines(t.out_path.read_bytes().rpartition(b"\n")[0] + b"\n"
                                if t.out_path.stat().st_size else b"")
        return [r for r in recs if r.get("event") == "seatrace.fbsys" and r["pid"] == p.pid]

    wait_for(seen, what="an event of the process started after seatrace")
    p.stdin.close()
    assert p.wait(60) == 0
    t.signal(2)
    res = t.result()
    ev = [e for e in res.events if e["pid"] == p.pid]
    assert ev and all(e["args"] == [42] for e in ev), res


@pytest.mark.parametrize("name", ["pyenv-3.11", "static-3.13"])
def test_list_shows_uprobes(procs, name):
    interp = present_or_skip(name)
    p = procs.popen([interp.python, "-c", "import sys; sys.stdin.read()"],
                    stdin=subprocess.PIPE)
    res = run_seatrace("--list")
    assert res.returncode == 0, res
    rows = {int(l.split()[0]): l for l in res.stdout.splitlines()[1:]}
    assert p.pid in rows, res.stdout
    assert "uprobes" in rows[p.pid] and "%d.%d" % interp.version in rows[p.pid], rows[p.pid]


def test_stripped_symtab(tmp_path):
    """Without .symtab (strip --strip-all keeps .dynsym): PySys_Audit alone, probed past
    its va_start prologue (stack arguments 0xd8 bytes up). C-level PySys_Audit events are
    decoded; Python-level sys.audit() and the _PySys_Audit events are not seen."""
    interp = pyenv_or_skip(11)
    if not shutil.which("strip"):
        pytest.skip("strip (binutils) is not installed")
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy2(interp.binary, lib)
    subprocess.run(["strip", "--strip-all", str(lib / os.path.basename(interp.binary))],
                   check=True)
    res = run_c_events(interp.python, tmp_path, env={"LD_LIBRARY_PATH": str(lib)})
    names = {e["event"] for e in res.events}
    assert "seatrace.mark" not in names and "seatrace.expect" not in names
    assert "sys._getframe" not in names  # _PySys_Audit in 3.11
    full = {}
    for e in res.events:
        full.setdefault(e["event"], e["args"])
    assert full["os.chown"][1:] == [2**32 - 1, 2**32 - 1, -1]
    assert full["signal.pthread_kill"][1] == 0
    assert full["os.lockf"][1:] == [os.F_TEST, 2**40]
    assert full["os.truncate"][1] == -(2**40)
    assert full["array.__new__"] == ["d", [1.5]]
    assert full["os.setxattr"][1:] == ["user.seatrace", {"bytes": "AP92"}, 0]
    code = full["code.__new__"]
    assert code[2:] == ["renamed", 2, 0, 1, 3, 1, 3], code  # 3.11: five on the stack
    assert [e["args"][1] for e in res.events if e["event"] == "ctypes.dlsym"] == \
        ["caf\xe9", "\u20acuro", "\U0001f600x", "plain"]


def static_copy(tmp_path, strip):
    """A copy of static-3.13's executable (strip --strip-all: .dynsym alone) that runs as in
    its build tree: beside it pybuilddir.txt, and Lib, Modules, build linked from there."""
    interp = present_or_skip("static-3.13")
    if strip and not shutil.which("strip"):
        pytest.skip("strip (binutils) is not installed")
    src = os.path.dirname(interp.exe)
    d = tmp_path / "static"
    d.mkdir()
    exe = d / "python"
    shutil.copy2(interp.exe, exe)
    shutil.copy2(os.path.join(src, "pybuilddir.txt"), d)
    for name in ("Lib", "Modules", "build"):
        os.symlink(os.path.join(src, name), d / name)
    if strip:
        subprocess.run(["strip", "--strip-all", str(exe)], check=True)
        syms = subprocess.run(["readelf", "-W", "-s", str(exe)], capture_output=True,
                              text=True, check=True).stdout
        assert "sys_audit_tstate" not in syms and " PySys_Audit" in syms, syms[-2000:]
    return interp, str(exe)


def test_static_command_mode_from_first_event():
    """CPython inside the executable (no libpython, no probe): command mode finds it in the
    executable at exec and attaches before it runs, so start-up is traced from its first
    event, as the probe path traces it (test_command.py)."""
    interp = present_or_skip("static-3.13")
    needed = subprocess.run(["readelf", "-d", interp.exe], capture_output=True, text=True,
                            check=True).stdout
    assert "libpython" not in needed, needed
    res = run_seatrace("-j", "--", interp.exe, "-c", "pass")
    assert res.returncode == 0, res
    assert f"attached: PID {res.events[0]['pid']}, {interp.exe} (CPython 3.13." in res.stderr, res
    evs = res.events
    names = [e["event"] for e in evs]
    run = names.index("cpython.run_command")
    assert evs[run]["args"] == ["pass\n"]
    first_import = names.index("import")
    assert evs[first_import]["args"][0] == "_frozen_importlib_external", evs[first_import]
    enc = next(k for k, e in enumerate(evs) if e["event"] == "import"
               and e["args"][0] == "encodings")
    assert 0 < first_import < enc < run
    assert evs[0]["event"] in {"marshal.loads", "open", "import", "exec", "os.listdir"}, evs[0]


def test_stripped_static(tmp_path):
    """CPython inside a stripped executable (.dynsym only): found by PySys_Audit in its
    .dynsym, in command mode; the C-level PySys_Audit events are decoded as in the
    unstripped executable; Python-level sys.audit() and _PySys_Audit events are missed."""
    interp, exe = static_copy(tmp_path, strip=True)
    first = {}
    for run, python in (("full", interp.exe), ("stripped", exe)):
        (tmp_path / run).mkdir()
        res = run_c_events(python, tmp_path / run)
        assert f"{python} (CPython 3.13." in res.stderr, res
        first[run] = {}
        for e in res.events:
            first[run].setdefault(e["event"], json.loads(
                json.dumps(e["args"]).replace(str(tmp_path / run), "TMP")))
    got, want = first["stripped"], first["full"]
    assert "seatrace.mark" in want and "seatrace.mark" not in got
    assert "seatrace.expect" not in got
    assert "sys._getframe" in want and "sys._getframe" not in got  # _PySys_Audit in 3.13
    for name in ("os.chmod", "os.chown", "os.lockf", "os.truncate", "array.__new__",
                 "os.setxattr", "gc.get_objects", "code.__new__"):
        assert got[name] == want[name], name
    assert got["socket.__new__"][1:] == want["socket.__new__"][1:]
    assert got["os.chown"][1:] == [2**32 - 1, 2**32 - 1, -1]
    assert got["os.truncate"][1] == -(2**40)
    assert [e["args"][1] for e in res.events if e["event"] == "ctypes.dlsym"] == \
        ["caf\xe9", "\u20acuro", "\U0001f600x", "plain"]


def test_too_old_refused_with_reason():
    """3.7 has no audit events: still the 'without the probe' message, saying why."""
    exe = interpreters.untraceable().exe
    if not os.access(exe, os.X_OK):
        pytest.skip(f"{exe} is missing")
    res = run_seatrace("--", exe, "-c", "pass")
    msg = assert_clean_error(res, "without the python:audit probe")
    assert "3.8" in msg, msg
