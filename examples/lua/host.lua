-- A scripting host's job that must never run twice at once, with the lock scoped by <close>.
--
--   lua5.4 examples/lua/host.lua [LOCKFILE]
--
-- The lock is released when `lock` goes out of scope, whether the job returns or raises.
local pidlock = require "pidlock"

local path = arg[1] or assert(pidlock.default_path("example-host"))

local function job()
  local lock <close>, err = pidlock.acquire(path, { timeout = 2 })
  if not lock then return nil, err end
  print(("job running as PID %d (lock: %s)"):format(lock:pid(), lock:path()))

  -- While it runs, any other start is refused, with the holder named.
  local again, msg = pidlock.acquire(path)
  assert(again == nil)
  print("a second start is refused: " .. msg)
  return true
end

assert(job())
assert(pidlock.holder(path) == false, "released at scope exit")
print("job done, lock released")
