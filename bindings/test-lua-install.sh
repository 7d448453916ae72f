#!/bin/sh
# `cmake --install` of the Lua component into a DESTDIR with the default prefix, then
# `require "pidlock"` through each interpreter's own default search paths, moved under DESTDIR.
# Usage: test-lua-install.sh BUILD_DIR WORKDIR INTERPRETER...
set -eu
build=$1 work=$2
shift 2
rm -rf "$work"
DESTDIR=$work/root cmake --install "$build" --prefix /usr/local --component lua >/dev/null
for interp in "$@"; do
	# The interpreter's defaults, LUA_PATH/LUA_CPATH unset, with /usr/local/ under DESTDIR.
	lpath=$(env -u LUA_PATH -u LUA_PATH_5_4 -u LUA_PATH_5_3 "$interp" -e 'print(package.path)')
	cpath=$(env -u LUA_CPATH -u LUA_CPATH_5_4 -u LUA_CPATH_5_3 "$interp" -e 'print(package.cpath)')
	LUA_PATH=$(echo "$lpath" | sed "s|/usr/local/|$work/root/usr/local/|g")
	LUA_CPATH=$(echo "$cpath" | sed "s|/usr/local/|$work/root/usr/local/|g")
	export LUA_PATH LUA_CPATH
	"$interp" -e '
		local p = require "pidlock"
		local where = package.searchpath and package.searchpath("pidlock", package.path)
		assert(not where or where:find(os.getenv("WORK"), 1, true), where)
		local l = assert(p.acquire(os.getenv("WORK") .. "/x.lock"))
		assert(l:release())
		print(_VERSION .. ": pidlock " .. p.version .. " ok")' || {
		echo "FAIL: $interp cannot use the installed module"
		find "$work/root" -type f
		exit 1
	}
done
