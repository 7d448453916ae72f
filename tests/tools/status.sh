#!/bin/sh
# pidlock status: the four LSB answers, that it creates nothing, and that it never makes a
# concurrent start fail. Usage: status.sh PIDLOCK HOLD-UNWRITTEN
PIDLOCK=${1:?}
. "$(dirname "$0")/lib.sh"
HOLD=${2:?}
f=$work/app/daemon.lock

# 3: no file (not even its directory), and probing creates neither.
expect 3 "$PIDLOCK" status "$f"
expect_err "pidlock: $f: not running"
[ -z "$out" ] || fail "status printed '$out' for a free lock"
[ ! -e "$work/app" ] || fail "status created $work/app"

# 0: held; prints the PID and nothing else.
start sleep 60
expect 0 "$PIDLOCK" status "$f"
[ "$out" = "$pid" ] || fail "status printed '$out', expected $pid"
[ -z "$err" ] || fail "status wrote '$err' to stderr"

# 1: the holder is gone, its file remains.
kill -KILL "$pid"
reap "$pid" 137
expect 1 "$PIDLOCK" status "$f"
expect_err "pidlock: $f: not running (the lock file remains)"
: >"$f"
expect 1 "$PIDLOCK" status "$f"
echo garbage >"$f"
expect 1 "$PIDLOCK" status "$f"

# 0 with a holder that has not written its PID: running, but no PID to print.
rm -f "$f"
"$HOLD" "$f" &
hold=$!
remember "$hold"
until_ok test -e "$f"
expect 0 "$PIDLOCK" status "$f"
[ -z "$out" ] || fail "status printed '$out' for a holder without a PID"
expect_err "pidlock: $f: running, but no live PID is recorded in it yet"
kill "$hold"
wait "$hold" || true

# 4: cannot tell. A symlink is never followed, a directory or a path through a regular file
# is no lock file, and a directory we may not search hides the answer.
ln -s "$f" "$work/link"
expect 4 "$PIDLOCK" status "$work/link"
expect_err "pidlock: $work/link: Too many levels of symbolic links"
expect 4 "$PIDLOCK" status "$work"
expect_err "pidlock: $work: Is a directory"
expect 4 "$PIDLOCK" status "$f/below"
expect_err "pidlock: $f/below: Not a directory"
expect 4 "$PIDLOCK" status
expect 4 "$PIDLOCK" status "$f" "$f"

mkdir -m 0700 "$work/private"
: >"$work/private/daemon.lock"
chmod 0755 "$work"
if as_nobody "$PIDLOCK" --version >/dev/null 2>&1; then
	expect 4 as_nobody "$PIDLOCK" status "$work/private/daemon.lock"
	expect_err "pidlock: $work/private/daemon.lock: Permission denied"
	# A readable lock file in a searchable directory: another user can probe it.
	start sleep 60
	chmod 0755 "$work/app"
	expect 0 as_nobody "$PIDLOCK" status "$f"
	[ "$out" = "$pid" ] || fail "status as nobody printed '$out', expected $pid"
	kill "$pid"
	wait "$pid" || true
elif [ "$(id -u)" != 0 ]; then
	chmod 0 "$work/private"
	expect 4 "$PIDLOCK" status "$work/private/daemon.lock"
	expect_err "pidlock: $work/private/daemon.lock: Permission denied"
	chmod 0700 "$work/private"
else
	echo "note: root without a working setpriv: permission case not run"
fi

# A probe never disturbs a start: with status probing in a loop, every one of 300 runs of
# a short command gets the lock.
rm -f "$f"
(while :; do "$PIDLOCK" status "$f" >/dev/null 2>&1 || true; done) &
prober=$!
remember "$prober"
i=0
while [ "$i" -lt 300 ]; do
	expect 0 "$PIDLOCK" run "$f" -- true
	i=$((i + 1))
done
kill "$prober"
wait "$prober" || true
echo "ok"
