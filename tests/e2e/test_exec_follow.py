# SPDX-License-Identifier: MIT
"""A traced process that execs another interpreter stays traced, without -f, as strace follows
a process through execve.

A command's process is stopped at each exec in the kernel until seatrace has attached to what
it runs, so the new interpreter's first events are there; a -p process cannot be held (its
parent may be a shell doing job control), so it is attached from its exec notice and a
`coverage` record says its first events may be missing. A child it forks is not followed
without -f.
"""
import os
import shutil
import subprocess

import pytest

from conftest import PY, PYENV_PY, Tracer, parse_json_lines, run_seatrace

N = 50
# The new image raises its events at once: nothing waits for seatrace.
NEW = "import os, sys\nfor i in range({n}): sys.audit('xf.new', os.getpid(), i)\n"


def copy_of(src, tmp_path, name):
    dst = tmp_path / name
    shutil.copy(src, dst)  # a file seatrace has not attached yet
    return str(dst)


def execv_code(exe, argv0="p"):
    return (f"import os, sys\nsys.audit('xf.old', os.getpid())\n"
            f"os.execv({exe!r}, [{argv0!r}, '-c', {NEW.format(n=N)!r}])\n")


@pytest.mark.parametrize("to", ["probe-copy", "fallback", "same-file"])
def test_command_followed_into_another_interpreter(tmp_path, to):
    exe = {"probe-copy": lambda: copy_of(PY, tmp_path, "xf-python"),
           "fallback": lambda: PYENV_PY,
           "same-file": lambda: PY}[to]()
    res = run_seatrace("-j", "-e", "xf.*", "--", PY, "-c", execv_code(exe))
    assert res.returncode == 0, res
    old = res.named("xf.old")
    new = res.named("xf.new")
    assert len(old) == 1, res
    pid = old[0]["pid"]
    # Every event of the new image, once each, from its first: the exec was held.
    assert [e["args"] for e in new] == [[pid, i] for i in range(N)], res
    assert not [r for r in res.records if r.get("type") == "coverage"], res
    # A new file (or, for pyenv's build, the libpython it links) is attached after the exec.
    late = [l for l in res.stderr.splitlines() if l.endswith("after its exec")]
    assert len(late) == (to != "same-file"), res.stderr
    assert all(f"attached: PID {pid}, " in l for l in late), res.stderr


def test_command_followed_through_a_shell(tmp_path):
    # Python execs a shell, which execs a new interpreter: the shell is no Python, its exec is
    # followed all the same.
    exe = copy_of(PY, tmp_path, "xf-python")
    script = tmp_path / "new.py"
    script.write_text(NEW.format(n=N))
    code = (f"import os, sys\nsys.audit('xf.old', os.getpid())\n"
            f"os.execv('/bin/sh', ['sh', '-c', 'exec {exe} {script}'])\n")
    res = run_seatrace("-j", "-e", "xf.*", "--", PY, "-c", code)
    assert res.returncode == 0, res
    pid = res.one("xf.old")["pid"]
    assert [e["args"] for e in res.named("xf.new")] == [[pid, i] for i in range(N)], res


def test_child_not_followed_without_f(tmp_path):
    exe = copy_of(PY, tmp_path, "xf-python")
    code = ("import subprocess, sys\nsys.audit('xf.old', 0)\n"
            f"subprocess.run([{exe!r}, '-c', {NEW.format(n=3)!r}], check=True)\n")
    res = run_seatrace("-j", "-e", "xf.*", "--", PY, "-c", code)
    assert res.returncode == 0, res
    assert len(res.named("xf.old")) == 1 and res.named("xf.new") == [], res
    with_f = run_seatrace("-j", "-f", "-e", "xf.*", "--", PY, "-c", code)
    assert len(with_f.named("xf.new")) == 3, with_f


def test_pid_followed_into_another_interpreter(tmp_path):
    exe = copy_of(PY, tmp_path, "xf-python")
    go, go2 = tmp_path / "go", tmp_path / "go2"
    new = ("import os, sys, time\n"
           f"while not os.path.exists({str(go2)!r}): time.sleep(0.01)\n"
           + NEW.format(n=N))
    code = ("import os, sys, time\n"
            f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
            "sys.audit('xf.old', os.getpid())\n"
            f"os.execv({exe!r}, ['p', '-c', {new!r}])\n")
    proc = subprocess.Popen([PY, "-c", code])
    t = Tracer(["-j", "-e", "xf.*", "-p", proc.pid], tmp_path / "out.jsonl")
    try:
        t.wait_attached(1)
        go.touch()
        # Its exec is told to seatrace, which attaches to the new file (a second line).
        t.wait_attached(2)
        go2.touch()
        assert proc.wait(30) == 0
        res = t.result()
    finally:
        t.kill()
        if proc.poll() is None:
            proc.kill()
    assert res.returncode == 0, res
    assert f"attached: PID {proc.pid}, {exe} " in res.stderr, res.stderr
    assert [e["args"] for e in res.named("xf.old")] == [[proc.pid]], res
    assert [e["args"] for e in res.named("xf.new")] == [[proc.pid, i] for i in range(N)], res
    # Not held: it says so.
    cov = [r for r in parse_json_lines(res.output) if r.get("type") == "coverage"]
    assert [(c["pid"], c["reason"], c["file"]) for c in cov] == [(proc.pid, "exec", exe)], cov
