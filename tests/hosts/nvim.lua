-- Run by Neovim's LuaJIT (nvim --headless) in tests/hosts/nvim.sh: writes "ok" or the failure
-- to $PIDLOCK_TEST_OUT, then quits with status 0 or 1.
local out = assert(io.open(os.getenv("PIDLOCK_TEST_OUT"), "w"))
local ok, err = pcall(function()
  package.path = os.getenv("PIDLOCK_LUA_PATH") .. ";" .. package.path
  package.cpath = os.getenv("PIDLOCK_LUA_CPATH") .. ";" .. package.cpath
  local pidlock = require "pidlock"
  local path = os.getenv("PIDLOCK_TEST_LOCK")
  local me = vim.fn.getpid()
  local lock = assert(pidlock.acquire(path))
  assert(lock:pid() == me, "lock:pid() " .. tostring(lock:pid()) .. ", nvim is " .. me)
  assert(pidlock.holder(path) == me, "holder() does not name nvim")
  assert(pidlock.read_pid(path) == me, "the file does not name nvim")
  -- And as another process sees it.
  local status = vim.fn.system({ os.getenv("PIDLOCK"), "status", path })
  assert(vim.v.shell_error == 0 and tonumber(status) == me, "pidlock status said: " .. status)
  assert(lock:release())
  assert(pidlock.holder(path) == false, "still held after release")
end)
out:write(ok and "ok" or ("FAIL " .. tostring(err)))
out:close()
vim.cmd(ok and "qall!" or "cquit 1")
