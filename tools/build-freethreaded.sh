#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Builds a free-threaded CPython (configure --disable-gil) with the
# python:audit probe (--with-dtrace), from Debian's own source package, so
# that the tests can check that seatrace refuses it clearly rather than
# decoding its objects with a layout that is not theirs. Debian ships no
# free-threaded interpreter, hence the build.
#
#   $CACHE/freethreaded/src/python       the interpreter (run it in place)
#
# Only what it takes to run the interpreter is built (`make python` and the
# sysconfig data, no extension modules beyond the built-in ones, at -O0):
# about 1.5 minutes on 2 cores. The object layout does not depend on the
# optimisation level, which is all the tests are about.
#
# The source comes through apt (`apt-get source --download-only`) with a
# private configuration that lists only deb-src lines: apt checks the
# suite's signed InRelease, the Sources index against it and the files
# against the index; the .orig tarball is checked again against the .dsc.
#
# Usage: tools/build-freethreaded.sh [-f]   (-f: download and build again)
# Cache: $SEATRACE_PYTHON_CACHE, default <repo>/.cache/pythons.
# Source: $SEATRACE_FT_SOURCE, SUITE:PACKAGE, default trixie:python3.13
#         (3.13 is the first version with --disable-gil; sid's python3.14
#         source was not downloadable from the archive this was written on,
#         where trixie's was: try SEATRACE_FT_SOURCE=sid:python3.14 for 3.14t).
# Mirror: $SEATRACE_DEBIAN_MIRROR, default http://deb.debian.org/debian.
# Safe to run again: a verified build is kept. On failure the reason is
# written to $CACHE/freethreaded/failed, which the tests show when they skip.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
CACHE=${SEATRACE_PYTHON_CACHE:-$repo/.cache/pythons}
MIRROR=${SEATRACE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SOURCE=${SEATRACE_FT_SOURCE:-trixie:python3.13}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
force=0
[ "${1:-}" = "-f" ] && force=1

suite=${SOURCE%%:*}
pkg=${SOURCE#*:}

mkdir -p "$CACHE/freethreaded" || {
	echo "build-freethreaded: cannot create $CACHE/freethreaded" >&2
	exit 1
}
FT=$(cd "$CACHE/freethreaded" && pwd)
SRC=$FT/src
PY=$SRC/python
LOG=$FT/build.log

die() {
	echo "build-freethreaded: $*" >&2
	echo "$*" >"$FT/failed"
	exit 1
}

# The interpreter is there, free-threaded, with the probe. Prints its version.
verified() {
	[ -x "$PY" ] || return 1
	# -E: a PYTHON_GIL=1 in the environment would turn the GIL back on.
	v=$("$PY" -E -c '
import sys, sysconfig
assert not sys._is_gil_enabled(), "the GIL is enabled"
assert sysconfig.get_config_var("Py_GIL_DISABLED") == 1, "Py_GIL_DISABLED is not set"
print(sys.version.split()[0])' 2>/dev/null) || return 1
	readelf -n "$PY" 2>/dev/null | grep -A1 'Provider: python' | grep -q 'Name: audit' ||
		return 1
	echo "$v"
}

if [ "$force" = 0 ] && v=$(verified); then
	echo "build-freethreaded: already built: $PY (CPython $v, free-threaded)" >&2
	echo "$PY"
	exit 0
fi
rm -f "$FT/failed"

for t in apt-get tar make gcc readelf sha256sum; do
	command -v "$t" >/dev/null 2>&1 || die "$t is needed and missing (run tools/install-deps.sh)"
done
# configure --with-dtrace generates the probe header and object with it.
command -v dtrace >/dev/null 2>&1 ||
	die "dtrace is missing: install systemtap-sdt-dev (tools/install-deps.sh)"
[ -r "$KEYRING" ] || die "$KEYRING (package debian-archive-keyring) is missing"

# -- the source, through apt ---------------------------------------------------
APTDIR=$FT/apt
mkdir -p "$APTDIR/etc/apt.conf.d" "$APTDIR/etc/sources.list.d" "$APTDIR/etc/preferences.d" \
	"$APTDIR/state/lists/partial" "$APTDIR/cache/archives/partial" "$FT/dl"
echo "deb-src [signed-by=$KEYRING] $MIRROR $suite main" >"$APTDIR/sources.list"
. "$here/private-apt.sh"
private_apt "$APTDIR" 'Acquire::IndexTargets::deb-src::Contents-dsc::DefaultEnabled "false";'

start=$(date +%s)
echo "build-freethreaded: apt-get update ($suite sources) from $MIRROR" >&2
if ! apt-get -q -o Debug::NoLocking=1 update >"$APTDIR/update.log" 2>&1 ||
	grep -qE '^(W|E): ' "$APTDIR/update.log"; then
	grep -E '^(W|E): ' "$APTDIR/update.log" >&2 || tail -5 "$APTDIR/update.log" >&2
	die "apt-get update could not read the $suite source index from $MIRROR (log: $APTDIR/update.log)"
fi
rm -f "$FT/dl"/*
echo "build-freethreaded: apt-get source --download-only $pkg ($suite)" >&2
if ! (cd "$FT/dl" && apt-get -q -o Debug::NoLocking=1 source --download-only "$pkg") \
	>"$APTDIR/source.log" 2>&1; then
	tail -5 "$APTDIR/source.log" >&2
	die "could not download the source of $pkg from $suite (log: $APTDIR/source.log)"
fi
# The index is 10+ MB and not needed again.
rm -rf "$APTDIR/state/lists" "$APTDIR/cache"/*.bin

dsc="" orig=""
for f in "$FT/dl"/*.dsc; do [ -f "$f" ] && dsc=$f; done
for f in "$FT/dl"/*.orig.tar.*; do
	case $f in *.asc) ;; *) [ -f "$f" ] && orig=$f ;; esac
done
[ -n "$dsc" ] || die "no .dsc downloaded for $pkg"
[ -n "$orig" ] || die "no .orig tarball downloaded for $pkg"
want=$(awk '/^Checksums-Sha256:/ {s = 1; next} /^[^ ]/ {s = 0} s {print $1, $3}' "$dsc" |
	awk -v f="$(basename "$orig")" '$2 == f {print $1}')
got=$(sha256sum "$orig" | cut -d' ' -f1)
if [ -z "$want" ] || [ "$want" != "$got" ]; then
	die "$(basename "$orig"): sha256 $got does not match the .dsc's ${want:-(none listed)}"
fi

# -- the build -----------------------------------------------------------------
rm -rf "$SRC"
mkdir -p "$SRC"
tar -xf "$orig" -C "$SRC" --strip-components=1 || die "cannot unpack $orig"
echo "build-freethreaded: configure --disable-gil --with-dtrace ($(basename "$orig"))" >&2
(cd "$SRC" && ./configure --disable-gil --with-dtrace --without-ensurepip \
	OPT="-DNDEBUG -O0 -g0") >"$LOG" 2>&1 ||
	die "configure failed (log: $LOG)"
echo "build-freethreaded: make python" >&2
jobs=$(nproc 2>/dev/null || echo 2)
# pybuilddir.txt writes the sysconfig data (Py_GIL_DISABLED) that the check reads.
(cd "$SRC" && make -j"$jobs" python pybuilddir.txt) >>"$LOG" 2>&1 ||
	die "make failed (log: $LOG)"
v=$(verified) ||
	die "$PY was built but is not a free-threaded interpreter with the python:audit probe"
echo "build-freethreaded: built $PY (CPython $v, free-threaded) in $(($(date +%s) - start)) s" >&2
echo "$PY"
