# SPDX-License-Identifier: MIT
"""seatrace installed as a service: `make install`/`uninstall`, the man page, the systemd unit
(checked by systemd-analyze, and its sandbox re-created without systemd as PID 1: the same
capability bounding set, no_new_privs, read-only mounts but the log directory, a private /tmp
and the same system call allow list, then system-wide tracing of another user's Python),
sd_notify (READY=1 only once events are recorded, STOPPING=1 on SIGTERM, which drains), and
`make deb`.
"""
import gzip
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import PY, REPO, SEATRACE, TIMEOUT, parse_json_lines, wait_for

PKG = REPO / "pkg"
UNIT = PKG / "seatrace.service.in"
MAN = PKG / "seatrace.8"
OTHER = 1  # daemon: the traced Python belongs to someone else
# The capabilities' bit numbers (linux/capability.h), for /proc/PID/status.
CAP_BITS = {"CAP_DAC_READ_SEARCH": 2, "CAP_SYS_PTRACE": 19, "CAP_SYS_ADMIN": 21}

# Started before seatrace; raises seatrace.install(TOKEN) for each line read, says "done".
WAITER = ("import sys\nprint('ready', flush=True)\n"
          "for line in sys.stdin:\n"
          "    sys.audit('seatrace.install', line.strip())\n"
          "    print('done', flush=True)\n")


def make(*args, **kw):
    return subprocess.run(["make", "-s", "-C", str(REPO), *args], capture_output=True,
                          text=True, timeout=600, **kw)


def long_options():
    """The long options `seatrace --help` lists (argp's help: `  -x, --name=ARG  text`)."""
    out = subprocess.run([SEATRACE, "--help"], capture_output=True, text=True).stdout
    opts = set(re.findall(r"^\s+(?:-\S, )?--([a-z][a-z-]*)", out, re.M))
    assert {"pid", "json", "output", "help", "version"} <= opts, out
    return opts


def unit_settings(text=None):
    """The unit's settings, key -> values in order, comments dropped."""
    settings = {}
    for line in (text or UNIT.read_text()).splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            k, v = line.split("=", 1)
            settings.setdefault(k.strip(), []).append(v.strip())
    return settings


def as_user(uid):
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all"]


# ---------------------------------------------------------------------------------------------
# The man page


def test_man_page_documents_every_option():
    src = MAN.read_text()
    text = src.replace("\\-", "-")
    missing = sorted(o for o in long_options() if f"--{o}" not in text)
    assert not missing, f"seatrace(8) ({MAN}) does not document: {missing}"
    for section in ("NAME", "SYNOPSIS", "OPTIONS", "EXAMPLES", "SIGNALS", "EXIT STATUS",
                    "ENVIRONMENT", "FILES"):
        assert re.search(rf'^\.SH "?{section}"?$', src, re.M), f"no {section} section"
    # Exit statuses the code has: 64 for usage errors (ST_EXIT_USAGE).
    assert re.search(r"^\.B 64$", src, re.M)
    groff = subprocess.run(["groff", "-ww", "-man", "-z", str(MAN)], capture_output=True,
                           text=True)
    assert groff.returncode == 0 and not groff.stderr, groff.stderr
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    man = subprocess.run(["man", "--warnings", "-l", str(MAN)], capture_output=True, text=True,
                         env=env)
    assert man.returncode == 0 and not man.stderr, man.stderr
    assert "EXIT STATUS" in man.stdout


# ---------------------------------------------------------------------------------------------
# make install, make uninstall, the unit


def test_install_uninstall(tmp_path):
    dest = tmp_path / "root"
    res = make("install", f"DESTDIR={dest}")
    assert res.returncode == 0, res.stderr
    # PREFIX defaults to /usr/local; the configuration is in /etc whatever the prefix.
    exe = dest / "usr/local/sbin/seatrace"
    unit = dest / "usr/local/lib/systemd/system/seatrace.service"
    conf = dest / "etc/seatrace/seatrace.conf"
    man = dest / "usr/local/share/man/man8/seatrace.8"
    for f, mode in ((exe, 0o755), (unit, 0o644), (conf, 0o644), (man, 0o644)):
        assert f.is_file(), f"{f} not installed: {sorted(map(str, dest.rglob('*')))}"
        assert f.stat().st_mode & 0o777 == mode, f
    assert unit_settings(unit.read_text())["ExecStart"] == [
        "/usr/local/sbin/seatrace --config /etc/seatrace/seatrace.conf"]
    ver = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert ver.returncode == 0 and ver.stdout.startswith("seatrace "), ver
    # The default configuration: keys are long options; active ones are a daemon's setup.
    active = {}
    for line in conf.read_text().splitlines():
        m = re.match(r"^\s*#?\s*([a-z][a-z-]*)\s*=\s*(.*\S)\s*$", line)
        if m and not line.lstrip().startswith("#"):
            active[m.group(1)] = m.group(2)
    assert active == {"json": "true", "output": "/var/log/seatrace/seatrace.jsonl",
                      "stats-interval": "60"}
    assert set(active) <= long_options()

    # An installed configuration is the user's: a second install keeps it, and so does
    # uninstall once it has been changed.
    conf.write_text(conf.read_text() + "user = www-data\n")
    res = make("install", f"DESTDIR={dest}")
    assert res.returncode == 0 and "keeping" in res.stdout, res
    assert conf.read_text().endswith("user = www-data\n")
    res = make("uninstall", f"DESTDIR={dest}")
    assert res.returncode == 0, res.stderr
    assert not exe.exists() and not unit.exists() and not man.exists()
    assert conf.exists() and "keeping" in res.stdout
    conf.unlink()

    # PREFIX and an unchanged configuration, removed with the rest.
    res = make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert res.returncode == 0, res.stderr
    assert (dest / "usr/sbin/seatrace").is_file() and conf.is_file()
    res = make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    assert res.returncode == 0, res.stderr
    left = [p for p in dest.rglob("*") if p.is_file()]
    assert not left, left


def test_unit_verifies(tmp_path):
    """systemd-analyze verify: the unit as installed (its ExecStart must exist, so the prefix
    is a real directory here), without its man page, which is not in the host's manpath."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze (Debian's systemd package) is not installed")
    prefix = tmp_path / "usr"
    res = make("install", f"PREFIX={prefix}", f"SYSCONFDIR={tmp_path}/etc")
    assert res.returncode == 0, res.stderr
    unit = prefix / "lib/systemd/system/seatrace.service"
    s = unit_settings(unit.read_text())
    assert s["ExecStart"] == [f"{prefix}/sbin/seatrace --config {tmp_path}/etc/seatrace/"
                              "seatrace.conf"]
    assert s["Type"] == ["notify"] and s["KillSignal"] == ["SIGTERM"]
    v = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert v.returncode == 0 and not v.stderr.strip(), v.stderr
    sec = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)],
                         capture_output=True, text=True, cwd=tmp_path)
    m = re.search(r"Overall exposure level for seatrace.service: ([\d.]+)", sec.stdout)
    assert m, sec.stdout + sec.stderr
    print(f"systemd-analyze security: exposure {m.group(1)}")
    assert float(m.group(1)) < 5, sec.stdout  # systemd's "OK" band and better


# ---------------------------------------------------------------------------------------------
# sd_notify, and the unit's sandbox


class Notifications:
    """An AF_UNIX datagram socket standing for systemd's NOTIFY_SOCKET; collects messages."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def until(self, field, proc):
        """Messages up to the one holding `field` (READY=1), as lists of fields; fails if
        `proc` (seatrace) ends first."""
        self.sock.settimeout(0.2)
        waited = 0
        while True:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                waited += 0.2
                if proc.poll() is not None or waited > TIMEOUT:
                    err = proc.stderr.read() if proc.poll() is not None else ""
                    raise AssertionError(f"no {field} from seatrace (exit {proc.poll()}); "
                                         f"got {self.messages}; stderr: {err}")
                continue
            msg = data.decode().split("\n")
            self.messages.append(msg)
            if field in msg:
                return msg

    def close(self):
        self.sock.close()


def traced_once(tracer, waiter, token, out_path, notify, ready=None):
    """Once READY=1 came, the waiter (running before seatrace started) raises one event; then
    SIGTERM: STOPPING=1, exit 0, and the event is in the output, drained before exit."""
    ready = ready or notify.until("READY=1", tracer)
    assert tracer.poll() is None
    assert any(f.startswith("STATUS=tracing every Python") for f in ready), ready
    waiter.stdin.write(token + "\n")
    waiter.stdin.flush()
    assert waiter.stdout.readline() == "done\n"
    tracer.send_signal(signal.SIGTERM)
    stopping = notify.until("STOPPING=1", tracer)
    assert any(f.startswith("STATUS=") for f in stopping), stopping
    out, err = tracer.communicate(timeout=TIMEOUT)
    assert tracer.returncode == 0, err
    assert "Operation not permitted" not in err, err
    evs = [r for r in parse_json_lines(out_path.read_bytes())
           if r.get("event") == "seatrace.install" and r.get("pid") == waiter.pid]
    assert [e["args"] for e in evs] == [[token]], (evs, err)
    return err


def start_waiter(procs, python=PY):
    """Another user's Python running WAITER, ready before seatrace starts."""
    w = procs.popen([*as_user(OTHER), python, "-c", WAITER], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, text=True)
    assert w.stdout.readline() == "ready\n"
    return w


def test_notify_ready_then_stopping(procs, tmp_path):
    """READY=1 is sent once a Python already running is attached: an event it raises right
    after is recorded. SIGTERM brings STOPPING=1 and the event still in the ring is written."""
    waiter = start_waiter(procs)
    notify = Notifications(tmp_path)
    out = tmp_path / "out.jsonl"
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    env.pop("SEATRACE_KERNEL_BTF", None)
    tracer = procs.popen([SEATRACE, "-j", "-e", "seatrace.install", "-o", out], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        traced_once(tracer, waiter, "plain", out, notify)
    finally:
        notify.close()


def syscall_allow_list():
    """The unit's SystemCallFilter=, each @group expanded by systemd-analyze."""
    def expand(item, seen):
        if not item.startswith("@"):
            return {item}
        if item in seen:
            return set()
        seen.add(item)
        out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", item],
                             capture_output=True, text=True, check=True).stdout
        names = set()
        for line in out.splitlines()[1:]:
            s = line.strip()
            if s and not s.startswith("#"):
                names |= expand(s, seen)
        return names

    names, seen = set(), set()
    for value in unit_settings()["SystemCallFilter"]:
        assert not value.startswith("~"), "deny lists: teach this test about them"
        for item in value.split():
            names |= expand(item, seen)
    return names


# Applies a seccomp filter that allows exactly argv[1]'s calls (others fail with EPERM, as
# the unit's SystemCallErrorNumber= says), then becomes argv[2:].
SECCOMP = """
import errno, os, sys, seccomp
f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
for name in sys.argv[1].split(","):
    try:
        f.add_rule(seccomp.ALLOW, name)
    except Exception:
        pass  # another architecture's call
f.load()
os.execv(sys.argv[2], sys.argv[2:])
"""

# ProtectSystem=strict, ProtectHome=read-only, ProtectKernelTunables, ProtectControlGroups:
# every mount read-only but /proc's processes and /dev; ReadWritePaths=$LOG; PrivateTmp.
SANDBOX = r"""
set -e
mount --make-rprivate /
mount --bind "$LOG" "$LOG"
mount --bind /proc/sys /proc/sys
for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do
	case "$m" in /proc|/dev|/dev/*) continue ;; esac
	mount -o remount,bind,ro "$m"
done
mount -o remount,bind,rw "$LOG"
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
for d in /usr /etc /var/lib /root /home /sys/fs/cgroup /proc/sys; do
	if touch "$d/.seatrace-sandbox" 2>/dev/null; then
		echo "sandbox: $d is writable" >&2; exit 99
	fi
done
touch "$LOG/.rw" && rm "$LOG/.rw"
exec "$@"
"""


def test_unit_sandbox_suffices(procs, tmp_path):
    """seatrace as the unit runs it, but without systemd: root with only the unit's bounding
    set, no_new_privs, its file system view and its system call filter. It traces another
    user's Python, whose binary is under the host's /tmp (hidden by PrivateTmp), and sends
    READY=1 and STOPPING=1 through a socket on the read-only /run."""
    caps = unit_settings()["CapabilityBoundingSet"][0].split()
    assert set(caps) <= set(CAP_BITS), caps
    check = subprocess.run([PY, "-c", "import seccomp"], capture_output=True)
    if check.returncode:
        pytest.skip("python3-seccomp is not installed (tools/install-deps.sh installs it)")
    allowed = syscall_allow_list()
    assert {"bpf", "perf_event_open", "fanotify_init", "fanotify_mark", "read", "execve"} <= allowed

    # Debian's python3.11 copied under /tmp, for another user.
    pydir = tempfile.mkdtemp(prefix="seatrace-unit-", dir="/tmp")
    log = tempfile.mkdtemp(prefix="seatrace-unit-", dir="/var/log")
    run = tempfile.mkdtemp(prefix="seatrace-unit-", dir="/run")
    try:
        os.chmod(pydir, 0o755)
        py = os.path.join(pydir, "python3.11")
        shutil.copy(PY, py)
        waiter = start_waiter(procs, python=py)
        notify = Notifications(run)
        out = os.path.join(log, "seatrace.jsonl")
        bset = ",".join("+" + c[4:].lower() for c in caps)
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", SANDBOX, "sh",
                "setpriv", "--no-new-privs", f"--bounding-set=-all,{bset}", "--inh-caps=-all",
                "--", PY, "-I", "-c", SECCOMP, ",".join(sorted(allowed)),
                SEATRACE, "-j", "-e", "seatrace.install", "-o", out]
        env = dict(os.environ, NOTIFY_SOCKET=notify.path, LOG=log)
        env.pop("SEATRACE_KERNEL_BTF", None)
        tracer = procs.popen(argv, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ready = notify.until("READY=1", tracer)
        # The pid is seatrace's by now: unshare, sh, setpriv and python exec'd it in turn.
        status = dict(line.split(":\t", 1) for line in
                      open(f"/proc/{tracer.pid}/status").read().splitlines() if ":\t" in line)
        assert os.readlink(f"/proc/{tracer.pid}/exe") == os.path.realpath(SEATRACE)
        want = sum(1 << CAP_BITS[c] for c in caps)
        assert int(status["CapEff"], 16) == want, status["CapEff"]
        assert int(status["CapBnd"], 16) == want, status["CapBnd"]
        assert status["NoNewPrivs"].strip() == "1" and status["Seccomp"].strip() == "2"
        traced_once(tracer, waiter, "sandboxed", Path(out), notify, ready)
        notify.close()
    finally:
        shutil.rmtree(pydir, ignore_errors=True)
        shutil.rmtree(log, ignore_errors=True)
        shutil.rmtree(run, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# make deb


def test_deb(tmp_path):
    if not shutil.which("dpkg-deb"):
        pytest.skip("dpkg-deb is not installed")
    res = make("deb")
    assert res.returncode == 0, res.stderr
    m = re.search(r"deb: (\S+\.deb)", res.stdout)
    assert m, res.stdout
    deb = REPO / m.group(1)
    info = subprocess.run(["dpkg-deb", "-I", deb], capture_output=True, text=True, check=True)
    fields = dict(re.findall(r"^ (\w[\w-]*): (.*)$", info.stdout, re.M))
    assert fields["Package"] == "seatrace" and fields["Architecture"] == "amd64"
    ver = subprocess.run([SEATRACE, "--version"], capture_output=True, text=True).stdout.split()
    assert fields["Version"].startswith(ver[1] + "-"), fields
    deps = {d.split()[0] for d in fields["Depends"].split(", ")}
    assert {"libbpf1", "libelf1", "libsystemd0", "libc6"} <= deps, fields["Depends"]
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                             check=True).stdout
    files = {line.split()[-1]: line.split()[1] for line in listing.splitlines()
             if not line.startswith("d")}
    for path in ("./usr/sbin/seatrace", "./lib/systemd/system/seatrace.service",
                 "./etc/seatrace/seatrace.conf", "./usr/share/man/man8/seatrace.8.gz",
                 "./usr/share/doc/seatrace/copyright",
                 "./usr/share/doc/seatrace/changelog.Debian.gz"):
        assert files.get(path) == "root/root", (path, listing)

    # Unpacked the way dpkg installs it, into a throwaway root with its own database; no
    # maintainer script runs (the package has no preinst), nothing touches this host.
    root = tmp_path / "root"
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates"):
        (root / d).mkdir(parents=True)
    (root / "var/lib/dpkg/status").touch()
    unpack = subprocess.run(["dpkg", f"--root={root}", "--force-not-root", "--force-depends",
                             "--force-script-chrootless", "--unpack", str(deb)],
                            capture_output=True, text=True)
    assert unpack.returncode == 0, unpack.stderr
    assert (root / "var/lib/dpkg/info/seatrace.conffiles").read_text().split() == [
        "/etc/seatrace/seatrace.conf"]
    assert "/usr/sbin/seatrace --config /etc/seatrace/seatrace.conf" in \
        (root / "lib/systemd/system/seatrace.service").read_text()
    with gzip.open(root / "usr/share/man/man8/seatrace.8.gz", "rt") as f:
        assert f.read() == MAN.read_text()
    exe = root / "usr/sbin/seatrace"
    v = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.split() == ver, v
    h = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert h.returncode == 0 and "--output" in h.stdout, h
    assert subprocess.run([exe, "--bogus"], capture_output=True).returncode == 64

    if shutil.which("lintian"):
        lint = subprocess.run(["lintian", "--pedantic", str(deb)], capture_output=True,
                              text=True, timeout=600)
        # The package closes no Debian bug: it is not an upload to Debian.
        tags = [t for t in lint.stdout.splitlines()
                if t[:2] in ("E:", "W:") and "initial-upload-closes-no-bugs" not in t]
        assert not tags, lint.stdout
