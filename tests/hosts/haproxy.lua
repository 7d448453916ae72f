-- Loaded by HAProxy (lua-load) in tests/hosts/haproxy.sh. The lock is taken while HAProxy
-- loads its configuration and held while it serves; one request on loopback reads the
-- holder, releases, and answers with what it saw.
package.path = os.getenv("PIDLOCK_LUA_PATH") .. ";" .. package.path
package.cpath = os.getenv("PIDLOCK_LUA_CPATH") .. ";" .. package.cpath
local pidlock = require "pidlock"
local path = assert(os.getenv("PIDLOCK_TEST_LOCK"))
local lock = assert(pidlock.acquire(path))

core.register_service("pidlock_probe", "http", function(applet)
  local pid, fd = lock:pid(), lock:fd()
  local holder, read = pidlock.holder(path), pidlock.read_pid(path)
  local released = lock:release()
  local body = string.format("pid=%s holder=%s read=%s types=%s,%s,%s,%s released=%s after=%s",
    tostring(pid), tostring(holder), tostring(read), math.type(pid), math.type(holder),
    math.type(read), math.type(fd), tostring(released), tostring(pidlock.holder(path)))
  applet:set_status(200)
  applet:add_header("content-length", tostring(#body))
  applet:start_response()
  applet:send(body)
end)
