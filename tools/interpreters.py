# SPDX-License-Identifier: MIT
"""The CPython interpreters on this machine: one inventory for the end-to-end tests
(tests/e2e/interpreters.py re-exports this module), tools/bench.py, tools/layout-check.py.

    from interpreters import available, params, with_probe

    @pytest.mark.parametrize("interp", params(probe=True))
    def test_something(interp):
        run_seatrace("-j", "--", *interp.argv, "-c", "...")

Each Interpreter has:
  name      "debian-3.11", "trixie-3.13", "sid-3.13", "sid-3.14", "pyenv-3.8", ...
  version   (3, 11)
  argv      the command prefix that runs it, like a python: (path,) or a wrapper
  binary    the ELF file that holds (or, without dtrace, would hold) the python:audit
            probe, i.e. what seatrace attaches to: the executable for Debian's builds
            (libpython is linked in), libpython3.X.so.1.0 for pyenv's shared builds
  has_probe whether `binary` carries the python:audit stapsdt note (read from the
            file, so it is the truth for the file present, not an expectation)

trixie/sid interpreters come from tools/fetch-pythons.sh (cache: $SEATRACE_PYTHON_CACHE,
default <repo>/.cache/pythons); they need a glibc newer than bookworm's. When that
script could patch the executable (PT_INTERP and DT_RPATH pointing into the cache),
argv is the executable itself and it behaves like an installed python: comm is
"python3.X", `seatrace -- EXE` and `-p PID` both work, sys.executable re-runs. When it
could not, argv is the loader wrapper (bin/python3.X-SUITE): then `seatrace -p` works
but `seatrace -- WRAPPER` cannot find the interpreter at exec time, /proc/PID/exe is
the loader and sys.executable cannot be re-run: `direct` tells which.

pyenv builds have no probe: they are listed for the "no probe" paths (error message,
uprobe fallback) and for layout checks. So is "static-3.13", the python-build-standalone
layout built by `tools/build-cpython.sh static` (cache: $CACHE/static, run in place from its
build tree): CPython linked statically into the executable (no libpython*.so), no probe,
.symtab kept; `binary` is the executable itself.

refused_interpreters() are those seatrace must refuse rather than decode, kept out of
all_interpreters() (whose tests expect decoded values): a free-threaded build from
tools/build-cpython.sh freethreaded (cache: $CACHE/freethreaded, run in place from its build
tree) and sid's python3.15, newer than seatrace knows. Each has `refusal`, a phrase the
refusal message must contain. untraceable() is pyenv's 3.7, older than audit events.

`python3 tools/interpreters.py` lists them all, present or not.
"""
import os
import struct
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("SEATRACE_PYTHON_CACHE", REPO / ".cache" / "pythons"))
PYENV = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"
# Debian's interpreter, built with the probe. Never plain "python3" (pyenv, no probe).
DEBIAN_PY = "/usr/bin/python3.11"
# pyenv's builds (shared libpython, no probe), by minor version.
PYENV_PATCH = {7: 16, 8: 18, 9: 18, 10: 13, 11: 7, 12: 1, 13: 0}
FETCH_HINT = "run tools/fetch-pythons.sh"
FT_DIR = CACHE / "freethreaded"
BUILD_HINT = "run tools/build-cpython.sh {variant}"


class Interpreter:
    def __init__(self, name, version, exe, binary, source, wrapper=None):
        self.name = name
        self.version = version
        self.exe = str(exe)          # the interpreter executable
        self.binary = str(binary)    # what carries the probe
        self.source = source         # "debian", "trixie", "sid", "pyenv", "build"
        self.build_dir = None        # source "build": $CACHE/VARIANT of tools/build-cpython.sh
        self.wrapper = str(wrapper) if wrapper else None
        self.refusal = None          # refused_interpreters(): what the refusal must say
        # whether the build is meant to have the probe, known even when it is missing
        self.probe_expected = source != "pyenv"
        self._probe = None
        self._direct = None

    # -- what is on the machine ------------------------------------------------

    def missing_reason(self):
        """None when the interpreter can be run here, else why not."""
        if not os.access(self.exe, os.X_OK):
            hint = FETCH_HINT if self.source in ("trixie", "sid") else "not installed"
            if self.source == "build":
                # The script leaves why it failed (no network, no compiler...).
                failed = Path(self.build_dir) / "failed"
                hint = BUILD_HINT.format(variant=Path(self.build_dir).name)
                if failed.is_file():
                    hint += f"; it failed: {failed.read_text().strip()}"
            return f"{self.name}: {self.exe} is missing ({hint})"
        if not os.path.isfile(self.binary):
            return f"{self.name}: {self.binary} is missing"
        if not self.direct and not (self.wrapper and os.access(self.wrapper, os.X_OK)):
            return f"{self.name}: {self.exe} needs its wrapper {self.wrapper} ({FETCH_HINT})"
        return None

    @property
    def present(self):
        return self.missing_reason() is None

    @property
    def direct(self):
        """True if the executable runs by itself (not through the loader wrapper)."""
        if self._direct is None:
            if self.source not in ("trixie", "sid"):
                self._direct = True
            else:
                interp = elf_interp(self.exe)
                self._direct = bool(interp) and interp.startswith(str(CACHE))
        return self._direct

    @property
    def argv(self):
        return (self.exe,) if self.direct or not self.wrapper else (self.wrapper,)

    @property
    def python(self):
        """argv as one path, for helpers that take a single interpreter path."""
        return self.argv[0]

    @property
    def has_probe(self):
        if self._probe is None:
            self._probe = os.path.isfile(self.binary) and audit_probe_sites(self.binary) > 0
        return self._probe

    @property
    def minor(self):
        return self.version[1]

    def __repr__(self):
        return (f"<Interpreter {self.name} argv={self.argv} binary={self.binary} "
                f"probe={self.has_probe if os.path.isfile(self.binary) else '?'}>")

    def __str__(self):
        return self.name


def _pyenv(minor):
    prefix = PYENV / f"3.{minor}.{PYENV_PATCH[minor]}"
    exe = prefix / "bin" / f"python3.{minor}"
    # 3.7's ABI flag "m" is in its library's name
    lib = prefix / "lib" / f"libpython3.{minor}{'m' if minor < 8 else ''}.so.1.0"
    return Interpreter(f"pyenv-3.{minor}", (3, minor), exe, lib, "pyenv")


def _cached(suite, minor):
    exe = CACHE / suite / "root" / "usr" / "bin" / f"python3.{minor}"
    return Interpreter(f"{suite}-3.{minor}", (3, minor), exe, exe, suite,
                       wrapper=CACHE / "bin" / f"python3.{minor}-{suite}")


def _built(variant, label):
    """An interpreter of tools/build-cpython.sh VARIANT, run in place from its build tree;
    its version from its source."""
    src = CACHE / variant / "src"
    version = (3, 13)
    try:
        defs = dict(l.split()[1:3] for l in (src / "Include" / "patchlevel.h").read_text()
                    .splitlines() if l.startswith("#define PY_M") and len(l.split()) >= 3)
        version = (int(defs["PY_MAJOR_VERSION"]), int(defs["PY_MINOR_VERSION"]))
    except (OSError, KeyError, ValueError):
        pass
    exe = src / "python"
    i = Interpreter(f"{label}-{version[0]}.{version[1]}", version, exe, exe, "build")
    i.build_dir = str(CACHE / variant)
    return i


def _freethreaded():
    """The free-threaded build (tools/build-cpython.sh freethreaded)."""
    i = _built("freethreaded", "freethreaded")
    i.refusal = "free-threaded"
    return i


def static():
    """The python-build-standalone layout (tools/build-cpython.sh static)."""
    i = _built("static", "static")
    i.probe_expected = False
    return i


def refused_interpreters():
    """Interpreters seatrace must refuse (see the module docstring), present or not."""
    sid315 = _cached("sid", 15)
    sid315.refusal = "3.8 to 3.14"
    return [_freethreaded(), sid315]


def untraceable():
    """pyenv's 3.7: a Python seatrace cannot trace at all (PEP 578's audit events are 3.8's)."""
    return _pyenv(7)


def all_interpreters():
    """Every interpreter the tests know of, present or not."""
    return [
        Interpreter("debian-3.11", (3, 11), DEBIAN_PY, DEBIAN_PY, "debian"),
        _cached("trixie", 13),
        _cached("sid", 13),
        _cached("sid", 14),
        _pyenv(8),
        _pyenv(9),
        _pyenv(10),
        _pyenv(11),
        _pyenv(12),
        _pyenv(13),
        static(),
    ]


def available(probe=None, direct=None, min_version=None):
    """Interpreters present on this machine; probe=True/False keeps those with/without
    the python:audit probe, direct=True those runnable without the loader wrapper."""
    out = []
    for i in all_interpreters():
        if not i.present:
            continue
        if probe is not None and i.has_probe != probe:
            continue
        if direct is not None and i.direct != direct:
            continue
        if min_version is not None and i.version < tuple(min_version):
            continue
        out.append(i)
    return out


def with_probe():
    return available(probe=True)


def params(probe=None, direct=None, min_version=None):
    """pytest parameters for every known interpreter matching the filters: the missing
    ones are kept, marked skip with the reason, so a run shows what was not covered."""
    import pytest

    out = []
    for i in all_interpreters():
        if min_version is not None and i.version < tuple(min_version):
            continue
        reason = i.missing_reason()
        if reason is None and probe is not None and i.has_probe != probe:
            continue
        if reason is None and direct is not None and i.direct != direct:
            continue
        if reason is None:
            out.append(pytest.param(i, id=i.name))
        elif probe is None or i.probe_expected or probe is False:
            # a missing build without the probe cannot have it: no point listing it for
            # probe=True
            out.append(pytest.param(i, id=i.name, marks=pytest.mark.skip(reason=reason)))
    return out


def by_name(name):
    for i in all_interpreters():
        if i.name == name:
            return i
    raise KeyError(name)


# ---------------------------------------------------------------------------
# ELF reading (64-bit little-endian only: x86_64)


def _elf(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    return data


def elf_interp(path):
    """The PT_INTERP path of an ELF executable, or None."""
    try:
        data = _elf(path)
    except OSError:
        return None
    if not data:
        return None
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data,
                                                                 phoff + i * phentsize)
        if p_type == 3:
            return data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode(errors="replace")
    return None


def audit_probe_sites(path):
    """Number of python:audit stapsdt notes in an ELF file."""
    try:
        data = _elf(path)
    except OSError:
        return 0
    if not data:
        return 0
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    n = 0
    for i in range(shnum):
        _, sh_type, _, _, off, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        if sh_type != 7:  # SHT_NOTE
            continue
        pos, end = off, off + size
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
            name = data[pos + 12:pos + 12 + namesz]
            dpos = pos + 12 + ((namesz + 3) & ~3)
            desc = data[dpos:dpos + descsz]
            pos = dpos + ((descsz + 3) & ~3)
            if ntype == 3 and name == b"stapsdt\0" and len(desc) > 24:
                parts = desc[24:].split(b"\0")
                if len(parts) >= 2 and parts[0] == b"python" and parts[1] == b"audit":
                    n += 1
    return n


if __name__ == "__main__":
    for i in all_interpreters() + refused_interpreters() + [untraceable()]:
        r = i.missing_reason()
        print(f"{i.name:12} {'present' if r is None else 'missing':8} "
              f"probe={'yes' if r is None and i.has_probe else 'no ' if r is None else '?  '} "
              f"direct={'yes' if r is None and i.direct else 'no ' if r is None else '?  '} "
              f"argv={' '.join(i.argv)}  binary={i.binary}" + (f"  ({r})" if r else ""))
