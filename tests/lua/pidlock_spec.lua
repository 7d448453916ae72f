-- The Lua API (run on Lua 5.4, 5.3 and LuaJIT).
local pidlock = require "pidlock"
local core = require "pidlock_core"
local h = require "helpers"

describe("pidlock", function()
  local dir, path
  local me = h.getpid()

  before_each(function()
    dir = h.tmpdir()
    path = dir .. "/run/daemon.lock"
  end)
  after_each(function() h.rmtree(dir) end)

  it("reports the loaded library's version", function()
    assert.is_string(pidlock.version)
    assert.truthy(pidlock.version:match("^%d+%.%d+%.%d+$"))
  end)

  it("acquires and releases", function()
    local lock = assert(pidlock.acquire(path))
    assert.equal(path, lock:path())
    assert.equal(me, lock:pid())
    assert.is_number(lock:fd())
    assert.equal(me, pidlock.read_pid(path))
    assert.equal(me, pidlock.holder(path))
    assert.truthy(tostring(lock):find(path, 1, true))
    assert.truthy(tostring(lock):find("locked", 1, true))
    assert.is_true(lock:update())
    assert.equal(me, lock:pid())
    assert.is_true(lock:release())
    assert.is_true(lock:release())
    assert.truthy(tostring(lock):find("released", 1, true))
    assert.is_false(h.exists(path))
    assert.is_false(pidlock.holder(path))
    local fd, msg, code = lock:fd()
    assert.is_nil(fd)
    assert.is_string(msg)
    assert.equal(core.EINVAL, code)
    assert.is_nil((lock:update()))
  end)

  it("returns nil, message, errno, holder when held", function()
    local lock = assert(pidlock.acquire(path))
    local other, msg, code, holder = pidlock.acquire(path)
    assert.is_nil(other)
    -- The holder is this very process: not reentrant, and the message says so.
    assert.truthy(msg:find("already held by this process (lock file: " .. path .. ")", 1, true), msg)
    assert.truthy(msg:find("not reentrant", 1, true), msg)
    assert.equal(core.EAGAIN, code)
    assert.equal(me, holder)
    lock:release()
  end)

  it("waits up to the timeout", function()
    local lock = assert(pidlock.acquire(path))
    local start = os.time()
    local other, _, code = pidlock.acquire(path, { timeout = 0.2 })
    assert.is_nil(other)
    assert.equal(core.EAGAIN, code)
    assert.truthy(os.time() - start <= 5)
    lock:release()
  end)

  if math.type then
    it("returns Lua integers, never floats (Lua 5.3+)", function()
      local lock = assert(pidlock.acquire(path))
      local _, _, code, holder = pidlock.acquire(path)
      for what, v in pairs({ pid = lock:pid(), fd = lock:fd(), holder = pidlock.holder(path),
                             read_pid = pidlock.read_pid(path), errno = code,
                             holder_pid = holder, EAGAIN = core.EAGAIN, EBADFD = core.EBADFD,
                             CHECK_PID = core.CHECK_PID }) do
        assert.equal("integer", math.type(v), what .. " is " .. tostring(v))
      end
      assert.equal(tostring(me), tostring(lock:pid()))
      lock:release()
    end)
  end

  if jit then
    -- Plain Lua cannot close a descriptor; LuaJIT's FFI can, as python-daemon does.
    it("reports a descriptor closed behind its back, and removes nothing", function()
      local ffi = require "ffi"
      ffi.cdef "int close(int fd);"
      local lock = assert(pidlock.acquire(path))
      assert.equal(0, ffi.C.close(lock:fd()))
      local fd, msg, code = lock:fd()
      assert.is_nil(fd)
      assert.truthy(msg:find("is lost", 1, true), msg)
      assert.equal(core.EBADFD, code)
      local ok, msg2, code2 = lock:release()
      assert.is_nil(ok)
      assert.truthy(msg2:find(path, 1, true), msg2)
      assert.equal(core.EBADFD, code2)
      assert.is_true(lock:release())
      assert.is_false(pidlock.holder(path))
      assert(pidlock.acquire(path)):release()
    end)
  end

  it("takes any finite timeout as a long wait", function()
    for _, t in ipairs({ 1e306, math.maxinteger or 2^53, 2^31, 1e7 }) do
      assert(pidlock.acquire(path, { timeout = t })):release()
    end
  end)

  it("passes the options", function()
    local lock = assert(pidlock.acquire(path, { keep_file = true, fsync = true, check_pid = true }))
    lock:release()
    assert.equal(0, h.size(path))
  end)

  it("rejects bad input with nil, message", function()
    for _, args in ipairs({
      { 42 }, { nil }, { path, "x" }, { path, { bogus = true } }, { path, { timeout = -1 } },
      { path, { timeout = "1" } }, { path, { timeout = 0 / 0 } }, { "" }, { path .. "\0x" },
    }) do
      local lock, msg, code = pidlock.acquire(args[1], args[2])
      assert.is_nil(lock)
      assert.is_string(msg)
      assert.equal(core.EINVAL, code)
    end
  end)

  it("reports system errors with the path", function()
    local lock, msg, code, holder = pidlock.acquire(dir)
    assert.is_nil(lock)
    assert.equal(dir .. ": Is a directory", msg)
    assert.is_number(code)
    assert.is_nil(holder)
  end)

  it("releases a forgotten lock when collected", function()
    local function forget() assert(pidlock.acquire(path)) end
    forget()
    collectgarbage()
    collectgarbage()
    assert.is_false(h.exists(path))
    assert(pidlock.acquire(path)):release()
  end)

  if _VERSION == "Lua 5.4" then
    it("releases at scope exit with <close>", function()
      local chunk = assert(load([[
        local pidlock, path = ...
        do
          local lock <close> = assert(pidlock.acquire(path))
          assert(pidlock.holder(path) == lock:pid())
        end
        return pidlock.holder(path)
      ]]))
      assert.is_false(chunk(pidlock, path))
      assert.is_false(h.exists(path))
    end)
  end

  it("has the helpers", function()
    assert.is_false(pidlock.read_pid(path))
    os.execute("mkdir -p " .. dir .. "/run && echo 123 > " .. path)
    assert.equal(123, pidlock.read_pid(path))
    assert.is_false(pidlock.holder(path))
    os.execute("echo junk > " .. path)
    assert.is_false(pidlock.read_pid(path))
    local pid, msg = pidlock.read_pid(dir)
    assert.is_nil(pid)
    assert.equal(dir .. ": Is a directory", msg)
    assert.is_true(pidlock.pid_alive(me))
    assert.is_false(pidlock.pid_alive(0))
    assert.is_false(pidlock.pid_alive(-1))
    assert.is_false(pidlock.pid_alive(2 ^ 31))
    assert.is_false(pidlock.pid_alive(1.5))
    assert.is_false(pidlock.pid_alive("1"))
    local p = pidlock.default_path("app")
    assert.is_string(p)
    assert.truthy(p:match("/app/daemon%.lock$"))
    local none, err, code = pidlock.default_path("a/b")
    assert.is_nil(none)
    assert.is_string(err)
    assert.equal(core.EINVAL, code)
    assert.is_nil((pidlock.default_path(nil)))
  end)
end)
