#!/bin/sh
# Usage: haproxy.sh SOURCE_DIR LUA5.3_MODULE_DIR, with PIDLOCK set.
top=$1 moddir=$2
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
if [ ! -x "$haproxy" ]; then
	echo "SKIP: haproxy is not installed (Debian: haproxy)"
	exit 77
fi
. "$(dirname "$0")/common.sh"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/haproxy.cfg" <<CFG
global
    lua-load $top/tests/hosts/haproxy.lua
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend probe
    bind 127.0.0.1:$port
    http-request use-service lua.pidlock_probe
CFG
expect 0 "$haproxy" -c -q -f "$work/haproxy.cfg"

# -db: in the foreground, one process: the PID in the lock file must be haproxy's own.
"$haproxy" -db -f "$work/haproxy.cfg" >"$work/haproxy.out" 2>&1 &
hp=$!
remember "$hp"
until_ok running "$lock"
expect 0 "$PIDLOCK" status "$lock"
[ "$out" = "$hp" ] || fail "the lock names $out, haproxy is $hp"

body=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode(), end="")' \
	"http://127.0.0.1:$port/") || fail "no answer from haproxy: $(cat "$work/haproxy.out")"
want="pid=$hp holder=$hp read=$hp types=integer,integer,integer,integer released=true after=false"
[ "$body" = "$want" ] || fail "haproxy's Lua said '$body', expected '$want'"
[ ! -e "$lock" ] || fail "the lock file is left after release"
kill "$hp"
wait "$hp" || true
echo ok
