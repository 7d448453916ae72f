-- Shared by the Lua specs: temporary directories and this process's PID (plain Lua has none).
local M = {}

function M.sh(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("*a")
  f:close()
  return out
end

function M.tmpdir()
  return (M.sh("mktemp -d /tmp/pidlock-lua-XXXXXX"):gsub("%s+$", ""))
end

function M.rmtree(dir)
  os.execute("rm -rf '" .. dir .. "'")
end

function M.exists(path)
  return os.execute("test -e '" .. path .. "' || test -L '" .. path .. "'") == true
    or os.execute("test -e '" .. path .. "' || test -L '" .. path .. "'") == 0
end

function M.size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

-- /proc/self is the process that opens it: the interpreter running the specs.
function M.getpid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = tonumber(f:read("*a"):match("^(%d+)"))
  f:close()
  return pid
end

return M
