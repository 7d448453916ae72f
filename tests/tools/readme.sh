#!/bin/sh
# The README's code blocks, run as written, so that they cannot rot: each block after a
# `<!-- readme-test: NAME -->` line. The C example is built with the README's own command
# line against `cmake --install` of this build; the pip block makes its venv from a copy of
# the source tree; the Python quick start runs in that venv. The application name "mydaemon"
# is replaced by one of this run, so the test never touches a real daemon's lock.
# Usage: readme.sh SOURCE-DIR BUILD-DIR CMAKE
src=${1:?} build=${2:?} cmake=${3:?}
prefix=$(mktemp -d "${TMPDIR:-/tmp}/pidlock-readme.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
PIDLOCK=$prefix/bin/pidlock
. "$(dirname "$0")/lib.sh"
app=readme-test-$$
trap 'cleanup; rm -rf "$prefix"; rm -rf "/run/$app" "$home/.local/share/$app" 2>/dev/null || true' EXIT
home=$(getent passwd "$(id -u)" | cut -d: -f6)
readme=$src/README.md

# block NAME: the fenced block after the marker, with this run's application name.
block() {
	awk -v name="$1" '
		$0 == "<!-- readme-test: " name " -->" { want = 1; next }
		want && /^```/ { if (inside) exit; inside = 1; next }
		inside { print }
	' "$readme" | sed "s/mydaemon/$app/g"
}
for name in c pip python-quickstart; do
	[ -n "$(block "$name")" ] || fail "README.md has no block marked readme-test: $name"
done

# --- The C example, with the command line the README gives for it.
compile='cc ex.c $(pkg-config --cflags --libs pidlock)'
grep -qF "\`$compile\`" "$readme" || fail "README.md no longer says \`$compile\`"
pc=$(find "$prefix" -name pidlock.pc)
[ -n "$pc" ] || fail "cmake --install did not install pidlock.pc"
PKG_CONFIG_LIBDIR=$(dirname "$pc")
LD_LIBRARY_PATH=$(dirname "$(dirname "$pc")")
export PKG_CONFIG_LIBDIR LD_LIBRARY_PATH
mkdir "$work/c"
block c >"$work/c/ex.c"
(cd "$work/c" && sh -ec "$compile") || fail "the README's C example does not compile"
# A second copy while the first holds the lock (stopped there, so that its sleep cannot end
# first on a busy machine): refused, naming the first.
lock=$("$PIDLOCK" path "$app")
"$work/c/a.out" >/dev/null &
first=$!
remember "$first"
until_ok "$PIDLOCK" status "$lock"
kill -STOP "$first"
expect 1 "$work/c/a.out"
expect_err_has "already running as PID $first"
kill -CONT "$first"
reap "$first" 0
expect 0 "$work/c/a.out"
case $out in "running alone as PID "*) ;; *) fail "the C example printed: $out" ;; esac
unset LD_LIBRARY_PATH

# --- The pip block: Debian's /usr/bin/python3 and its packages, offline. `apt install` is
# checked, not run: the packages it names must be what this machine has.
for pkg in python3-venv python3-setuptools python3-wheel python3-dev swig gcc; do
	if ! dpkg -s "$pkg" >/dev/null 2>&1; then
		echo "SKIP: $pkg is not installed (scripts/deps/python.list)"
		exit 77
	fi
done
mkdir "$work/src" "$work/home"
tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./.venv -cf - . |
	tar -C "$work/src" -xf -
{
	echo 'apt() { [ "$1" = install ] && shift && dpkg -s "$@" >/dev/null; }'
	block pip
} >"$work/pip.sh"
(cd "$work/src" && HOME=$work/home sh -ex "$work/pip.sh") >"$work/pip.log" 2>&1 ||
	fail "the README's pip block failed: $(tail -20 "$work/pip.log")"
python=$work/home/.venvs/pidlock/bin/python
[ -x "$python" ] || fail "the pip block made no venv at ~/.venvs/pidlock"

# --- The Python quick start in that venv, from a directory without the source tree.
block python-quickstart >"$work/quickstart.py"
expect 0 sh -c 'cd / && "$1" "$2"' - "$python" "$work/quickstart.py"
case $out in
"running alone as PID "*"/$app/daemon.lock says so") ;;
*) fail "the quick start printed: $out" ;;
esac
# A second copy while the first runs: AlreadyRunning.
cat >"$work/second.py" <<PY
import pidlock, sys
lock = pidlock.acquire(pidlock.default_path("$app"))
sys.stdout.write("held\n"); sys.stdout.flush()
sys.stdin.read()
PY
mkfifo "$work/hold"
"$python" "$work/second.py" <"$work/hold" >"$work/second.out" &
holder=$!
remember "$holder"
exec 9>"$work/hold"
until_ok grep -q held "$work/second.out"
expect 1 "$python" "$work/quickstart.py"
expect_err_has "AlreadyRunning"
exec 9>&-
reap "$holder" 0
echo "ok"
