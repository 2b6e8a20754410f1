# SPDX-License-Identifier: MIT
"""Interpreters seatrace must refuse rather than decode with a layout that is not theirs: a
real free-threaded build (tools/build-cpython.sh freethreaded) and sid's CPython 3.15, newer than the
supported 3.8-3.14 (tools/fetch-pythons.sh), run as real processes under the real tracer.

Refused means: -p and command mode exit non-zero with one line on stderr naming the binary
and the reason, print nothing on stdout, and do not run the command; --list says why;
system-wide, the process's events are never decoded while a supported Python beside it is.
"""
import os
import secrets
import shutil
import subprocess
import time

import pytest

import interpreters
from conftest import PY, Tracer, assert_clean_error, run_seatrace, wait_for

REFUSED = [pytest.param(i, id=i.name, marks=[pytest.mark.skip(reason=i.missing_reason())]
                        if i.missing_reason() else [])
           for i in interpreters.refused_interpreters()]

# Says "ready", waits for a line, then raises events: a tagged sys.audit() and an open().
WAITER = """
import sys
print("ready", flush=True)
sys.stdin.readline()
sys.audit("seatrace.sys", sys.argv[1], 12345)
open("/dev/null").close()
"""

# System-wide tracing sees every process on the host: only this run's tags count.
TOKEN = f"{os.getpid()}.{secrets.token_hex(3)}:"


@pytest.fixture
def refused(request):
    """The interpreter, after checking it is what the test is about: free-threaded with the
    GIL really off, or CPython 3.15. A wrong premise fails rather than passing vacuously."""
    interp = request.param
    info = subprocess.run([*interp.argv, "-c",
                           "import sys, sysconfig; print(sys.version.split()[0], "
                           "getattr(sys, '_is_gil_enabled', lambda: True)(), "
                           "sysconfig.get_config_var('Py_GIL_DISABLED'))"],
                          capture_output=True, text=True, timeout=60)
    assert info.returncode == 0, f"{interp} does not start: {info.stderr}"
    version, gil, disabled = info.stdout.split()
    if interp.refusal == "free-threaded":
        assert (gil, disabled) == ("False", "1"), f"{interp} is not free-threaded: {info.stdout}"
    else:
        assert version.startswith("3.15."), f"{interp} is not CPython 3.15: {version}"
    interp.full_version = version
    return interp


def parametrize_refused(f):
    return pytest.mark.parametrize("refused", REFUSED, indirect=True)(f)


def start(argv, tag):
    p = subprocess.Popen([*argv, "-c", WAITER, TOKEN + tag], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready", p.stderr.read()
    return p


def release(p):
    p.stdin.write("go\n")
    p.stdin.flush()
    p.stdin.close()
    assert p.wait(60) == 0, p.stderr.read()


def kill(*ps):
    for p in ps:
        if p.poll() is None:
            p.kill()
        p.wait(60)


def real(path):
    """The path /proc/PID/exe and /proc/PID/maps show for a file."""
    return os.path.realpath(path)


@parametrize_refused
def test_attach_refused(refused):
    p = start(refused.argv, "attach")
    try:
        res = run_seatrace("-p", p.pid)
        msg = assert_clean_error(res, f"PID {p.pid}", real(refused.exe), refused.refusal,
                                 f"CPython {refused.full_version}")
        # It says what to do, not only what is wrong.
        assert "run the program with" in msg, msg
        # The refused process is untouched: it goes on and ends normally.
        release(p)
    finally:
        kill(p)


@parametrize_refused
def test_command_refused(refused, tmp_path):
    """The command must not run at all: its events would go unreported, or be decoded wrong."""
    if not refused.direct:
        pytest.skip(f"{refused}: only its loader wrapper runs, which command mode cannot see "
                    f"through ({interpreters.FETCH_HINT})")
    marker = tmp_path / "ran"
    res = run_seatrace("-j", "--", *refused.argv, "-c", f"open({str(marker)!r}, 'w')")
    assert_clean_error(res, real(refused.exe), refused.refusal)
    assert not marker.exists(), "the command ran although seatrace refused its interpreter"


@parametrize_refused
def test_list_refused(refused):
    p = start(refused.argv, "list")
    ok = start([PY], "list-ok")
    try:
        res = run_seatrace("--list")
    finally:
        kill(p, ok)
    assert res.returncode == 0, res
    rows = {int(l.split()[0]): l for l in res.stdout.splitlines()[1:]}
    assert p.pid in rows and ok.pid in rows, res.stdout
    row = rows[p.pid]
    assert f" {refused.full_version} " in row, row
    assert " no: " in row and refused.refusal in row, row
    if refused.direct:  # else the executable is the loader the wrapper runs
        assert row.rstrip().endswith(real(refused.exe)), row
    # The supported one beside it is listed as traceable.
    assert " probe " in rows[ok.pid], rows[ok.pid]


@parametrize_refused
@pytest.mark.parametrize("when", ["before", "after"])
def test_system_wide_refused(refused, when, tmp_path):
    """Started before seatrace, the refused process is met by the /proc scan; started
    after, by its exec. Either way: one line naming it, and none of its events, while a
    Debian python3.11 running beside it is decoded."""
    ok = start([PY], "py311")
    bad = start(refused.argv, "refused") if when == "before" else None
    t = None
    try:
        t = Tracer(["-j"], tmp_path / "out.jsonl")
        t.wait_attached()
        if bad is None:
            bad = start(refused.argv, "refused")
        # The line is written when seatrace meets the process (scan or exec record).
        wait_for(lambda: f"not tracing PID {bad.pid}:" in t.stderr,
                 what=f"seatrace's refusal of PID {bad.pid}")
        release(bad)
        release(ok)
        time.sleep(0.3)
        t.signal(2)
        res = t.result()
    finally:
        kill(ok, *([bad] if bad else []))
        if t:
            t.kill()
    assert res.returncode == 0, res
    refusal = [l for l in res.stderr.splitlines() if f"not tracing PID {bad.pid}:" in l]
    assert len(refusal) == 1, res.stderr
    assert refused.refusal in refusal[0] and real(refused.exe) in refusal[0], refusal[0]
    assert not [r for r in res.records if r.get("pid") == bad.pid], (
        f"records of the refused PID {bad.pid}: "
        f"{[r for r in res.records if r.get('pid') == bad.pid][:5]}")
    mine = [e for e in res.events if e.get("pid") == ok.pid and e["event"] == "seatrace.sys"]
    assert [e["args"] for e in mine] == [[TOKEN + "py311", 12345]], (mine, res.stderr)


@pytest.mark.parametrize("refused", [p for p in REFUSED if p.id.startswith("freethreaded")],
                         indirect=True)
def test_attach_refused_without_probe(refused):
    """The same build without its probe notes (as python-build-standalone ships 3.13t) goes
    the uprobe fallback's way: it too must be refused for its layout, and say so, rather
    than be called a Python without audit functions."""
    if not shutil.which("objcopy"):
        pytest.skip("objcopy (binutils) is missing")
    # Beside the original: run from its build tree, it finds its Lib/ from its own folder.
    copy = os.path.join(os.path.dirname(refused.exe), f"python-noprobe-{os.getpid()}")
    subprocess.run(["objcopy", "--remove-section", ".note.stapsdt", refused.exe, copy],
                   check=True, timeout=60)
    p = None
    try:
        assert interpreters.audit_probe_sites(copy) == 0
        p = start([copy], "noprobe")
        res = run_seatrace("-p", p.pid)
        msg = assert_clean_error(res, f"PID {p.pid}", real(copy), "free-threaded")
        assert "without the python:audit probe" not in msg, msg
        release(p)
    finally:
        if p:
            kill(p)
        os.unlink(copy)
