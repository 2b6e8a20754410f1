# SPDX-License-Identifier: MIT
"""Coverage, system-wide: every Python process is traced from its first event, whatever binary
it runs (one never seen before, one started through the explicit loader), or, for a libpython
loaded with dlopen() after exec, a coverage record says events may be missing. Holding execs
must never block a process that is not Python, nor outlive seatrace."""
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import interpreters
from conftest import PY, TIMEOUT, WORKLOADS, Tracer, parse_json_lines

# Other tracers and tests run on the host: this run's events carry this token.
TOKEN = f"{os.getpid()}.{secrets.token_hex(3)}"
EVENT = "seatrace.cov"
EVENTS_PER_CHILD = 5
# The child's very first statement raises an event; it prints how many it raised.
CHILD = ("import sys; sys.audit('seatrace.cov', sys.argv[1], 0)\n"
         f"for i in range(1, {EVENTS_PER_CHILD}): sys.audit('seatrace.cov', sys.argv[1], i)\n"
         f"print({EVENTS_PER_CHILD})\n")
LOADER = Path("/lib64/ld-linux-x86-64.so.2")


def tracer(tmp_path, *args):
    t = Tracer(["-j", *args], tmp_path / "out.jsonl")
    t.wait_attached()
    return t


def seen(res, tag):
    """Indices of this tag's events, in output order."""
    return [e["args"][1] for e in res.events
            if e.get("event") == EVENT and e["args"][:1] == [tag]]


# A parent started before seatrace: on "go", it runs each child from a fresh copy of the
# interpreter (a new path and inode each time) and reports what each child said it raised.
PARENT = """
import json, os, shutil, subprocess, sys
py, d, n, token, child = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
print("ready", flush=True)
sys.stdin.readline()
said = {}
for i in range(n):
    copy = os.path.join(d, f"py{i}")
    shutil.copy(py, copy)
    tag = f"{token}:{i}"
    r = subprocess.run([copy, "-I", "-S", "-c", child, tag], capture_output=True, text=True)
    said[tag] = int(r.stdout) if r.returncode == 0 else -1
    os.unlink(copy)
print(json.dumps(said), flush=True)
"""


def test_fresh_copies_traced_from_first_event(tmp_path):
    """(a) 50 children, each a never-seen copy of python3.11: every event of every child.
    (Each copy's layout slot is released once it ends, so 50 fit in the default 64 whatever
    else the host runs.)"""
    n = 50
    d = tmp_path / "copies"
    d.mkdir()
    parent = subprocess.Popen([PY, "-c", PARENT, PY, str(d), str(n), TOKEN, CHILD],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        t = tracer(tmp_path, "-e", EVENT)
        try:
            parent.stdin.write("go\n")
            parent.stdin.flush()
            said = json.loads(parent.stdout.readline())
            assert parent.wait(TIMEOUT) == 0
            time.sleep(0.3)
        finally:
            res = t.stop()
    finally:
        parent.kill()
    assert len(said) == n and all(v == EVENTS_PER_CHILD for v in said.values()), said
    missed = {tag: seen(res, tag) for tag in said
              if seen(res, tag) != list(range(EVENTS_PER_CHILD))}
    assert not missed, f"children whose events were missed (got indices): {missed}\n{res}"
    # Held at exec: none was found late.
    assert not [r for r in res.records if r.get("type") == "coverage"
                and "/copies/py" in r.get("file", "")], res


def loader_runs():
    """(argv prefix, interpreter to copy) for each explicit loader at hand."""
    runs = [pytest.param((str(LOADER), "--library-path", "/usr/lib/x86_64-linux-gnu",
                          "--argv0", "mypy"), PY, None, id="debian-ld.so")]
    for interp in interpreters.available(probe=True):
        if interp.source not in ("trixie", "sid"):
            continue
        root = Path(interp.exe).parents[2]
        ld = root / "usr" / "lib" / "x86_64-linux-gnu" / "ld-linux-x86-64.so.2"
        if ld.exists():
            runs.append(pytest.param(
                (str(ld), "--inhibit-cache", "--library-path",
                 f"{root}/usr/lib/x86_64-linux-gnu"),
                str(interp.exe), str(root / "usr"), id=interp.name))
            break
    return runs


@pytest.mark.parametrize("prefix,interp,home", loader_runs())
def test_loader_run_traced_from_first_event(tmp_path, prefix, interp, home):
    """(b) ld.so [OPTIONS] PROGRAM, PROGRAM a fresh copy each time: every event from the first."""
    t = tracer(tmp_path, "-e", EVENT)
    try:
        tags = []
        for i in range(5):
            copy = tmp_path / f"interp{i}"
            shutil.copy(interp, copy)
            tag = f"{TOKEN}:ld{i}"
            # Its standard library stays where it was: a copy elsewhere is told (PYTHONHOME).
            env = {**os.environ, "PYTHONHOME": home} if home else None
            r = subprocess.run([*prefix, str(copy), *([] if home else ["-I"]), "-S", "-c",
                                CHILD, tag], capture_output=True, text=True, timeout=TIMEOUT,
                               env=env)
            assert r.returncode == 0 and r.stdout.strip() == str(EVENTS_PER_CHILD), r
            tags.append(tag)
        time.sleep(0.3)
    finally:
        res = t.stop()
    missed = {tag: seen(res, tag) for tag in tags if seen(res, tag) != list(range(5))}
    assert not missed, f"loader runs whose events were missed: {missed}\n{res}"


def build_embedder(d):
    for tool in ("cc", "patchelf"):
        if not shutil.which(tool):
            pytest.skip(f"needs {tool} (tools/install-deps.sh)")
    lib = Path("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0")
    if not lib.exists():
        pytest.skip(f"needs {lib} (libpython3.11)")
    app = d / "embedload"
    subprocess.run(["cc", "-O1", "-DEMBED_DLOPEN", "-o", str(app), str(WORKLOADS / "embed.c"),
                    "-ldl"], check=True)
    return app, lib


def test_dlopen_every_event_or_coverage_record(tmp_path):
    """(c) A libpython, never seen before, loaded with dlopen() after exec: its start-up
    events (the import of encodings) are in the output, or a coverage record names the
    process and the library."""
    d = tmp_path / "embed"
    d.mkdir()
    app, lib = build_embedder(d)
    copy = d / "libscripting.so"
    shutil.copy(lib, copy)
    t = tracer(tmp_path, "-e", "import", "-e", "embed.test")
    env = {**os.environ, "PYTHONHOME": "/usr", "EMBED_TAG": TOKEN}
    p = subprocess.Popen([str(app), str(copy)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=env)
    try:
        assert p.stdout.readline().strip() == "waiting"
        p.stdin.write("go\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "loaded"
        # Events until one is seen, then a moment for a late record (a hang guard only).
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            p.stdin.write("go\n")
            p.stdin.flush()
            assert p.stdout.readline().strip() == "raised"
            if TOKEN in t.out_path.read_text(errors="replace"):
                break
            time.sleep(0.1)
        p.stdin.close()
        assert p.wait(TIMEOUT) == 0
        time.sleep(0.3)
    finally:
        p.kill()
        res = t.stop()
    mine = [r for r in res.records if r.get("pid") == p.pid]
    assert [e for e in mine if e.get("event") == "embed.test"], res
    first_import = [e for e in mine if e.get("event") == "import" and e["args"][0] == "encodings"]
    coverage = [r for r in mine if r.get("type") == "coverage"]
    assert first_import or coverage, f"start-up events missed, and nothing said so:\n{res}"
    for r in coverage:
        assert r["file"].endswith("libscripting.so") and r["reason"] and r["comm"], r


def test_rewritten_file_is_judged_again(tmp_path):
    """A file found not to be Python, then overwritten in place with python3.11 (same inode):
    its next exec is held and traced from the first event."""
    f = tmp_path / "tool"
    shutil.copy("/bin/true", f)
    t = tracer(tmp_path, "-e", EVENT)
    try:
        for _ in range(3):
            assert subprocess.run([str(f)], timeout=TIMEOUT).returncode == 0
        ino = f.stat().st_ino
        with open(PY, "rb") as src, open(f, "r+b") as dst:
            dst.truncate(0)
            shutil.copyfileobj(src, dst)
        assert f.stat().st_ino == ino
        tag = f"{TOKEN}:rewritten"
        r = subprocess.run([str(f), "-I", "-S", "-c", CHILD, tag], capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert r.returncode == 0, r
        time.sleep(0.3)
    finally:
        res = t.stop()
    assert seen(res, tag) == list(range(EVENTS_PER_CHILD)), res


def test_non_python_execs_complete(tmp_path):
    """200 execs of files that are not Python, each a fresh copy of /bin/echo or one copy
    again and again: each runs and says what it was given, under a system-wide seatrace."""
    t = tracer(tmp_path, "-e", EVENT)
    try:
        same = tmp_path / "echo-again"
        shutil.copy("/bin/echo", same)
        for i in range(200):
            exe = same
            if i % 2 == 0:
                exe = tmp_path / f"echo{i}"
                shutil.copy("/bin/echo", exe)
            r = subprocess.run([str(exe), f"n{i}"], capture_output=True, text=True,
                               timeout=TIMEOUT)
            assert r.returncode == 0 and r.stdout == f"n{i}\n", r
            if exe != same:
                exe.unlink()
        # A script: the kernel opens its interpreter for exec too.
        script = tmp_path / "hello.sh"
        script.write_text("#!/bin/sh\necho hello\n")
        script.chmod(0o755)
        assert subprocess.run([str(script)], capture_output=True, text=True,
                              timeout=TIMEOUT).stdout == "hello\n"
    finally:
        res = t.stop()
    assert res.returncode == 0


# Execs as fast as it can, each of a fresh copy of /bin/true; says "done" at the end.
EXEC_LOOP = """
import os, shutil, subprocess, sys
d = sys.argv[1]
print("ready", flush=True)
for i in range(400):
    exe = os.path.join(d, f"t{i}")
    shutil.copy("/bin/true", exe)
    subprocess.run([exe], check=True)
    os.unlink(exe)
print("done", flush=True)
"""


def watchdogs(pid):
    """The exec hold's watchdog processes among pid's children."""
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += (task / "children").read_text().split()
    return [int(k) for k in kids
            if Path(f"/proc/{k}/comm").read_text().strip() == "seatrace-hold"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_seatrace_ending_leaves_no_exec_waiting(tmp_path, sig):
    """seatrace ends (a signal, or killed outright) while execs are held: none stays blocked."""
    d = tmp_path / "loop"
    d.mkdir()
    t = tracer(tmp_path, "-e", EVENT)
    hold = watchdogs(t.proc.pid)
    assert len(hold) == 1, hold
    loop = subprocess.Popen([PY, "-c", EXEC_LOOP, str(d)], stdout=subprocess.PIPE, text=True)
    try:
        assert loop.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        t.signal(sig)
        t.wait()
        try:
            out, _ = loop.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError("an exec still waits after seatrace ended")
        assert out.strip() == "done" and loop.returncode == 0
        # The watchdog ends with seatrace (killed with it: nothing left behind).
        deadline = time.monotonic() + TIMEOUT
        while Path(f"/proc/{hold[0]}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{hold[0]}").exists(), "the exec hold's watchdog outlived seatrace"
    finally:
        loop.kill()
        t.kill()


# Waits for "go", then runs /bin/true 20 times (fresh copies and one copy again and again).
TRUE_LOOP = """
import os, shutil, subprocess, sys
d = sys.argv[1]
again = os.path.join(d, "again")
shutil.copy("/bin/true", again)
print("ready", flush=True)
sys.stdin.readline()
for i in range(20):
    exe = again
    if i % 2 == 0:
        exe = os.path.join(d, f"t{i}")
        shutil.copy("/bin/true", exe)
    subprocess.run([exe], check=True)
print("done", flush=True)
"""


def test_stopped_seatrace_does_not_hold_execs(tmp_path):
    """A system-wide seatrace stopped (SIGSTOP, a debugger): execs on the host go on all the
    same, and once it continues it traces a new interpreter from its first event."""
    d = tmp_path / "loop"
    d.mkdir()
    loop = subprocess.Popen([PY, "-c", TRUE_LOOP, str(d)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    t = None
    try:
        assert loop.stdout.readline().strip() == "ready"
        t = tracer(tmp_path, "-e", EVENT)
        t.signal(signal.SIGSTOP)
        try:
            loop.stdin.write("go\n")
            loop.stdin.flush()
            try:
                out, _ = loop.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                raise AssertionError("execs wait on a stopped seatrace")
        finally:
            t.signal(signal.SIGCONT)
        assert out.strip() == "done" and loop.returncode == 0
        copy = tmp_path / "py-after"
        shutil.copy(PY, copy)
        tag = f"{TOKEN}:after-stop"
        r = subprocess.run([str(copy), "-I", "-S", "-c", CHILD, tag], capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert r.stdout == f"{EVENTS_PER_CHILD}\n", r
        time.sleep(0.3)
        res = t.stop()
    finally:
        loop.kill()
        if t:
            t.signal(signal.SIGCONT)
            t.kill()
    assert seen(res, tag) == list(range(EVENTS_PER_CHILD)), res
    assert not [r for r in res.records if r.get("type") == "coverage"
                and "py-after" in r.get("file", "")], res


def test_exec_goes_on_while_seatrace_cannot_write(tmp_path):
    """seatrace blocked writing to a pipe nobody reads: an exec it holds is let go all the
    same (and a new Python then found late is reported, not lost silently)."""
    from conftest import SEATRACE
    t = subprocess.Popen([SEATRACE, "-j", "-e", EVENT], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # Wait for the attach line, then fill the pipe: seatrace blocks in write().
        for line in t.stderr:
            if line.startswith(b"seatrace: attached:"):
                break
        tag = f"{TOKEN}:" + "x" * 200
        subprocess.run([PY, "-c", f"import sys\nfor i in range(5000): sys.audit({EVENT!r}, "
                        f"{tag!r}, i)"], check=True, timeout=TIMEOUT)
        time.sleep(0.5)
        exe = tmp_path / "true-copy"
        shutil.copy("/bin/true", exe)
        assert subprocess.run([str(exe)], timeout=TIMEOUT).returncode == 0
        copy = tmp_path / "py-copy"
        shutil.copy(PY, copy)
        r = subprocess.run([str(copy), "-I", "-S", "-c", "print('ran')"], capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert r.stdout == "ran\n", r
    finally:
        t.kill()
        t.wait(TIMEOUT)
