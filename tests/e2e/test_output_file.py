# SPDX-License-Identifier: MIT
"""-o FILE: events go to the file, nothing of seatrace's to stdout."""
import re

from conftest import PY, assert_value, parse_json_lines, run_seatrace

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
