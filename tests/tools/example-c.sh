#!/bin/sh
# examples/c against an installed libpidlock: `cmake --install` of the project's build into a
# scratch prefix, the example built there with pkg-config and with find_package(pidlock),
# then each build started, started again (refused), stopped with the installed pidlock.
# Usage: example-c.sh BUILD-DIR SOURCE-DIR C-COMPILER CMAKE
build=${1:?} src=${2:?} cc=${3:?} cmake=${4:?}
prefix=$(mktemp -d "${TMPDIR:-/tmp}/pidlock-prefix.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
PIDLOCK=$prefix/bin/pidlock
. "$(dirname "$0")/lib.sh"
trap 'cleanup; rm -rf "$prefix"' EXIT

# What the project installs for users of the C API and of the command.
for f in bin/pidlock include/pidlock.h share/man/man1/pidlock.1 share/man/man3/pidlock.3; do
	[ -f "$prefix/$f" ] || fail "cmake --install did not install $f"
done
pc=$(find "$prefix" -name pidlock.pc)
[ -n "$pc" ] || fail "cmake --install did not install pidlock.pc"
libdir=$(dirname "$(dirname "$pc")")

# pkg-config, seeing only this prefix.
PKG_CONFIG_LIBDIR=$(dirname "$pc")
export PKG_CONFIG_LIBDIR
# shellcheck disable=SC2046
"$cc" -Wall -Wextra -Werror -o "$work/daemon-pkg-config" "$src/examples/c/daemon.c" \
	$(pkg-config --cflags --libs pidlock) -Wl,-rpath,"$libdir"

# CMake, finding the package config of this prefix.
"$cmake" -S "$src/examples/c" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
"$cmake" --build "$work/cmake-build" >/dev/null
grep -q "$prefix" "$work/cmake-build/CMakeCache.txt" || fail "CMake did not use $prefix"

gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

expect 0 "$PIDLOCK" --version
for daemon in "$work/daemon-pkg-config" "$work/cmake-build/example-daemon"; do
	f=$work/locks/$(basename "$daemon")/daemon.lock
	# Start: the parent exits 0 once the child has adopted the lock.
	expect 0 "$daemon" "$f"
	pid=${out##* as PID }
	pid=${pid%% *}
	remember "$pid"
	expect 0 "$PIDLOCK" status "$f"
	[ "$out" = "$pid" ] || fail "the file says '$out', the daemon said it is $pid"
	[ "$(readlink /proc/"$pid"/exe)" = "$daemon" ] || fail "PID $pid is not $daemon"
	# Second start: refused in the foreground, non-zero.
	expect 1 "$daemon" "$f"
	expect_err "example-daemon: already running as PID $pid (lock file: $f)"
	# Stop: SIGTERM, a clean release, and the file is gone.
	expect 0 "$PIDLOCK" stop "$f"
	# The lock goes as the process exits: it ends up gone, or a zombie for init to reap.
	until_ok gone "$pid"
	expect 3 "$PIDLOCK" status "$f"
done
echo "ok"
