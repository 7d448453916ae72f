-- luarocks make bindings/lua/pidlock-1.2-1.rockspec        (from the top of the source tree)
-- Builds the SWIG module with libpidlock's C sources compiled in: nothing else to install.
rockspec_format = "3.0"
package = "pidlock"
version = "1.2-1"
source = {
  url = "git+file://.",
}
description = {
  summary = "PID lock files held by a kernel lock (Lua binding of libpidlock)",
  detailed = [[
    pidlock.acquire(path [, {timeout=, check_pid=, fsync=, keep_file=, readable=}]) takes an
    open-file-description lock on a PID file and writes the caller's PID into it; the lock,
    not the PID, says who runs. Failures return nil, message, errno, holder_pid.
  ]],
}
dependencies = {
  "lua >= 5.1",
}
build = {
  type = "command",
  build_command = [[
    mkdir -p build-luarocks &&
    swig -lua -Ilibpidlock/include -Ibindings -o build-luarocks/pidlock_lua_wrap.c bindings/pidlock.i &&
    $(CC) $(CFLAGS) -fvisibility=hidden -I$(LUA_INCDIR) -Ilibpidlock/include -Ilibpidlock/src -Ibindings \
      build-luarocks/pidlock_lua_wrap.c libpidlock/src/*.c $(LIBFLAG) -o build-luarocks/pidlock_core.so
  ]],
  install = {
    lua = { pidlock = "bindings/lua/pidlock.lua" },
    lib = { pidlock_core = "build-luarocks/pidlock_core.so" },
  },
}
