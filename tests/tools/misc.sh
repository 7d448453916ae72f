#!/bin/sh
# pidlock path, --help, --version and top-level usage. Usage: misc.sh PIDLOCK VERSION
PIDLOCK=${1:?}
. "$(dirname "$0")/lib.sh"
VERSION=${2:?}

expect 0 env XDG_RUNTIME_DIR=/run/user/1234 "$PIDLOCK" path myapp
[ "$out" = /run/user/1234/myapp/daemon.lock ] || fail "path gave '$out'"
if [ "$(id -u)" = 0 ]; then
	expect 0 env -u XDG_RUNTIME_DIR "$PIDLOCK" path myapp
	[ "$out" = /run/myapp/daemon.lock ] || fail "path as root gave '$out'"
else
	expect 0 env -u XDG_RUNTIME_DIR -u XDG_DATA_HOME HOME=/home/someone "$PIDLOCK" path myapp
	[ "$out" = /home/someone/.local/share/myapp/daemon.lock ] || fail "path gave '$out'"
	expect 1 env -u XDG_RUNTIME_DIR -u XDG_DATA_HOME -u HOME "$PIDLOCK" path myapp
fi
expect 1 "$PIDLOCK" path a/b
expect_err "pidlock: a/b: Invalid argument"
expect 1 "$PIDLOCK" path ..
expect 2 "$PIDLOCK" path
expect 2 "$PIDLOCK" path a b

expect 0 "$PIDLOCK" --help
case $out in
"Usage: pidlock run [--wait[=SECONDS]] [--check-pid] [--keep] PATH -- COMMAND [ARG...]"*) ;;
*) fail "--help printed: $out" ;;
esac
for sub in run status stop path; do
	expect 0 "$PIDLOCK" "$sub" --help
done

# The version of the command and of the library it actually loaded.
expect 0 "$PIDLOCK" --version
[ "$out" = "pidlock $VERSION (libpidlock $VERSION)" ] || fail "--version printed '$out'"

expect 2 "$PIDLOCK"
expect_err_has "missing command"
expect 2 "$PIDLOCK" frobnicate
expect_err_has "unknown command 'frobnicate'"
if [ -w /dev/full ]; then
	got=0
	"$PIDLOCK" --version >/dev/full 2>/dev/null || got=$?
	[ "$got" = 1 ] || fail "--version into a full disk exited $got"
fi
echo "ok"
