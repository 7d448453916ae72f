#!/bin/sh
# pidlock stop: signals only a holder, waits for the release, escalates to SIGKILL, and says
# what happened in its exit status. Usage: stop.sh PIDLOCK HOLD-UNWRITTEN
PIDLOCK=${1:?}
. "$(dirname "$0")/lib.sh"
HOLD=${2:?}
f=$work/app/daemon.lock

# Nothing to stop: no file, or a file nobody holds (whatever PID it names: never signalled;
# the file is removed under its lock, so that status says "not running", 3). --oknodo
# makes "nothing was running" a success, as with start-stop-daemon.
expect 3 "$PIDLOCK" stop "$f"
expect_err "pidlock: $f: not running"
expect 0 "$PIDLOCK" stop --oknodo "$f"
expect_err "pidlock: $f: not running"
sleep 60 &
bystander=$!
remember "$bystander"
mkdir -p "$work/app"
echo "$bystander" >"$f"
expect 3 "$PIDLOCK" stop "$f"
kill -0 "$bystander" || fail "stop signalled the PID of a file nobody holds"
[ ! -e "$f" ] || fail "stop left the file nobody holds"
expect 3 "$PIDLOCK" status "$f"
echo "$bystander" >"$f"
expect 0 "$PIDLOCK" stop --oknodo "$f"
kill -0 "$bystander" || fail "stop signalled the PID of a file nobody holds"
[ ! -e "$f" ] || fail "stop --oknodo left the file nobody holds"

# SIGTERM honoured: 0, the holder died of it, the lock is free and its file gone: status
# says 3 (not running), not 1 (a crash left the file).
start sleep 60
expect 0 "$PIDLOCK" stop "$f"
[ -z "$err" ] || fail "a clean stop printed '$err'"
reap "$pid" 143
[ ! -e "$f" ] || fail "a clean stop left $f"
expect 3 "$PIDLOCK" status "$f"
start sleep 60
expect 0 "$PIDLOCK" stop --oknodo --verbose "$f"
expect_err_has "pidlock: sending SIGTERM to PID $pid (lock file: $f)"
expect_err_has "pidlock: PID $pid released the lock after "
expect_err_has "pidlock: removed $f"
reap "$pid" 143

# Every spelling of an option's value: --opt VALUE, --opt=VALUE, -o VALUE, -oVALUE.
for opts in "--signal HUP" "--signal=HUP" "-s HUP" "-sHUP" "--signal=1 --timeout=5" \
	"-s 1 -t 5" "-s1 -t5" "--timeout 5 --signal sighup"; do
	start sleep 60
	# shellcheck disable=SC2086
	expect 0 "$PIDLOCK" stop $opts "$f"
	reap "$pid" 129
done

# Other signals, by name or number.
for sig in HUP sighup 1 SIGRTMIN+1; do
	start sleep 60
	expect 0 "$PIDLOCK" stop --signal "$sig" "$f"
	case $sig in
	SIGRTMIN+1) reap "$pid" "$((128 + $(kill -l RTMIN 2>/dev/null || echo 34) + 1))" ;;
	*) reap "$pid" 129 ;;
	esac
done

# TERM ignored: SIGKILL after the timeout, status 1, and a message saying so. (The lock is
# held before the command runs: wait until sleep, which inherits the ignored TERM, runs.)
start sh -c 'trap "" TERM; exec sleep 60'
until_ok grep -qx sleep "/proc/$pid/comm"
expect 1 "$PIDLOCK" stop --timeout=0.3 "$f"
expect_err_has "PID $pid still holds the lock 0.3 seconds after SIGTERM: sending SIGKILL"
reap "$pid" 137
expect 3 "$PIDLOCK" status "$f"

# The holder's child inherited the lock descriptor and outlives it: the lock stays, and
# stop refuses to signal anybody else under the holder's PID.
start sh -c 'sleep 60 & echo $! >"$1"; exec sleep 61' sh "$work/orphan"
until_ok test -s "$work/orphan"
orphan=$(cat "$work/orphan")
remember "$orphan"
expect 5 "$PIDLOCK" stop --timeout 0.2 "$f"
expect_err_has "the lock is still held under PID $pid"
kill -0 "$orphan" || fail "stop signalled the child that inherited the lock"
kill "$orphan"
wait "$pid" || true

# A holder that never records its PID: nothing to signal.
rm -f "$f"
"$HOLD" "$f" &
hold=$!
remember "$hold"
until_ok test -e "$f"
expect 5 "$PIDLOCK" stop --timeout 0.1 "$f"
expect_err "pidlock: $f: held, but no live PID is recorded in it: nothing signalled"
kill "$hold"
wait "$hold" || true

# Another user's holder: visible, but not ours to signal.
if as_nobody "$PIDLOCK" --version >/dev/null 2>&1; then
	chmod 0755 "$work" "$work/app"
	start sleep 60
	expect 4 as_nobody "$PIDLOCK" stop "$f"
	expect_err "pidlock: $f: Permission denied"
	expect 0 "$PIDLOCK" stop "$f"
	reap "$pid" 143
	"$PIDLOCK" run --readable "$f" -- sleep 60 &
	pid=$!
	remember "$pid"
	until_ok running "$f"
	expect 4 as_nobody "$PIDLOCK" stop "$f"
	expect_err_has "which this user may not inspect"
	expect 0 "$PIDLOCK" stop "$f"
	reap "$pid" 143
fi

# Cannot tell.
ln -s "$f" "$work/link"
expect 4 "$PIDLOCK" stop "$work/link"
expect_err "pidlock: $work/link: Too many levels of symbolic links"

# Usage errors: nothing is signalled.
start sleep 60
for bad in "--signal 0" "--signal 65" "--signal 99999" "--signal FOO" "--signal SIG" \
	"--signal RTMIN+99" "--signal -15" "--timeout abc" "--timeout -1" "--timeout 1e3" \
	"--bogus" "--timeout=" "-t" "--oknodo=1"; do
	# shellcheck disable=SC2086
	expect 2 "$PIDLOCK" stop $bad "$f"
done
expect 2 "$PIDLOCK" stop --signal
expect 2 "$PIDLOCK" stop
expect 2 "$PIDLOCK" stop "$f" "$f"
expect 0 running "$f"
[ "$out" = "$pid" ] || fail "the holder changed after usage errors"
expect 0 "$PIDLOCK" stop --signal KILL "$f"
reap "$pid" 137
echo "ok"
