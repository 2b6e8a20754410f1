# SPDX-License-Identifier: MIT
"""seatrace feeding the fleet's collectors: RFC 5424 to real rsyslog instances (one relaying to
another over TCP, as a fleet's pipeline does), native journald entries read back with
journalctl from a systemd-journald the test starts in a mount namespace of its own, several
sinks at once, a syslog target that does not resolve, and a collector that goes away and
comes back mid-run. Every record is counted against what the Python process raised.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import PY, TIMEOUT, assert_clean_error, run_seatrace, wait_for

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
JOURNALD = "/lib/systemd/systemd-journald"

# Raises seatrace.sk(TAG, i) for i in range(N).
COUNTED = ("import sys\n"
           "tag, n = sys.argv[1], int(sys.argv[2])\n"
           "for i in range(n):\n"
           "    sys.audit('seatrace.sk', tag, i)\n")

needs_rsyslog = pytest.mark.skipif(not os.access(RSYSLOGD, os.X_OK),
                                   reason="rsyslog is not installed (make deps)")


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Rsyslog:
    """rsyslogd in the foreground with a configuration of the test's, in a directory of its own:
    listening on 127.0.0.1 (TCP on tcp_port, and UDP on udp_port if given), then either
    forwarding to 127.0.0.1:forward over TCP or writing each message's MSG to `out`."""

    def __init__(self, d, tcp_port, udp_port=None, forward=None):
        self.dir = Path(d)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tcp_port = tcp_port
        self.out = self.dir / "messages"
        conf = [
            '$MaxMessageSize 64k',
            f'global(workDirectory="{self.dir}")',
            'module(load="imtcp")',
            f'input(type="imtcp" address="127.0.0.1" port="{tcp_port}")',
        ]
        if udp_port:
            # A receive buffer for a burst: UDP has no back-pressure, what overflows the
            # socket's queue is lost without a trace (rsyslog's default is the kernel's).
            conf += ['module(load="imudp")',
                     f'input(type="imudp" address="127.0.0.1" port="{udp_port}" '
                     'rcvbufSize="8m")']
        if forward:
            # RFC 5424 on, octet-counted; a queue that waits for the next hop, never drops.
            conf.append(f'action(type="omfwd" target="127.0.0.1" port="{forward}" '
                        'protocol="tcp" TCP_Framing="octet-counted" '
                        'template="RSYSLOG_SyslogProtocol23Format" queue.type="LinkedList" '
                        'action.resumeRetryCount="-1")')
        else:
            conf += ['template(name="msgonly" type="string" string="%msg%\\n")',
                     f'action(type="omfile" file="{self.out}" template="msgonly")']
        self.conf = self.dir / "rsyslog.conf"
        self.conf.write_text("\n".join(conf) + "\n")
        self.proc = None

    def start(self):
        pid = self.dir / "rsyslogd.pid"
        if pid.exists():
            pid.unlink()
        self.log = open(self.dir / "rsyslogd.log", "ab")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(self.conf), "-i", str(pid)],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: port_open(self.tcp_port) or self.proc.poll() is not None,
                 what=f"rsyslogd on port {self.tcp_port}")
        assert self.proc.poll() is None, (self.dir / "rsyslogd.log").read_text()
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(TIMEOUT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()

    def lines(self):
        return self.out.read_bytes().splitlines() if self.out.exists() else []


def ours(lines, tag):
    """The received messages that are seatrace's JSON records of tag's events, parsed (all must
    be valid JSON: a message cut or mangled on the way fails here)."""
    got = []
    for raw in lines:
        s = raw.strip()
        if not s.startswith(b"{"):
            continue  # rsyslog's own start and stop messages
        rec = json.loads(s)
        if rec.get("event") == "seatrace.sk" and rec["args"][0] == tag:
            got.append((s, rec))
    return got


@pytest.fixture
def rsyslogs():
    started = []
    yield started
    for r in started:
        r.stop()


def relay_pair(tmp_path, rsyslogs, udp=False):
    """The fleet: seatrace -> first rsyslog (TCP, or UDP) -> TCP -> second rsyslog -> file."""
    p2 = free_port()
    last = Rsyslog(tmp_path / "collector", p2).start()
    rsyslogs.append(last)
    p1, u1 = free_port(), (free_port(socket.SOCK_DGRAM) if udp else None)
    first = Rsyslog(tmp_path / "relay", p1, udp_port=u1, forward=p2).start()
    rsyslogs.append(first)
    return first, last, (u1 if udp else p1)


def run_through_relay(tmp_path, rsyslogs, n, udp):
    first, last, port = relay_pair(tmp_path, rsyslogs, udp=udp)
    out = tmp_path / "local.jsonl"
    proto = "udp" if udp else "tcp"
    res = run_seatrace("-j", "-o", out, f"--syslog=127.0.0.1:{port}", "--syslog-proto", proto,
                       "-e", "seatrace.sk", "--", PY, "-c", COUNTED, proto, n)
    assert res.returncode == 0, res
    local = [l for l in out.read_bytes().splitlines() if b'"seatrace.sk"' in l]
    assert len(local) == n, f"-o file has {len(local)} of {n} records; {res.stderr}"
    # The relay forwards as it goes; wait (hang guard only) for the last hop's file.
    try:
        wait_for(lambda: len(ours(last.lines(), proto)) >= n, timeout=60,
                 what=f"{n} records at the second rsyslog")
    except AssertionError:
        pass  # counted below, with what did arrive
    got = ours(last.lines(), proto)
    seq = [rec["args"][1] for _, rec in got]
    assert seq == list(range(n)), (
        f"{len(seq)} of {n} records arrived over {proto}; first gaps: "
        f"{sorted(set(range(n)) - set(seq))[:10]}; stderr: {res.stderr}")
    # Intact: byte for byte the JSON line the -o sink got for the same record.
    assert [line for line, _ in got] == local
    assert "syslog" not in res.stderr, res.stderr  # no outage, nothing dropped


@needs_rsyslog
def test_tcp_through_two_rsyslogs_every_record_in_order(tmp_path, rsyslogs):
    run_through_relay(tmp_path, rsyslogs, 20000, udp=False)


@needs_rsyslog
def test_udp_to_rsyslog_relay_every_record_in_order(tmp_path, rsyslogs):
    # UDP gives no back-pressure: a count small enough for the relay's socket buffer.
    run_through_relay(tmp_path, rsyslogs, 1000, udp=True)


@needs_rsyslog
def test_each_sink_its_own_format(tmp_path, rsyslogs):
    """Without -j the file gets text lines; syslog gets the JSON of the same records."""
    port = free_port()
    coll = Rsyslog(tmp_path / "collector", port).start()
    rsyslogs.append(coll)
    out = tmp_path / "text.log"
    n = 200
    res = run_seatrace("-o", out, f"--syslog=127.0.0.1:{port}", "--syslog-proto", "tcp",
                       "-e", "seatrace.sk", "--", PY, "-c", COUNTED, "fmt", n)
    assert res.returncode == 0, res
    assert res.stdout_bytes == b"", "stdout gets nothing when -o names the file"
    text = [l for l in out.read_text().splitlines() if "seatrace.sk" in l]
    assert [l.endswith(f"seatrace.sk('fmt', {i})") for i, l in enumerate(text)] == [True] * n, \
        text[:3]
    wait_for(lambda: len(ours(coll.lines(), "fmt")) >= n, what="the records at rsyslog")
    got = ours(coll.lines(), "fmt")
    assert [r["args"] for _, r in got] == [["fmt", i] for i in range(n)]
    # The same records: pid and tid of the text lines' "PID/TID" prefix.
    assert all(f" {r['pid']}/{r['tid']} " in t for t, (_, r) in zip(text, got))


def test_unresolvable_syslog_target_fails_before_attaching(tmp_path):
    res = run_seatrace("--syslog=nowhere.invalid:514", "--syslog-proto", "tcp", "--",
                       PY, "-c", "pass")
    msg = assert_clean_error(res, "cannot resolve", "nowhere.invalid:514")
    assert "attached" not in res.stderr, res.stderr
    assert "seatrace" in msg


# Phases: N1 small events, then (after go2) N2 events too big for the queue to hold them all,
# then (after go3) N3 small ones. Each phase ends by creating a file the test waits for.
PHASED = ("import os, sys, time\n"
          "d, n1, n2, n3 = sys.argv[1], *map(int, sys.argv[2:5])\n"
          "def wait(name):\n"
          "    while not os.path.exists(os.path.join(d, name)):\n"
          "        time.sleep(0.01)\n"
          "def done(name):\n"
          "    open(os.path.join(d, name), 'w').close()\n"
          "for i in range(n1):\n"
          "    sys.audit('seatrace.sk', 'p1', i)\n"
          "done('p1'); wait('go2')\n"
          "big = 'x' * 4000\n"
          "for i in range(n2):\n"
          "    sys.audit('seatrace.sk', 'p2', i, big)\n"
          "    if i % 50 == 49:\n"
          "        time.sleep(0.002)\n"
          "done('p2'); wait('go3')\n"
          "for i in range(n3):\n"
          "    sys.audit('seatrace.sk', 'p3', i)\n")


@needs_rsyslog
def test_collector_going_away_is_counted_and_resumed(tmp_path, rsyslogs, procs):
    port = free_port()
    coll = Rsyslog(tmp_path / "collector", port).start()
    rsyslogs.append(coll)
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    n1, n2, n3 = 500, 3000, 500
    t = procs.tracer(["-j", "-s", "4096", f"--syslog=127.0.0.1:{port}", "--syslog-proto", "tcp",
                      "-e", "seatrace.sk", "--", PY, "-c", PHASED, ctl, n1, n2, n3],
                     tmp_path / "stdout")
    wait_for(lambda: (ctl / "p1").exists(), what="phase 1")
    wait_for(lambda: len(ours(coll.lines(), "p1")) >= n1, what="phase 1 at the collector")
    coll.kill()
    (ctl / "go2").touch()
    wait_for(lambda: (ctl / "p2").exists(), what="phase 2")
    wait_for(lambda: f"syslog 127.0.0.1:{port}:" in t.stderr, what="the outage said")
    assert t.proc.poll() is None, t.stderr  # keeps running
    coll.start()
    wait_for(lambda: "sending again" in t.stderr, what="the sink resuming")
    (ctl / "go3").touch()
    res = t.result()
    assert res.returncode == 0, res
    wait_for(lambda: len(ours(coll.lines(), "p3")) >= n3, timeout=60, what="phase 3")
    lines = coll.lines()
    p1 = [r["args"][1] for _, r in ours(lines, "p1")]
    p2 = [r["args"][1] for _, r in ours(lines, "p2")]
    p3 = [r["args"][1] for _, r in ours(lines, "p3")]
    assert p1[:n1] == list(range(n1)), p1[:20]
    assert p3 == list(range(n3)), p3[:20]
    # Phase 2: what the queue held arrives in order; the rest is counted, exactly.
    assert p2 == sorted(set(p2)), "phase 2 out of order or duplicated"
    notes = [json.loads(l) for l in lines if l.startswith(b'{"type":"sink"')]
    assert len(notes) == 1, (notes, res.stderr)
    assert notes[0]["state"] == "resumed" and notes[0]["sink"] == "syslog"
    assert notes[0]["dropped"] == n2 - len(p2), (notes, len(p2), res.stderr)
    assert notes[0]["dropped"] > 0, "the queue held all of phase 2: the bound was not reached"
    print(f"phase 2: {len(p2)} of {n2} delivered, {notes[0]['dropped']} dropped and counted")
    assert f"{n2 - len(p2)} records dropped" in res.stderr, res.stderr


# /dev/log in a mount namespace of the test's: a tmpfs over /dev holding the few devices the run
# needs (bound from the real /dev) and rsyslog's imuxsock socket, so the host's /dev is untouched.
DEVLOG_SCRIPT = r"""
set -eu
mkdir -p "$OUT/olddev"
mount --bind /dev "$OUT/olddev"
mount -t tmpfs -o mode=755 tmpfs /dev
for f in null zero urandom random full tty; do
    touch "/dev/$f"
    mount --bind "$OUT/olddev/$f" "/dev/$f"
done
ln -s /proc/self/fd /dev/fd
"$RSYSLOGD" -n -f "$OUT/rsyslog.conf" -i "$OUT/rsyslogd.pid" > "$OUT/rsyslogd.log" 2>&1 &
r=$!
i=0
while [ ! -S /dev/log ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done
rc=0
"$SEATRACE" --syslog -e seatrace.sk -- "$PY" -c "$CODE" local "$N" 2> "$OUT/seatrace.err" || rc=$?
# Hang guard only: until the last record is in the file.
i=0
while ! grep -q "\"local\",$((N-1))\]" "$OUT/messages" 2>/dev/null && [ $i -lt 1500 ]; do
    sleep 0.02; i=$((i+1))
done
kill $r
wait $r || true
exit $rc
"""


@needs_rsyslog
def test_local_syslog_to_dev_log(tmp_path):
    n = 500
    (tmp_path / "rsyslog.conf").write_text(
        f'global(workDirectory="{tmp_path}")\n'
        # RFC 5424 through the usual parsers, not imuxsock's own (which expects RFC 3164).
        'module(load="imuxsock" SysSock.Name="/dev/log" SysSock.UseSpecialParser="off" '
        'SysSock.ParseHostname="on" SysSock.RateLimit.Interval="0")\n'
        'template(name="msgonly" type="string" string="%msg%\\n")\n'
        f'action(type="omfile" file="{tmp_path}/messages" template="msgonly")\n')
    env = dict(os.environ, RSYSLOGD=RSYSLOGD, OUT=str(tmp_path), PY=PY, CODE=COUNTED, N=str(n),
               SEATRACE=os.environ.get("SEATRACE",
                                       str(Path(__file__).resolve().parents[2] / "seatrace")))
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        DEVLOG_SCRIPT], env=env, capture_output=True, timeout=TIMEOUT)
    err = (tmp_path / "seatrace.err").read_text() if (tmp_path / "seatrace.err").exists() else ""
    assert r.returncode == 0, (r.returncode, r.stderr, err)
    got = ours((tmp_path / "messages").read_bytes().splitlines(), "local")
    assert [rec["args"][1] for _, rec in got] == list(range(n)), (len(got), err)


# ---- journald -----------------------------------------------------------------------------

JOURNAL_SCRIPT = r"""
set -eu
for d in /run/systemd /run/log /var/log/journal; do
    mkdir -p "$d"
    mount -t tmpfs tmpfs "$d"
done
mkdir -p /run/systemd/journal
"$JOURNALD" > "$OUT/journald.log" 2>&1 &
jpid=$!
i=0
while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done
rc=0
"$SEATRACE" -j -o "$OUT/local.jsonl" --journal -e seatrace.sk -- "$PY" -c "$CODE" journal "$N" \
    2> "$OUT/seatrace.err" || rc=$?
journalctl --sync 2>/dev/null || true
journalctl -D /run/log/journal -o json SEATRACE_EVENT=seatrace.sk > "$OUT/entries.json" \
    2> "$OUT/journalctl.err" || true
kill $jpid
wait $jpid || true
exit $rc
"""


@pytest.mark.skipif(not os.access(JOURNALD, os.X_OK), reason="systemd-journald is not installed")
def test_journal_entries_have_fields_per_attribute(tmp_path):
    """A real systemd-journald, started by hand in a private mount namespace (tmpfs over
    /run/systemd, /run/log and /var/log/journal, so the host's are untouched), read back with
    journalctl -D ... SEATRACE_EVENT=..."""
    n = 300
    env = dict(os.environ, JOURNALD=JOURNALD, OUT=str(tmp_path), PY=PY, CODE=COUNTED,
               N=str(n), SEATRACE=str(Path(__file__).resolve().parents[2] / "seatrace"))
    env["SEATRACE"] = os.environ.get("SEATRACE", env["SEATRACE"])
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        JOURNAL_SCRIPT], env=env, capture_output=True, timeout=TIMEOUT)
    err = (tmp_path / "seatrace.err").read_text() if (tmp_path / "seatrace.err").exists() else ""
    assert r.returncode == 0, (r.returncode, r.stderr, err)
    local = [json.loads(l) for l in (tmp_path / "local.jsonl").read_bytes().splitlines()
             if b'"seatrace.sk"' in l]
    assert len(local) == n
    entries = [json.loads(l) for l in (tmp_path / "entries.json").read_bytes().splitlines()]
    assert len(entries) == n, (len(entries), (tmp_path / "journalctl.err").read_text(), err)
    pid = local[0]["pid"]
    for i, (e, rec) in enumerate(zip(entries, local)):
        assert json.loads(e["SEATRACE_JSON"]) == rec
        assert e["SEATRACE_TYPE"] == "event" and e["SEATRACE_EVENT"] == "seatrace.sk"
        assert e["SEATRACE_PID"] == str(pid) and e["SEATRACE_TID"] == str(rec["tid"])
        assert e["SEATRACE_COMM"] == rec["comm"]
        assert json.loads(e["SEATRACE_ARGS"]) == ["journal", i]
        assert e["PRIORITY"] == "6" and e["SYSLOG_IDENTIFIER"] == "seatrace"
        # MESSAGE: the text line of the same record.
        assert f"{pid}/{rec['tid']} " in e["MESSAGE"]
        assert e["MESSAGE"].endswith(f"seatrace.sk('journal', {i})"), e["MESSAGE"]


def test_journal_absent_is_counted(tmp_path):
    """No journald (a private, empty /run/systemd): libsystemd would drop entries silently;
    seatrace says so, counts them, and keeps tracing into its other sinks."""
    n = 50
    out = tmp_path / "local.jsonl"
    res = run_seatrace("-j", "-o", out, "--journal", "-e", "seatrace.sk", "--", PY, "-c",
                       COUNTED, "nojournal", n,
                       prefix=("unshare", "-m", "--propagation", "private", "sh", "-c",
                               'mount -t tmpfs tmpfs /run/systemd && exec "$@"', "sh"))
    assert res.returncode == 0, res
    assert len([l for l in out.read_bytes().splitlines() if b'"seatrace.sk"' in l]) == n
    assert "is journald running?" in res.stderr, res.stderr
    assert f"journal: {n} entries not delivered" in res.stderr, res.stderr
