-- tests/conformance/cases.txt through the Lua API (see that file for the format).
local pidlock = require "pidlock"
local h = require "helpers"

local unpack = table.unpack or unpack  -- LuaJIT speaks 5.1
local helper = os.getenv("PIDLOCK_CONFORMANCE")
local cases_file = os.getenv("PIDLOCK_CASES")

local function load_cases()
  local cases = {}
  for line in io.lines(cases_file) do
    local fields = {}
    for field in line:gsub("#.*", ""):gmatch("%S+") do fields[#fields + 1] = field end
    if #fields > 0 then
      assert(#fields == 7, "malformed case line: " .. line)
      cases[#cases + 1] = fields
    end
  end
  return cases
end

-- Lua has no errno names: the helper prints the C library's table.
local function errno_names()
  local names = {}
  for name, num in h.sh(helper .. " --errnos"):gmatch("(%S+) (%d+)") do
    names[tonumber(num)] = names[tonumber(num)] or name
  end
  return names
end

local function one_of(want, got)
  for alt in want:gmatch("[^|]+") do
    if alt == got then return true end
  end
  return false
end

-- On Lua 5.3 and 5.4 every integer the module returns is of the integer
-- subtype (a float PID prints as 15019.0). LuaJIT has one number type.
local function integer(what, v)
  if math.type then
    assert(math.type(v) == "integer", what .. " returned " .. tostring(v) .. " (" .. tostring(math.type(v)) .. ")")
  end
  return v
end

local function describe_holder(prefix, pid, helper_pid)
  if pid == -1 then return prefix .. ":unwritten" end
  if helper_pid > 0 and pid == helper_pid then return prefix .. ":helper" end
  return prefix .. ":" .. tostring(pid)
end

describe("conformance", function()
  if not helper or not cases_file then
    pending("PIDLOCK_CONFORMANCE / PIDLOCK_CASES not set (run through ctest)")
    return
  end

  it("lock_method is the C library's", function()
    assert.equal((h.sh(helper .. " --lock-method"):gsub("%s+$", "")), pidlock.lock_method())
  end)
  local names = errno_names()
  local me = h.getpid()

  for _, case in ipairs(load_cases()) do
    local name, setup, rel, flags, want_acquire, want_probe, want_check = unpack(case)
    it(name, function()
      local top = h.tmpdir()
      local dir = top .. "/" .. name
      local path = dir .. "/" .. rel
      local proc = assert(io.popen(string.format("%s --setup %s '%s' '%s'", helper, setup, dir, rel)))
      local line = proc:read("*l") or ""
      local helper_pid = tonumber(line:match("^ready (%d+)$"))
      local ok, err = pcall(function()
        if line:match("^skip ") then
          print("skip " .. name .. ": " .. line:sub(6))
          return
        end
        assert(helper_pid, "setup " .. setup .. " failed: " .. line)

        local held, msg, code = pidlock.holder(path)
        local got
        if held == nil then got = names[integer("holder() errno", code)]
        elseif held == false then got = "free"
        else got = describe_holder("held", integer("holder()", held), helper_pid) end
        assert(one_of(want_probe, got), "holder(): expected " .. want_probe .. ", got " .. tostring(got) .. " " .. tostring(msg))

        local opts = {}
        if flags ~= "-" then
          for flag in flags:gmatch("[^,]+") do opts[flag] = true end
        end
        local why, why_msg, why_code = pidlock.check_path(path)
        if why then got = "unsafe"
        elseif why_msg then got = names[integer("check_path() errno", why_code)]
        else got = "safe" end
        assert(one_of(want_check, got), "check_path(): expected " .. want_check .. ", got " .. tostring(got))

        local lock, amsg, errno, holder = pidlock.acquire(path, opts)
        if lock then got = "ok"
        elseif names[integer("acquire() errno", errno)] == "EAGAIN" then
          got = describe_holder("EAGAIN", integer("acquire() holder", holder), helper_pid)
        else got = names[errno] end
        assert(one_of(want_acquire, got), "acquire: expected " .. want_acquire .. ", got " .. tostring(got))
        if got == "EPERM" and why then
          assert(amsg:find(why, 1, true), "the error lacks check_path()'s sentence: " .. amsg)
        end
        if got:match("^EAGAIN") and helper_pid > 0 then
          assert(pidlock.holds(path, me) == false, "holds(): this process does not hold it")
          assert(pidlock.holds(path, helper_pid) == (want_probe:match("^held:") ~= nil),
            "holds() does not agree with the holder")
        end
        if lock then
          assert(integer("lock:pid()", lock:pid()) == me
            and integer("read_pid()", pidlock.read_pid(path)) == me
            and integer("holder()", pidlock.holder(path)) == me
            and pidlock.holds(path, me) == true,
            "the lock does not name this process")
          local mode = h.sh("stat -c %a '" .. path .. "'"):gsub("%s+$", "")
          local mask = tonumber(h.sh("umask"):gsub("%s+$", ""), 8)
          local want = "600"
          if opts.readable then
            -- 0644 minus the umask, computed bit by bit (5.1 has no bitwise operators)
            local m = 0
            for bit = 0, 8 do
              local b = 2 ^ bit
              if 420 % (2 * b) >= b and mask % (2 * b) < b then m = m + b end
            end
            want = string.format("%o", m)
          end
          assert(mode == want, "the file's mode is " .. mode .. ", expected " .. want)
          integer("lock:fd()", lock:fd())
          assert(lock:release())
          if opts.keep_file then
            assert(h.size(path) == 0, "keep_file: the file should stay, empty")
          else
            assert(not h.exists(path), "the file should be gone")
          end
        end
      end)
      if helper_pid and helper_pid > 0 then os.execute("kill " .. helper_pid) end
      proc:close()
      h.rmtree(top)
      assert(ok, err)
    end)
  end
end)
