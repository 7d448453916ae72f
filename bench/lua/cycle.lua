-- cycle.lua PATH N [WARMUP]: N acquire+release cycles through the Lua module; prints the CPU
-- ns per cycle (os.clock is the process's CPU time). Lua's standard library has no wall
-- clock finer than a second, so bench/harness.py times this process for N cycles and for 0
-- and divides the difference by N (start-up cancels out).
local pidlock = require("pidlock")
local path, n, warmup = arg[1], tonumber(arg[2]), tonumber(arg[3] or "100")
assert(path and n and warmup, "usage: cycle.lua PATH N [WARMUP]")

local function cycle()
  local lock, msg = pidlock.acquire(path)
  if not lock then error(msg) end
  lock:release()
end

for _ = 1, warmup do cycle() end
local c0 = os.clock()
for _ = 1, n do cycle() end
print(string.format("%.1f", (os.clock() - c0) * 1e9 / math.max(n, 1)))
