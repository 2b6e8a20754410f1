#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Builds CPython from the upstream tarball in Debian's source package (Debian's
# patches are not applied), in one of two forms the tests need and that cannot
# be downloaded here:
#
#   freethreaded  configure --disable-gil --with-dtrace: a free-threaded
#                 interpreter with the python:audit probe, which seatrace must
#                 refuse clearly rather than decode its objects with a layout
#                 that is not theirs (Debian ships no free-threaded build).
#   static        plain ./configure (no --enable-shared, no --with-dtrace): the
#                 layout of python-build-standalone (uv): CPython linked
#                 statically into the executable, no libpython*.so, no probe,
#                 so traced through the uprobe fallback on the executable
#                 itself. The extension modules the tests import (array,
#                 _socket, select, math, _struct, _ctypes) are built in
#                 (Modules/Setup.local *static*), as python-build-standalone
#                 builds most of its own.
#
#   $CACHE/VARIANT/src/python       the interpreter (run it in place)
#
# Only what it takes to run the interpreter is built (`make python` and the
# sysconfig data, no shared extension modules, at -O0): about 1.5 minutes on 2
# cores each. The object layout does not depend on the optimisation level.
# (python-build-standalone builds with LTO and PGO, where a static function
# such as sys_audit_tstate may be inlined or cloned: not what this checks.)
#
# The source comes through apt (`apt-get source --download-only`) with a
# private configuration that lists only deb-src lines: apt checks the
# suite's signed InRelease, the Sources index against it and the files
# against the index; the .orig tarball is checked again against the .dsc.
# One download serves both variants: a .dsc of the same source package
# already in $CACHE/*/dl whose .orig tarball matches its sha256 is used
# rather than downloading again (-f downloads again).
#
# Usage: tools/build-cpython.sh freethreaded|static [-f]  (-f: download and build again)
# Cache: $SEATRACE_PYTHON_CACHE, default <repo>/.cache/pythons.
# Source: SUITE:PACKAGE, default trixie:python3.13, from $SEATRACE_FT_SOURCE
#         (freethreaded) or $SEATRACE_STATIC_SOURCE (static). 3.13 is the first
#         version with --disable-gil; sid's python3.14 source was not
#         downloadable from the archive this was written on, where trixie's
#         was: try SEATRACE_FT_SOURCE=sid:python3.14 for 3.14t.
# Mirror: $SEATRACE_DEBIAN_MIRROR, default http://deb.debian.org/debian.
# Safe to run again: a verified build is kept. On failure the reason is
# written to $CACHE/VARIANT/failed, which the tests show when they skip.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
CACHE=${SEATRACE_PYTHON_CACHE:-$repo/.cache/pythons}
MIRROR=${SEATRACE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

variant=${1:-}
case $variant in
freethreaded)
	SOURCE=${SEATRACE_FT_SOURCE:-trixie:python3.13}
	what="free-threaded, with the python:audit probe"
	configure_args="--disable-gil --with-dtrace"
	;;
static)
	SOURCE=${SEATRACE_STATIC_SOURCE:-trixie:python3.13}
	what="GIL, libpython linked into the executable, no probe"
	configure_args=""
	;;
*)
	echo "usage: $0 freethreaded|static [-f]" >&2
	exit 2
	;;
esac
me="build-cpython ($variant)"
force=0
[ "${2:-}" = "-f" ] && force=1

suite=${SOURCE%%:*}
pkg=${SOURCE#*:}

mkdir -p "$CACHE/$variant" || {
	echo "$me: cannot create $CACHE/$variant" >&2
	exit 1
}
DIR=$(cd "$CACHE/$variant" && pwd)
SRC=$DIR/src
PY=$SRC/python
LOG=$DIR/build.log

die() {
	echo "$me: $*" >&2
	echo "$*" >"$DIR/failed"
	exit 1
}

# Whether ELF file $1 names function $2 in its symbol table (.symtab, or
# .dynsym with --dyn-syms as $3).
has_function() {
	readelf -W ${3:+"$3"} -s "$1" 2>/dev/null | awk -v f="$2" '$4 == "FUNC" && $8 == f {ok = 1} END {exit !ok}'
}

has_probe() {
	readelf -n "$1" 2>/dev/null | grep -A1 'Provider: python' | grep -q 'Name: audit'
}

# The interpreter is there and is what the variant says. Prints its version.
verified() {
	[ -x "$PY" ] || return 1
	case $variant in
	freethreaded)
		# -E: a PYTHON_GIL=1 in the environment would turn the GIL back on.
		v=$("$PY" -E -c '
import sys, sysconfig
assert not sys._is_gil_enabled(), "the GIL is enabled"
assert sysconfig.get_config_var("Py_GIL_DISABLED") == 1, "Py_GIL_DISABLED is not set"
print(sys.version.split()[0])' 2>/dev/null) || return 1
		has_probe "$PY" || return 1
		;;
	static)
		v=$("$PY" -E -c '
import sys, sysconfig
assert getattr(sys, "_is_gil_enabled", lambda: True)(), "the GIL is disabled"
assert not sysconfig.get_config_var("Py_ENABLE_SHARED"), "built with --enable-shared"
import array, ctypes, math, select, socket, struct
for m in ("array", "_ctypes", "math", "select", "_socket", "_struct"):
    assert m in sys.builtin_module_names, m + " is not built in"
print(sys.version.split()[0])' 2>/dev/null) || return 1
		! has_probe "$PY" || return 1
		! ldd "$PY" 2>/dev/null | grep -q libpython || return 1
		has_function "$PY" sys_audit_tstate && has_function "$PY" sys_audit &&
			has_function "$PY" PySys_Audit --dyn-syms || return 1
		;;
	esac
	echo "$v"
}

if [ "$force" = 0 ] && v=$(verified); then
	echo "$me: already built: $PY (CPython $v, $what)" >&2
	echo "$PY"
	exit 0
fi
rm -f "$DIR/failed"

for t in apt-get tar make gcc readelf sha256sum; do
	command -v "$t" >/dev/null 2>&1 || die "$t is needed and missing (run tools/install-deps.sh)"
done
if [ "$variant" = freethreaded ]; then
	# configure --with-dtrace generates the probe header and object with it.
	command -v dtrace >/dev/null 2>&1 ||
		die "dtrace is missing: install systemtap-sdt-dev (tools/install-deps.sh)"
fi
if [ "$variant" = static ]; then
	[ -r /usr/include/ffi.h ] || [ -r /usr/include/x86_64-linux-gnu/ffi.h ] ||
		die "ffi.h is missing (for ctypes): install libffi-dev (tools/install-deps.sh)"
fi
[ -r "$KEYRING" ] || die "$KEYRING (package debian-archive-keyring) is missing"

# -- the source ----------------------------------------------------------------

# source_ok DSC: the .dsc was downloaded for $SOURCE (suite and package: the
# stamp beside it), and its .orig tarball is beside it, with the sha256 it
# lists. Sets orig.
source_ok() {
	[ -f "$1" ] || return 1
	[ "$(cat "$(dirname "$1")/.source" 2>/dev/null)" = "$SOURCE" ] || return 1
	[ "$(awk '/^Source:/ {print $2; exit}' "$1")" = "$pkg" ] || return 1
	orig=""
	for f in "$(dirname "$1")"/*.orig.tar.*; do
		case $f in *.asc) ;; *) [ -f "$f" ] && orig=$f ;; esac
	done
	[ -n "$orig" ] || return 1
	want=$(awk '/^Checksums-Sha256:/ {s = 1; next} /^[^ ]/ {s = 0} s {print $1, $3}' "$1" |
		awk -v f="$(basename "$orig")" '$2 == f {print $1}')
	got=$(sha256sum "$orig" | cut -d' ' -f1)
	[ -n "$want" ] && [ "$want" = "$got" ]
}

start=$(date +%s)
orig=""
if [ "$force" = 0 ]; then
	for dsc in "$CACHE"/*/dl/*.dsc; do
		if source_ok "$dsc"; then
			echo "$me: using $orig, already downloaded and verified" >&2
			break
		fi
		orig=""
	done
fi
if [ -z "$orig" ]; then
	APTDIR=$DIR/apt
	mkdir -p "$APTDIR" "$DIR/dl"
	echo "deb-src [signed-by=$KEYRING] $MIRROR $suite main" >"$APTDIR/sources.list"
	. "$here/private-apt.sh"
	private_apt "$APTDIR" 'Acquire::IndexTargets::deb-src::Contents-dsc::DefaultEnabled "false";'
	echo "$me: apt-get update ($suite sources) from $MIRROR" >&2
	if ! apt-get -q -o Debug::NoLocking=1 update >"$APTDIR/update.log" 2>&1 ||
		grep -qE '^(W|E): ' "$APTDIR/update.log"; then
		grep -E '^(W|E): ' "$APTDIR/update.log" >&2 || tail -5 "$APTDIR/update.log" >&2
		die "apt-get update could not read the $suite source index from $MIRROR (log: $APTDIR/update.log)"
	fi
	rm -f "$DIR/dl"/*
	echo "$me: apt-get source --download-only $pkg ($suite)" >&2
	if ! (cd "$DIR/dl" && apt-get -q -o Debug::NoLocking=1 source --download-only "$pkg") \
		>"$APTDIR/source.log" 2>&1; then
		tail -5 "$APTDIR/source.log" >&2
		die "could not download the source of $pkg from $suite (log: $APTDIR/source.log)"
	fi
	printf '%s\n' "$SOURCE" >"$DIR/dl/.source"
	# The index is 10+ MB and not needed again.
	rm -rf "$APTDIR/state/lists" "$APTDIR/cache"/*.bin
	dsc=""
	for f in "$DIR/dl"/*.dsc; do [ -f "$f" ] && dsc=$f; done
	[ -n "$dsc" ] || die "no .dsc downloaded for $pkg"
	source_ok "$dsc" ||
		die "no .orig tarball of $pkg downloaded with the sha256 its .dsc lists"
fi

# -- the build -----------------------------------------------------------------
rm -rf "$SRC"
mkdir -p "$SRC"
tar -xf "$orig" -C "$SRC" --strip-components=1 || die "cannot unpack $orig"
if [ "$variant" = static ]; then
	# Read by configure's makesetup before Setup.stdlib: these are linked into
	# the executable instead of being built as shared modules. The compiler and
	# linker flags (libffi) come from configure's MODULE_*_CFLAGS/LDFLAGS.
	cat >"$SRC/Modules/Setup.local" <<'EOS'
*static*
array arraymodule.c
_struct _struct.c
math mathmodule.c
select selectmodule.c
_socket socketmodule.c
_ctypes _ctypes/_ctypes.c _ctypes/callbacks.c _ctypes/callproc.c _ctypes/stgdict.c _ctypes/cfield.c
EOS
fi
echo "$me: configure ${configure_args:-(no options)} ($(basename "$orig"))" >&2
# shellcheck disable=SC2086
(cd "$SRC" && ./configure $configure_args --without-ensurepip \
	OPT="-DNDEBUG -O0 -g0") >"$LOG" 2>&1 ||
	die "configure failed (log: $LOG)"
echo "$me: make python" >&2
jobs=$(nproc 2>/dev/null || echo 2)
# pybuilddir.txt writes the sysconfig data (Py_GIL_DISABLED) that the check reads.
(cd "$SRC" && make -j"$jobs" python pybuilddir.txt) >>"$LOG" 2>&1 ||
	die "make failed (log: $LOG)"
v=$(verified) || die "$PY was built but is not what it should be ($what)"
echo "$me: built $PY (CPython $v, $what) in $(($(date +%s) - start)) s" >&2
echo "$PY"
