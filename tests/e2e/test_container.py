"""A Python in a container-like sandbox, traced from the host: what a container runtime builds,
made with util-linux's unshare and a cgroup v2 directory, under the real tracer.

The sandbox: a fresh cgroup (v2) that its processes join; new PID, mount, UTS, IPC and cgroup
namespaces; a root filesystem on a tmpfs mounted inside its own mount namespace (so nothing of
it is visible from the host), holding its own copy of python3.11 at /opt/py/bin/python3 and the
host's /usr/lib and /usr/lib64 bind-mounted read-only, plus a /proc of its own; entered with
chroot. The interpreter is pid 1 there. seatrace, on the host, has to find that binary through
/proc/PID/exe and map_files: no host path leads to it.
"""
import os
import secrets
import shutil
import signal
import subprocess
import time

import pytest

from conftest import PY, cgroup2_root, TIMEOUT, Tracer, Workload, run_seatrace, wait_for

# System-wide tracing sees every process on the host: tags carry this run's token.
TOKEN = f"{os.getpid()}.{secrets.token_hex(3)}:"

EVENT = "seatrace.sys"
# The values raised after the tag, and what seatrace's JSON must show for them.
VALUES = "42, 'h\\u00e9llo', -2.5, b'\\x00\\xff', [1, None, True], {'k': (7, 'v')}"
EXPECTED = [42, "héllo", -2.5, {"bytes": "AP8="}, [1, None, True], {"k": [7, "v"]}]

# Runs in the sandbox: says "ready", then raises one event per line read, tagged by the line,
# and says so; ends at end of input.
SANDBOX_CODE = f"""
import sys
token = sys.argv[1]
print("ready", flush=True)
for line in sys.stdin:
    tag = line.strip()
    sys.audit({EVENT!r}, token + tag, {VALUES})
    print("raised " + tag, flush=True)
"""

# Built in the new namespaces, as root: $1 is the mount point of the new root, $2 the token,
# $3 the code, $4 the interpreter copied in.
SETUP = r"""
set -eu
R=$1
mount -t tmpfs -o mode=0755 seatrace-sandbox "$R"
mkdir -p "$R/opt/py/bin" "$R/usr/lib" "$R/proc" "$R/tmp"
cp "$4" "$R/opt/py/bin/python3"
mount -o bind,ro /usr/lib "$R/usr/lib"
# /lib and /lib64: links into /usr on a merged-/usr system, directories of their own otherwise.
for d in lib lib64 usr/lib64; do
    if [ -L "/$d" ]; then
        ln -s "$(readlink "/$d")" "$R/$d"
    elif [ -d "/$d" ]; then
        mkdir -p "$R/$d"
        mount -o bind,ro "/$d" "$R/$d"
    fi
done
mount -t proc proc "$R/proc"
hostname seatrace-sandbox
exec chroot "$R" /opt/py/bin/python3 -c "$3" "$2"
"""


def tags(res):
    return [e["args"][0][len(TOKEN):] for e in res.events
            if e["event"] == EVENT and str(e["args"][0]).startswith(TOKEN)]


@pytest.fixture
def cgroup():
    """A fresh cgroup v2 directory; removed at teardown (once its processes are gone)."""
    for tool in ("unshare", "chroot"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not installed (util-linux / coreutils): no sandbox")
    root = cgroup2_root()
    if not root:
        pytest.skip("no cgroup v2 hierarchy mounted")
    cg = os.path.join(root, f"seatrace-ct-{os.getpid()}-{secrets.token_hex(3)}")
    os.mkdir(cg)
    yield cg
    # The sandboxes were killed by their own fixture first; their exit may lag a little.
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            os.rmdir(cg)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Sandbox(Workload):
    """The sandbox's interpreter, driven through stdin/stdout like a Workload."""

    def __init__(self, tmp_path, cg):
        self.root = tmp_path / f"root-{secrets.token_hex(3)}"
        self.root.mkdir()
        # Join the cgroup first, then unshare: everything in the sandbox starts inside it.
        # --fork makes the interpreter pid 1 of the new PID namespace; --kill-child kills it
        # if unshare dies.
        argv = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg,
                "unshare", "--pid", "--fork", "--kill-child", "--mount", "--uts", "--ipc",
                "--cgroup", "--propagation", "private",
                "sh", "-c", SETUP, "setup", str(self.root), TOKEN, SANDBOX_CODE, PY]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        # unshare's pid (in messages) until the interpreter's pid on the host is known.
        self.pid = self.proc.pid

    def start(self):
        self.expect("ready")
        # unshare's only child: sh, which became chroot, which became the interpreter.
        p = self.proc.pid
        kids = open(f"/proc/{p}/task/{p}/children").read().split()
        assert len(kids) == 1, kids
        self.pid = int(kids[0])
        return self

    def raise_event(self, tag):
        self.send(tag)
        assert self.expect("raised ") == f"raised {tag}"

    def kill(self):
        # The interpreter is the namespace's init: killing it kills everything in there.
        # While unshare runs, its child's pid cannot have been reused (it reaps it).
        if self.pid != self.proc.pid and self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        super().kill()


@pytest.fixture
def sandboxes(tmp_path, cgroup):
    """Factory of sandboxes in the test's cgroup; all killed at teardown, before the cgroup
    goes."""
    made = []

    def make():
        s = Sandbox(tmp_path, cgroup)
        made.append(s)
        return s.start()

    yield make
    for s in made:
        s.kill()


@pytest.fixture
def tracers():
    made = []

    def make(args, out_path):
        t = Tracer(args, out_path)
        made.append(t)
        return t

    yield make
    for t in made:
        t.kill()


def the_event(res, tag, pid):
    evs = [e for e in res.events if e["event"] == EVENT and e["args"][0] == TOKEN + tag]
    assert len(evs) == 1, res
    ev = evs[0]
    assert ev["args"] == [TOKEN + tag, *EXPECTED], ev
    assert ev["pid"] == pid and ev["tid"] == pid, ev
    assert ev["comm"] == "python3", ev
    return ev


def assert_sandboxed(pid, cg):
    """pid is the host pid of a process that is 1 in a PID namespace of its own, with
    another root, other namespaces, in the cgroup cg."""
    nspid = [l.split()[1:] for l in open(f"/proc/{pid}/status") if l.startswith("NSpid:")]
    assert nspid == [[str(pid), "1"]], nspid
    root, ours = os.stat(f"/proc/{pid}/root/"), os.stat("/")
    assert (root.st_dev, root.st_ino) != (ours.st_dev, ours.st_ino)
    for ns in ("pid", "mnt", "uts", "ipc", "cgroup"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    # Its cgroup, as the host sees it (/proc/PID/cgroup is shown from the reader's cgroup
    # namespace): cg.
    cg_line = [l for l in open(f"/proc/{pid}/cgroup") if l.startswith("0::")]
    assert cg_line == [f"0::/{os.path.relpath(cg, cgroup2_root())}\n"], cg_line
    # Nothing of its root filesystem is visible from the host.
    assert not os.path.exists("/opt/py/bin/python3")


def test_system_wide_before_the_sandbox(tmp_path, sandboxes, tracers, cgroup):
    """seatrace runs system-wide first; the sandbox starts later with a binary never seen
    before, reachable only inside the sandbox: attached at its exec, its event decoded."""
    t = tracers(["-v", "-j", "-e", EVENT], tmp_path / "out.jsonl")
    t.wait_attached()
    s = sandboxes()
    # -v says when a new interpreter file is attached at a process's exec: after that, every
    # event of the file is seen (without -v nothing would say when the race is over).
    # (The reader's look for dlopen()ed interpreters, once a second, may get to it first.)
    lines = (f"attached to a new interpreter, first run by PID {s.pid}\n",
             "attached to an interpreter loaded after its process started\n")
    wait_for(lambda: any(l in t.stderr for l in lines),
             what=f"{lines[0]!r}; stderr:\n{t.stderr}")
    s.raise_event("in-container")
    time.sleep(0.3)
    assert_sandboxed(s.pid, cgroup)
    res = t.stop()
    assert tags(res) == ["in-container"], res
    the_event(res, "in-container", s.pid)


def test_attach_to_running_sandbox(tmp_path, sandboxes, tracers, cgroup):
    """The sandbox runs first; then seatrace attaches, system-wide and with -p HOSTPID."""
    s = sandboxes()
    assert_sandboxed(s.pid, cgroup)
    system = tracers(["-j", "-e", EVENT], tmp_path / "system.jsonl")
    by_pid = tracers(["-j", "-e", EVENT, "-p", s.pid], tmp_path / "pid.jsonl")
    system.wait_attached()
    by_pid.wait_attached()
    assert f"seatrace: attached: PID {s.pid}, " in by_pid.stderr, by_pid.stderr
    assert "(CPython 3.11.2)" in by_pid.stderr, by_pid.stderr
    s.raise_event("attached-later")
    time.sleep(0.3)
    res = system.stop()
    assert tags(res) == ["attached-later"], res
    the_event(res, "attached-later", s.pid)
    # -p exits by itself once its process is gone.
    s.close_stdin()
    assert s.wait() == 0, s.proc.stderr.read()
    res = by_pid.result()
    assert res.returncode == 0, res
    assert tags(res) == ["attached-later"], res
    the_event(res, "attached-later", s.pid)


def test_cgroup_filter_keeps_the_container_only(tmp_path, sandboxes, tracers, cgroup):
    """--cgroup DIR shows the sandbox's event, not a host Python raising the same event
    at the same time; an unfiltered tracer beside it shows both."""
    s = sandboxes()
    host = Workload(["-c", f"""
import sys
print("ready", flush=True)
sys.stdin.readline()
sys.audit({EVENT!r}, sys.argv[1], {VALUES})
print("raised", flush=True)
sys.stdin.readline()
""", TOKEN + "on-host"])
    try:
        host.expect("ready")
        filtered = tracers(["-j", "-e", EVENT, "--cgroup", cgroup], tmp_path / "cg.jsonl")
        everything = tracers(["-j", "-e", EVENT], tmp_path / "all.jsonl")
        filtered.wait_attached()
        everything.wait_attached()
        # Both at once: the two events are raised concurrently.
        host.send("go")
        s.send("in-container")
        host.expect("raised")
        assert s.expect("raised ") == "raised in-container"
        time.sleep(0.3)
        res = filtered.stop()
        res_all = everything.stop()
    finally:
        host.kill()
    assert tags(res) == ["in-container"], res
    the_event(res, "in-container", s.pid)
    assert sorted(tags(res_all)) == ["in-container", "on-host"], res_all
    the_event(res_all, "in-container", s.pid)
    the_event_host = [e for e in res_all.events if e["args"][0] == TOKEN + "on-host"]
    assert the_event_host[0]["pid"] == host.pid and the_event_host[0]["args"][1:] == EXPECTED


def test_list_shows_the_sandboxed_python(sandboxes):
    s = sandboxes()
    res = run_seatrace("--list")
    assert res.returncode == 0, res
    rows = {int(l.split()[0]): l for l in res.stdout.splitlines()[1:]}
    assert s.pid in rows, res.stdout
    row = rows[s.pid].split()
    # PID USER VERSION TRACE EXECUTABLE
    assert row[1:4] == ["root", "3.11.2", "probe"], rows[s.pid]
    assert row[4].endswith("/opt/py/bin/python3"), rows[s.pid]
