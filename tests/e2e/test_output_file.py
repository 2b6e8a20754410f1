# SPDX-License-Identifier: MIT
"""-o FILE: events go to the file, nothing of seatrace's to stdout."""
import json
import os
import re
import signal
import subprocess
import time

from conftest import PY, SEATRACE, TIMEOUT, assert_value, parse_json_lines, run_seatrace

CODE = ("import sys\n"
        "print('the command says hi')\n"
        "sys.audit('seatrace.o', 'café', [1, 2], {'k': None})\n")


def test_json_to_file(tmp_path):
    out = tmp_path / "events.jsonl"
    res = run_seatrace("-j", "-o", out, "-e", "seatrace.*", "--", PY, "-c", CODE)
    assert res.returncode == 0, res
    # the command's own stdout is untouched, and nothing else is there
    assert res.stdout == "the command says hi\n"
    recs = parse_json_lines(out.read_bytes())
    assert len(recs) == 1
    assert recs[0]["event"] == "seatrace.o"
    assert_value(recs[0]["args"], ["café", [1, 2], {"k": None}])


def test_text_to_file(tmp_path):
    out = tmp_path / "events.txt"
    res = run_seatrace("-o", out, "-e", "seatrace.*", "--", PY, "-c", CODE)
    assert res.returncode == 0, res
    assert res.stdout == "the command says hi\n"
    lines = out.read_text().splitlines()
    assert len(lines) == 1
    assert re.search(r" python3\.11 seatrace\.o\('café', \[1, 2\], \{'k': None\}\)$", lines[0])


def test_output_file_in_attach_mode(procs, tmp_path):
    out = tmp_path / "events.jsonl"
    w = procs.workload("controlled.py")
    w.expect("ready")
    t = procs.tracer(["-j", "-o", out, "-e", "seatrace.*", "-p", w.pid], tmp_path / "stdout")
    t.wait_attached()
    w.send("event to-file")
    w.expect("done")
    w.send("exit 0")
    w.wait()
    res = t.result()
    assert res.returncode == 0, res
    assert res.stdout_bytes == b""
    recs = parse_json_lines(out.read_bytes())
    assert [(r["event"], r["args"]) for r in recs] == [("seatrace.p", ["to-file"])]


def test_output_to_dev_null_still_runs_the_command():
    res = run_seatrace("-j", "-o", "/dev/null", "--", PY, "-c", "import sys; sys.exit(4)")
    assert res.returncode == 4, res
    assert res.stdout_bytes == b""


# ---- write failures and an output nobody reads -------------------------------------------

def test_write_failure_is_an_error_with_its_cause():
    """-o /dev/full: ENOSPC, said as such, and seatrace fails whatever the command's status."""
    res = run_seatrace("-j", "-o", "/dev/full", "-e", "seatrace.*", "--", PY, "-c",
                       "import sys; sys.audit('seatrace.full', 1)")
    assert res.returncode != 0, res
    assert "No space left on device" in res.stderr, res.stderr
    assert "Input/output error" not in res.stderr, res.stderr


# Raises events for a while, then says it is done on its stderr (not seatrace's output).
CHATTY = ("import sys, time\n"
          "end = time.monotonic() + {secs}\n"
          "i = 0\n"
          "while time.monotonic() < end and i < {n}:\n"
          "    sys.audit('seatrace.chat', i)\n"
          "    i += 1\n"
          "sys.stderr.write('command done\\n')\n")


def test_reader_gone_ends_cleanly(tmp_path):
    """seatrace ... | head -1: no death by SIGPIPE; the command runs on untraced, seatrace
    says so once, waits for it, and exits 1 (docs/design.md)."""
    err = tmp_path / "stderr"
    with open(err, "wb") as ef:
        p = subprocess.Popen([SEATRACE, "-j", "-e", "seatrace.*", "--", PY, "-c",
                              CHATTY.format(secs=30, n=200000)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=ef)
        first = p.stdout.readline()
        if first.startswith(b'{"type":"header"'):  # the first record, after the header
            first = p.stdout.readline()
        p.stdout.close()  # what head -2 does
        try:
            rc = p.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            raise
    text = err.read_text()
    assert json.loads(first)["event"] == "seatrace.chat"
    assert rc == 1, (rc, text)  # not -SIGPIPE
    assert text.count("Broken pipe; stopped tracing") == 1, text
    # seatrace waited for its command, which ran on to its end
    assert "command done" in text, text
    assert text.index("Broken pipe") < text.index("command done"), text


def _wait_for(path, needle, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} not in {path.read_text()!r} after {timeout}s")


def _unread_pipe_then(tmp_path, argv, sig, pid_to_kill=None):
    """Runs seatrace with stdout a pipe nobody reads, waits until the pipe is full, sends
    `sig`: seatrace must end within a generous bound, whatever the output."""
    err = tmp_path / "stderr"
    r, w = os.pipe()
    with open(err, "wb") as ef:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=w, stderr=ef)
    os.close(w)
    try:
        _wait_for(err, "seatrace: attached:")
        # the command's events fill the pipe within a fraction of this
        time.sleep(1.5)
        p.send_signal(sig)
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            raise AssertionError("seatrace still blocked on its output 10 s after "
                                 f"{sig.name}; stderr: {err.read_text()!r}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(r)
    return rc, err.read_text()


def test_sigterm_while_the_output_is_full_command_mode(tmp_path):
    """Command mode: the first SIGTERM goes to the command (as documented), which ends;
    seatrace ends too, with the command's status, and says what it could not write."""
    rc, text = _unread_pipe_then(
        tmp_path, [SEATRACE, "-j", "-e", "seatrace.*", "--", PY, "-c",
                   CHATTY.format(secs=60, n=10**9)], signal.SIGTERM)
    assert rc == 128 + signal.SIGTERM, (rc, text)
    assert re.search(r"seatrace: \d+ output lines not written", text), text


def test_sigint_while_the_output_is_full_attach_mode(tmp_path):
    """-p: Ctrl-C stops seatrace, even with its output full; it exits 0 as after any Ctrl-C."""
    chat = subprocess.Popen([PY, "-c", CHATTY.format(secs=60, n=10**9)])
    try:
        rc, text = _unread_pipe_then(
            tmp_path, [SEATRACE, "-j", "-e", "seatrace.*", "-p", str(chat.pid)], signal.SIGINT)
    finally:
        chat.kill()
        chat.wait()
    assert rc == 0, (rc, text)
    assert re.search(r"seatrace: \d+ output lines not written", text), text
