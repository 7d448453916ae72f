-- The waiter in Lua: pidlock.waiter(path) with :fd(), :try(), :close(), polled
-- here with cqueues (its poll of a waiter is the host's event loop). Every poll is bounded
-- (BOUND seconds) only so that a missed wake-up fails instead of hanging; nothing is timed.
local pidlock = require "pidlock"
local core = require "pidlock_core"
local cqueues = require "cqueues"
local h = require "helpers"

local BOUND = 10
local helper = os.getenv("PIDLOCK_CONFORMANCE")
local source_dir = debug.getinfo(1, "S").source:match("^@(.*)/tests/lua/[^/]*$")

local function integer(what, v)
  if math.type then
    assert(math.type(v) == "integer", what .. " is " .. tostring(v) .. " (" .. tostring(math.type(v)) .. ")")
  end
  return v
end

-- Polls and tries until the waiter stops saying "held"; returns what the last try said.
local function take(w)
  local lock, msg, code, holder
  for _ = 1, 1000 do
    assert(cqueues.poll(w, BOUND) == w, "no wake-up within " .. BOUND .. " s")
    lock, msg, code, holder = w:try()
    if lock or (code ~= core.EAGAIN and code ~= core.EBUSY) then break end
  end
  return lock, msg, code, holder
end

-- The waiter sees the lock held by holder (-1: no PID written).
local function sees_held(w, holder)
  assert(cqueues.poll(w, BOUND) == w, "no wake-up within " .. BOUND .. " s")
  local lock, msg, code, who = w:try()
  assert.is_nil(lock)
  assert.equal(core.EAGAIN, integer("errno", code))
  assert.equal(holder, integer("holder", who))
  assert.truthy(msg:find("already", 1, true), msg)
end

-- The C conformance helper holding path (setup "lock"), or holding it with no PID ("raw").
local function start_helper(setup, path)
  local dir, rel = path:match("^(.*)/([^/]+)$")
  local proc = assert(io.popen(string.format("exec %s --setup %s '%s' '%s'", helper, setup, dir, rel)))
  local pid = tonumber((proc:read("*l") or ""):match("^ready (%d+)$"))
  assert(pid, "setup " .. setup .. " failed")
  return { pid = pid, kill = function() os.execute("kill -9 " .. pid); proc:close() end }
end

describe("waiter", function()
  local dir, path
  local me = h.getpid()

  before_each(function()
    dir = h.tmpdir()
    path = dir .. "/run/daemon.lock"
  end)
  after_each(function() h.rmtree(dir) end)

  it("takes a free lock at its first try", function()
    local w = assert(pidlock.waiter(path, { keep_file = true }))
    assert.truthy(tostring(w):find("waiting", 1, true))
    integer("fd", w:fd())
    local lock = assert(take(w))
    assert.truthy(tostring(w):find("closed", 1, true))
    assert.equal(me, lock:pid())
    assert.equal(me, pidlock.read_pid(path))
    assert(lock:release())
    assert.equal(0, h.size(path))
  end)

  it("is readable at once after it is made", function()
    local first = assert(pidlock.acquire(path))
    local w = assert(pidlock.waiter(path))
    assert.equal(w, cqueues.poll(w, BOUND))
    w:close()
    first:release()
  end)

  it("is woken by the holder's release (unlinking)", function()
    local first = assert(pidlock.acquire(path))
    local w = assert(pidlock.waiter(path))
    sees_held(w, me)
    assert(first:release())
    local lock = assert(take(w))
    assert.equal(me, pidlock.holder(path))
    lock:release()
    assert.is_false(h.exists(path))
  end)

  it("is woken by the holder's release with keep_file", function()
    local first = assert(pidlock.acquire(path, { keep_file = true }))
    local w = assert(pidlock.waiter(path))
    sees_held(w, me)
    assert(first:release())
    assert.equal(0, h.size(path))
    local lock = assert(take(w))
    assert.equal(me, pidlock.read_pid(path))
    lock:release()
  end)

  if helper then
    it("is woken by the holder's SIGKILL", function()
      local holder = start_helper("lock", path)
      local w = assert(pidlock.waiter(path))
      sees_held(w, holder.pid)
      holder.kill()
      local lock = assert(take(w))
      assert.equal(me, pidlock.read_pid(path))
      lock:release()
    end)

    it("is woken when a holder that never wrote a PID dies", function()
      local holder = start_helper("raw", path)
      local w = assert(pidlock.waiter(path))
      sees_held(w, -1)
      holder.kill()
      local lock = assert(take(w))
      assert.equal(me, pidlock.read_pid(path))
      lock:release()
    end)
  else
    pending("PIDLOCK_CONFORMANCE not set (run through ctest): SIGKILL and unwritten holders")
  end

  it("follows the file that replaced the one at the path", function()
    local first = assert(pidlock.acquire(path))
    local second = assert(pidlock.acquire(dir .. "/other.lock"))
    local w = assert(pidlock.waiter(path))
    sees_held(w, me)
    assert(os.rename(dir .. "/other.lock", path))
    first:release() -- no longer the file at the path: not a handoff
    sees_held(w, me)
    second:release()
    local lock = assert(take(w))
    assert.equal(me, pidlock.read_pid(path))
    lock:release()
  end)

  it("closes safely, leaving no directory it made", function()
    local w = assert(pidlock.waiter(dir .. "/a/b/daemon.lock"))
    assert.is_true(h.exists(dir .. "/a"))
    assert.is_true(w:close())
    assert.is_true(w:close())
    assert.is_false(h.exists(dir .. "/a"))
    local fd, msg, code = w:fd()
    assert.is_nil(fd)
    assert.truthy(msg:find("closed", 1, true))
    assert.equal(core.EINVAL, code)
    assert.is_nil((w:try()))
  end)

  if _VERSION ~= "Lua 5.1" and _VERSION ~= "Lua 5.2" and _VERSION ~= "Lua 5.3" then
    it("closes at the end of a <close> scope (Lua 5.4)", function()
      local run = assert(load([[
        local pidlock, p = ...
        local w <close> = assert(pidlock.waiter(p))
        return w
      ]]))
      local w = run(pidlock, dir .. "/c/daemon.lock")
      assert.truthy(tostring(w):find("closed", 1, true))
      assert.is_false(h.exists(dir .. "/c"))
    end)
  end

  it("rejects bad arguments like acquire", function()
    for _, args in ipairs({ { nil }, { "" }, { path .. "\0x" }, { path, { timeout = 1 } },
                            { path, "fsync" } }) do
      local w, msg, code = pidlock.waiter(args[1], args[2])
      assert.is_nil(w)
      assert.is_string(msg)
      assert.equal(core.EINVAL, integer("errno", code))
    end
  end)

  it("ends on an error other than held, closing itself", function()
    assert(os.execute("mkfifo '" .. dir .. "/fifo'"))
    -- A path that cannot be a lock file fails at pidlock.waiter() or at the first try.
    for _, bad in ipairs({ dir .. "/fifo", dir }) do
      local w, msg, code = pidlock.waiter(bad)
      if w then
        local lock
        lock, msg, code = take(w)
        assert.is_nil(lock)
        assert.truthy(tostring(w):find("closed", 1, true))
      end
      assert.truthy(msg:find(bad, 1, true), msg)
      assert.is_true(integer("errno", code) > 0 and code ~= core.EAGAIN and code ~= core.EBUSY)
    end
  end)

  it("runs the cqueues example", function()
    local out = h.sh(string.format("cd '%s' && %s examples/lua/cqueues-wait.lua '%s' 2>&1; echo rc=$?",
      source_dir, jit and "luajit" or _VERSION == "Lua 5.3" and "lua5.3" or "lua5.4",
      dir .. "/example.lock"))
    assert.truthy(out:find("rc=0", 1, true), out)
    assert.truthy(out:find("took the lock as PID", 1, true), out)
    assert.truthy(out:find("health checks served while waiting", 1, true), out)
  end)
end)
