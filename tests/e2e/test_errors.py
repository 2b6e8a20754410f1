# SPDX-License-Identifier: MIT
"""Errors: one clear line on stderr, a non-zero exit status, nothing on stdout."""
import os
import subprocess
import time

import pytest

from conftest import (PY, UNTRACEABLE_PY, assert_clean_error, run_seatrace,
                      seatrace_for_nobody)


@pytest.fixture
def exe_for_nobody():
    with seatrace_for_nobody() as path:
        yield path


@pytest.mark.parametrize("args", [
    ["--", PY, "-c", "pass"],
    ["-p", "1"],
])
def test_not_root(exe_for_nobody, args):
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe_for_nobody,
            *args]
    p = subprocess.run(argv, capture_output=True, timeout=60)
    from conftest import Result
    res = Result(argv, p.returncode, p.stdout, p.stderr)
    msg = assert_clean_error(res)
    assert "root" in msg.lower() or "permission" in msg.lower() or "CAP_BPF" in msg, msg


def test_no_btf(tmp_path):
    marker = tmp_path / "ran"
    res = run_seatrace("--", PY, "-c", f"open({str(marker)!r}, 'w')",
                       env={"SEATRACE_KERNEL_BTF": "/nonexistent"})
    assert_clean_error(res, "BTF")
    assert not marker.exists(), "the command ran although seatrace could not trace it"


def test_no_btf_attach_mode(procs):
    w = procs.workload("controlled.py")
    w.expect("ready")
    res = run_seatrace("-p", w.pid, env={"SEATRACE_KERNEL_BTF": "/nonexistent"})
    assert_clean_error(res, "BTF")


def test_no_such_pid():
    p = subprocess.Popen(["/bin/true"])
    p.wait()  # reaped: this pid is free now
    res = run_seatrace("-p", p.pid)
    assert_clean_error(res, str(p.pid))


def test_pid_not_python(procs):
    p = procs.popen(["sleep", "100"])
    res = run_seatrace("-p", p.pid)
    msg = assert_clean_error(res, str(p.pid))
    assert "python" in msg.lower(), msg


def test_untraceable_python_attach(procs):
    """pyenv builds are traced through uprobes (tests/e2e/test_fallback.py); a Python older
    than 3.8 has no audit events at all and is refused, naming the binary."""
    if not os.path.exists(UNTRACEABLE_PY):
        pytest.skip(f"{UNTRACEABLE_PY} not installed")
    w = procs.popen([UNTRACEABLE_PY, "-c", "import time; time.sleep(100)"])
    time.sleep(0.3)
    res = run_seatrace("-p", w.pid)
    msg = assert_clean_error(res)
    # the binary is its libpython, in the interpreter's prefix
    prefix = os.path.dirname(os.path.dirname(UNTRACEABLE_PY)) + "/"
    assert prefix in msg, msg
    assert "3.8" in msg, msg


def test_untraceable_python_command(tmp_path):
    if not os.path.exists(UNTRACEABLE_PY):
        pytest.skip(f"{UNTRACEABLE_PY} not installed")
    marker = tmp_path / "ran"
    res = run_seatrace("--", UNTRACEABLE_PY, "-c", f"open({str(marker)!r}, 'w')")
    msg = assert_clean_error(res)
    assert UNTRACEABLE_PY in msg or os.path.realpath(UNTRACEABLE_PY) in msg, msg
    assert not marker.exists(), "the command ran untraced"


def probe_args_patched(tmp_path, new_arg):
    """A copy of python3.11 whose probe note says its second argument is `new_arg`, same length."""
    data = bytearray(open(PY, "rb").read())
    head = b"python\0audit\0"
    at = data.find(head)
    assert at > 0 and data.find(head, at + 1) < 0, "expected one python:audit note"
    start = at + len(head)
    end = data.index(b"\0", start)
    args = bytes(data[start:end]).split(b" ")
    assert len(args) == 2, args
    size, _, operand = args[1].partition(b"@")
    new = size + b"@" + new_arg.encode()
    new = new + b" " * (len(args[1]) - len(new)) if len(new) < len(args[1]) else new
    assert len(new) == len(args[1]), (new, args[1])
    data[start + len(args[0]) + 1:end] = new
    copy = tmp_path / "python-patched"
    copy.write_bytes(bytes(data))
    copy.chmod(0o755)
    return str(copy)


def test_probe_arguments_not_understood(tmp_path, procs):
    """A site whose argument string seatrace cannot read (here an unknown register) is refused,
    by -p and in command mode, before anything runs: never a guessed pointer."""
    copy = probe_args_patched(tmp_path, "%qq")
    check = subprocess.run([copy, "-c", "print(6 * 7)"], capture_output=True, text=True,
                           timeout=60)
    assert check.stdout == "42\n", check  # the copy itself still runs
    marker = tmp_path / "ran"
    res = run_seatrace("--", copy, "-c", f"open({str(marker)!r}, 'w')")
    assert_clean_error(res, copy, "arguments")
    assert not marker.exists(), "the command ran although seatrace refused its interpreter"
    p = procs.popen([copy, "-c", "import time; time.sleep(100)"])
    res = run_seatrace("-p", p.pid)
    assert_clean_error(res, str(p.pid), "arguments")


def test_one_bad_pid_among_good_ones(procs):
    w = procs.workload("controlled.py")
    w.expect("ready")
    p = procs.popen(["sleep", "100"])
    res = run_seatrace("-p", w.pid, "-p", p.pid)
    assert_clean_error(res, str(p.pid))


@pytest.mark.parametrize("args,needle", [
    (["-e", "foo["], "foo["),
    (["-x", "foo["], "foo["),
    (["-e", "ok,bad[a-"], "bad[a-"),
    (["-e", ""], "pattern"),
    (["-s", "99999"], "99999"),
    (["-s", "4097"], "4097"),
    (["-s", "-1"], "-1"),
    (["-s", "ten"], "ten"),
    (["--buffer-size", "1000"], "1000"),
    (["--buffer-size", "6000"], "6000"),
    (["--buffer-size", "0"], "0"),
    (["-p", "notapid"], "notapid"),
    (["-p", "0"], "0"),
    (["--no-such-option"], "no-such-option"),
    (["--pair", "foo"], "foo"),
    (["--pair", "a=b*"], "a=b*"),
    (["--pair", "a=a"], "same"),
    (["--no-pair", "--pair", "a==b"], "a==b"),
    (["--cgroup", "/no/such/cgroup"], "/no/such/cgroup"),
    (["--cgroup", "/tmp"], "cgroup v2"),
])
def test_invalid_options(args, needle, tmp_path):
    marker = tmp_path / "ran"
    res = run_seatrace(*args, "--", PY, "-c", f"open({str(marker)!r}, 'w')")
    assert_clean_error(res, needle)
    assert not marker.exists()
    # A usage error, found by the option parser: EX_USAGE, as argp exits with.
    assert res.returncode == 64, res


@pytest.mark.parametrize("args", [["--"], ["-j", "-e", "open", "--"]])
def test_double_dash_without_command(args):
    """Not "every Python on the host": the command was forgotten."""
    res = run_seatrace(*args, timeout=20)
    msg = assert_clean_error(res, "'--'", "command")
    assert res.returncode == 64, res
    assert "attached" not in res.stderr, res


@pytest.mark.parametrize("args,needle", [
    (["--pair", "foo"], "--pair 'foo'"),
    (["--cgroup", "/no/such/cgroup"], "/no/such/cgroup"),
    (["--"], "'--'"),
])
def test_usage_errors_before_anything_else(exe_for_nobody, args, needle):
    """Checked by the option parser, before any privilege or BTF check and any BPF load: an
    unprivileged user gets the usage error, not "permission denied"."""
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe_for_nobody,
            *args]
    p = subprocess.run(argv, capture_output=True, timeout=60,
                       env={**os.environ, "SEATRACE_KERNEL_BTF": "/nonexistent"})
    from conftest import Result
    res = Result(argv, p.returncode, p.stdout, p.stderr)
    assert_clean_error(res, needle)
    assert res.returncode == 64, res


def test_both_pid_and_command():
    res = run_seatrace("-p", "1", "--", PY, "-c", "pass")
    assert_clean_error(res)


def test_unwritable_output_file(tmp_path):
    marker = tmp_path / "ran"
    bad = tmp_path / "no-such-dir" / "out.jsonl"
    res = run_seatrace("-o", bad, "--", PY, "-c", f"open({str(marker)!r}, 'w')")
    assert_clean_error(res, str(bad))
    assert not marker.exists()


def test_valid_limits_accepted():
    res = run_seatrace("-j", "-s", "4096", "--buffer-size", "4K", "-e", "seatrace.*", "--", PY,
                       "-c", "import sys; sys.audit('seatrace.ok', 1)")
    assert res.returncode == 0, res
    assert [e["args"] for e in res.events] == [[1]]
