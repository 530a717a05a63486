#!/bin/sh
# SPDX-License-Identifier: ISC
# Install what building, testing and the demo need on Debian, when missing.
# `make check` and `make demo` run this first: when nothing is missing it
# prints nothing and installs nothing; when something is, it says what and
# installs it with apt-get as root (a fresh machine, CI), or names the
# command to run and fails.  NO_DEPS=1 refuses to install (only says).
set -u
pkgs="gcc make pkg-config libcurl4-openssl-dev libjansson-dev libsqlite3-dev
libbsd-dev mandoc sqlite3 openssl tzdata ca-certificates curl util-linux time"
# `deps.sh fuzz` (make fuzz): clang and its libFuzzer runtime as well.
[ "${1:-}" = fuzz ] && pkgs="$pkgs clang libclang-rt-dev"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing:$missing (install them with your package manager)" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ] || [ "${NO_DEPS:-}" = 1 ]; then
	echo "deps: missing:$missing" >&2
	echo "deps: run as root: apt-get install$missing (or make deps)" >&2
	exit 1
fi
echo "deps: missing:$missing; installing them (apt-get; NO_DEPS=1 refuses)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
    { echo "deps: apt-get install$missing failed" >&2; exit 1; }
