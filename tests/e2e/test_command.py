# SPDX-License-Identifier: MIT
"""seatrace -- COMMAND: traced from its first audit event, exit status passed on."""
import signal
import subprocess

import pytest

from conftest import (PY, SEATRACE, TIMEOUT, WORKLOADS, parse_json_lines, run_seatrace,
                      trace_code, trace_script)


def names(res):
    return [e["event"] for e in res.events]


def idx(res, pred, what):
    for i, e in enumerate(res.events):
        if pred(e):
            return i
    raise AssertionError(f"no {what} event; events: {names(res)[:40]}")


def test_from_the_very_first_event():
    res = trace_code("pass")
    assert res.returncode == 0, res
    evs = res.events
    assert evs, res
    run = idx(res, lambda e: e["event"] == "cpython.run_command", "cpython.run_command")
    assert res.events[run]["args"] == ["pass\n"]
    # interpreter start-up happened before the command, and was seen
    assert run > 0 and evs[0]["event"] != "cpython.run_command"
    first_import = idx(res, lambda e: e["event"] == "import", "import")
    assert evs[first_import]["args"][0] == "_frozen_importlib_external", evs[first_import]
    enc = idx(res, lambda e: e["event"] == "import" and e["args"][0] == "encodings",
              "import encodings")
    assert first_import < enc < run
    assert evs[0]["event"] in {"marshal.loads", "open", "import", "exec", "os.listdir"}, evs[0]


def test_first_line_of_the_script_is_traced():
    res = trace_script("first_line.py")
    assert res.returncode == 0, res
    script = str(WORKLOADS / "first_line.py")
    run = idx(res, lambda e: e["event"] == "cpython.run_file", "cpython.run_file")
    assert res.events[run]["args"] == [script]
    first = idx(res, lambda e: e["event"] == "seatrace.first", "seatrace.first")
    assert res.events[first]["args"] == [script]
    second = idx(res, lambda e: e["event"] == "seatrace.second", "seatrace.second")
    imports = [i for i, e in enumerate(res.events) if e["event"] == "import"]
    assert imports and imports[0] < run < first < second


@pytest.mark.parametrize("code,status", [
    ("pass", 0),
    ("import sys; sys.exit(7)", 7),
    ("import sys; sys.exit(255)", 255),
    ("raise SystemExit('message')", 1),
    ("raise ValueError('boom')", 1),
    ("import os; os._exit(42)", 42),
])
def test_exit_status_passed_on(code, status):
    res = trace_code(code, "-e", "seatrace.*")
    assert res.returncode == status, res
    assert res.events == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGUSR1])
def test_killed_by_signal(sig):
    code = (f"import os, sys; sys.audit('seatrace.before_kill', {int(sig)}); "
            f"os.kill(os.getpid(), {int(sig)})")
    res = trace_code(code, "-e", "seatrace.*")
    assert res.returncode == 128 + sig, res
    assert res.one("seatrace.before_kill")["args"] == [int(sig)]


@pytest.mark.parametrize("wrapper", [
    ["/usr/bin/env"],
    ["/usr/bin/env", "SEATRACE_TEST_VAR=through-env"],
    ["/bin/sh", "-c", 'exec "$0" "$@"'],
], ids=["env", "env-var", "sh-exec"])
def test_through_a_wrapper(wrapper):
    code = ("import os, sys; sys.audit('seatrace.wrapped', os.getpid(), "
            "os.environ.get('SEATRACE_TEST_VAR')); sys.exit(5)")
    res = run_seatrace("-j", "-e", "seatrace.*", "--", *wrapper, PY, "-c", code)
    assert res.returncode == 5, res
    ev = res.one("seatrace.wrapped")
    pid, var = ev["args"]
    assert ev["pid"] == pid
    assert var == ("through-env" if "SEATRACE_TEST_VAR=through-env" in wrapper else None)
    assert "seatrace: attached:" in res.stderr


def test_wrapper_sees_startup_too():
    res = run_seatrace("-j", "--", "/usr/bin/env", PY, "-c", "pass")
    assert res.returncode == 0, res
    assert any(e["event"] == "import" and e["args"][0] == "encodings" for e in res.events)


def test_non_python_command_status():
    """A command that never runs Python: its exit status is still seatrace's."""
    res = run_seatrace("-j", "--", "/bin/sh", "-c", "exit 3")
    assert res.returncode == 3, res
    assert res.stdout_bytes == b""


@pytest.mark.parametrize("cmd", ["/nonexistent/seatrace-no-such-cmd",
                                 "seatrace-no-such-command-xyz"])
def test_command_not_found(cmd):
    res = run_seatrace("-j", "--", cmd, "arg")
    assert res.returncode == 127, res
    assert res.stdout_bytes == b""
    assert cmd in res.stderr, res


def test_command_not_executable(tmp_path):
    f = tmp_path / "not-exec"
    f.write_text("#!/bin/sh\nexit 0\n")
    f.chmod(0o644)
    res = run_seatrace("-j", "--", f)
    assert res.returncode not in (0, 127) and res.returncode != 0, res
    assert str(f) in res.stderr and res.stdout_bytes == b""


def test_arguments_and_stdin_passed_to_the_command():
    code = ("import sys\n"
            "sys.audit('seatrace.argv', sys.argv[1:])\n"
            "line = input()\n"
            "sys.audit('seatrace.line', line)\n")
    res = run_seatrace("-j", "-e", "seatrace.*", "--", PY, "-c", code, "a", "b c", "",
                       input=b"hello from stdin\n")
    assert res.returncode == 0, res
    assert res.one("seatrace.argv")["args"] == [["a", "b c", ""]]
    assert res.one("seatrace.line")["args"] == ["hello from stdin"]


def test_builtins_input_events(tmp_path):
    out = tmp_path / "ev.jsonl"
    res = run_seatrace("-j", "-o", out, "-e", "builtins.input*", "--", PY, "-c",
                       "import sys; x = input('prompt> ')", input=b"typed\n", out_path=out)
    assert res.returncode == 0, res
    assert res.stdout == "prompt> "  # the command's own output
    ev = res.one("builtins.input")
    assert ev["argnames"] == ["prompt"] and ev["args"] == ["prompt> "]
    # (builtins.input/result is raised only when stdin is a terminal)


def test_threads_have_their_own_tid():
    code = ("import os, sys, threading\n"
            "def work(k):\n"
            "    for i in range(50):\n"
            "        sys.audit('seatrace.t', k, threading.get_native_id(), i)\n"
            "ts = [threading.Thread(target=work, args=(k,)) for k in range(3)]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]\n"
            "work(3)\n"
            "sys.audit('seatrace.main', os.getpid())\n")
    res = trace_code(code, "-e", "seatrace.*")
    assert res.returncode == 0, res
    pid = res.one("seatrace.main")["args"][0]
    evs = res.named("seatrace.t")
    assert len(evs) == 200
    seq = {}
    for e in evs:
        k, tid, i = e["args"]
        assert e["pid"] == pid and e["tid"] == tid, e
        seq.setdefault(k, []).append(i)
    assert seq == {k: list(range(50)) for k in range(4)}
    tids = {e["args"][0]: e["tid"] for e in evs}
    assert tids[3] == pid and len(set(tids.values())) == 4


def test_reexec_is_still_traced():
    """os.execv into Python again: same process, still traced."""
    inner = "import os, sys; sys.audit('seatrace.post', os.getpid()); sys.exit(6)"
    code = ("import os, sys\n"
            "sys.audit('seatrace.pre', os.getpid())\n"
            f"os.execv({PY!r}, [{PY!r}, '-c', {inner!r}])\n")
    res = trace_code(code, "-e", "seatrace.*", "-e", "os.exec")
    assert res.returncode == 6, res
    pre, post = res.one("seatrace.pre"), res.one("seatrace.post")
    assert pre["args"] == post["args"] == [pre["pid"]]
    ex = res.one("os.exec")
    assert ex["argnames"] == ["path", "args", "env"]
    assert ex["args"] == [PY, [PY, "-c", inner], None]


def test_sigterm_to_seatrace_reaches_the_command(tmp_path):
    """In command mode a SIGTERM to seatrace is passed on; seatrace then exits with
    the command's status, 128 + SIGTERM."""
    out = tmp_path / "ev.jsonl"
    code = ("import sys\n"
            "sys.audit('seatrace.up')\n"
            "print('ready', flush=True)\n"
            "sys.stdin.readline()\n")
    p = subprocess.Popen([SEATRACE, "-j", "-o", out, "-e", "seatrace.*", "--", PY, "-c", code],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"
        p.send_signal(signal.SIGTERM)
        rc = p.wait(TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == 128 + signal.SIGTERM, p.stderr.read()
    assert [r["event"] for r in parse_json_lines(out.read_bytes())] == ["seatrace.up"]
