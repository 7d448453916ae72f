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
# (The library's sentence where it words this failure, else the errno's text.)
case $err in
"pidlock: $f/below: $f is not a directory" | "pidlock: $f/below: Not a directory") ;;
*) fail "status of a path through a regular file said: $err" ;;
esac
expect 4 "$PIDLOCK" status
expect 4 "$PIDLOCK" status "$f" "$f"

mkdir -m 0700 "$work/private"
: >"$work/private/daemon.lock"
chmod 0755 "$work"
if as_nobody "$PIDLOCK" --version >/dev/null 2>&1; then
	expect 4 as_nobody "$PIDLOCK" status "$work/private/daemon.lock"
	expect_err "pidlock: $work/private/daemon.lock: Permission denied"
	# A lock file is 0600 (1.1): another user cannot open it, so cannot block starts with a
	# read lock either; it cannot tell.
	start sleep 60
	chmod 0755 "$work/app"
	expect 4 as_nobody "$PIDLOCK" status "$f"
	expect_err "pidlock: $f: Permission denied"
	kill "$pid"
	wait "$pid" || true
	# --readable: another user sees it held, but may not inspect root's process, so no PID
	# is printed as the holder's (the file's PID is named as what it is: unverified).
	"$PIDLOCK" run --readable "$f" -- sleep 60 &
	pid=$!
	remember "$pid"
	until_ok running "$f"
	expect 0 as_nobody "$PIDLOCK" status "$f"
	[ -z "$out" ] || fail "status as nobody printed '$out', a PID it cannot verify"
	expect_err "pidlock: $f: running, but the file names PID $pid, which this user may not inspect (run as root or as its user)"
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
# a short command gets the lock. The flock fallback's probe takes LOCK_SH for a moment, so
# there (`pidlock --version` says "flock locks") the refusals are counted and printed: its
# documented difference. Any other failure still fails.
method=ofd
case $("$PIDLOCK" --version) in *"flock locks"*) method=flock ;; esac
rm -f "$f"
(while :; do "$PIDLOCK" status "$f" >/dev/null 2>&1 || true; done) &
prober=$!
remember "$prober"
i=0
refused=0
while [ "$i" -lt 300 ]; do
	if [ "$method" = flock ]; then
		# Refused as held (75), or as read-locked (125 with the library's -EBUSY text):
		# the probe's shared lock is what it met.
		rc=0
		"$PIDLOCK" run "$f" -- true >/dev/null 2>"$work/.run-err" || rc=$?
		case $rc in
		0) ;;
		75) refused=$((refused + 1)) ;;
		125) grep -q 'read-locked' "$work/.run-err" ||
			fail "'$PIDLOCK run $f -- true' exited 125 beside a prober: $(cat "$work/.run-err")"
			refused=$((refused + 1)) ;;
		*) fail "'$PIDLOCK run $f -- true' exited $rc beside a prober" ;;
		esac
	else
		expect 0 "$PIDLOCK" run "$f" -- true
	fi
	i=$((i + 1))
done
echo "probe-caused failures: $refused of 300 runs ($method build)"
kill "$prober"
wait "$prober" || true
echo "ok"
