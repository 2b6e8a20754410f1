# SPDX-License-Identifier: MIT
"""Shipping -o FILE with rotation to a log collector, as docs/fleet.md configures them.

No collector (Fluent Bit, Vector, OpenTelemetry Collector) has a Debian package, so the test
ships the file with a reader that does what the documented configurations specify: tail the
live file only, follow it by inode, read a renamed file to its end before moving on (Fluent
Bit's rotate_wait; Vector and filelog read a file they have open), keep an inode -> offset
checkpoint (Fluent Bit's db, Vector's data_dir, filelog's storage) and resume from it, parse
each line as JSON, take the time from ts_ns, and rename fields by the mapping table of
docs/fleet.md, read from the document itself (with its filelog `move` operators checked
against the table).

Schema 2 fields (seq, ts_ns, the header record, the process context) are checked when the
binary writes them; the ones it does not write are named in a warning.
"""
import gzip
import json
import os
import re
import socket
import subprocess
import threading
import time
import warnings
from decimal import Decimal
from pathlib import Path

import tomllib
import yaml

from conftest import PY, REPO, SEATRACE, TIMEOUT

DOC = REPO / "docs" / "fleet.md"

# Raises fleet.ev(TAG, i) for i in range(N) in bursts of 10, 20 ms apart, after printing what
# the mapping must carry: at 64K the file rotates about every second (lines of 130 to 300
# bytes, 500 a second), many times while the reader tails it, each generation living far
# longer than the reader's 5 ms poll, even on a busy host (a generation rotated away before
# a collector ever opened it is missed: docs/fleet.md).
WORK = ("import os, sys, time\n"
        "tag, n = sys.argv[1], int(sys.argv[2])\n"
        "cg = open('/proc/self/cgroup').read().strip().split('::', 1)[-1]\n"
        "print(os.getpid(), os.getppid(), os.getuid(), os.getgid(), cg, flush=True)\n"
        "for i in range(n):\n"
        "    sys.audit('fleet.ev', tag, i)\n"
        "    if i % 10 == 9:\n"
        "        time.sleep(0.02)\n")


def mapping_table():
    """{seatrace field: (OpenTelemetry name, where)} from the doc's Field mapping table."""
    text = DOC.read_text()
    sect = text.split("\n## Field mapping\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in sect.splitlines():
        m = re.match(r"^\| `([^`]+)` \| `([^`]+)` \| (\w+) \|", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def doc_block(lang, holding=""):
    """The doc's one fenced block of `lang` holding the text `holding`."""
    blocks = [b for b in re.findall(r"^```" + lang + r"\n(.*?)^```", DOC.read_text(),
                                    re.M | re.S) if holding in b]
    assert len(blocks) == 1, f"docs/fleet.md: {len(blocks)} {lang} blocks with {holding!r}"
    return blocks[0]


def filelog_receiver():
    return yaml.safe_load(doc_block("yaml"))["receivers"]["filelog/seatrace"]


def filelog_moves():
    """{seatrace field: (name, 'attribute'|'resource')} from the doc's filelog move operators."""
    moves = {}
    for op in filelog_receiver()["operators"]:
        if op["type"] != "move":
            continue
        m = re.fullmatch(r"attributes\.(\w+)", op["from"])
        t = re.fullmatch(r"(attributes|resource)\[\"([^\"]+)\"\]", op["to"])
        assert m and t, op
        assert op.get("if") == f"attributes.{m.group(1)} != nil", op
        moves[m.group(1)] = (t.group(2), "attribute" if t.group(1) == "attributes" else
                             "resource")
    return moves


class InodeTail:
    """The live file followed by inode, with an inode -> offset checkpoint (`db`)."""

    def __init__(self, path, db):
        self.path, self.db = Path(path), db
        self.f = None
        self.ino = None
        self.buf = b""

    def _open(self):
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return False
        self.f, self.ino, self.buf = f, os.fstat(f.fileno()).st_ino, b""
        f.seek(self.db.get(self.ino, 0))
        return True

    def _read(self):
        self.buf += self.f.read()
        *lines, self.buf = self.buf.split(b"\n")
        self.db[self.ino] = self.f.tell() - len(self.buf)
        return lines

    def poll(self):
        out = []
        if self.f is None and not self._open():
            return out
        while True:
            out += self._read()
            try:
                now = os.stat(self.path).st_ino
            except FileNotFoundError:
                now = None
            if now == self.ino:
                return out
            # Renamed: seatrace writes it no more. Read it to its end, forget it (its inode
            # number can come back for a new file), go on with the new live file.
            out += self._read()
            assert self.buf == b"", f"rotated file ended in half a line: {self.buf[:200]!r}"
            self.f.close()
            self.f = None
            del self.db[self.ino]
            if not self._open():
                return out

    def close(self):
        if self.f:
            self.f.close()


def to_otel(rec, table):
    """A parsed record as the filelog receiver, configured as documented, makes it."""
    log = {"attributes": {}, "resource": {}, "timestamp": None}
    for k, v in rec.items():
        name, where = table.get(k, (k, "attribute"))
        if where == "timestamp":
            log["timestamp"] = v
        else:
            log[where + "s" if where == "attribute" else where][name] = v
    return log


def rotated_gz(out):
    pat = re.compile(re.escape(out.name) + r"\.(\d+)\.gz$")
    found = [(int(m.group(1)), p) for p in out.parent.iterdir() if (m := pat.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def test_doc_filelog_config_agrees_with_its_table():
    table = mapping_table()
    for field in ("ts_ns", "pid", "ppid", "uid", "exe", "cgroup", "container_id", "event",
                  "host", "boot_id", "seq", "nspid", "gid"):
        assert field in table, f"docs/fleet.md's mapping table has no row for {field}"
    assert table["boot_id"][0] != "host.id", "boot_id is not host.id"
    renamed = {k: v for k, v in table.items() if v[1] != "timestamp" and v[0] != k}
    assert filelog_moves() == renamed, "the filelog move operators and the table differ"
    # What the test's reader does is what the configurations say.
    live = "/var/log/seatrace/seatrace.jsonl"
    flog = filelog_receiver()
    assert flog["include"] == [live] and flog["start_at"] == "beginning" and flog["storage"]
    parser = flog["operators"][0]
    assert parser["type"] == "json_parser" and parser["parse_ints"] is True
    assert parser["timestamp"] == {"parse_from": "attributes.ts_ns", "layout_type": "epoch",
                                   "layout": "ns"}
    vec = tomllib.loads(doc_block("toml"))
    src = vec["sources"]["seatrace"]
    assert src["include"] == [live] and src["read_from"] == "beginning"
    assert src["fingerprint"]["strategy"] == "device_and_inode"
    assert 'from_unix_timestamp!(.ts_ns, unit: "nanoseconds")' in \
        vec["transforms"]["seatrace_parsed"]["source"]
    tail_input = doc_block("ini", "[INPUT]").split("[INPUT]")[1].split("[")[0]
    fb = dict(re.findall(r"^\s+(\w+)\s+(\S+)", tail_input, re.M))
    assert fb["path"] == live and fb["db"] and fb["read_from_head"] == "true"
    assert int(fb["rotate_wait"]) > 0


def test_rotated_file_shipped_once_in_order_with_mapped_fields(tmp_path):
    table = mapping_table()
    out = tmp_path / "seatrace.jsonl"
    n = 4000
    tag = f"fleet{os.getpid()}"
    tracer = subprocess.Popen(
        [SEATRACE, "-j", "-o", out, "--rotate-size", "64K", "--rotate-keep", "1000",
         "-e", "fleet.ev", "--", PY, "-c", WORK, tag, str(n)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = []
    t = threading.Thread(target=lambda: err.append(tracer.stderr.read()), daemon=True)
    t.start()
    db = {}
    tail = InodeTail(out, db)
    shipped = []
    deadline = time.monotonic() + TIMEOUT
    while tracer.poll() is None:
        assert time.monotonic() < deadline, "seatrace did not finish"
        shipped += tail.poll()
        time.sleep(0.005)
    shipped += tail.poll()
    child = tracer.stdout.read().split()
    t.join(TIMEOUT)
    assert tracer.returncode == 0, "".join(err)
    assert len(child) == 5, child
    cpid, cppid, cuid, cgid, ccg = int(child[0]), int(child[1]), int(child[2]), int(child[3]), \
        child[4]

    # A restarted collector resumes from its checkpoint: nothing read twice.
    tail.close()
    again = InodeTail(out, dict(db))
    assert again.poll() == [], "a restart from the checkpoint read lines again"
    again.close()

    gz = rotated_gz(out)
    assert len(gz) >= 5, f"only {len(gz)} rotations: the tail was not tested across them"
    written = []
    for p in gz:
        with gzip.open(p, "rb") as f:
            written += f.read().splitlines()
    written += out.read_bytes().splitlines()
    assert len(shipped) == len(written), (len(shipped), len(written))
    assert shipped == written, "the lines shipped differ from the lines seatrace wrote"

    recs = [json.loads(line, parse_float=Decimal) for line in shipped]
    assert not [r for r in recs if r.get("type") == "lost"], "seatrace lost events"
    logs = [(r, to_otel(r, table)) for r in recs]
    ev = [(r, log) for r, log in logs if log["attributes"].get("event.name") == "fleet.ev"
          and r["args"][0] == tag]
    assert [r["args"][1] for r, _ in ev] == list(range(n)), "events missing, repeated or moved"

    absent = set()
    for r, log in ev:
        a = log["attributes"]
        assert "pid" not in a and a["process.pid"] == cpid
        ts = log["timestamp"]
        if ts is None:
            absent.add("ts_ns")
            assert Decimal(r["ts"]) > 0
        else:
            assert isinstance(ts, int) and Decimal(ts) / 10**9 == Decimal(r["ts"])
        for field, want in (("ppid", cppid), ("uid", cuid), ("gid", cgid), ("cgroup", ccg),
                            ("exe", os.path.realpath(PY))):
            if field not in r:
                absent.add(field)
                continue
            name, where = table[field]
            assert log[where + "s" if where == "attribute" else where][name] == want, \
                (field, name, r)
        assert "container.id" not in log["resource"], "no container here"
        assert "host.id" not in log["resource"]

    if any("seq" in r for r in recs):
        # A file's own header (a rotation) is marked continued and takes no number.
        numbered = [r for r in recs if not r.get("continued")]
        assert [r.get("seq") for r in numbered] == list(range(1, len(numbered) + 1)), \
            "seq is not +1 per record across the rotated files"
        assert all(r["type"] == "header" for r in recs if r.get("continued"))
        assert all(log["attributes"]["seq"] == r["seq"] for r, log in logs if "seq" in r)
    else:
        absent.add("seq")
    headers = [(r, log) for r, log in logs if r.get("type") == "header"]
    if headers:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        assert recs[0].get("type") == "header"
        for r, log in headers:
            assert log["resource"]["host.name"] == socket.gethostname()
            assert log["attributes"]["boot_id"] == boot_id
            assert boot_id not in log["resource"].values()
    else:
        absent.add("header record")
    if absent:
        warnings.warn("not checked, this seatrace does not write them: "
                      + ", ".join(sorted(absent)))
