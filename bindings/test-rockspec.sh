#!/bin/sh
# `luarocks make` of bindings/lua/pidlock-1.2-1.rockspec in a copy of the tree, into a private
# rocks tree, then require "pidlock" from it.  Usage: test-rockspec.sh SOURCE_TOP WORKDIR LUAVER
set -eu
top=$1 work=$2 ver=$3
rm -rf "$work"
mkdir -p "$work/src/bindings"
cp -r "$top/libpidlock" "$work/src/"
cp -r "$top/bindings/pidlock.i" "$top/bindings/pidlock_message.h" "$top/bindings/lua" "$work/src/bindings/"
cd "$work/src"
luarocks --lua-version "$ver" make --tree "$work/tree" bindings/lua/pidlock-1.2-1.rockspec >/dev/null
eval "$(luarocks --lua-version "$ver" --tree "$work/tree" path)"
cd "$work"
"lua$ver" -e '
	local p = require "pidlock"
	assert(package.searchpath("pidlock_core", package.cpath):find(os.getenv("PWD"), 1, true))
	local l = assert(p.acquire("x.lock"))
	assert(l:release())
	print("luarocks make ok: pidlock " .. p.version)'
