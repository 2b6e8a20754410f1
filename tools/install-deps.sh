#!/bin/sh
# Installs, with apt-get, whatever seatrace's build, tests and benchmark need
# and this machine lacks. Safe to run again: it does nothing when all is there.
set -eu

# systemtap-sdt-dev: dtrace, for tools/build-cpython.sh freethreaded (configure --with-dtrace);
# libffi-dev: ctypes, built into tools/build-cpython.sh static
# libsystemd-dev: sd_notify. For make deb and tests/e2e/test_install.py: dpkg-dev
# (dpkg-shlibdeps, dpkg-buildflags), lintian, man-db and groff-base (the man page's check),
# systemd (systemd-analyze verify; installing it does not make it PID 1), python3-seccomp
# (the unit's system call filter, applied without systemd). prometheus-node-exporter:
# tests/e2e/test_health.py scrapes --metrics through its textfile collector. rsyslog: the
# --syslog fleet test (tests/e2e/test_daemon_sinks.py starts its own rsyslogd on loopback).
# libfaketime: a wall clock step seen by seatrace alone (tests/e2e/test_context.py).
# libyaml-dev: the policy file (--policy, --check-policy).
# libpython3.11-testsuite: CPython's test_json, a whole program timed by make bench.
pkgs="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
libcmocka-dev python3-pytest python3.11 bpftrace systemtap-sdt-dev libpython3.11-dev patchelf
libffi-dev libsystemd-dev dpkg-dev lintian man-db groff-base systemd python3-seccomp
prometheus-node-exporter rsyslog libfaketime libpython3.11-testsuite libyaml-dev"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing:$missing; run as root (sudo make deps)" >&2
	exit 1
fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
