# Sourced by the tests in tests/tools: a private directory, cleanup of what the test started,
# exit status checks and bounded waits. Set PIDLOCK (the command under test) first.
set -eu
: "${PIDLOCK:?set PIDLOCK before sourcing lib.sh}"
work=$(mktemp -d "${TMPDIR:-/tmp}/pidlock-test.XXXXXX")
started=""

cleanup() {
	for p in $started; do
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# remember PID: killed at exit if still around.
remember() { started="$started $1"; }

# expect CODE COMMAND...: run it, require exit status CODE; stdout lands in $out, stderr in $err.
expect() {
	want=$1
	shift
	got=0
	"$@" >"$work/.out" 2>"$work/.err" || got=$?
	out=$(cat "$work/.out")
	err=$(cat "$work/.err")
	[ "$got" = "$want" ] || fail "'$*' exited $got, expected $want; stdout: $out; stderr: $err"
}

# expect_err TEXT: the last expect's stderr must be exactly TEXT.
expect_err() {
	[ "$err" = "$1" ] || fail "stderr was '$err', expected '$1'"
}

# expect_err_has TEXT: the last expect's stderr must contain TEXT.
expect_err_has() {
	case $err in
	*"$1"*) ;;
	*) fail "stderr '$err' lacks '$1'" ;;
	esac
}

# until_ok COMMAND...: retry until it succeeds; fail after 20 seconds. Bounds the test, not a
# timing assertion: a correct program gets there in milliseconds.
until_ok() {
	n=0
	until "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -lt 2000 ] || fail "gave up waiting for: $*"
		sleep 0.01
	done
}

running() { "$PIDLOCK" status "$1"; }

# `pidlock run "$f" -- ARGS...` in the background, once it holds the lock; its PID in $pid.
start() {
	"$PIDLOCK" run "$f" -- "$@" &
	pid=$!
	remember "$pid"
	until_ok running "$f"
}

# reap PID CODE: wait for our background job PID; it must have exited with CODE. (Not in a
# command substitution: a subshell cannot wait for its parent's children.)
reap() {
	rc=0
	wait "$1" || rc=$?
	[ "$rc" = "$2" ] || fail "PID $1 exited $rc, expected $2"
}

# other_user_copy: prints a command that runs a copy of $PIDLOCK, with the libpidlock it loads,
# from a directory every user can reach. Another user cannot run the build's own programs
# where the tree is out of their reach (a checkout in root's 0700 home). The command is a
# script that sets the library path itself, so `env -i` in front of it keeps working.
other_user_copy() {
	other=$work/other
	if [ ! -e "$other/pidlock" ]; then
		mkdir -p "$other/bin"
		cp "$PIDLOCK" "$other/bin/pidlock"
		lib=$(ldd "$PIDLOCK" | awk '$1 ~ /^libpidlock/ && $3 ~ /^\// { print $3 }')
		[ -z "$lib" ] || cp "$lib" "$other/bin/"
		printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$other/bin" "$other/bin/pidlock" \
			>"$other/pidlock"
		chmod 0755 "$other" "$other/bin" "$other/pidlock"
		chmod go+x "$work" # search only: the other files stay unlisted and unreadable
	fi
	echo "$other/pidlock"
}

# as_nobody COMMAND...: run COMMAND as an unprivileged user (only when we are root and
# setpriv works); returns 99 when that is not possible here. "$PIDLOCK" as the command runs
# other_user_copy's copy.
as_nobody() {
	if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
		return 99
	fi
	if [ "$1" = "$PIDLOCK" ]; then
		shift
		set -- "$(other_user_copy)" "$@"
	fi
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$@"
}
