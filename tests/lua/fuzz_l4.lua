-- Run as a Lua task by tests/lua/fuzz.lua: calls every function of the
-- `l4` table (and the methods of the objects it makes) with random
-- arguments, each under pcall. Allowed outcomes: a value, an error
-- return (nil, message, code) or a Lua error; anything else (a fault,
-- an exception, a hang, a kernel panic) fails the test from outside.
-- Left out, because they end or break the caller's world by design:
-- l4.debug.fault (a C thread writing where told), l4.task._fault (fails
-- the task on purpose), l4.task._probe with a value (writes the task's
-- .data), l4.thread.kill of this very thread, l4.sys.set_console
-- (sends this task's output to a random thread) and l4.debug.alloc_limit
-- (fails an allocation of the fuzzer's own, outside its pcalls; memerr.lua
-- tests it). Calls that can block
-- get a short timeout (the IPC options, sleep, waits).
-- Arguments: seed, calls. Prints a summary line "fuzz_l4: ..." and ends
-- with exit status 0 once every call came back.
local l4 = require "l4"
local seed, calls = ...
seed = math.tointeger(seed) or 1
calls = math.tointeger(calls) or 2000
VERBOSE = select(3, ...)
math.randomseed(seed)
local R = math.random

local SKIP = {["l4.debug.fault"] = true, ["l4.task._fault"] = true,
              ["l4.sys.set_console"] = true, ["l4.debug.alloc_limit"] = true}
local fns = {}
local function collect(t, prefix, seen)
  for k, v in pairs(t) do
    local name = prefix .. "." .. tostring(k)
    if type(v) == "function" and not SKIP[name] then
      fns[#fns + 1] = {name, v}
    elseif type(v) == "table" and not seen[v] then
      seen[v] = true
      collect(v, name, seen)
    end
  end
end
collect(l4, "l4", {})

-- Objects the bindings make, and their methods.
local objs = {}
local function keep(ok, v) if ok and v ~= nil then objs[#objs + 1] = v end end
keep(pcall(l4.self)); keep(true, l4.nilthread); keep(true, l4.anythread)
keep(pcall(l4.id, 2, 1, 0)); keep(pcall(l4.id, 1, 0, 1)); keep(pcall(l4.irq_id, 4))
keep(pcall(l4.fpage, 0x100000000000, 12, "rw")); keep(pcall(l4.fpage, 0, 47))
keep(pcall(l4.iofpage, 0x3f8, 3)); keep(pcall(l4.debug.echo))
local seenm = {}
for _, o in ipairs(objs) do
  local mt = getmetatable(o)
  local idx = type(mt) == "table" and rawget(mt, "__index")
  if type(idx) == "table" and not seenm[idx] then
    seenm[idx] = true
    for k, v in pairs(idx) do
      if type(v) == "function" then fns[#fns + 1] = {"method " .. k, v, self = true} end
    end
  end
end
table.sort(fns, function(a, b) return a[1] < b[1] end)

local INTS = {0, 1, -1, 2, 3, 7, 12, 20, 47, 48, 255, 256, 4095, 4096, 65535, 65536,
              0xffffffff, 0x100000000, 1 << 36, 0x7ffe00000000, 0x800000000000,
              math.maxinteger, math.mininteger, 0x3f8, 0x80, 0x20, 0x100000000000}
local FLOATS = {0.5, -0.0, 1e300, -1e300, 0/0, math.huge, -math.huge, 2^63, 3.0}
local STRS = {"", "x", "rw", "rwx", "flush", "readonly", "task", "thread", "write",
              "stack", "task_child.lua", "no/such.lua", ("y"):rep(5000), "\0\1\2"}

local function value(depth)
  local k = R(1, 12)
  if k == 1 then return nil
  elseif k == 2 then return R(2) == 1
  elseif k <= 5 then return INTS[R(#INTS)] + (R(4) == 1 and R(-3, 3) or 0)
  elseif k == 6 then return FLOATS[R(#FLOATS)]
  elseif k == 7 then return R(math.mininteger, math.maxinteger)
  elseif k == 8 then return STRS[R(#STRS)]
  elseif k <= 10 then return objs[R(#objs)]
  elseif k == 11 and depth < 2 then
    local t = {}
    local keys = {"script", "args", "memcap", "prio", "mcp", "pager", "chief", "name", "io",
                  "code", "stack", "timeout", "send", "receive", "pagefault", "window"}
    for _ = 1, R(0, 5) do t[keys[R(#keys)]] = value(depth + 1) end
    for i = 1, R(0, 3) do t[i] = value(depth + 1) end
    return t
  else return print end
end

local SHORT = {timeout = 1, pagefault = 1}
local me = l4.self()
local function args_for(f)
  local n, a = R(0, 5), {}
  for i = 1, n do a[i] = value(0) end
  local name = f[1]
  if name == "l4.send" or name == "l4.call" or name == "l4.reply_wait" or name == "l4.reply" then
    n = math.max(n, 2)
    a[2] = SHORT
  elseif name == "l4.receive" then
    n = 2; a[2] = R(2) == 1 and SHORT or R(0, 2)
  elseif name == "l4.pager_loop" then
    n = 2; a[2] = SHORT
  elseif name == "l4.sleep" or name == "l4.task.wait" or name == "l4.irq.wait" then
    n = 2; a[2] = R(0, 2)
    if name == "l4.sleep" then a[1] = R(0, 2) end
  elseif name == "l4.task._probe" then
    n = 0
  elseif name == "l4.thread.kill" and tostring(a[1]) == tostring(me) then
    a[1] = nil
  elseif name == "l4.task.spawn" and type(a[1]) == "table" then
    a[1].script = R(2) == 1 and "fuzz_l4_child.lua" or a[1].script
  end
  if f.self then
    table.insert(a, 1, objs[R(#objs)]); n = n + 1
  end
  return a, n
end

local ok, err, values, count = 0, 0, 0, 0
local per = {}
for i = 1, calls do
  local f = fns[R(#fns)]
  local a, n = args_for(f)
  if VERBOSE then io.stderr:write(i, " ", f[1], "\n") end
  local st, r1, r2 = pcall(f[2], table.unpack(a, 1, n))
  count = count + 1
  if not st then err = err + 1
  elseif r1 == nil and type(r2) == "string" then values = values + 1
  else ok = ok + 1 end
  per[f[1]] = (per[f[1]] or 0) + 1
  if i % 500 == 0 then collectgarbage() end
end
local nf = 0
for _ in pairs(per) do nf = nf + 1 end
print(("fuzz_l4: seed %d, %d calls of %d functions: %d returned, %d error returns, %d Lua errors")
  :format(seed, count, nf, ok, values, err))
os.exit(0)
