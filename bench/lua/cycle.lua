-- cycle.lua PATH N [WARMUP]: N acquire+release cycles through the Lua module, untimed.
-- Lua's standard library has no monotonic clock, so bench/harness.py times this process
-- for N cycles and for 0 cycles and divides the difference by N (start-up cancels out).
local pidlock = require("pidlock")
local path, n, warmup = arg[1], tonumber(arg[2]), tonumber(arg[3] or "100")
assert(path and n and warmup, "usage: cycle.lua PATH N [WARMUP]")

local function cycle()
  local lock, msg = pidlock.acquire(path)
  if not lock then error(msg) end
  lock:release()
end

for _ = 1, warmup do cycle() end
for _ = 1, n do cycle() end
