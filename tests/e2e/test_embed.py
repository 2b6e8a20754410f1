# SPDX-License-Identifier: MIT
"""Applications that embed CPython from a library whose name says nothing of Python: a copy of
Debian's libpython3.11 renamed libscripting.so, linked (DT_NEEDED) or loaded with dlopen() long
after exec. seatrace must recognise the interpreter by its content, with -p, system-wide, in
command mode, and in --list; and still call a process that is not Python what it is."""
import os
import secrets
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (SEATRACE, TIMEOUT, WORKLOADS, Tracer, assert_clean_error,
                      parse_json_lines, run_seatrace)

LIBPYTHON = Path("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0")
STATIC_LIB = Path("/usr/lib/python3.11/config-3.11-x86_64-linux-gnu/libpython3.11.a")
VERSION = "3.11.2"
# System-wide runs see every process on the host: this run's events carry this tag.
TAG = f"{os.getpid()}.{secrets.token_hex(3)}"
EXPECTED = ["héllo", 42, TAG]


@pytest.fixture(scope="module")
def embed(tmp_path_factory):
    """Builds the embedders: `linked` against lib/libscripting.so, `loader` dlopen()ing it."""
    missing = [t for t in ("cc", "patchelf", "readelf") if not shutil.which(t)]
    if missing or not LIBPYTHON.exists():
        pytest.skip(f"needs {', '.join(missing) or LIBPYTHON} (tools/install-deps.sh installs "
                    "libpython3.11-dev, patchelf and binutils)")
    d = tmp_path_factory.mktemp("embedder")
    assert "python" not in str(d), d
    lib = d / "lib" / "libscripting.so"
    lib.parent.mkdir()
    shutil.copy2(LIBPYTHON, lib)
    # Linked against it, the program would otherwise need it by its old name.
    subprocess.run(["patchelf", "--set-soname", lib.name, str(lib)], check=True)
    src = WORKLOADS / "embed.c"
    linked, loader = d / "embedapp", d / "embedload"
    subprocess.run(["cc", "-O1", "-Wall", "-Wextra", "-Werror", "-o", str(linked), str(src),
                    f"-L{lib.parent}", "-lscripting", f"-Wl,-rpath,{lib.parent}"], check=True)
    subprocess.run(["cc", "-O1", "-Wall", "-Wextra", "-Werror", "-DEMBED_DLOPEN", "-o",
                    str(loader), str(src), "-ldl"], check=True)
    needed = subprocess.run(["readelf", "-d", str(linked)], capture_output=True, text=True,
                            check=True).stdout
    assert "[libscripting.so]" in needed and "libpython" not in needed, needed
    built = {"lib": lib, "linked": linked, "loader": loader, "static": None}
    if STATIC_LIB.exists():
        # The interpreter inside the executable itself (libpython3.11.a is not PIC: no PIE).
        built["static"] = d / "myapp"
        subprocess.run(["cc", "-O1", "-no-pie", "-o", str(built["static"]), str(src),
                        str(STATIC_LIB), "-lm", "-lz", "-lexpat", "-ldl", "-lpthread", "-lutil"],
                       check=True)
    return built


def embed_env():
    # The interpreter's standard library: Debian's, whatever python3 comes first on PATH.
    return {**os.environ, "PYTHONHOME": "/usr", "EMBED_TAG": TAG}


class Embedder:
    """An embedder process driven line by line: each line sent raises one embed.test event."""

    def __init__(self, argv):
        self.proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=embed_env(), text=True, bufsize=1)
        self.pid = self.proc.pid

    def expect(self, want):
        box = {}

        def read():
            box["line"] = self.proc.stdout.readline().rstrip("\n")

        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(TIMEOUT)
        if box.get("line") != want:
            self.proc.kill()
            raise AssertionError(f"embedder {self.pid}: expected {want!r}, got {box}; "
                                 f"stderr: {self.proc.stderr.read()}")

    def send(self, line="go"):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def raise_event(self):
        self.send()
        self.expect("raised")

    def finish(self):
        self.proc.stdin.close()
        assert self.proc.wait(TIMEOUT) == 0, self.proc.stderr.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)


@pytest.fixture
def started():
    procs = []

    def start(argv):
        p = Embedder(argv)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()


def ours(events):
    return [e for e in events if e.get("event") == "embed.test" and e["args"][-1:] == [TAG]]


def raise_until_seen(app, out, guard=TIMEOUT):
    """System-wide, a new interpreter file is attached some time after it appears: raise
    events until one is in the output (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + guard
    while time.monotonic() < deadline:
        app.raise_event()
        if TAG in out.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.1)
    raise AssertionError(f"no event from embedder {app.pid} within {guard}s")


def test_library_carries_the_probe(embed):
    """The premise: Debian's libpython has the python:audit note, and the copy keeps it."""
    notes = subprocess.run(["readelf", "-n", str(embed["lib"])], capture_output=True, text=True,
                           check=True).stdout
    assert "Provider: python" in notes and "Name: audit" in notes


def test_pid_linked(embed, started, tmp_path):
    app = started([embed["linked"]])
    app.expect("loaded")
    t = Tracer(["-j", "-e", "embed.test", "-p", app.pid], tmp_path / "out.jsonl")
    t.wait_attached()
    assert "libscripting.so" in t.stderr and f"CPython {VERSION}" in t.stderr, t.stderr
    app.raise_event()
    app.raise_event()
    app.finish()
    res = t.result()
    assert res.returncode == 0, res
    assert [e["args"] for e in res.events] == [EXPECTED, EXPECTED], res
    assert all(e["pid"] == app.pid for e in res.events)


def test_pid_dlopen(embed, started, tmp_path):
    """Before its dlopen() the process is no Python, and -p says so; after it, it is one."""
    app = started([embed["loader"], embed["lib"]])
    app.expect("waiting")
    assert_clean_error(run_seatrace("-p", app.pid), "is not a Python process", str(app.pid))
    app.send()
    app.expect("loaded")
    t = Tracer(["-j", "-e", "embed.test", "-p", app.pid], tmp_path / "out.jsonl")
    t.wait_attached()
    assert "libscripting.so" in t.stderr, t.stderr
    app.raise_event()
    app.finish()
    res = t.result()
    assert res.returncode == 0, res
    assert [e["args"] for e in res.events] == [EXPECTED], res


def system_tracer(tmp_path):
    t = Tracer(["-j", "-e", "embed.test"], tmp_path / "out.jsonl")
    t.wait_attached()
    return t


def test_system_running_before(embed, started, tmp_path):
    """Running when seatrace starts: found in /proc/PID/maps by content, every event seen."""
    linked = started([embed["linked"]])
    loader = started([embed["loader"], embed["lib"]])
    linked.expect("loaded")
    loader.expect("waiting")
    loader.send()
    loader.expect("loaded")
    t = system_tracer(tmp_path)
    try:
        for app in (linked, loader):
            app.raise_event()
            app.raise_event()
            app.finish()
        time.sleep(0.3)
    finally:
        res = t.stop()
    evs = ours(res.events)
    assert [e["args"] for e in evs] == [EXPECTED] * 4, res
    assert [e["pid"] for e in evs] == [linked.pid] * 2 + [loader.pid] * 2


def test_system_linked_after_start(embed, started, tmp_path):
    """Started after seatrace: seen at its exec; the library it links, named anything, found
    through DT_NEEDED or its maps."""
    t = system_tracer(tmp_path)
    try:
        app = started([embed["linked"]])
        app.expect("loaded")
        raise_until_seen(app, tmp_path / "out.jsonl")
        app.raise_event()
        app.finish()
        time.sleep(0.3)
    finally:
        res = t.stop()
    evs = ours(res.events)
    assert evs and all(e["args"] == EXPECTED and e["pid"] == app.pid for e in evs), res
    assert evs[-1]["comm"] == "embedapp"


def test_system_dlopen_after_start(embed, started, tmp_path):
    """Loaded with dlopen() after seatrace started and after the process's exec: nothing
    tells seatrace, its periodic look at processes not yet known as Python finds it."""
    t = system_tracer(tmp_path)
    try:
        app = started([embed["loader"], embed["lib"]])
        app.expect("waiting")
        time.sleep(0.5)  # its exec is handled: it is no Python then
        app.send()
        app.expect("loaded")
        raise_until_seen(app, tmp_path / "out.jsonl")
        app.raise_event()
        app.finish()
        time.sleep(0.3)
    finally:
        res = t.stop()
    evs = ours(res.events)
    assert len(evs) >= 2 and all(e["args"] == EXPECTED and e["pid"] == app.pid for e in evs), res


def test_command_linked(embed, tmp_path):
    """Command mode: stopped at its exec, before the library is mapped; found through
    DT_NEEDED and RUNPATH, so even the first event is seen."""
    out = tmp_path / "out.jsonl"
    res = run_seatrace("-j", "-e", "embed.test", "-o", out, "--", embed["linked"],
                       input=b"go\ngo\ngo\n", env={"PYTHONHOME": "/usr", "EMBED_TAG": TAG})
    assert res.returncode == 0, res
    assert "loaded" in res.stdout and res.stdout.count("raised") == 3, res
    evs = parse_json_lines(out.read_bytes())
    assert [e["args"] for e in evs] == [EXPECTED] * 3, res
    assert f"CPython {VERSION}" in res.stderr, res


def test_command_dlopen(embed, tmp_path):
    """Command mode and a library loaded with dlopen() after exec: seatrace looks at the
    process every few milliseconds until a Python appears, attaches then and says so; events
    raised from then on are seen (those before, in those milliseconds, are not)."""
    out = tmp_path / "out.jsonl"
    p = subprocess.Popen([SEATRACE, "-j", "-e", "embed.test", "-o", str(out), "--",
                          str(embed["loader"]), str(embed["lib"])],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=embed_env(), text=True, bufsize=1)
    errs = []
    attached = threading.Event()

    def read_stderr():
        for line in p.stderr:
            errs.append(line)
            if line.startswith("seatrace: attached:"):
                attached.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    app = Embedder.__new__(Embedder)
    app.proc, app.pid = p, p.pid
    try:
        app.expect("waiting")
        assert not attached.is_set(), errs
        app.send("load")
        app.expect("loaded")
        assert attached.wait(TIMEOUT), f"never attached; stderr: {errs}"
        app.raise_event()
        app.raise_event()
        p.stdin.close()
        assert p.wait(TIMEOUT) == 0, errs
        reader.join(TIMEOUT)
    finally:
        app.kill()
    assert any("CPython " + VERSION in l for l in errs), errs
    evs = parse_json_lines(out.read_bytes())
    assert [e["args"] for e in evs] == [EXPECTED] * 2, errs


def test_list_shows_embedders(embed, started):
    linked = started([embed["linked"]])
    loader = started([embed["loader"], embed["lib"]])
    linked.expect("loaded")
    loader.expect("waiting")
    before = run_seatrace("--list")
    loader.send()
    loader.expect("loaded")
    after = run_seatrace("--list")
    assert before.returncode == 0 and after.returncode == 0, (before, after)

    def rows(res):
        return {int(l.split()[0]): l for l in res.stdout.splitlines()[1:]}

    assert loader.pid not in rows(before), before.stdout
    for app, exe in ((linked, embed["linked"]), (loader, embed["loader"])):
        row = rows(after).get(app.pid)
        assert row, after.stdout
        assert VERSION in row and "probe" in row and str(exe) in row, row
        assert "libscripting.so" in row, row


def test_static_embedder(embed, started, tmp_path):
    """CPython linked statically into an executable named myapp: -p and --list find it in the
    executable itself."""
    if not embed["static"]:
        pytest.skip(f"{STATIC_LIB} missing (package libpython3.11-dev)")
    app = started([embed["static"]])
    app.expect("loaded")
    listed = run_seatrace("--list")
    row = {int(l.split()[0]): l for l in listed.stdout.splitlines()[1:]}.get(app.pid)
    assert row and VERSION in row and "probe" in row and str(embed["static"]) in row, listed
    assert "CPython in" not in row, row
    t = Tracer(["-j", "-e", "embed.test", "-p", app.pid], tmp_path / "out.jsonl")
    t.wait_attached()
    app.raise_event()
    app.finish()
    res = t.result()
    assert res.returncode == 0, res
    assert [e["args"] for e in res.events] == [EXPECTED], res
    assert res.events[0]["comm"] == "myapp"


def test_not_python_still_refused(started, tmp_path):
    """Judging by content must not make an ordinary program a Python: -p refuses it, --list
    leaves it out."""
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        res = run_seatrace("-p", sleeper.pid)
        assert_clean_error(res, f"PID {sleeper.pid}", "is not a Python process")
        listed = run_seatrace("--list")
        assert listed.returncode == 0, listed
        assert str(sleeper.pid) not in [l.split()[0] for l in listed.stdout.splitlines()[1:]]
    finally:
        sleeper.kill()
        sleeper.wait()
