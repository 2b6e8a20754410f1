#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Fetches Debian's own CPython builds that carry the python:audit USDT probe
# and are newer than this machine's bookworm: trixie's python3.13 and sid's
# python3.13, python3.14 and python3.15 (newer than seatrace supports: the
# tests check that it is refused clearly, not decoded). Nothing is installed system-wide: a private apt
# configuration (own state, cache and sources, no system apt.conf.d parts)
# downloads the .debs, and `dpkg -x` unpacks each suite into its own root:
#
#   $CACHE/trixie/root/usr/bin/python3.13
#   $CACHE/sid/root/usr/bin/python3.13   $CACHE/sid/root/usr/bin/python3.14
#   $CACHE/sid/root/usr/bin/python3.15
#
# They need a newer glibc than bookworm's 2.36, so they must run with the
# unpacked suite's own loader and libraries. Two ways, both set up here:
#
#  1. The unpacked executable itself, run directly: its PT_INTERP is set to
#     the suite's loader and its DT_RPATH to the suite's library folder, with
#     bookworm's patchelf 0.14 (trixie's 0.18 corrupts these non-PIE
#     executables). Only the program header, .interp and .dynamic move; code,
#     notes, .probes and .PyRuntime keep their addresses, which this script
#     checks. It behaves like an installed python: comm "python3.X",
#     /proc/PID/exe is the file that holds the probe, sys.executable re-runs,
#     and `seatrace -- EXE` sees the interpreter at its first exec stop.
#     The untouched Debian file is kept beside it as python3.X.debian.
#  2. A wrapper $CACHE/bin/python3.X-SUITE that runs the file through the
#     suite's loader explicitly (ld-linux-x86-64.so.2 --library-path LIBS EXE,
#     PYTHONHOME set). It does not need the patch. Through this wrapper the
#     process's /proc/PID/exe is the loader, and at exec time the interpreter
#     is not mapped yet: `seatrace -p PID` finds it, `seatrace -- WRAPPER`
#     does not, and sys.executable cannot be re-run. When the patch succeeded
#     the wrapper simply execs the patched executable instead.
#
# Usage: tools/fetch-pythons.sh [-f]     (-f: download, unpack and patch again)
# Cache: $SEATRACE_PYTHON_CACHE, default <repo>/.cache/pythons.
# Mirror: $SEATRACE_DEBIAN_MIRROR, default http://deb.debian.org/debian.
# Safe to run again: what is already there is skipped.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
CACHE=${SEATRACE_PYTHON_CACHE:-$repo/.cache/pythons}
MIRROR=${SEATRACE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
ARCH=amd64
TRIPLET=x86_64-linux-gnu
force=0
[ "${1:-}" = "-f" ] && force=1

# suite:version pairs
INTERPRETERS="trixie:3.13 sid:3.13 sid:3.14 sid:3.15"

# What the interpreter needs to start and to import the stdlib's extension
# modules (pyexpat, zlib, _ctypes, _decimal, _bz2, _lzma, _ssl/_hashlib,
# _sqlite3, _uuid, readline/curses, _dbm/_gdbm; 3.14: _zstd), from the same
# suite as the interpreter so that the versions match. libpython3.X (the
# shared library, which the python3.X executable does not use) is fetched
# only to report whether it carries the probe too.
SUITE_LIBS="libc6 libgcc-s1 zlib1g libexpat1 libffi8 libmpdec4 libbz2-1.0 liblzma5
libzstd1 libssl3t64 libsqlite3-0 libuuid1 libtinfo6 libncursesw6 libreadline8t64
libcrypt1 libgdbm6t64 libdb5.3t64 libnsl2 libtirpc3t64 libgssapi-krb5-2 libkrb5-3
libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1"

die() {
	echo "fetch-pythons: $*" >&2
	exit 1
}
warn() {
	echo "fetch-pythons: warning: $*" >&2
}

for t in apt-get dpkg dpkg-deb readelf cmp; do
	command -v "$t" >/dev/null 2>&1 || die "$t is needed and missing"
done
[ -r "$KEYRING" ] || die "$KEYRING (package debian-archive-keyring) is missing"

mkdir -p "$CACHE" || die "cannot create $CACHE"
CACHE=$(cd "$CACHE" && pwd)
APTDIR=$CACHE/apt
DEBS=$CACHE/debs
mkdir -p "$APTDIR/etc/apt.conf.d" "$APTDIR/etc/sources.list.d" "$APTDIR/etc/preferences.d" \
	"$APTDIR/etc/trusted.gpg.d" "$APTDIR/state/lists/partial" \
	"$APTDIR/cache/archives/partial" "$DEBS" "$CACHE/bin"

# bookworm only for its patchelf (see above)
cat >"$APTDIR/sources.list" <<EOF
deb [arch=$ARCH signed-by=$KEYRING] $MIRROR trixie main
deb [arch=$ARCH signed-by=$KEYRING] $MIRROR sid main
deb [arch=$ARCH signed-by=$KEYRING] $MIRROR bookworm main
EOF

. "$here/private-apt.sh"
private_apt "$APTDIR" "APT::Architecture \"$ARCH\";" "APT::Architectures { \"$ARCH\"; };" \
	'Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";' \
	'Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";'

# True when every interpreter has its wrapper and starts through it.
all_present() {
	for iv in $INTERPRETERS; do
		s=${iv%%:*} v=${iv#*:}
		[ -x "$CACHE/bin/python$v-$s" ] || return 1
		"$CACHE/bin/python$v-$s" -c 'import sys' >/dev/null 2>&1 || return 1
	done
	return 0
}

if [ "$force" = 0 ] && all_present; then
	echo "fetch-pythons: already fetched in $CACHE" >&2
	fresh=0
else
	fresh=1
	echo "fetch-pythons: apt-get update (trixie, sid, bookworm) from $MIRROR" >&2
	if ! apt-get -q -o Debug::NoLocking=1 update >"$APTDIR/update.log" 2>&1 ||
		grep -qE '^(W|E): ' "$APTDIR/update.log"; then
		grep -E '^(W|E): ' "$APTDIR/update.log" >&2 || tail -5 "$APTDIR/update.log" >&2
		die "apt-get update could not read the trixie/sid/bookworm indexes from $MIRROR" \
			"(archive unreachable, or not signed by $KEYRING); log: $APTDIR/update.log"
	fi
fi

# fetch SUITE PKG...: download PKG/SUITE into debs/SUITE (skipping those there)
fetch() {
	suite=$1
	shift
	mkdir -p "$DEBS/$suite"
	want=""
	for p in "$@"; do
		if [ "$force" = 1 ] || ! ls "$DEBS/$suite/${p}_"*.deb >/dev/null 2>&1; then
			want="$want $p/$suite"
		fi
	done
	[ -z "$want" ] && return 0
	[ "$force" = 1 ] && rm -f "$DEBS/$suite"/*.deb
	echo "fetch-pythons: downloading from $suite:$want" >&2
	# shellcheck disable=SC2086
	if ! (cd "$DEBS/$suite" && apt-get -q -o Debug::NoLocking=1 download $want) \
		>"$APTDIR/download-$suite.log" 2>&1; then
		cat "$APTDIR/download-$suite.log" >&2
		die "apt-get download from $suite failed (log: $APTDIR/download-$suite.log)"
	fi
}

# unpack SUITE [ROOT]: dpkg -x every .deb of debs/SUITE into ROOT, once each
unpack() {
	suite=$1
	root=${2:-$CACHE/$suite/root}
	stamps=$(dirname "$root")/unpacked
	[ "$force" = 1 ] && rm -rf "$stamps"
	mkdir -p "$root" "$stamps"
	for deb in "$DEBS/$suite"/*.deb; do
		[ -e "$deb" ] || continue
		stamp=$stamps/$(basename "$deb")
		[ -e "$stamp" ] && continue
		dpkg -x "$deb" "$root" || die "dpkg -x $deb failed"
		: >"$stamp"
		echo "fetch-pythons: unpacked $(basename "$deb") into $root" >&2
	done
}

loader_of() {
	for l in "$1/usr/lib/$TRIPLET/ld-linux-x86-64.so.2" "$1/lib/$TRIPLET/ld-linux-x86-64.so.2" \
		"$1/usr/lib64/ld-linux-x86-64.so.2" "$1/lib64/ld-linux-x86-64.so.2"; do
		if [ -e "$l" ]; then
			echo "$l"
			return 0
		fi
	done
	return 1
}

# What must not move when the executable is patched: probe notes, and the
# addresses of the sections seatrace reads or attaches to.
fingerprint() {
	readelf -n "$1" | sed -n '/stapsdt/,$p'
	readelf -SW "$1" | grep -E ' (\.text|\.rodata|\.data|\.bss|\.PyRuntime|\.probes|\.stapsdt\.base) ' |
		sed 's/^ *\[ *[0-9]*\] *//' | awk '{print $1, $3, $5}'
	readelf -W --dyn-syms "$1" | awk '$2 ~ /^[0-9a-f]+$/ {print $2, $8}' | sort
}

if [ "$fresh" = 1 ]; then
	for suite in $(for iv in $INTERPRETERS; do echo "${iv%%:*}"; done | sort -u); do
		pys=""
		for iv in $INTERPRETERS; do
			[ "${iv%%:*}" = "$suite" ] || continue
			v=${iv#*:}
			pys="$pys python$v-minimal libpython$v-minimal libpython$v-stdlib libpython$v"
		done
		# shellcheck disable=SC2086
		fetch "$suite" $pys $SUITE_LIBS
		unpack "$suite"
	done
	fetch bookworm patchelf
	unpack bookworm "$CACHE/tools/root"
	# The indexes (hundreds of MB) are not needed once the .debs are here.
	rm -rf "$APTDIR/state/lists" "$APTDIR/cache"/*.bin
fi

PATCHELF=$CACHE/tools/root/usr/bin/patchelf
status=0
for iv in $INTERPRETERS; do
	suite=${iv%%:*} v=${iv#*:}
	root=$CACHE/$suite/root
	exe=$root/usr/bin/python$v
	orig=$exe.debian
	[ -x "$exe" ] || die "$exe missing after unpacking"
	loader=$(loader_of "$root") || die "no ld-linux-x86-64.so.2 under $root"
	libs=$root/usr/lib/$TRIPLET
	[ -d "$root/lib/$TRIPLET" ] && [ ! -L "$root/lib" ] && libs=$libs:$root/lib/$TRIPLET

	# 1. Patch the executable to run directly (once; dpkg -x again restores it).
	patched=0
	if [ "$(readelf -lW "$exe" | sed -n 's/.*program interpreter: \(.*\)]/\1/p')" = "$loader" ]; then
		patched=1
	elif [ -x "$PATCHELF" ]; then
		cp -p "$exe" "$orig"
		if "$PATCHELF" --set-interpreter "$loader" --force-rpath --set-rpath "$libs" \
			--output "$exe.tmp" "$orig" 2>"$CACHE/patchelf.log" &&
			[ "$(fingerprint "$orig")" = "$(fingerprint "$exe.tmp")" ] &&
			"$exe.tmp" -c 'import sys' >/dev/null 2>&1; then
			mv "$exe.tmp" "$exe"
			patched=1
		else
			rm -f "$exe.tmp"
			warn "patching $exe failed (see $CACHE/patchelf.log); only the loader wrapper works"
		fi
	else
		warn "no patchelf in $CACHE/tools: $exe runs through the loader wrapper only"
	fi

	# 2. The wrapper.
	w=$CACHE/bin/python$v-$suite
	if [ "$patched" = 1 ]; then
		cat >"$w.tmp" <<EOF
#!/bin/sh
# Debian $suite python$v (written by tools/fetch-pythons.sh). The executable
# is patched to use $suite's loader and libraries: it runs directly.
exec '$exe' "\$@"
EOF
	else
		# The loader under the interpreter's name: the kernel takes comm from it.
		mkdir -p "$CACHE/$suite/loader"
		ln -sfn "$loader" "$CACHE/$suite/loader/python$v"
		cat >"$w.tmp" <<EOF
#!/bin/sh
# Debian $suite python$v, run through $suite's glibc loader (written by tools/fetch-pythons.sh).
PYTHONHOME='$root/usr'
export PYTHONHOME
exec '$CACHE/$suite/loader/python$v' --library-path '$libs' '$exe' "\$@"
EOF
	fi
	chmod +x "$w.tmp"
	mv "$w.tmp" "$w"

	ver=$("$w" -c 'import sys; print(sys.version.split()[0])' 2>&1) || {
		echo "fetch-pythons: $w does not start: $ver" >&2
		status=1
		continue
	}
	mods=$("$w" -c '
import importlib
bad = []
for m in ("encodings", "os", "json", "re", "ctypes", "decimal", "hashlib", "ssl", "sqlite3",
          "bz2", "lzma", "zlib", "pyexpat", "uuid", "socket", "subprocess", "asyncio",
          "readline", "curses", "dbm", "compression.zstd"):
    try:
        importlib.import_module(m)
    except ModuleNotFoundError as e:
        if m != "compression.zstd" or e.name not in ("compression", "compression.zstd"):
            bad.append(f"{m} ({e})")
    except Exception as e:
        bad.append(f"{m} ({e})")
print("; ".join(bad))' 2>&1) || mods="import check failed: $mods"
	echo "python$v-$suite: CPython $ver"
	if [ "$patched" = 1 ]; then
		echo "  run: $exe (patched: PT_INTERP $loader)"
		echo "   or: $w"
	else
		echo "  run: $w (loader wrapper; $exe is not patched)"
	fi
	[ -n "$mods" ] && echo "  stdlib modules failing to import: $mods"
	for f in "$exe" "$root/usr/lib/$TRIPLET/libpython$v.so.1.0"; do
		[ -e "$f" ] || continue
		n=$(readelf -n "$f" 2>/dev/null | grep -c 'Name: audit' || true)
		if [ "$n" -gt 0 ]; then
			args=$(readelf -n "$f" | grep -A3 'Name: audit' | sed -n 's/.*Arguments: //p' |
				sort -u | tr '\n' ',' | sed 's/,$//')
			echo "  python:audit probe: $n site(s) in $f (args $args)"
		else
			echo "  python:audit probe: none in $f"
		fi
	done
done
exit $status
