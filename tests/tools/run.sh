#!/bin/sh
# pidlock run: the lock, the PID in the file, the refusal, waiting, exec failures, usage.
# Usage: run.sh PIDLOCK HOLD-UNWRITTEN
PIDLOCK=${1:?}
. "$(dirname "$0")/lib.sh"
HOLD=${2:?}
f=$work/app/daemon.lock

# The lock is taken (making the missing directory) and COMMAND is exec'd: same PID, so the
# file holds COMMAND's PID and the process is COMMAND itself, not a pidlock waiting for it.
start sleep 60
expect 0 "$PIDLOCK" status "$f"
[ "$out" = "$pid" ] || fail "status printed '$out', the command's PID is $pid"
[ "$(cat "$f")" = "$pid" ] || fail "the file holds '$(cat "$f")', not $pid"
# (The lock is taken just before the exec: give the exec its moment.)
until_ok grep -qx sleep "/proc/$pid/comm"

# A second run is refused with the holder's PID, a fixed status, and COMMAND never runs.
expect 75 "$PIDLOCK" run "$f" -- touch "$work/ran"
expect_err "pidlock: already running as PID $pid (lock file: $f)"
[ ! -e "$work/ran" ] || fail "COMMAND ran although the lock is held"
expect 75 "$PIDLOCK" run --check-pid "$f" -- true

# A timed-out wait says it waited, and how long; every spelling of the value is one option
# (a bare --wait or -w waits forever: the argument after it is PATH when "--" follows).
for w in --wait=0.2 "--wait 0.2" -w0.2 "-w 0.2" "--wait 0.20"; do
	# shellcheck disable=SC2086
	expect 75 "$PIDLOCK" run $w "$f" -- touch "$work/ran"
	expect_err "pidlock: still held by PID $pid after 0.2 s (lock file: $f)"
done
expect 75 "$PIDLOCK" run --wait 1 --check-pid "$f" -- true
expect_err "pidlock: still held by PID $pid after 1 s (lock file: $f)"
[ ! -e "$work/ran" ] || fail "COMMAND ran although the lock is held"

# --verbose says when the wait starts and how long taking the lock took.
expect 75 "$PIDLOCK" run --verbose --wait 0.1 "$f" -- true
expect_err "pidlock: waiting up to 0.1 s for PID $pid to release $f
pidlock: still held by PID $pid after 0.1 s (lock file: $f)"

# On a terminal, a wait says what it waits for after about a second, once; elsewhere (as
# above, stderr to a file) it says nothing until it ends.
if command -v script >/dev/null; then
	expect 75 script -qec "'$PIDLOCK' run --wait 1.6 '$f' -- true" /dev/null
	n=$(printf '%s\n' "$out" | grep -c "waiting up to 1.6 s for PID $pid to release $f") || true
	[ "$n" = 1 ] || fail "a wait on a terminal printed: $out"
	case $out in *"still held by PID $pid after 1.6 s"*) ;; *) fail "on a terminal: $out" ;; esac
	expect 75 script -qec "'$PIDLOCK' run --wait 0.3 '$f' -- true" /dev/null
	case $out in *waiting*) fail "a wait shorter than a second printed: $out" ;; esac
else
	echo "note: no script(1): the terminal notice was not tested"
fi

# A waiter gets the lock once the holder is gone; its own PID is then in the file. Both wait
# forever (a bare --wait, and -w), the second one after the first.
"$PIDLOCK" run --wait "$f" -- sh -c 'cat "$1" > "$2"' sh "$f" "$work/seen" &
waiter=$!
remember "$waiter"
"$PIDLOCK" run -w --verbose "$f" -- true 2>"$work/verbose" &
second=$!
remember "$second"
until_ok grep -q waiting "$work/verbose"
kill -TERM "$pid"
reap "$pid" 143
reap "$waiter" 0
reap "$second" 0
[ "$(cat "$work/seen")" = "$waiter" ] || fail "the waiter saw '$(cat "$work/seen")', not $waiter"
grep -q "^pidlock: waiting for PID $pid to release $f\$" "$work/verbose" ||
	fail "--verbose said: $(cat "$work/verbose")"
grep -q "^pidlock: getting the lock on $f took [0-9.]* s\$" "$work/verbose" ||
	fail "--verbose said: $(cat "$work/verbose")"
grep -q "^pidlock: executing true\$" "$work/verbose" || fail "--verbose said: $(cat "$work/verbose")"

# The lock dies with the command, even by SIGKILL: the file stays (nobody is left to remove
# it), status says so, and the next run takes it at once.
start sleep 60
kill -KILL "$pid"
reap "$pid" 137
expect 1 "$PIDLOCK" status "$f"
expect 0 "$PIDLOCK" run "$f" -- true
expect 42 "$PIDLOCK" run "$f" -- sh -c 'exit 42'

# COMMAND that cannot be started: 127 / 126, and the lock is given back with no file left
# (with --keep: the file stays, empty).
rm -f "$f"
expect 127 "$PIDLOCK" run "$f" -- "$work/no-such-command"
expect_err "pidlock: $work/no-such-command: No such file or directory"
[ ! -e "$f" ] || fail "a failed exec left $f behind"
# (A PATH with a directory we may not search gives 126, as with env(1): set a plain one.)
expect 127 env PATH=/usr/bin:/bin "$PIDLOCK" run "$f" -- no-such-command-anywhere-in-path
expect 126 "$PIDLOCK" run "$f" -- "$work"
[ ! -e "$f" ] || fail "a failed exec left $f behind"
expect 126 "$PIDLOCK" run --keep "$f" -- "$work"
[ -f "$f" ] && [ ! -s "$f" ] || fail "--keep did not leave an empty $f"
expect 0 "$PIDLOCK" run "$f" -- true

# A holder that locked but has not written its PID yet.
rm -f "$f"
"$HOLD" "$f" &
hold=$!
remember "$hold"
until_ok running "$f"
expect 75 "$PIDLOCK" run "$f" -- true
expect_err "pidlock: already running (lock file: $f; no live PID recorded in it yet)"
kill "$hold"
wait "$hold" || true

# --check-pid: a live PID written by a program that holds no lock counts as held; without
# the flag such a file is reclaimed. The PID is this shell's: it started long before the
# file was written (the library now takes a PID written within a kernel tick of its
# process's start for a reused one: file times come from a coarse clock).
echo "$$" >"$f"
expect 75 "$PIDLOCK" run --check-pid "$f" -- true
expect_err "pidlock: already running as PID $$ (lock file: $f)"
expect 0 "$PIDLOCK" run "$f" -- true

# Errors name the path and the reason; the lock is never taken through a symlink.
expect 125 "$PIDLOCK" run "$work" -- true
expect_err "pidlock: $work: Is a directory"
ln -s "$f" "$work/link"
expect 125 "$PIDLOCK" run "$work/link" -- true
expect_err "pidlock: $work/link: Too many levels of symbolic links"

# Usage errors.
expect 2 "$PIDLOCK" run
expect 2 "$PIDLOCK" run "$f"
expect 2 "$PIDLOCK" run "$f" true
expect_err_has "expected '--' after PATH"
expect 2 "$PIDLOCK" run "$f" --
for bad in abc -1 1e3 "" 1.2.3 0x10 " 1" 99999999999; do
	expect 2 "$PIDLOCK" run --wait="$bad" "$f" -- true
	expect_err_has "--wait: bad number of seconds"
	[ -z "$bad" ] || expect 2 "$PIDLOCK" run -w"$bad" "$f" -- true
done
# A value that is no number is PATH after a bare --wait: then "--" is missing.
expect 2 "$PIDLOCK" run --wait abc "$f" -- true
expect_err_has "expected '--' after PATH 'abc'"
expect 2 "$PIDLOCK" run --bogus "$f" -- true
expect_err_has "unknown option '--bogus'"
[ ! -e "$work/ran" ] || fail "COMMAND ran after an error"
echo "ok"
