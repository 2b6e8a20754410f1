# SPDX-License-Identifier: MIT
"""Policies (issue 14): the YAML policy file (--policy, --check-policy, SIGHUP) and rate limits
(--rate-limit, a rule's rate:), on real Python processes under the real tracer.

What is checked:
  --check-policy: a good file's rules listed, exit 0, run by nobody without capabilities; each
      kind of mistake said as FILE:LINE:COL at the very place, exit 1, nothing loaded;
  --policy at start: log and drop rules select real events; a bad file refused before anything
      runs (exit 64);
  SIGHUP: a bad policy refused (a log line and a `policy` record naming file, line and reason)
      with the old one still filtering, a good one switched to at once;
  rate limits: a flooding process cut to about N/s while a quiet one loses nothing, and the
      flood's delivered events plus its `rate-limited` counts equal what it raised, exactly;
      on the probe path and on the uprobe fallback;
  kill/stop by policy: written for the kernel rule evaluation (--kill), skipped until the binary
      has it.
  count rules (`action: count`): what they match is not shown and is counted exactly (the
      summary, the stats record, --metrics, the exit line), everything else shown; on the probe
      path and the fallback; counts kept across two reloads.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import (PY, PYENV_PY, SEATRACE, TIMEOUT, parse_json_lines, run_seatrace,
                      seatrace_for_nobody, wait_for)

NOBODY = 65534


def has_option(opt):
    try:
        h = subprocess.run([SEATRACE, "--help"], capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return opt in h.stdout


KILL_SUPPORTED = has_option("--kill")
needs_kill = pytest.mark.skipif(
    not KILL_SUPPORTED,
    reason="policy actions kill/stop need the kernel rule evaluation (seatrace --help lists "
           "--kill once it is merged)")


@pytest.fixture
def pdir():
    """A directory anyone can read (nobody checks files in it)."""
    d = tempfile.mkdtemp(prefix="seatrace-policy-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def write(d, name, text):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, 0o644)
    return p


def as_nobody():
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all"]


GOOD = """\
# Reviewed policy: what this service's Pythons may show.
version: 1
description: the e2e test's policy
rules:
  - name: quiet-imports
    description: imports are noise here
    events: [import, "object.__getattr__"]
    action: drop
  - name: sockets
    events: "socket.*"
    rate: 100/s
  - name: ours
    event: seatrace.*
"""


def test_check_policy_good_file_as_nobody(pdir):
    path = write(pdir, "good.yaml", GOOD)
    with seatrace_for_nobody() as exe:
        p = subprocess.run([*as_nobody(), exe, "--check-policy", path], capture_output=True,
                           text=True, timeout=TIMEOUT)
    assert p.returncode == 0, p
    assert p.stderr == "", p
    lines = p.stdout.splitlines()
    assert lines == [
        "quiet-imports: drop import (line 5)",
        "quiet-imports: drop object.__getattr__ (line 5)",
        "sockets: log socket.*; rate 100/s (line 9)",
        "ours: log seatrace.* (line 12)",
        f"{path}: 3 rules OK (4 event patterns)",
    ], p.stdout


# (file text, LINE, the text there the message points at, what it says) per kind of mistake.
RULE = "rules:\n  - name: r\n"
BAD = [
    ("unknown_key", RULE + "    events: [open]\n    actoin: drop\n", 4, "actoin",
     "unknown key 'actoin' in a rule"),
    ("unknown_top_key", "rule:\n  - name: r\n", 1, "rule", "unknown key 'rule' in the policy"),
    ("unknown_action", RULE + "    events: [open]\n    action: explode\n", 4, "explode",
     "unknown action 'explode'"),
    ("unknown_argument", RULE + "    events: [open]\n    args:\n"
     "      - {arg: pth, op: \"=\", value: \"/etc/*\"}\n", 5, "pth",
     "unknown argument 'pth' of open (its arguments: path, mode, flags)"),
    ("named_argument_of_a_pattern", RULE + "    events: [\"socket.*\"]\n    args:\n"
     "      - {arg: address, op: \"=\", value: 22}\n", 5, "address",
     "argument 'address' is named, but event pattern 'socket.*' may match several events"),
    ("string_for_less_than", RULE + "    events: [open]\n    args:\n"
     "      - {arg: flags, op: \"<\", value: abc}\n", 5, "abc",
     "op '<' compares integers: 'abc' is a string"),
    ("quoted_number_for_greater", RULE + "    events: [open]\n    args:\n"
     "      - {arg: \"#2\", op: \">=\", value: \"10\"}\n", 5, '"10"',
     "op '>=' compares integers: '10' is a string"),
    ("bits_of_a_string", RULE + "    events: [open]\n    args:\n"
     "      - {arg: mode, op: \"&\", value: r}\n", 5, "r}",
     "op '&' tests the bits of integers: 'r' is a string"),
    ("bad_range", RULE + "    events: [open]\n    args:\n"
     "      - {arg: flags, op: range, value: [9, 1]}\n", 5, "[9", "range [9, 1] is empty"),
    ("bad_glob_value", RULE + "    events: [open]\n    args:\n"
     "      - {arg: path, op: \"=\", value: \"/etc/[ab\"}\n", 5, '"/etc/[ab"',
     "bad pattern '/etc/[ab' for a string value: unterminated '['"),
    ("bad_event_glob", RULE + "    events: [\"os.[\"]\n", 3, '"os.["',
     "bad pattern 'os.[' for an event: unterminated '['"),
    ("bad_op", RULE + "    events: [open]\n    args:\n"
     "      - {arg: path, op: \"~\", value: x}\n", 5, '"~"', "unknown op '~'"),
    ("bad_rate", RULE + "    events: [open]\n    rate: 5/m\n", 4, "5/m", "bad rate '5/m'"),
    ("rate_on_drop", RULE + "    events: [open]\n    action: drop\n    rate: 5/s\n", 5, "5/s",
     "'rate' limits what a log rule shows"),
    ("no_events", RULE + "    action: drop\n", 2, "name", "rule 'r' needs 'events'"),
    ("duplicate_name", RULE + "    events: [a]\n  - name: r\n    events: [b]\n", 4, "r\n",
     "rule name 'r' given twice (first at line 2)"),
    ("duplicate_key", RULE + "    events: [a]\n    events: [b]\n", 4, "events",
     "'events' given twice in a rule"),
    ("unknown_user", RULE + "    events: [a]\n    process: {uid: no-such-user-here}\n", 4,
     "no-such", "unknown user 'no-such-user-here'"),
    ("unknown_process_key", RULE + "    events: [a]\n    process: {pid: 1}\n", 4, "pid",
     "unknown key 'pid' in 'process'"),
    ("yaml_syntax", RULE + "    events: [a\n    action: drop\n", 4, ": drop",
     "YAML: did not find expected ',' or ']'"),
    ("wrong_version", "version: 2\nrules: []\n", 1, "2", "unknown policy version '2'"),
    ("too_many_conditions", RULE + "    events: [open]\n    args:\n" +
     "".join("      - {arg: path, op: \"=\", value: \"/x\"}\n" for _ in range(9)), 13, "{",
     "too many conditions in rule 'r' (at most 8)"),
    ("too_many_rules", "rules:\n" + "".join(f"  - {{name: r{i}, events: [e{i}]}}\n"
                                            for i in range(70)), 66, "e64]",
     "too many rules: at most 64"),
]


@pytest.mark.parametrize("text,line,at,msg", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_check_policy_says_where_each_mistake_is(pdir, text, line, at, msg):
    path = write(pdir, "bad.yaml", text)
    col = text.splitlines(True)[line - 1].index(at) + 1
    res = run_seatrace("--check-policy", path)
    assert res.returncode == 1, res
    assert res.stdout == "", res
    want = f"{path}:{line}:{col}: {msg}"
    assert any(l.startswith(want) for l in res.stderr.splitlines()), (
        f"expected a line starting {want!r}; stderr:\n{res.stderr}")
    # Each mistake said once.
    assert len([l for l in res.stderr.splitlines() if msg in l]) == 1, res.stderr


def test_documented_example_is_valid():
    path = os.path.join(os.path.dirname(SEATRACE), "docs", "examples", "policy.yaml")
    res = run_seatrace("--check-policy", path)
    assert res.returncode == 0, res
    assert res.stdout.endswith(f"{path}: 5 rules OK (11 event patterns)\n"), res


def test_check_policy_missing_file(pdir):
    res = run_seatrace("--check-policy", os.path.join(pdir, "nope.yaml"))
    assert res.returncode == 1, res
    assert f"{pdir}/nope.yaml: cannot read the policy: No such file or directory" in res.stderr


# Raises events of three names, N times each, then says how many.
RAISE3 = ("import sys\nn = int(sys.argv[1])\n"
          "for i in range(n):\n"
          "    sys.audit('seatrace.a', i); sys.audit('seatrace.b', i); sys.audit('other.c', i)\n")


def test_policy_log_and_drop_rules(pdir):
    path = write(pdir, "p.yaml", "rules:\n"
                 "  - name: ours\n    events: [\"seatrace.*\"]\n"
                 "  - name: not-b\n    events: seatrace.b\n    action: drop\n")
    res = run_seatrace("-j", "--policy", path, "--", PY, "-c", RAISE3, 7)
    assert res.returncode == 0, res
    names = [r["event"] for r in res.records if r.get("type") == "event"]
    assert names == ["seatrace.a"] * 7, res
    pol = [r for r in res.records if r.get("type") == "policy"]
    assert pol == [pol[0]] and pol[0]["status"] == "applied" and pol[0]["file"] == path
    assert pol[0]["rules"] == 2
    assert re.search(r"policy .*p\.yaml applied: 2 rules", res.stderr), res


def test_bad_policy_refused_at_start(pdir):
    marker = os.path.join(pdir, "ran")
    path = write(pdir, "p.yaml", "rules:\n  - name: r\n    events: [open]\n    action: explode\n")
    res = run_seatrace("--policy", path, "--", PY, "-c", f"open({marker!r}, 'w')")
    assert res.returncode == 64, res
    assert f"{path}:4:13: unknown action 'explode'" in res.stderr, res
    assert "attached" not in res.stderr
    assert not os.path.exists(marker)


# Raises seatrace.a(i) and seatrace.b(i) in turn until STOP exists; prints the rounds.
def looping(stop):
    return ("import os, sys, time\n"
            f"stop = {stop!r}\n"
            "i = 0\n"
            "while not os.path.exists(stop):\n"
            "    for _ in range(50):\n"
            "        sys.audit('seatrace.a', i); sys.audit('seatrace.b', i)\n"
            "        i += 1\n"
            "    time.sleep(0.005)\n"
            "print('rounds', i, flush=True)\n")


def wait_stderr(t, pattern, count=1):
    wait_for(lambda: len(re.findall(pattern, t.stderr)) >= count, what=f"stderr {pattern!r}")


def test_sighup_refuses_a_bad_policy_and_switches_to_a_good_one(procs, pdir, tmp_path):
    out, stop = tmp_path / "ev.jsonl", os.path.join(pdir, "stop")
    path = write(pdir, "p.yaml", "rules:\n  - name: only-a\n    events: seatrace.a\n")
    t = procs.tracer(["-j", "--policy", path, "-o", out, "--", PY, "-c", looping(stop)],
                     tmp_path / "stdout")
    t.wait_attached()
    wait_for(lambda: out.exists() and b'"seatrace.a"' in out.read_bytes(), what="a events")
    # A mistake on line 6: refused, the old policy still filtering.
    write(pdir, "p.yaml", "rules:\n  - name: only-b\n    events: seatrace.b\n"
          "  - name: typo\n    events: [x]\n    acton: drop\n")
    t.signal(signal.SIGHUP)
    wait_stderr(t, r"SIGHUP: policy .*p\.yaml refused \(.*p\.yaml:6:5: unknown key 'acton'")
    assert "the running policy stays in force" in t.stderr

    def a_after_refusal():
        recs = parse_json_lines(out.read_bytes().rsplit(b"\n", 1)[0] + b"\n")
        ref = [r["ts_ns"] for r in recs if r.get("status") == "refused"]
        return ref and any(r.get("event") == "seatrace.a" and r["ts_ns"] > ref[0]
                           for r in recs)

    wait_for(a_after_refusal, what="a events raised after the refusal")
    # A good one: switched to.
    write(pdir, "p.yaml", "rules:\n  - name: only-b\n    events: seatrace.b\n")
    t.signal(signal.SIGHUP)
    wait_stderr(t, r"policy .*p\.yaml applied: 1 rule", 1)
    wait_for(lambda: b'"seatrace.b"' in out.read_bytes(), what="b events")
    open(stop, "w").close()
    res = t.result()
    assert res.returncode == 0, res
    rounds = int(res.stdout.split()[-1])
    recs = parse_json_lines(out.read_bytes())
    pol = [r for r in recs if r["type"] == "policy"]
    assert [p["status"] for p in pol] == ["applied", "refused", "applied"], pol
    assert pol[1]["file"] == path and pol[1]["line"] == 6 and pol[1]["col"] == 5
    assert pol[1]["reason"].startswith("unknown key 'acton' in a rule"), pol[1]
    assert pol[1]["errors"] >= 1
    # Records come in the order the reader writes them: events raised before a switch may
    # follow its record. Times tell: a's went on after the refusal, and no b before it (the
    # refused policy never applied).
    t_refused = pol[1]["ts_ns"]
    evs = [r for r in recs if r["type"] == "event"]
    a = [r["args"][0] for r in evs if r["event"] == "seatrace.a"]
    b = [r["args"][0] for r in evs if r["event"] == "seatrace.b"]
    assert any(r["ts_ns"] > t_refused for r in evs if r["event"] == "seatrace.a")
    assert all(r["ts_ns"] > t_refused for r in evs if r["event"] == "seatrace.b")
    # One switch, in raise order: a_0 b_0 a_1 b_1 ... judged by the old policy, then the new.
    assert [r["event"] for r in evs] == ["seatrace.a"] * len(a) + ["seatrace.b"] * len(b)
    # Nothing lost across the switch: a's from 0 on, then b's to the end, at one point.
    assert a == list(range(len(a))) and b == list(range(b[0], rounds))
    assert b[0] in (len(a) - 1, len(a)), (len(a), b[0])


# The flood and the quiet process, both children of a parent that waits for them (-f).
FLOOD = ("import sys, time\nn = int(sys.argv[1])\nt = time.monotonic()\n"
         "for i in range(n):\n    sys.audit('seatrace.flood', i)\n"
         "print('elapsed', time.monotonic() - t, flush=True)\n")
QUIET = ("import sys, time\n"
         "for i in range(40):\n    sys.audit('seatrace.quiet', i)\n    time.sleep(0.01)\n")
PARENT = ("import subprocess, sys\npy, n = sys.argv[1], sys.argv[2]\n"
          "f = subprocess.Popen([py, '-c', sys.argv[3], n])\n"
          "q = subprocess.Popen([py, '-c', sys.argv[4]])\n"
          "q.wait(); f.wait()\nprint('pids', f.pid, q.pid, flush=True)\n")
N = 200000


def flood_run(py, *opts):
    res = run_seatrace("-j", "-f", "-e", "seatrace.*", "--stats", *opts, "--", py, "-c",
                       PARENT, py, N, FLOOD, QUIET, timeout=300)
    assert res.returncode == 0, res
    lines = res.stdout.splitlines()
    elapsed = float([l for l in lines if l.startswith("elapsed")][0].split()[1])
    fpid, qpid = map(int, [l for l in lines if l.startswith("pids")][0].split()[1:])
    recs = parse_json_lines("\n".join(l for l in lines if l.startswith("{")) + "\n")
    return res, recs, elapsed, fpid, qpid


@pytest.mark.parametrize("py", [PY, PYENV_PY], ids=["probe", "fallback"])
def test_rate_limit_cuts_a_flood_and_spares_the_quiet(py):
    rate = 1000
    res, recs, elapsed, fpid, qpid = flood_run(py, "--rate-limit", f"{rate}/s")
    ev = [r for r in recs if r.get("type") == "event"]
    flood = [r["args"][0] for r in ev if r["pid"] == fpid and r["event"] == "seatrace.flood"]
    quiet = [r["args"][0] for r in ev if r["pid"] == qpid and r["event"] == "seatrace.quiet"]
    limited = [r for r in recs if r.get("type") == "lost" and r.get("reason") == "rate-limited"]
    ring = [r for r in recs if r.get("type") == "lost" and "reason" not in r]
    # The quiet process loses nothing; nothing is lost to a full ring.
    assert quiet == list(range(40)), quiet
    assert not ring, ring
    # Every rate-limited event is the flood's, counted under its pid and event name.
    assert limited and all(r["pid"] == fpid and r["event"] == "seatrace.flood"
                           for r in limited), limited
    dropped = sum(r["count"] for r in limited)
    assert len(flood) + dropped == N, (len(flood), dropped)
    assert dropped == res.stats["events rate-limited"], res.stderr
    # Delivered in raise order; about N/s: the burst (a second's worth) plus the refills.
    assert flood == sorted(flood) and flood[:rate] == list(range(rate))
    assert len(flood) <= rate * (elapsed + 1) * 1.1 + 10, (len(flood), elapsed)


@pytest.mark.parametrize("py", [PY, PYENV_PY], ids=["probe", "fallback"])
def test_policy_rule_rate(pdir, py):
    path = write(pdir, "p.yaml", "rules:\n  - name: flood-cap\n    events: [seatrace.flood]\n"
                 "    rate: 500/s\n  - name: rest\n    events: [seatrace.quiet]\n")
    res, recs, elapsed, fpid, qpid = flood_run(py, "--policy", path)
    ev = [r for r in recs if r.get("type") == "event"]
    flood = [r for r in ev if r["pid"] == fpid]
    quiet = [r["args"][0] for r in ev if r["pid"] == qpid]
    limited = [r for r in recs if r.get("type") == "lost" and r.get("reason") == "rate-limited"]
    assert quiet == list(range(40))
    assert limited and all(r["pid"] == fpid and r["rule"] == "flood-cap" for r in limited)
    assert len(flood) + sum(r["count"] for r in limited) == N
    assert len(flood) <= 500 * (elapsed + 1) * 1.1 + 10, (len(flood), elapsed)


@pytest.mark.parametrize("py", [PY, PYENV_PY], ids=["probe", "fallback"])
def test_rate_on_a_rule_with_conditions(pdir, py):
    # The rule's rate applies to the events its condition holds for, and only to those; with
    # -e showing the name anyway (flood_run's -e seatrace.*), the rule still gives the rate.
    # Few below the bound: those are all shown, at full speed, and must not fill the ring.
    half = 2000
    path = write(pdir, "p.yaml", "rules:\n  - name: upper\n    events: [seatrace.flood]\n"
                 f"    args:\n      - {{arg: 0, op: '>=', value: {half}}}\n"
                 "    rate: 500/s\n  - name: rest\n    events: [seatrace.quiet]\n")
    res, recs, elapsed, fpid, qpid = flood_run(py, "--policy", path)
    ev = [r for r in recs if r.get("type") == "event"]
    flood = [r["args"][0] for r in ev if r["pid"] == fpid]
    quiet = [r["args"][0] for r in ev if r["pid"] == qpid]
    limited = [r for r in recs if r.get("type") == "lost" and r.get("reason") == "rate-limited"]
    ring = [r for r in recs if r.get("type") == "lost" and "reason" not in r]
    assert quiet == list(range(40))
    assert not ring, ring
    # Below the bound, every event; from it, a second's burst and 500/s after that.
    assert [i for i in flood if i < half] == list(range(half))
    upper = [i for i in flood if i >= half]
    assert upper == sorted(upper) and upper[:500] == list(range(half, half + 500)), upper[:10]
    assert len(upper) <= 500 * (elapsed + 1) * 1.1 + 10, (len(upper), elapsed)
    assert limited and all(r["pid"] == fpid and r["rule"] == "upper" for r in limited)
    dropped = sum(r["count"] for r in limited)
    assert len(upper) + dropped == N - half, (len(upper), dropped)
    assert dropped == res.stats["events rate-limited"], res.stderr


def test_first_matching_rule_gives_the_rate(pdir):
    # An unrated rule with conditions comes first: it decides, no rate, even with a later
    # rated one and a rule on the name alone that shows the name anyway.
    code = "import sys\nfor i in range(2000): sys.audit('seatrace.r', i)\n"
    rules = ("rules:\n  - name: first\n    events: [seatrace.r]\n"
             "    args:\n      - {arg: 0, op: '>=', value: 1000}\n"
             "  - name: second\n    events: [seatrace.r]\n"
             "    args:\n      - {arg: 0, op: '>=', value: 0}\n    rate: 10/s\n"
             "  - name: names\n    events: ['seatrace.*']\n")
    res = run_seatrace("-j", "--policy", write(pdir, "p.yaml", rules), "--", PY, "-c", code)
    assert res.returncode == 0, res
    shown = [e["args"][0] for e in res.events if e["event"] == "seatrace.r"]
    limited = [r for r in res.records if r.get("reason") == "rate-limited"]
    # Below 1000 the rated rule is the first that holds: 10 (its burst) shown, the rest
    # counted; from 1000 on the unrated one holds first: every event shown.
    assert shown == list(range(10)) + list(range(1000, 2000)), shown[:20]
    assert [r["rule"] for r in limited] == ["second"] * len(limited)
    assert sum(r["count"] for r in limited) == 990, limited


def test_policy_and_rate_limit_from_the_config_file(pdir):
    pol = write(pdir, "p.yaml", "rules:\n  - {name: ours, events: [\"seatrace.*\"]}\n"
                "  - {name: not-b, events: [seatrace.b], action: drop}\n")
    conf = write(pdir, "c.conf", f"json = true\npolicy = {pol}\nrate-limit = 3/s\n")
    res = run_seatrace("--config", conf, "--", PY, "-c", RAISE3, 10)
    assert res.returncode == 0, res
    ev = [r for r in res.records if r.get("type") == "event"]
    # The burst (3) at least; more only if the loop was held up long enough for a refill.
    assert [r["event"] for r in ev] == ["seatrace.a"] * len(ev) and len(ev) >= 3, res
    assert [r["args"][0] for r in ev[:3]] == [0, 1, 2]
    limited = [r for r in res.records if r.get("reason") == "rate-limited"]
    assert all(r["event"] == "seatrace.a" for r in limited), limited
    assert len(ev) + sum(r["count"] for r in limited) == 10, limited
    assert [r["status"] for r in res.records if r.get("type") == "policy"] == ["applied"]


def test_rate_limit_checked(pdir):
    for bad in ("0/s", "10", "ten/s", "5/m"):
        res = run_seatrace("--rate-limit", bad, "--", PY, "-c", "pass")
        assert res.returncode == 64, res
        assert f"invalid --rate-limit '{bad}'" in res.stderr


# ---- kill and stop by policy: the kernel rule evaluation (issue 14's argument filters) ----

@needs_kill
@pytest.mark.parametrize("py", [PY, PYENV_PY], ids=["probe", "fallback"])
def test_policy_kill_before_the_shell_runs(pdir, py):
    marker = os.path.join(pdir, "shell-ran")
    path = write(pdir, "p.yaml", "rules:\n  - name: no-shell\n    events: [subprocess.Popen]\n"
                 "    args:\n      - {arg: executable, op: \"=\", value: \"*/sh\"}\n"
                 "    action: kill\n")
    code = ("import subprocess\n"
            f"subprocess.run(['/bin/sh', '-c', 'touch {marker}'])\n")
    res = run_seatrace("-j", "--policy", path, "--", py, "-c", code)
    assert res.returncode in (128 + signal.SIGKILL, -signal.SIGKILL), res
    assert not os.path.exists(marker)
    acts = [r for r in res.records if r.get("type") == "action"]
    assert acts and acts[0]["action"] == "kill" and acts[0]["rule"] == "no-shell", res.records


@needs_kill
def test_policy_stop_then_resume(procs, pdir, tmp_path):
    path = write(pdir, "p.yaml", "rules:\n  - name: hold\n    events: [seatrace.hold]\n"
                 "    action: stop\n")
    out = tmp_path / "ev.jsonl"
    code = "import sys\nsys.audit('seatrace.hold')\nprint('resumed', flush=True)\n"
    t = procs.tracer(["-j", "--policy", path, "-o", out, "--", PY, "-c", code],
                     tmp_path / "stdout")
    t.wait_attached()
    wait_for(lambda: out.exists() and b'"action"' in out.read_bytes(), what="stop action")
    act = [r for r in parse_json_lines(out.read_bytes()) if r.get("type") == "action"][0]
    assert act["action"] == "stop"
    with open(f"/proc/{act['pid']}/stat") as f:
        assert f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    os.kill(act["pid"], signal.SIGCONT)
    res = t.result()
    assert res.returncode == 0 and "resumed" in res.stdout, res


# ---- count rules: counted in the kernel, not shown (issue 14, `action: count`) ----

# N events the count rule matches (st.count.read of a path under /etc, size < 1000), and some
# it does not: the same name on another path, or with a size too big, and another name.
COUNT_MIX = ("import sys\nn, m = int(sys.argv[1]), int(sys.argv[2])\n"
             "for i in range(max(n, m)):\n"
             "    if i < n: sys.audit('st.count.read', f'/etc/conf-{i}', i)\n"
             "    if i < m: sys.audit('st.count.read', f'/tmp/conf-{i}', i)\n"
             "    if i < m: sys.audit('st.count.read', '/etc/big', 5000 + i)\n"
             "    if i < m: sys.audit('st.other', f'/etc/conf-{i}', i)\n")
COUNT_POLICY = ("rules:\n  - name: etc-reads\n    events: [\"st.count.*\"]\n"
                "    args:\n      - {arg: 0, op: \"=\", value: \"/etc/*\"}\n"
                "      - {arg: 1, op: \"<\", value: 1000}\n"
                "    action: count\n")


@pytest.mark.parametrize("py", [PY, PYENV_PY], ids=["probe", "fallback"])
def test_policy_count_rule_counts_exactly_and_hides(pdir, tmp_path, py):
    n, m = 137, 23
    path = write(pdir, "p.yaml", COUNT_POLICY)
    prom = tmp_path / "seatrace.prom"
    res = run_seatrace("-j", "-C", "--stats-interval", 3600, "--metrics", prom, "--policy", path,
                       "--", py, "-c", COUNT_MIX, n, m)
    assert res.returncode == 0, res
    ev = [r for r in res.records if r.get("type") == "event"]
    # The matching events are not shown; every other one is.
    assert [r["args"] for r in ev if r["event"] == "st.count.read"] == \
        [a for i in range(m) for a in ([f"/tmp/conf-{i}", i], ["/etc/big", 5000 + i])], res
    assert [r["args"] for r in ev if r["event"] == "st.other"] == \
        [[f"/etc/conf-{i}", i] for i in range(m)]
    # Counted exactly: in the summary (its events table holds only what was shown), the
    # stats record, the metrics file and the exit line.
    summ = [r for r in res.records if r.get("type") == "summary"]
    assert len(summ) == 1, res.records
    assert summ[0]["rules"] == [{"rule": "etc-reads", "count": n}], summ
    counts = {e["event"]: e["count"] for e in summ[0]["events"]}
    assert counts["st.count.read"] == 2 * m and counts["st.other"] == m, counts
    stats = [r for r in res.records if r.get("type") == "stats"]
    assert stats and stats[-1]["rules"] == [{"rule": "etc-reads", "count": n}], stats
    assert f'seatrace_rule_matches_total{{rule="etc-reads"}} {n}\n' in prom.read_text()
    assert f"rule etc-reads: {n} events counted, not shown" in res.stderr, res.stderr


def test_check_policy_accepts_count(pdir):
    path = write(pdir, "p.yaml", COUNT_POLICY)
    res = subprocess.run([SEATRACE, "--check-policy", path], capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert res.returncode == 0, res
    assert "etc-reads: count st.count.*" in res.stdout, res.stdout


# Three phases of st.count.a(k, i) and st.count.b(k, i), each waiting for the test's go.
PHASES = ("import os, sys, time\nd = sys.argv[1]\n"
          "def phase(k, n):\n"
          "    for i in range(n):\n"
          "        sys.audit('st.count.a', k, i); sys.audit('st.count.b', k, i)\n"
          "    open(os.path.join(d, f'done{k}'), 'w').close()\n"
          "    while k < 2 and not os.path.exists(os.path.join(d, f'go{k + 1}')):\n"
          "        time.sleep(0.01)\n"
          "phase(0, 100); phase(1, 70); phase(2, 40)\n")


def test_count_rules_exact_across_reloads(procs, pdir, tmp_path):
    # Two reloads: the second writes the rules' set the first policy counted in, whose counts
    # must be kept, not overwritten.
    out = tmp_path / "ev.jsonl"
    ca = "  - {name: ca, events: [st.count.a], action: count}\n"
    cb = "  - {name: cb, events: [st.count.b], action: count}\n"
    path = write(pdir, "p.yaml", "rules:\n" + ca)
    t = procs.tracer(["-j", "--policy", path, "-o", out, "--", PY, "-c", PHASES, pdir],
                     tmp_path / "stdout")
    t.wait_attached()
    for k, text in ((1, "rules:\n" + ca + cb), (2, "rules:\n" + ca)):
        wait_for(lambda: os.path.exists(os.path.join(pdir, f"done{k - 1}")), what=f"phase {k - 1}")
        write(pdir, "p.yaml", text)
        t.signal(signal.SIGHUP)
        wait_stderr(t, r"policy .*p\.yaml applied", k + 1)
        open(os.path.join(pdir, f"go{k}"), "w").close()
    res = t.result()
    assert res.returncode == 0, res
    assert "rule ca: 210 events counted, not shown" in res.stderr, res.stderr
    assert "rule cb: 70 events counted, not shown" in res.stderr, res.stderr
    evs = [r for r in parse_json_lines(out.read_bytes()) if r["type"] == "event"]
    assert [r["args"] for r in evs if r["event"].startswith("st.count.")] == \
        [[k, i] for k, n in ((0, 100), (2, 40)) for i in range(n)]


# ---- process: {exe: GLOB}: the executable's path, checked in the kernel ----

EXE_POLICY = ("rules:\n  - name: evil-writes\n    events: [open]\n"
              "    args:\n      - {arg: path, op: \"=\", value: \"*/exe-secret\"}\n"
              "    process: {exe: \"*/exe-evilpy*\"}\n"
              "    action: kill\n")


@pytest.mark.parametrize("py", [PY, PYENV_PY], ids=["probe", "fallback"])
def test_policy_exe_kills_the_matching_copy_alone(pdir, tmp_path, py):
    evil = tmp_path / "exe-evilpy"
    shutil.copy2(py, evil)
    secret = tmp_path / "exe-secret"
    path = write(pdir, "p.yaml", EXE_POLICY)
    code = f"open({str(secret)!r}, 'w').close()\nprint('survived')\n"
    res = run_seatrace("-j", "--policy", path, "--", evil, "-c", code)
    assert res.returncode in (128 + signal.SIGKILL, -signal.SIGKILL), res
    assert not secret.exists()
    acts = [r for r in res.records if r.get("type") == "action"]
    assert [(a["rule"], a["args"][0]) for a in acts] == [("evil-writes", str(secret))], res
    ok = run_seatrace("-j", "--policy", path, "--", py, "-c", code)
    assert ok.returncode == 0 and "survived" in ok.stdout and secret.exists(), ok


def test_check_policy_accepts_exe_and_points_at_a_bad_one(pdir):
    path = write(pdir, "p.yaml", EXE_POLICY)
    res = run_seatrace("--check-policy", path)
    assert res.returncode == 0, res
    assert "evil-writes: kill open" in res.stdout and "exe=*/exe-evilpy*" in res.stdout, res
    text = EXE_POLICY.replace("*/exe-evilpy*", "/opt/[ab")
    bad = write(pdir, "bad.yaml", text)
    res = run_seatrace("--check-policy", bad)
    assert res.returncode == 1, res
    col = text.splitlines()[5].index('"/opt/[ab"') + 1
    assert f"{bad}:6:{col}: bad pattern '/opt/[ab' for exe: unterminated '['" in res.stderr, res


def test_exe_results_follow_reloads(procs, pdir, tmp_path):
    # The kernel keeps each thread's @exe results per rule set: a reload that changes the
    # glob (same rule, same slot) must not reuse them, nor a reload back.
    evil = tmp_path / "exe-evilpy"
    shutil.copy2(PY, evil)
    out = tmp_path / "ev.jsonl"
    code = ("import os, sys, time\nd = sys.argv[1]\n"
            "for k in range(3):\n"
            "    for i in range(5): sys.audit('st.exe.ev', k, i)\n"
            "    open(os.path.join(d, f'done{k}'), 'w').close()\n"
            "    while k < 2 and not os.path.exists(os.path.join(d, f'go{k + 1}')):\n"
            "        time.sleep(0.01)\n")
    rule = "rules:\n  - {name: ours, events: [st.exe.ev], process: {exe: \"%s\"}}\n"
    path = write(pdir, "p.yaml", rule % "*/exe-evilpy*")
    t = procs.tracer(["-j", "--policy", path, "-o", out, "--", evil, "-c", code, pdir],
                     tmp_path / "stdout")
    t.wait_attached()
    for k, glob in ((1, "*/nowhere*"), (2, "*/exe-evilpy*")):
        wait_for(lambda: os.path.exists(os.path.join(pdir, f"done{k - 1}")), what=f"phase {k - 1}")
        write(pdir, "p.yaml", rule % glob)
        t.signal(signal.SIGHUP)
        wait_stderr(t, r"policy .*p\.yaml applied", k + 1)
        open(os.path.join(pdir, f"go{k}"), "w").close()
    res = t.result()
    assert res.returncode == 0, res
    evs = [r for r in parse_json_lines(out.read_bytes()) if r["type"] == "event"]
    assert [r["args"] for r in evs if r["event"] == "st.exe.ev"] == \
        [[k, i] for k in (0, 2) for i in range(5)], evs
