#!/bin/sh
# Usage: states.sh SOURCE_DIR, with PIDLOCK (the command) and START_STOP_DAEMON set.
top=$1
. "$top/tests/tools/lib.sh"
ssd=${START_STOP_DAEMON:-}
case $ssd in
*/start-stop-daemon) ;;
*)
	echo "SKIP: start-stop-daemon not found (Debian: dpkg)"
	exit 77
	;;
esac
PATH=$(dirname "$ssd"):$(dirname "$PIDLOCK"):$PATH
script=$top/examples/initscript/exampled

# The daemon: a program of its own (start-stop-daemon matches --exec on /proc/PID/exe) that
# stays in the foreground and dies of SIGTERM.
cp "$(command -v sleep)" "$work/exampled"
DAEMON=$work/exampled DAEMON_ARGS=1000 PIDFILE=$work/run/daemon.lock
export DAEMON DAEMON_ARGS PIDFILE PIDLOCK PATH
f=$PIDFILE

# held: $pid becomes the PID that holds the lock (pidlock status), killed at cleanup.
held() {
	expect 0 "$PIDLOCK" status "$f"
	pid=$out
	remember "$pid"
}

lsb() { # lsb ACTION CODE: the script's exit status for ACTION must be CODE
	expect "$2" "$script" "$1"
}

# --- stopped, nothing there
lsb status 3
lsb stop 0
lsb status 3

# --- running
lsb start 0
held
[ "$(readlink "/proc/$pid/exe")" = "$DAEMON" ] || fail "the holder $pid is not the daemon"
[ "$(cat "$f")" = "$pid" ] || fail "the file does not name the daemon $pid"
lsb status 0
[ "$out" = "exampled is running" ] || fail "status said: $out"
lsb start 0 # already running: success, and no second instance
first=$pid
held
[ "$pid" = "$first" ] || fail "a second start replaced the daemon"
n=0
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/exe" 2>/dev/null)" != "$DAEMON" ] || n=$((n + 1))
done
[ "$n" = 1 ] || fail "$n daemons run"

# --- stopped by the script: the file goes with the daemon
lsb stop 0
[ ! -e "$f" ] || fail "stop left the lock file"
lsb status 3
lsb stop 0

# --- SIGKILLed: the file remains, naming a dead PID
lsb start 0
held
kill -KILL "$pid"
until_ok sh -c '! "$PIDLOCK" status "$1"' - "$f"
[ -e "$f" ] || fail "the file of a SIGKILLed daemon vanished"
lsb status 1
killed=$pid
lsb start 0
held
[ "$pid" != "$killed" ] || fail "start did not replace the killed daemon"
lsb stop 0
lsb status 3

# --- a file that names a live process that is not the holder (a reused PID)
sleep 1000 &
other=$!
remember "$other"
mkdir -p "$(dirname "$f")"
echo "$other" >"$f"
# The trap the script avoids: start-stop-daemon trusts the number.
expect 0 "$ssd" --status --pidfile "$f"
lsb status 1
lsb stop 0 # nothing to stop; the other process is left alone
kill -0 "$other" || fail "stop signalled a process that does not hold the lock"
[ ! -e "$f" ] || fail "stop left the stale lock file"
lsb status 3
echo "$other" >"$f"
lsb start 0
held
[ "$pid" != "$other" ] && [ "$(readlink "/proc/$pid/exe")" = "$DAEMON" ] ||
	fail "start did not start the daemon over a stale file"
lsb status 0
lsb stop 0
kill -0 "$other" || fail "stop signalled a process that does not hold the lock"
lsb status 3
echo ok
