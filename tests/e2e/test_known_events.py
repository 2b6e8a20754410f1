# SPDX-License-Identifier: MIT
"""Real stdlib audit events: argument names from the known-events table, decoded values."""
import os
import re

import pytest

from conftest import (PY, WORKLOADS, assert_value, b64, run_seatrace, trace_script)

FLAGS_W = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
FLAGS_R = os.O_RDONLY | os.O_CLOEXEC
FAKE = "/tmp/seatrace-fake-module.py"
FAKE_SRC = "\n\nclass Outer:\n    def meth():\n        return 1\n"


@pytest.fixture(scope="module")
def tmpdir_mod(tmp_path_factory):
    d = tmp_path_factory.mktemp("stdlib")
    (d / "read-me.txt").write_text("data")
    return d


@pytest.fixture(scope="module")
def stdlib_run(tmpdir_mod):
    """Every event of the workload, no filter."""
    res = trace_script("stdlib_events.py", script_args=[tmpdir_mod])
    assert res.returncode == 0, res
    info = res.one("seatrace.info")["args"][0]
    res.info = info
    return res


def index_of(res, pred, what):
    for i, e in enumerate(res.events):
        if pred(e):
            return i
    raise AssertionError(f"no event {what}")


def test_open_write(stdlib_run):
    path = stdlib_run.info["path_w"]
    evs = [e for e in stdlib_run.named("open") if e["args"][0] == path]
    assert len(evs) == 1, stdlib_run.named("open")
    ev = evs[0]
    assert ev["argnames"] == ["path", "mode", "flags"]
    assert_value(ev["args"], [path, "w", FLAGS_W])


def test_open_read(stdlib_run):
    path = stdlib_run.info["path_r"]
    evs = [e for e in stdlib_run.named("open") if e["args"][0] == path]
    assert len(evs) == 1
    assert evs[0]["argnames"] == ["path", "mode", "flags"]
    assert_value(evs[0]["args"], [path, "r", FLAGS_R])


def test_socket_connect(stdlib_run):
    ev = stdlib_run.one("socket.connect")
    assert ev["argnames"] == ["self", "address"]
    assert_value(ev["args"], [{"type": "socket"}, ["127.0.0.1", stdlib_run.info["port"]]])


def test_socket_bind_and_new(stdlib_run):
    binds = stdlib_run.named("socket.bind")
    assert any(strict == [{"type": "socket"}, ["127.0.0.1", 0]]
               for strict in (e["args"] for e in binds)), binds
    news = stdlib_run.named("socket.__new__")
    assert len(news) >= 2
    for e in news:
        assert e["argnames"] == ["self", "family", "type", "protocol"]
        assert e["args"][0] == {"type": "socket"}
        assert e["args"][1:3] == [2, 1]  # AF_INET, SOCK_STREAM


def test_compile_source_and_filename(stdlib_run):
    evs = [e for e in stdlib_run.named("compile") if e["args"][1] == FAKE]
    assert len(evs) == 1, stdlib_run.named("compile")
    assert evs[0]["argnames"] == ["source", "filename"]
    assert_value(evs[0]["args"], [{"bytes": b64(FAKE_SRC.encode())}, FAKE])


def test_exec_code_objects(stdlib_run):
    evs = [e for e in stdlib_run.named("exec")
           if isinstance(e["args"][0], dict) and "code" in e["args"][0]
           and e["args"][0]["code"].get("filename") == FAKE]
    assert len(evs) == 2, stdlib_run.named("exec")
    for e in evs:
        assert e["argnames"] == ["code_object"]
    assert_value(evs[0]["args"], [{"code": {"filename": FAKE, "name": "<module>",
                                            "firstlineno": 1}}])
    # co_qualname on 3.11, not just co_name ("meth")
    assert_value(evs[1]["args"], [{"code": {"filename": FAKE, "name": "Outer.meth",
                                            "firstlineno": 4}}])


def test_exec_of_the_script_itself(stdlib_run):
    script = str(WORKLOADS / "stdlib_events.py")
    run_file = stdlib_run.one("cpython.run_file")
    assert run_file["argnames"] == ["filename"]
    assert run_file["args"] == [script]


def test_subprocess_popen(stdlib_run):
    ev = stdlib_run.one("subprocess.Popen")
    assert ev["argnames"] == ["executable", "args", "cwd", "env"]
    assert_value(ev["args"], ["/bin/true", ["/bin/true", "x"], None, None])


def test_import_event(stdlib_run):
    evs = [e for e in stdlib_run.named("import") if e["args"][0] == "colorsys"]
    assert len(evs) == 1
    ev = evs[0]
    assert ev["argnames"] == ["module", "filename", "sys.path", "sys.meta_path",
                              "sys.path_hooks"]
    module, filename, path, meta_path, hooks = ev["args"]
    assert filename is None
    assert_value(path, stdlib_run.info["sys.path"], "sys.path")
    assert isinstance(meta_path, list) and meta_path
    assert all(set(x) == {"type"} for x in meta_path), meta_path
    assert {"type": "type"} in meta_path  # importlib's finder classes
    assert isinstance(hooks, list) and all(set(x) == {"type"} for x in hooks), hooks


def test_events_in_program_order(stdlib_run):
    info = stdlib_run.info
    order = [
        index_of(stdlib_run, lambda e: e["event"] == "seatrace.info", "seatrace.info"),
        index_of(stdlib_run, lambda e: e["event"] == "open" and e["args"][0] == info["path_w"],
                 "open w"),
        index_of(stdlib_run, lambda e: e["event"] == "open" and e["args"][0] == info["path_r"],
                 "open r"),
        index_of(stdlib_run, lambda e: e["event"] == "socket.connect", "connect"),
        index_of(stdlib_run, lambda e: e["event"] == "compile" and e["args"][1] == FAKE,
                 "compile"),
        index_of(stdlib_run, lambda e: e["event"] == "subprocess.Popen", "Popen"),
        index_of(stdlib_run, lambda e: e["event"] == "import" and e["args"][0] == "colorsys",
                 "import colorsys"),
    ]
    assert order == sorted(order), order


def test_unknown_events_have_no_argnames(stdlib_run):
    assert "argnames" not in stdlib_run.one("seatrace.info")


def test_open_in_text_mode(tmp_path):
    (tmp_path / "read-me.txt").write_text("data")
    res = run_seatrace("-e", "open", "--", PY, WORKLOADS / "stdlib_events.py", tmp_path)
    assert res.returncode == 0, res
    path_w = str(tmp_path / "written.txt")
    lines = [l for l in res.stdout.splitlines() if f"'{path_w}'" in l]
    assert len(lines) == 1, res.stdout
    assert re.search(r" open\(path=" + re.escape(repr(path_w)) + rf", mode='w', flags={FLAGS_W}\)$",
                     lines[0]), lines[0]
    path_r = str(tmp_path / "read-me.txt")
    lines = [l for l in res.stdout.splitlines() if f"'{path_r}'" in l]
    assert len(lines) == 1, res.stdout
    assert lines[0].endswith(f" open(path={path_r!r}, mode='r', flags={FLAGS_R})"), lines[0]


def test_socket_connect_in_text_mode():
    res = run_seatrace("-e", "socket.connect", "--", PY, "-c",
                       "import socket\ns = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
                       "c = socket.socket(); c.connect(s.getsockname())")
    assert res.returncode == 0, res
    lines = res.stdout.splitlines()
    assert len(lines) == 1, res.stdout
    assert re.search(r" socket\.connect\(self=.*socket.*, address=\('127\.0\.0\.1', \d+\)\)$",
                     lines[0]), lines[0]


# --- names only where the count fits ---------------------------------------------

# As capellambse's ElementList.create raises it (parent, attribute name, the new object);
# its documentation lists a fourth argument, index, that the code never passes.
CAPELLA = ("import sys\n"
           "class Parent: pass\n"
           "class Obj: pass\n"
           "sys.audit('capellambse.create', Parent(), 'ownedFunctions', Obj())\n"
           "sys.audit('capellambse.insert', Parent(), 'ownedFunctions', 0, Obj())\n"
           "sys.audit('open', '/nonexistent', 'r', 0, 'extra')\n"
           "sys.audit('os.kill', 1)\n")


def test_argument_names_only_when_the_count_fits():
    res = run_seatrace("-j", "-e", "capellambse.*", "-e", "open", "-e", "os.kill", "--",
                       PY, "-c", CAPELLA)
    assert res.returncode == 0, res
    create = res.one("capellambse.create")
    assert create["args"] == [{"type": "Parent"}, "ownedFunctions", {"type": "Obj"}]
    assert create["argnames"] == ["parent", "attr", "value"]
    assert res.one("capellambse.insert")["argnames"] == ["parent", "attr", "index", "value"]
    # Another count than the table's: positional, no names that could be the wrong ones.
    opened = [e for e in res.named("open") if e["args"][0] == "/nonexistent"]
    assert len(opened) == 1 and "argnames" not in opened[0], opened
    assert "argnames" not in res.one("os.kill")

    text = run_seatrace("-e", "capellambse.*", "-e", "open", "-e", "os.kill", "--",
                        PY, "-c", CAPELLA)
    assert text.returncode == 0, text
    lines = text.stdout.splitlines()
    create = [l for l in lines if " capellambse.create(" in l]
    assert len(create) == 1 and re.search(
        r" capellambse\.create\(parent=<Parent object>, attr='ownedFunctions', "
        r"value=<Obj object>\)$", create[0]), create
    assert any(l.endswith(" open('/nonexistent', 'r', 0, 'extra')") for l in lines), lines
    assert any(l.endswith(" os.kill(1)") for l in lines), lines


# --- --list-events ------------------------------------------------------------

def test_list_events_text():
    res = run_seatrace("--list-events")
    assert res.returncode == 0, res
    lines = res.stdout.splitlines()
    assert len(lines) > 50
    for want in ("open(path, mode, flags)", "socket.connect(self, address)",
                 "exec(code_object)", "builtins.id(id)", "compile(source, filename)",
                 "subprocess.Popen(executable, args, cwd, env)"):
        assert any(re.match(re.escape(want) + r"(\s|$)", l) for l in lines), want
    for l in lines:
        assert re.match(r"^[^\s(]+\(([^,()]+(, [^,()]+)*)?\)(\s.*)?$", l), l


def test_list_events_json():
    res = run_seatrace("--list-events", "-j")
    assert res.returncode == 0, res
    recs = res.records
    by_name = {r["event"]: r for r in recs}
    assert len(by_name) == len(recs) > 50
    assert by_name["open"]["argnames"] == ["path", "mode", "flags"]
    assert by_name["socket.connect"]["argnames"] == ["self", "address"]
    assert by_name["cpython.run_stdin"]["argnames"] == []
    # the same events as the text listing
    text = run_seatrace("--list-events").stdout.splitlines()
    assert [l.split("(", 1)[0] for l in text] == [r["event"] for r in recs]


def test_list_events_needs_nothing_else():
    """--list-events works without a command or -p and writes nothing on stderr."""
    res = run_seatrace("--list-events")
    assert res.returncode == 0 and res.stderr == "", res
