#!/bin/sh
# Smoke test of examples/python/daemon.py: it runs, refuses a second instance, and leaves no
# lock file behind on SIGTERM.  Usage: smoke-example-python.sh PYTHON DAEMON_PY
set -eu
py=$1 daemon=$2
tmp=$(mktemp -d)
out=$tmp/out
# The example uses its default path, which depends only on the user (pidlock_default_path).
lockfile=$("$py" -c 'import pidlock; print(pidlock.default_path("example"))')
lockdir=$(dirname "$lockfile")
made_dir=
[ -d "$lockdir" ] || made_dir=$lockdir
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"; [ -z "$made_dir" ] || rmdir "$made_dir"' EXIT

"$py" "$daemon" >"$out" &
pid=$!
i=0
until grep -q "^running as PID $pid " "$out"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "FAIL: daemon did not start"; cat "$out"; exit 1; }
	sleep 0.1
done
[ "$(cat "$lockfile")" = "$pid" ] || { echo "FAIL: lock file does not say $pid"; exit 1; }

if "$py" "$daemon" 2>"$out.2"; then
	echo "FAIL: a second instance started"; exit 1
fi
grep -q "already running as PID $pid (lock file: $lockfile)" "$out.2" ||
	{ echo "FAIL: unexpected refusal:"; cat "$out.2"; exit 1; }

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" = 0 ] || { echo "FAIL: daemon exited $status on SIGTERM"; exit 1; }
[ ! -e "$lockfile" ] || { echo "FAIL: lock file left behind"; exit 1; }
echo "ok"
