# SPDX-License-Identifier: MIT
"""Text output: `HH:MM:SS.uuuuuu PID/TID COMM EVENT(ARGS)`, values as Python repr."""
import os
import re

import pytest

from conftest import PY, WORKLOADS, run_seatrace
from text_values import VALUES

LINE_RE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{6}) (\d+)/(\d+) (.+?) ([^\s(]+)\((.*)\)$")


@pytest.fixture(scope="module")
def text_run():
    res = run_seatrace("-e", "seatrace.*", "--", PY, WORKLOADS / "text_values.py")
    assert res.returncode == 0, res
    lines = res.stdout.splitlines()
    parsed = {}
    for line in lines:
        m = LINE_RE.match(line)
        assert m, f"line does not match the text format: {line!r}"
        parsed[m.group(8)] = m
    res.parsed = parsed
    res.lines = lines
    return res


def test_line_format(text_run):
    assert len(text_run.lines) == len(VALUES) + 2  # one line per event, newlines escaped
    pids = set()
    for m in text_run.parsed.values():
        hh, mm, ss = int(m.group(1)), int(m.group(2)), int(m.group(3))
        assert hh < 24 and mm < 60 and ss < 61
        pids.add((m.group(5), m.group(6)))
        assert m.group(7) == "python3.11"
    assert len(pids) == 1
    pid, tid = pids.pop()
    assert pid == tid


@pytest.mark.parametrize("i", range(len(VALUES)), ids=[repr(v)[:30] for v in VALUES])
def test_value_repr(text_run, i):
    m = text_run.parsed.get(f"seatrace.text.{i}")
    assert m, text_run.stdout
    assert m.group(9) == repr(VALUES[i]), f"text of {VALUES[i]!r}"


def test_multiple_arguments(text_run):
    assert text_run.parsed["seatrace.text.multi"].group(9) == "1, 'two', None, [3]"
    assert text_run.parsed["seatrace.text.noargs"].group(9) == ""


def test_cut_string_marker():
    res = run_seatrace("-s", "3", "-e", "seatrace.*", "--", PY, "-c",
                       "import sys; sys.audit('seatrace.s', 'abcdef', 'abc', 'é€😀xyz')")
    assert res.returncode == 0, res
    (line,) = res.stdout.splitlines()
    assert line.endswith(" seatrace.s('abc'..., 'abc', 'é€😀'...)"), line


def test_known_event_named_arguments():
    code = "import sys; sys.audit('seatrace.x', 1); open('/dev/null', 'w').close()"
    res = run_seatrace("-e", "open", "--", PY, "-c", code)
    assert res.returncode == 0, res
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    lines = [l for l in res.stdout.splitlines() if "'/dev/null'" in l]
    assert len(lines) == 1, res.stdout
    m = LINE_RE.match(lines[0])
    assert m and m.group(8) == "open"
    assert m.group(9) == f"path='/dev/null', mode='w', flags={flags}"


def test_text_is_default_and_json_is_not():
    res = run_seatrace("-e", "seatrace.*", "--", PY, "-c", "import sys; sys.audit('seatrace.d', 1)")
    assert res.returncode == 0
    assert LINE_RE.match(res.stdout.splitlines()[0])
    assert not res.stdout.startswith("{")
