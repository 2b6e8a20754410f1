# SPDX-License-Identifier: MIT
"""End-to-end tests of the seatrace binary: fixtures and helpers.

Every test runs the real binary as root against Debian's /usr/bin/python3.11
(which has the python:audit USDT probe) and checks the decoded values.

Robustness rules on a shared, noisy machine: no timing assertions; timeouts
are hang guards only (tens of seconds); -p tests wait for seatrace's
"seatrace: attached:" line on stderr instead of sleeping.
"""
import base64
import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

import interpreters

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parents[1]
WORKLOADS = E2E_DIR / "workloads"
SEATRACE = os.environ.get("SEATRACE", str(REPO / "seatrace"))
# Debian's interpreter, built with the probe. Never plain "python3" (pyenv, no probe).
PY = interpreters.DEBIAN_PY
# A CPython built without the probe (pyenv).
PYENV_PY = interpreters.by_name("pyenv-3.11").exe
# A Python seatrace cannot trace at all: 3.7 raises no audit events (PEP 578 is 3.8).
UNTRACEABLE_PY = interpreters.untraceable().exe
# Hang guard for one seatrace run; generous, never a timing assertion.
TIMEOUT = 90

if str(WORKLOADS) not in sys.path:
    sys.path.insert(0, str(WORKLOADS))

ATTACHED_RE = re.compile(r"^seatrace: attached:")
STATS_RE = re.compile(r"^seatrace: (.*\S)\s+(\d+)\s*$")


def _skip_reason():
    if os.geteuid() != 0:
        return "seatrace end-to-end tests need root: run pytest-3 as root"
    if not os.path.isfile(SEATRACE) or not os.access(SEATRACE, os.X_OK):
        return f"{SEATRACE} is not built: run make -C {REPO}"
    if not os.access(PY, os.X_OK):
        return f"{PY} (Debian's python3.11, with the python:audit probe) is missing"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if not reason:
        return
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.skip(reason=reason))


# ---------------------------------------------------------------------------
# Output parsing


def cgroup2_root():
    """Where the cgroup v2 hierarchy is mounted, or None."""
    for line in open("/proc/mounts"):
        f = line.split()
        if f[2] == "cgroup2":
            return f[1]
    return None


def parse_json_lines(data, where="seatrace output", keep_header=False):
    """Every line must be one complete JSON value; returns the list of records, without the
    header record that starts the output unless keep_header (test_context.py checks it)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    recs = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            recs.append(json.loads(line))
        except ValueError as e:
            raise AssertionError(f"{where}: line {n} is not JSON ({e}): {line[:300]!r}")
    if text and not text.endswith("\n"):
        raise AssertionError(f"{where}: last line not terminated: {text[-200:]!r}")
    if not keep_header and recs and isinstance(recs[0], dict) and recs[0].get("type") == "header":
        recs = recs[1:]
    return recs


def parse_stats(stderr):
    """{'probe hits': N, 'filtered out in kernel': N, ...} from --stats lines."""
    out = {}
    for line in stderr.splitlines():
        m = STATS_RE.match(line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


class Result:
    def __init__(self, argv, returncode, stdout, stderr, out_path=None):
        self.argv = argv
        self.returncode = returncode
        self.stdout_bytes = stdout
        self.stderr = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
        self.out_path = out_path
        self._records = None

    @property
    def stdout(self):
        return self.stdout_bytes.decode("utf-8", "surrogateescape")

    @property
    def output(self):
        """Event output: the -o file when one was given, else stdout."""
        if self.out_path is not None:
            return Path(self.out_path).read_bytes()
        return self.stdout_bytes

    @property
    def records(self):
        if self._records is None:
            self._records = parse_json_lines(self.output, f"output of {self.argv}")
        return self._records

    @property
    def all_records(self):
        """The records with the header, if any."""
        return parse_json_lines(self.output, f"output of {self.argv}", keep_header=True)

    @property
    def events(self):
        bad = [r for r in self.records if not isinstance(r, dict)]
        assert not bad, f"JSON lines that are not objects: {bad[:5]}"
        return [r for r in self.records if r.get("type") == "event"]

    @property
    def lost(self):
        return [r for r in self.records if r.get("type") == "lost"]

    def named(self, name):
        return [e for e in self.events if e.get("event") == name]

    def one(self, name):
        evs = self.named(name)
        assert len(evs) == 1, (
            f"expected exactly one {name!r} event, got {len(evs)}; "
            f"events: {[e.get('event') for e in self.events][:50]}\nstderr: {self.stderr}")
        return evs[0]

    @property
    def stats(self):
        return parse_stats(self.stderr)

    def __repr__(self):
        return (f"<Result rc={self.returncode} argv={self.argv}\n"
                f"stderr={self.stderr[-2000:]!r}\nstdout={self.stdout[:2000]!r}>")


def run_seatrace(*args, timeout=TIMEOUT, env=None, input=None, prefix=(), out_path=None):
    argv = [*prefix, SEATRACE, *map(str, args)]
    full_env = dict(os.environ)
    full_env.pop("SEATRACE_KERNEL_BTF", None)
    if env:
        full_env.update(env)
    try:
        p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=full_env, timeout=timeout,
                           stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"seatrace hung (> {timeout}s hang guard): {argv}\n"
                             f"stderr so far: {e.stderr!r}")
    return Result(argv, p.returncode, p.stdout, p.stderr, out_path)


def trace_code(code, *opts, py_args=(), **kw):
    """seatrace -j OPTS -- python3.11 -c CODE."""
    return run_seatrace("-j", *opts, "--", PY, *py_args, "-c", code, **kw)


def trace_script(script, *opts, script_args=(), **kw):
    """seatrace -j OPTS -- python3.11 workloads/SCRIPT ARGS."""
    return run_seatrace("-j", *opts, "--", PY, str(WORKLOADS / script), *script_args, **kw)


def assert_clean_error(res, *needles):
    """Non-zero exit, nothing on stdout, a one-line message on stderr naming the problem."""
    assert res.returncode != 0, res
    assert res.stdout_bytes == b"", res
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    # argp adds its conventional hint line after a usage error; it is not the message.
    msg = [l for l in lines if not re.match(r"^Try [`'\"]?\S*seatrace", l)]
    assert len(msg) == 1, f"expected a one-line error message, got: {res.stderr!r}"
    for n in needles:
        assert n.lower() in msg[0].lower(), f"{n!r} not in error message {msg[0]!r}"
    return msg[0]


# ---------------------------------------------------------------------------
# Expected values: strict comparison (types matter: 1 != 1.0 != True)


def strict_eq(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return (list(a.keys()) == list(b.keys())
                and all(strict_eq(a[k], b[k]) for k in a))
    return a == b


def short(v, n=600):
    r = repr(v)
    return r if len(r) <= n else r[:n // 2] + f" ...<{len(r) - n} chars>... " + r[-n // 2:]


def assert_value(got, expected, what="value"):
    __tracebackhide__ = True
    ok = strict_eq(got, expected)
    assert ok, f"{what}:\n  got      {short(got)}\n  expected {short(expected)}"


def b64(b):
    return base64.b64encode(bytes(b)).decode("ascii")


def digits30(n):
    return (abs(n).bit_length() + 29) // 30


def to_json(v):
    """The seatrace JSON mapping of a Python value (nothing cut)."""
    if v is None or isinstance(v, bool) or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(v, bytes):
        return {"bytes": b64(v)}
    if isinstance(v, bytearray):
        return {"bytearray": b64(v)}
    if isinstance(v, (tuple, list)):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        if dict_as_object(v):
            return {k: to_json(x) for k, x in v.items()}
        return {"pairs": [[to_json(k), to_json(x)] for k, x in v.items()]}
    return {"type": type(v).__name__}


def dict_as_object(d):
    """seatrace writes a dict as a JSON object only when every key is an exact str."""
    return all(type(k) is str for k in d)


def conforms(v, j, depth=1, str_max=256):
    """True if j is a faithful, possibly cut, rendering of Python value v at `depth`
    (the args tuple is depth 0). Used where what is cut depends on limits."""
    if isinstance(j, dict) and j.get("truncated") is True:
        if "type" in j and set(j) == {"type", "length", "truncated"}:
            return (isinstance(v, (tuple, list, dict))
                    and j["type"] == type(v).__name__ and j["length"] == len(v))
        if isinstance(v, str):
            s = j.get("str")
            return (isinstance(s, str) and j.get("length") == len(v) and v.startswith(s)
                    and len(s) < len(v))
        if isinstance(v, (bytes, bytearray)):
            key = "bytes" if isinstance(v, bytes) else "bytearray"
            if key not in j:
                return False
            kept = base64.b64decode(j[key])
            return j.get("length") == len(v) and v.startswith(kept) and len(kept) < len(v)
        if isinstance(v, int) and not isinstance(v, bool):
            return j.get("int", 0) is None and j.get("digits30") == digits30(v)
        if isinstance(v, (tuple, list)):
            items = j.get("items")
            return (isinstance(items, list) and j.get("length") == len(v)
                    and len(items) <= len(v)
                    and all(conforms(x, y, depth + 1, str_max) for x, y in zip(v, items)))
        if isinstance(v, dict):
            if j.get("length") != len(v):
                return False
            if "pairs" in j:
                p = j["pairs"]
                return (isinstance(p, list) and len(p) <= len(v) and not dict_as_object(v)
                        and all(isinstance(kv, list) and len(kv) == 2
                                and conforms(k, kv[0], depth + 1, str_max)
                                and conforms(x, kv[1], depth + 1, str_max)
                                for (k, x), kv in zip(v.items(), p)))
            d = j.get("dict")
            if not isinstance(d, dict) or len(d) > len(v):
                return False
            exp = list(to_json_keys(v))
            if list(d.keys()) != exp[:len(d)]:
                return False
            vals = list(v.values())
            return all(conforms(vals[i], d[k], depth + 1, str_max) for i, k in enumerate(d))
        return False
    if isinstance(v, (tuple, list)):
        return (isinstance(j, list) and len(j) == len(v)
                and all(conforms(x, y, depth + 1, str_max) for x, y in zip(v, j)))
    if isinstance(v, dict) and not dict_as_object(v):
        p = j.get("pairs") if isinstance(j, dict) else None
        return (isinstance(p, list) and len(p) == len(v)
                and all(isinstance(kv, list) and len(kv) == 2
                        and conforms(k, kv[0], depth + 1, str_max)
                        and conforms(x, kv[1], depth + 1, str_max)
                        for (k, x), kv in zip(v.items(), p)))
    if isinstance(v, dict):
        return (isinstance(j, dict) and list(j.keys()) == list(to_json_keys(v))
                and all(conforms(x, j[k], depth + 1, str_max)
                        for k, x in zip(to_json_keys(v), v.values())))
    return strict_eq(j, to_json(v))


def to_json_keys(d):
    return [(k if isinstance(k, str) else repr(k)) for k in d]


# ---------------------------------------------------------------------------
# -p mode


class Workload:
    """A python3.11 process running a workload script, driven through stdin/stdout."""

    def __init__(self, args, python=PY):
        self.proc = subprocess.Popen([python, *map(str, args)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.pid = self.proc.pid

    def expect(self, prefix, timeout=TIMEOUT):
        """Read stdout lines until one starts with prefix; returns it (hang-guarded)."""
        box = {}

        def reader():
            try:
                while True:
                    line = self.proc.stdout.readline()
                    if not line:
                        box["eof"] = True
                        return
                    if line.startswith(prefix):
                        box["line"] = line.rstrip("\n")
                        return
            except Exception as e:  # pragma: no cover
                box["err"] = e

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        if "line" not in box:
            err = ""
            if self.proc.poll() is not None:
                err = self.proc.stderr.read()
            raise AssertionError(f"workload {self.pid}: no {prefix!r} line ({box}); "
                                 f"stderr: {err}")
        return box["line"]

    def send(self, line="go"):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close_stdin(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def wait(self, timeout=TIMEOUT):
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            pass


@contextlib.contextmanager
def seatrace_for_nobody():
    """A copy of the binary that any user can run: the checkout may sit under a private
    directory."""
    d = tempfile.mkdtemp(prefix="seatrace-e2e-")
    try:
        os.chmod(d, 0o755)
        exe = os.path.join(d, "seatrace")
        shutil.copy(SEATRACE, exe)
        os.chmod(exe, 0o755)
        yield exe
    finally:
        shutil.rmtree(d, ignore_errors=True)


class Tracer:
    """seatrace running in the background (-p mode), stdout to a file, stderr collected."""

    def __init__(self, args, out_path, env=None, slow_reader=False):
        """slow_reader: stdout is a pipe read 2 KiB at a time with a 10 ms pause between
        reads (about 200 KB/s), a consumer much slower than a busy traced process."""
        self.out_path = Path(out_path)
        self.out_file = open(self.out_path, "wb")
        self.argv = [SEATRACE, *map(str, args)]
        full_env = dict(os.environ)
        full_env.pop("SEATRACE_KERNEL_BTF", None)
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE if slow_reader else self.out_file,
                                     stderr=subprocess.PIPE, env=full_env)
        self.reader = None
        if slow_reader:
            self.reader = threading.Thread(target=self._read_slowly, daemon=True)
            self.reader.start()
        self.stderr_lines = []
        self.attached = 0
        self.cond = threading.Condition()
        self.eof = False
        self.thread = threading.Thread(target=self._read_stderr, daemon=True)
        self.thread.start()

    def _read_slowly(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                data = os.read(fd, 2048)
                if not data:
                    break
                self.out_file.write(data)
                self.out_file.flush()
            except (OSError, ValueError):  # the test gave up and closed the file
                break
            time.sleep(0.01)

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.stderr_lines.append(line)
                if ATTACHED_RE.match(line):
                    self.attached += 1
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    @property
    def stderr(self):
        with self.cond:
            return "\n".join(self.stderr_lines) + ("\n" if self.stderr_lines else "")

    def wait_attached(self, n=1, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.attached < n:
                if self.eof:
                    raise AssertionError(
                        f"seatrace ended before {n} 'attached' line(s), rc="
                        f"{self.proc.poll()}; stderr:\n" + "\n".join(self.stderr_lines))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no 'seatrace: attached:' line after {timeout}s; "
                                         "stderr:\n" + "\n".join(self.stderr_lines))
                self.cond.wait(left)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=TIMEOUT):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"seatrace did not exit within the {timeout}s hang guard; "
                                 f"stderr:\n{self.stderr}")
        self.thread.join(timeout)
        if self.reader:
            self.reader.join(timeout)
        self.out_file.close()
        return rc

    def result(self, timeout=TIMEOUT):
        rc = self.wait(timeout)
        return Result(self.argv, rc, self.out_path.read_bytes(), self.stderr)

    def stop(self):
        """Ctrl-C, as a user ends a -p or system-wide run: it must drain and exit 0."""
        self.signal(signal.SIGINT)
        res = self.result()
        assert res.returncode == 0, res
        return res

    def output_size(self):
        return self.out_path.stat().st_size

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if self.reader:
            self.reader.join(TIMEOUT)
        if not self.out_file.closed:
            self.out_file.close()


@pytest.fixture
def procs():
    """Factory for workloads and tracers; everything still running is killed at teardown."""
    started = []

    class Factory:
        @staticmethod
        def workload(script, *args, python=PY):
            w = Workload([WORKLOADS / script, *args], python=python)
            started.append(w)
            return w

        @staticmethod
        def tracer(args, out_path, env=None, slow_reader=False):
            t = Tracer(args, out_path, env=env, slow_reader=slow_reader)
            started.append(t)
            return t

        @staticmethod
        def popen(argv, **kw):
            p = subprocess.Popen(argv, **kw)
            started.append(p)
            return p

    yield Factory
    for x in reversed(started):
        if isinstance(x, subprocess.Popen):
            if x.poll() is None:
                x.kill()
                x.wait(TIMEOUT)
        else:
            x.kill()


def wait_for(pred, timeout=TIMEOUT, what="condition"):
    """Poll pred() until true (hang guard only, no timing assertion)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
