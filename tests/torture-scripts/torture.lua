-- Torture from Lua (5.4 and LuaJIT): race, crash and cycles, one mode per ctest test.
--
--   torture.lua race [workers] [rounds]   worker processes take turns on one path
--   torture.lua crash [kills]             a cycling child killed with kill -9, then acquire
--   torture.lua cycles [cycles] [dropped] memory (collectgarbage "count") and descriptors flat
--
-- Plain Lua has no fork, no getpid and no kill: workers are this script run again in a worker
-- mode through io.popen, a process learns its PID from /proc/self/stat, and sh does the
-- sleeping and the killing. Exclusivity is proven with files touched only while holding the
-- lock: an "inside" marker that must not exist on entry and must still name the holder on
-- exit, and a counter that must end equal to the number of entries (a second holder would
-- lose updates).
local pidlock = require "pidlock"
local EAGAIN = require("pidlock_core").EAGAIN

local INTERP, SCRIPT = arg[-1], arg[0]
local failures = 0

local function fail(msg)
  failures = failures + 1
  print("FAIL: " .. msg)
  io.stdout:flush()
end

local function say(fmt, ...)
  print(string.format(fmt, ...))
  io.stdout:flush()
end

local function finish()
  os.exit(failures == 0 and 0 or 1)
end

local function banner(prog)
  return string.format("%s (%s)", prog, jit and jit.version or _VERSION)
end

-- PIDLOCK_TORTURE_SCALE (percent, default 100) shrinks round counts, as in the C suite.
local function scaled(n)
  local pct = tonumber(os.getenv("PIDLOCK_TORTURE_SCALE") or "") or 100
  if pct <= 0 then pct = 100 end
  return math.max(1, math.floor(n * pct / 100))
end

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function read_number(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local n = f:read("*n")
  f:close()
  return n
end

-- Closed at once: a handle left to the collector would show up as a leaked descriptor.
local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

local function write_file(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end

local function lines_of(cmd)
  local h = assert(io.popen(cmd))
  local out = {}
  for line in h:lines() do out[#out + 1] = line end
  h:close()
  return out
end

-- Seconds since boot, to 10 ms: os.clock is CPU time and os.time whole seconds.
local function now() return read_number("/proc/uptime") end

local function self_pid() return read_number("/proc/self/stat") end

-- Counted by sh, through the pipe io.popen gives it: that pipe is left out of the count, as
-- right after fork this process may still hold both of its ends. A popen pipe of an earlier
-- count can still be open while the collector has not closed it, so a count may come out one
-- high: the least of three counts is taken, and only growth (after > before) is a leak.
local function count_fds()
  local least
  for _ = 1, 3 do
    collectgarbage()
    local n = #lines_of("pipe=$(readlink /proc/$$/fd/1); for fd in /proc/" .. self_pid()
      .. "/fd/*; do [ \"$(readlink $fd)\" = \"$pipe\" ] || echo $fd; done")
    least = least and math.min(least, n) or n
  end
  return least
end

local function tmpdir(tag)
  local base = exists("/dev/shm/.") and "/dev/shm" or "/tmp"
  return lines_of("mktemp -d " .. base .. "/pidlock-torture-lua-" .. tag .. "-XXXXXX")[1]
end

local function dir_entries(dir)
  return #lines_of("ls -A " .. quote(dir))
end

local function rmtree(dir) os.execute("rm -rf " .. quote(dir)) end

local function sh_ok(...)
  -- os.execute: true in 5.2+, 0 in LuaJIT without 5.2 compatibility.
  local r = ...
  return r == true or r == 0
end

---------------------------------------------------------------------------------------- race
local RACE_FIELDS = { "entries", "doubles", "wrong_owner", "wrong_pid", "wrong_probe", "errors",
  "timeouts", "retries", "capped" }

local function race_worker(dir, id, rounds, deadline)
  local path, marker, counter = dir .. "/daemon.lock", dir .. "/inside", dir .. "/counter"
  local waiting = id % 2 == 1 -- half wait in the library, half fail at once and retry
  local f = {}
  for _, k in ipairs(RACE_FIELDS) do f[k] = 0 end
  for _ = 1, rounds do
    local lock, msg, code
    local tries = 0
    while not lock do
      if now() > deadline then
        f.capped = 1
        break
      end
      if waiting then
        lock, msg, code = pidlock.acquire(path, { timeout = 1 })
      elseif tries < 8 then
        lock, msg, code = pidlock.acquire(path)
      else
        -- Lua cannot sleep: a short wait in the library is the back-off, so that spinners
        -- on 2 cores do not starve the holder they wait for.
        lock, msg, code = pidlock.acquire(path, { timeout = 0.002 })
      end
      if not lock then
        if code ~= EAGAIN then
          f.errors = f.errors + 1
          say("worker %d: %s", id, tostring(msg))
        elseif waiting then
          f.timeouts = f.timeouts + 1
        else
          f.retries = f.retries + 1
          tries = tries + 1
        end
      end
    end
    if not lock then break end

    local me = lock:pid()
    if exists(marker) then f.doubles = f.doubles + 1 end
    write_file(marker, tostring(me))
    write_file(counter, tostring((read_number(counter) or 0) + 1))
    if pidlock.read_pid(path) ~= me then f.wrong_pid = f.wrong_pid + 1 end
    if pidlock.holder(path) ~= me then f.wrong_probe = f.wrong_probe + 1 end
    if read_number(marker) ~= me then f.wrong_owner = f.wrong_owner + 1 end
    os.remove(marker)
    f.entries = f.entries + 1
    local ok, rmsg = lock:release()
    if not ok then
      f.errors = f.errors + 1
      say("worker %d: release: %s", id, tostring(rmsg))
    end
  end
  local out = {}
  for _, k in ipairs(RACE_FIELDS) do out[#out + 1] = k .. "=" .. f[k] end
  say("figures %s", table.concat(out, " "))
end

local function race(workers, rounds)
  local dir = tmpdir("race")
  local path, counter = dir .. "/daemon.lock", dir .. "/counter"
  local cap = 15
  write_file(counter, "0")
  local start = now()
  local handles = {}
  -- All workers start before any is read: io.popen returns as soon as sh is running.
  for id = 1, workers do
    handles[id] = assert(io.popen(string.format("exec %s %s race-worker %s %d %d %.2f",
      quote(INTERP), quote(SCRIPT), quote(dir), id, rounds, start + cap)))
  end
  local total = {}
  for _, k in ipairs(RACE_FIELDS) do total[k] = 0 end
  for id, h in ipairs(handles) do
    local out = h:read("*a")
    h:close()
    local line = out:match("figures ([^\n]*)")
    if not line then
      fail(string.format("race: worker %d gave no figures: %s", id, out))
    else
      for k, v in line:gmatch("([%w_]+)=(%d+)") do total[k] = total[k] + tonumber(v) end
      local rest = out:gsub("figures [^\n]*\n?", "")
      if rest ~= "" then io.write(rest) end
    end
  end
  local took = now() - start
  local counted = read_number(counter)
  say("%s: %d processes x %d rounds: %d entries of %d in %.1f s%s; double holders %d, "
    .. "marker overwritten while held %d, counter %d (lost updates %d), wrong PID while held %d, "
    .. "wrong probe while held %d, errors %d, waits timed out %d, fail-at-once retries %d",
    banner("race"), workers, rounds, total.entries, workers * rounds, took,
    total.capped > 0 and " (time cap hit)" or "", total.doubles, total.wrong_owner, counted or -1,
    total.entries - (counted or 0), total.wrong_pid, total.wrong_probe, total.errors,
    total.timeouts, total.retries)
  if total.doubles > 0 or total.wrong_owner > 0 or counted ~= total.entries
      or total.wrong_pid > 0 or total.wrong_probe > 0 then
    fail("race: exclusivity broken")
  end
  if total.errors > 0 then fail("race: " .. total.errors .. " errors") end
  if total.entries == 0 then fail("race: no entries at all") end
  -- Only the counter may be left: no lock file, no marker.
  if dir_entries(dir) ~= 1 then fail("race: files left behind in " .. dir) end
  rmtree(dir)
end

--------------------------------------------------------------------------------------- crash
local function crash_child(path, keep)
  say("%d", self_pid())
  local opts = { timeout = math.huge, keep_file = keep == "1" }
  while true do
    local lock = pidlock.acquire(path, opts)
    if lock then lock:release() end
  end
end

local function crash(kills)
  local dir = tmpdir("crash")
  local path = dir .. "/daemon.lock"
  local cap = 20
  local fig = { done = 0, stuck = 0, absent = 0, empty = 0, child_pid = 0, other = 0, errors = 0 }
  local fds_before = count_fds()
  local start = now()
  math.randomseed(self_pid())
  while fig.done < kills and now() - start < cap do
    local n = fig.done
    local h = assert(io.popen(string.format("exec %s %s crash-child %s %d", quote(INTERP),
      quote(SCRIPT), quote(path), n % 2)))
    local child = tonumber(h:read("*l"))
    if not child then
      fig.errors = fig.errors + 1
      h:close()
    else
      -- The child prints its PID before its first acquire; sh's own start adds to the delay.
      if not sh_ok(os.execute(string.format("sleep %.4f; kill -9 %d", math.random() * 0.004,
          child))) then
        fig.errors = fig.errors + 1
      end
      local _, how, sig = h:close()
      if how == "signal" and sig ~= 9 then fig.errors = fig.errors + 1 end

      local pid = pidlock.read_pid(path)
      if pid == child then
        fig.child_pid = fig.child_pid + 1
      elseif pid == false and not exists(path) then
        fig.absent = fig.absent + 1
      elseif pid == false then
        fig.empty = fig.empty + 1
      else
        fig.other = fig.other + 1
      end

      local lock, msg = pidlock.acquire(path, { check_pid = n % 3 == 0 })
      if not lock then
        fig.stuck = fig.stuck + 1
        if fig.stuck <= 5 then say("stuck after kill %d: %s (file said %s)", n, msg, tostring(pid)) end
      elseif not lock:release() then
        fig.errors = fig.errors + 1
      end
    end
    fig.done = fig.done + 1
  end
  local fds_after = count_fds()
  say("%s: %d kill -9 of %d in %.1f s (file at the kill: absent %d, empty %d, child's PID %d, "
    .. "other %d); stuck %d, errors %d; fds before %d, after %d", banner("crash"), fig.done,
    kills, now() - start, fig.absent, fig.empty, fig.child_pid, fig.other, fig.stuck, fig.errors,
    fds_before, fds_after)
  if fig.stuck > 0 then fail("crash: " .. fig.stuck .. " stuck states") end
  if fig.errors > 0 or fig.other > 0 then fail("crash: errors or a file naming a stranger") end
  if fig.done < math.min(kills, 50) then fail("crash: only " .. fig.done .. " kills before the time cap") end
  if fds_after > fds_before then fail("crash: descriptors leaked") end
  rmtree(dir)
end

-------------------------------------------------------------------------------------- cycles
local GC_BOUND = 64 -- KiB collectgarbage("count") may grow by
local WARMUP = 2000
local GC_BATCH = 100

local function release_cycles(path, n)
  local failed = 0
  for _ = 1, n do
    local lock = pidlock.acquire(path)
    if not lock or not lock:release() then failed = failed + 1 end
  end
  return failed
end

-- Lua 5.4 releases through <close>, the way a program would; compiled from a string because
-- the syntax does not parse in LuaJIT.
local close_cycles = _VERSION == "Lua 5.4" and not jit and assert(load([[
  local pidlock, path, n = ...
  local failed = 0
  for _ = 1, n do
    local lock <close>, msg = pidlock.acquire(path)
    if not lock then failed = failed + 1 end
  end
  return failed
]]))

-- Locks dropped without release: the collector must free them (the table's __gc in 5.2+, the
-- handle's own in LuaJIT). Each of GC_BATCH paths is reused once a full collection has run.
local function dropped_cycles(dir, n)
  local failed = 0
  for i = 0, n - 1 do
    local lock = pidlock.acquire(dir .. "/drop" .. (i % GC_BATCH) .. ".lock")
    if not lock then failed = failed + 1 end
    lock = nil -- luacheck: ignore (dropped on purpose)
    if i % GC_BATCH == GC_BATCH - 1 then collectgarbage() collectgarbage() end
  end
  collectgarbage()
  collectgarbage()
  return failed
end

local function measure(label, run, n)
  local fds_before = count_fds()
  run(math.min(WARMUP, n))
  collectgarbage()
  collectgarbage()
  local kb_before = collectgarbage("count")
  local start = now()
  local failed = run(n)
  local took = now() - start
  collectgarbage()
  collectgarbage()
  local kb_after = collectgarbage("count")
  local fds_after = count_fds()
  say("%s %s: %d cycles in %.1f s; failed acquires %d; collectgarbage(\"count\") before %.1f KiB, "
    .. "after %.1f KiB (grew %.1f KiB, bound %d KiB); fds before %d, after %d", banner("cycles"),
    label, n, took, failed, kb_before, kb_after, kb_after - kb_before, GC_BOUND, fds_before,
    fds_after)
  if failed > 0 then fail("cycles " .. label .. ": " .. failed .. " acquires failed") end
  if kb_after - kb_before > GC_BOUND then fail("cycles " .. label .. ": Lua memory grew") end
  if fds_after > fds_before then fail("cycles " .. label .. ": descriptors leaked") end
end

local function cycles(n, dropped)
  local dir = tmpdir("cycles")
  local path = dir .. "/daemon.lock"
  if close_cycles then
    measure("<close>", function(k) return close_cycles(pidlock, path, k) end, n)
  else
    measure("release()", function(k) return release_cycles(path, k) end, n)
  end
  measure("dropped (collector)", function(k) return dropped_cycles(dir, k) end, dropped)
  if dir_entries(dir) ~= 0 then fail("cycles: files left behind in " .. dir) end
  rmtree(dir)
end

---------------------------------------------------------------------------------------- main
local mode = arg[1]
if mode == "race" then
  race(tonumber(arg[2]) or 8, scaled(tonumber(arg[3]) or 500))
elseif mode == "race-worker" then
  race_worker(arg[2], tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5]))
elseif mode == "crash" then
  crash(scaled(tonumber(arg[2]) or 300))
elseif mode == "crash-child" then
  crash_child(arg[2], arg[3])
elseif mode == "cycles" then
  cycles(scaled(tonumber(arg[2]) or 100000), scaled(tonumber(arg[3]) or 10000))
else
  io.stderr:write("usage: torture.lua race|crash|cycles [counts]\n")
  os.exit(2)
end
finish()
