-- pidlock.h is the one declaration (every function and flag reaches Lua, or this names what is
-- missing), the 1.1 functions, the library's sentence in errors, and Ctrl-C during a wait.
-- Run on Lua 5.4, 5.3 and LuaJIT.
local pidlock = require "pidlock"
local h = require "helpers"

local source_dir = debug.getinfo(1, "S").source:match("^@(.*)/tests/lua/[^/]*$")
local interp = jit and "luajit" or _VERSION == "Lua 5.3" and "lua5.3" or "lua5.4"

local function read(path)
  local f = assert(io.open(path))
  local text = f:read("*a")
  f:close()
  return text
end

-- The header's functions that scripts do not call, and why.
local not_for_scripts = {
  releasep = "the C cleanup attribute's helper",
  strerror = "inside every error's message",
  last_error = "inside every error's message",
}
-- Where the functions on a lock or a waiter are in the Lua API.
local on_objects = {
  release = "lock:release", update = "lock:update", check = "lock:fd", fd = "lock:fd",
  path = "lock:path", pid = "lock:pid", version = "pidlock.version",
  waiter_new = "pidlock.waiter", waiter_fd = "waiter:fd", waiter_try = "waiter:try",
  waiter_free = "waiter:close",
}

describe("declared once", function()
  local header = read(source_dir .. "/libpidlock/include/pidlock.h")

  it("every function of pidlock.h is in the Lua API", function()
    local missing = {}
    for name in header:gmatch("PIDLOCK_API[^;(]-[%s%*]pidlock_([%w_]+)%s*%(") do
      if not not_for_scripts[name] and not on_objects[name] and type(pidlock[name]) ~= "function" then
        missing[#missing + 1] = "pidlock_" .. name
      end
    end
    assert.are.same({}, missing)
  end)

  it("every flag of pidlock.h is an option", function()
    local enum = header:match("enum pidlock_flags%s*(%b{})"):gsub("/%*.-%*/", "")
    local dir = h.tmpdir()
    local count = 0
    for flag in enum:gmatch("PIDLOCK_([%u_]+)%s*=") do
      if flag ~= "INTERRUPTIBLE" then
        count = count + 1
        local lock, msg = pidlock.acquire(dir .. "/x.lock", { [flag:lower()] = true })
        assert.truthy(lock, "option " .. flag:lower() .. ": " .. tostring(msg))
        lock:release()
      end
    end
    h.rmtree(dir)
    assert.truthy(count >= 4, count)
    local _, msg = pidlock.acquire("/tmp/x.lock", { interruptible = true })
    assert.truthy(msg:find("unknown option", 1, true))
  end)

  it("the module's documentation does not describe $XDG_RUNTIME_DIR", function()
    assert.is_nil(read(source_dir .. "/bindings/lua/pidlock.lua"):find("XDG_RUNTIME_DIR", 1, true))
  end)
end)

describe("1.1 functions", function()
  local dir, path
  local me = h.getpid()

  before_each(function()
    dir = h.tmpdir()
    path = dir .. "/run/daemon.lock"
  end)
  after_each(function() h.rmtree(dir) end)

  it("lock_method", function()
    local m = pidlock.lock_method()
    assert.truthy(m == "ofd" or m == "flock", m)
  end)

  it("holds", function()
    assert.is_false(pidlock.holds(path, me))
    local lock = assert(pidlock.acquire(path))
    assert.is_true(pidlock.holds(path, me))
    lock:release()
    local _, msg = pidlock.holds(path, "1")
    assert.truthy(msg)
  end)

  it("check_path: nil when safe, the sentence when not, nil, message, errno otherwise", function()
    assert.is_nil(pidlock.check_path(path))
    os.execute("mkdir -p '" .. dir .. "/open' && chmod 0777 '" .. dir .. "/open'")
    local bad = dir .. "/open/x.lock"
    local why = pidlock.check_path(bad)
    assert.is_string(why)
    assert.truthy(why:find(dir .. "/open", 1, true), why)
    -- the acquire says the same sentence
    local lock, msg, code = pidlock.acquire(bad)
    assert.is_nil(lock)
    assert.equal(pidlock.EPERM, code)
    assert.truthy(msg:find(why, 1, true), msg)
    os.execute("ln -s '" .. path .. "' '" .. dir .. "/link'")
    local none, err, errno = pidlock.check_path(dir .. "/link")
    assert.is_nil(none)
    assert.is_string(err)
    assert.is_number(errno)
  end)

  it("readable", function()
    local lock = assert(pidlock.acquire(path, { readable = true }))
    local mode = h.sh("stat -c %a '" .. path .. "'"):gsub("%s+$", "")
    assert.truthy(mode == "644" or mode:match("^6[04][04]$"), mode)
    lock:release()
    lock = assert(pidlock.acquire(path))
    assert.equal("600", (h.sh("stat -c %a '" .. path .. "'"):gsub("%s+$", "")))
    lock:release()
  end)
end)

describe("waits", function()
  local dir, path
  before_each(function()
    dir = h.tmpdir()
    path = dir .. "/daemon.lock"
  end)
  after_each(function() h.rmtree(dir) end)

  it("a timed wait ends at its timeout", function()
    local lock = assert(pidlock.acquire(path))
    local other, msg, code = pidlock.acquire(path, { timeout = 0.2 })
    assert.is_nil(other)
    assert.equal(pidlock.EAGAIN, code)
    assert.truthy(msg:find("already", 1, true))
    lock:release()
  end)

  it("Ctrl-C ends a math.huge wait in the standalone interpreter", function()
    local lock = assert(pidlock.acquire(path))
    local cpath = package.cpath:gsub("'", "")
    local lpath = package.path:gsub("'", "")
    local code = string.format(
      "package.path = '%s'; package.cpath = '%s'; local p = require 'pidlock'; "
      .. "io.stdout:write('waiting\\n'); io.stdout:flush(); "
      .. "local l = p.acquire('%s', { timeout = math.huge }); print('acquired', l)",
      lpath, cpath, path)
    local script = dir .. "/wait.lua"
    local f = assert(io.open(script, "w"))
    f:write(code)
    f:close()
    -- timeout(1) sends SIGINT after 1 s, and SIGKILL 10 s later if that did nothing.
    local start = os.time()
    local out = h.sh(string.format("timeout -s INT -k 10 1 %s '%s' 2>&1; echo rc=$?", interp, script))
    lock:release()
    assert.truthy(out:find("waiting", 1, true), out)
    assert.truthy(out:find("interrupted", 1, true), out)
    assert.is_nil(out:find("acquired", 1, true), out)
    assert.truthy(os.time() - start < 8, "the wait outlived Ctrl-C: " .. out)
  end)
end)
