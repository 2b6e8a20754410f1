#!/bin/sh
# Prints the Depends: of the package whose binary is $1: computed from the libraries it links
# (dpkg-shlibdeps), or, without dpkg-dev, the list it computes on Debian 12.
set -eu
bin=$(realpath "$1")
fallback="libbpf1 (>= 1:0.5.0), libc6 (>= 2.34), libelf1 (>= 0.144), libsystemd0, libyaml-0-2"
command -v dpkg-shlibdeps >/dev/null || { echo "$fallback"; exit 0; }
# dpkg-shlibdeps wants a source tree: a debian/control naming the package is enough.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/debian"
printf 'Source: seatrace\n\nPackage: seatrace\nArchitecture: any\n' > "$tmp/debian/control"
deps=$(cd "$tmp" && dpkg-shlibdeps -O -e "$bin" 2>/dev/null) || { echo "$fallback"; exit 0; }
echo "${deps#shlibs:Depends=}"
