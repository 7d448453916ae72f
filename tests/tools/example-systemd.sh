#!/bin/sh
# examples/systemd: PIDFile= and the lock path of `pidlock run` in ExecStart= are the same
# file, the unit passes `systemd-analyze verify` (when systemd is installed), and its command
# line, run here with the paths moved into a scratch directory, records the PID that systemd
# would see as the main PID. Usage: example-systemd.sh PIDLOCK UNIT-FILE
PIDLOCK=${1:?}
. "$(dirname "$0")/lib.sh"
unit=${2:?}

pidfile=$(sed -n 's/^PIDFile=//p' "$unit")
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ -n "$pidfile" ] || fail "no PIDFile= in $unit"
[ "$(printf '%s\n' "$exec_start" | wc -l)" = 1 ] || fail "want exactly one ExecStart= in $unit"

# ExecStart=BIN run [OPTIONS] PATH -- COMMAND...: pick PATH out like pidlock does.
# shellcheck disable=SC2086
set -- $exec_start
bin=$1
[ "$(basename "$bin")" = pidlock ] && [ "$2" = run ] || fail "ExecStart= does not use 'pidlock run'"
shift 2
while [ $# -gt 0 ]; do
	case $1 in
	--) fail "ExecStart= has no lock path" ;;
	--*) shift ;;
	*) break ;;
	esac
done
lockpath=$1
[ "${2:-}" = -- ] || fail "ExecStart= lacks '--' after the lock path"
[ "$lockpath" = "$pidfile" ] ||
	fail "PIDFile=$pidfile but ExecStart= locks $lockpath: they must be the same file"
shift 2
command=$*

# The unit as installed points at pidlock in its install prefix; check the copy that points at
# the command under test, so verify finds an executable.
sed "s|$bin|$PIDLOCK|" "$unit" >"$work/$(basename "$unit")"
if command -v systemd-analyze >/dev/null; then
	expect 0 systemd-analyze verify --man=no "$work/$(basename "$unit")"
	[ -z "$out$err" ] || fail "systemd-analyze verify complained: $out $err"
else
	echo "note: systemd-analyze not installed: the unit was only linted"
fi

# What systemd would do: start the command line and read PIDFile= for the main PID.
lock=$work/run$lockpath
# shellcheck disable=SC2086
"$PIDLOCK" run "$lock" -- $command &
main=$!
remember "$main"
until_ok running "$lock"
[ "$(cat "$lock")" = "$main" ] || fail "PIDFile= would say $(cat "$lock"), the main PID is $main"
expect 75 "$PIDLOCK" run "$lock" -- $command
expect 0 "$PIDLOCK" stop "$lock"
reap "$main" 143
echo "ok"
