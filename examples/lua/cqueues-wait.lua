-- A rolling restart inside a cqueues event loop: the new instance keeps answering health
-- checks while it waits for the old one to let go of the lock, and takes over the moment it
-- does. No thread and no polling: the loop sleeps on the waiter's descriptor.
--
--   lua5.4 examples/lua/cqueues-wait.lua [LOCKFILE]      (Debian: apt install lua-cqueues)
--
-- The "old instance" here is a coroutine of the same process holding the lock for a moment
-- (two holders in one process conflict exactly as two processes do); in real life it is the
-- daemon being replaced.
local cqueues = require "cqueues"
local pidlock = require "pidlock"

local path = arg[1] or assert(pidlock.default_path("example-cqueues"))
local loop = cqueues.new()
local checks, waiting = 0, true

local old = assert(pidlock.acquire(path))
print(("old instance holds %s as PID %d"):format(path, old:pid()))

loop:wrap(function() -- the old instance finishes its work and leaves
  cqueues.sleep(0.3)
  assert(old:release())
end)

loop:wrap(function() -- what the new instance must keep doing while it waits
  while waiting do
    checks = checks + 1
    cqueues.sleep(0.05)
  end
end)

loop:wrap(function() -- the takeover
  -- try() closes the waiter when it ends the wait (the lock, or an error); waiter:close()
  -- gives up earlier (or `local waiter <close>` on Lua 5.4).
  local waiter = assert(pidlock.waiter(path))
  local lock, msg, code
  repeat
    cqueues.poll(waiter) -- a waiter is a pollable object: :pollfd() and :events()
    lock, msg, code = waiter:try()
  until lock or (code ~= pidlock.EAGAIN and code ~= pidlock.EBUSY)
  waiting = false
  assert(lock, msg)
  print(("took the lock as PID %d; %d health checks served while waiting"):format(
    lock:pid(), checks))
  assert(lock:release())
end)

assert(loop:loop())
