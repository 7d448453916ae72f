# Sourced by the host tests: the project's test helpers, and the check that the module links
# no Lua library. Set top (the source tree) and moddir (the module's build folder) first.
. "$top/tests/tools/lib.sh"
module=$moddir/pidlock_core.so
[ -f "$module" ] || fail "no module at $module"
needed=$(readelf -d "$module" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || fail "readelf shows no NEEDED entry in $module"
case $needed in
*liblua*) fail "$module links a Lua library: $needed" ;;
esac
lock=$work/run/daemon.lock
export PIDLOCK_TEST_LOCK="$lock"
export PIDLOCK_LUA_PATH="$top/bindings/lua/?.lua" PIDLOCK_LUA_CPATH="$moddir/?.so"
