-- Smoke test of Lua on L4ua: each case exercises newlib or the root
-- task's runtime (runtime/lua/), not just the Lua VM. A module returning
-- the cases in order, {name, function}; init.lua runs them. The last one
-- takes all of sigma0's memory.

local function eq(got, want, what)
  if got ~= want or math.type(got) ~= math.type(want) then
    error(("%s: got %s (%s), want %s (%s)"):format(what or "value",
      tostring(got), math.type(got) or type(got),
      tostring(want), math.type(want) or type(want)), 2)
  end
end

-- An expected failure: nil, a message containing `text`, errno `code`.
local function fails(text, code, ok, msg, errno)
  eq(ok, nil, "result")
  assert(type(msg) == "string" and msg:find(text, 1, true),
         ("message %q lacks %q"):format(tostring(msg), text))
  eq(errno, code, "errno")
end

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

case("arithmetic", function()
  eq(7 // 2, 3); eq(-7 // 2, -4); eq(7 % -3, -2); eq(7 / 2, 3.5)
  eq(2^53 + 1, 2^53, "doubles")
  eq(math.tointeger(2^53) + 1, 9007199254740993, "64-bit integers")
  eq(math.maxinteger + 1, math.mininteger, "wrap-around")
  eq(tostring(0.1), "0.1"); eq(tostring(1e15), "1e+15")
  eq(tonumber("  1.5e3  "), 1500.0, "strtod")
  eq(math.abs(math.sin(math.pi / 6) - 0.5) < 1e-15, true, "libm sin")
  eq(math.sqrt(2) ^ 2 - 2 < 1e-15, true, "libm sqrt")
  eq(1e308 * 10, math.huge, "overflow to inf")
end)

case("string.format", function()
  eq(string.format("%q", 0.1), "0x1.999999999999ap-4", "%q of 0.1 (C99 %a)")
  eq(string.format("%g", 1e300 * 10), "1e+301", "%g of 1e301")
  eq(string.format("%g %g", 1e308 * 10, -1e308 * 10), "inf -inf", "%g of inf")
  eq(string.format("%.14g", 2^63), "9.2233720368548e+18")
  eq(string.format("%5.2f|%d|%04x", math.pi, -42, 255), " 3.14|-42|00ff")
  eq(string.format("%d", math.mininteger), "-9223372036854775808", "long long")
  eq(string.format("%.3e", 12345.678), "1.235e+04")
end)

case("table.sort", function()
  math.randomseed(42)
  local t = {}
  for i = 1, 2000 do t[i] = math.random(-1000, 1000) end
  table.sort(t)
  for i = 2, #t do assert(t[i - 1] <= t[i], "not sorted at " .. i) end
  table.sort(t, function(a, b) return a > b end)
  for i = 2, #t do assert(t[i - 1] >= t[i], "not sorted descending at " .. i) end
  eq(table.concat({1, 2, 3}, ","), "1,2,3")
end)

case("coroutines", function()
  local gen = coroutine.wrap(function(n)
    for i = 1, n do coroutine.yield(i * i) end
    return "done"
  end)
  eq(gen(3), 1); eq(gen(), 4); eq(gen(), 9); eq(gen(), "done")
  local co = coroutine.create(function(a)
    local b = coroutine.yield(a + 1)
    local ok, c = pcall(coroutine.yield, b * 2)   -- yield across pcall
    assert(ok)
    error({code = c})
  end)
  local ok, v = coroutine.resume(co, 1)
  eq(ok, true); eq(v, 2)
  ok, v = coroutine.resume(co, 5)
  eq(v, 10)
  ok, v = coroutine.resume(co, 7)
  eq(ok, false); eq(v.code, 7, "error value out of a coroutine")
  eq(coroutine.status(co), "dead")
  -- deep recursion in a coroutine: Lua's stack, not the C stack
  local deep = coroutine.wrap(function()
    local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end
    return f(100000)
  end)
  eq(deep(), 100000)
end)

case("pcall/error", function()
  local ok, e = pcall(error, {code = 42})
  eq(ok, false); eq(e.code, 42)
  ok, e = pcall(function() local x = nil; return x.y end)
  assert(not ok and e:find("attempt to index a nil value"), e)
  ok, e = pcall(function() error("here") end)
  assert(e:match("smoke%.lua:%d+: here$"), e)
  local tb
  ok = xpcall(function() error("deep") end,
              function(m) tb = debug.traceback(m, 2); return m end)
  eq(ok, false)
  assert(tb:find("stack traceback:", 1, true), tb)
  ok, e = pcall(string.rep)
  assert(not ok and e:find("bad argument #1 to 'string.rep'", 1, true), e)
  -- C stack: a parser recursion that Lua itself must stop cleanly
  ok, e = load(("x = " .. ("("):rep(300) .. "1" .. (")"):rep(300)))
  assert(not ok and e:find("overflow", 1, true), e)
end)

case("c_stack_depth", function()
  -- the deepest C stack Lua allows: LPeg's match (a ~10 KiB frame) nested
  -- through Cmt up to Lua's limit of C calls; it must end in Lua's error,
  -- not in a fault below the stack (runtime/lua/rt.h, RT_STACK_LOG2)
  local lpeg, depth, p = require "lpeg", 0, nil
  p = lpeg.Cmt(lpeg.P(1), function(s, i)
    depth = depth + 1
    return lpeg.match(p, s, i) ~= nil
  end)
  local ok, e = pcall(lpeg.match, p, string.rep("x", 1000))
  eq(ok, false)
  assert(tostring(e):find("C stack overflow", 1, true), tostring(e))
  assert(depth > 150, "only " .. depth .. " levels")
  local function nest(s) return (s:gsub(".", nest)) end
  ok, e = pcall(nest, "abc")
  assert(not ok and tostring(e):find("C stack overflow", 1, true), tostring(e))
end)

case("os.time", function()
  local t = os.time()
  eq(math.type(t), "integer")
  assert(t > 1.7e9 and t < 4.1e9, "implausible time " .. t .. " (no RTC?)")
  local d = os.date("!*t", t)
  assert(d.year >= 2023, "year " .. d.year)
  eq(os.time({year = 2000, month = 1, day = 1, hour = 0}), 946684800, "mktime")
  eq(os.date("!%Y-%m-%d", 1.7e9 // 1), "2023-11-14")
end)

case("os.clock", function()
  local c0, t0 = os.clock(), os.time()
  eq(math.type(c0), "float")
  assert(c0 >= 0, "negative clock " .. c0)
  local c, x = c0, 0
  repeat   -- spin until the CPU clock ticks (1 ms); the wall clock bounds it
    for i = 1, 1e4 do x = x + i end
    c = os.clock()
  until c > c0 or os.time() > t0 + 3
  assert(c > c0, "os.clock did not advance in 3 s")
  assert(c - c0 < 3.5, "os.clock advanced too far: " .. (c - c0))
end)

case("io.write", function()
  local f = io.write("ok ", "io.write", "\n")   -- this case's ok line
  eq(f, io.stdout, "io.write returns io.stdout")
  return "printed"
end)

case("stdin_eof", function()
  eq(io.read("l"), nil, "no console input yet")
end)

case("archive_files", function()
  local want = "Hello from the scripts archive.\nsecond line\n"
  local f = assert(io.open("data/hello.txt"))
  eq(f:read("l"), "Hello from the scripts archive.")
  eq(f:read("a"), "second line\n")
  eq(f:read("l"), nil, "EOF")
  eq(f:seek("set", 6), 6); eq(f:read(4), "from", "seek")
  eq(f:seek("end"), #want)
  f:close()
  f = assert(io.open("/data/hello.txt", "rb"))      -- "/" is the archive's root
  eq(f:read("a"), want); f:close()
  local lines = {}
  for l in io.lines("./data/hello.txt") do lines[#lines + 1] = l end
  eq(table.concat(lines, "|"), "Hello from the scripts archive.|second line")
  fails("No such file or directory", 2, io.open("data/nothere.txt"))
  local chunk = assert(loadfile("testpkg/init.lua"))   -- luaL_loadfile
  eq(chunk("x").answer, 42)
end)

case("archive_read_only", function()
  fails("Read-only file system", 30, io.open("data/hello.txt", "w"))
  fails("Read-only file system", 30, io.open("new.txt", "a"))
  fails("Read-only file system", 30, io.open("data/hello.txt", "r+"))
  -- without a file service (tests/lua/files_test.lua has one)
  local ok, msg = os.remove("data/hello.txt")
  eq(ok, nil); assert(msg:find("Read-only file system", 1, true), msg)
  ok, msg = os.rename("data/hello.txt", "x")
  eq(ok, nil); assert(msg:find("Read-only file system", 1, true), msg)
end)

case("require", function()
  local p = require "testpkg"           -- ?/init.lua
  eq(p.answer, 42); eq(p.name, "testpkg")
  eq(package.searchpath("smoke", package.path), "smoke.lua")
  eq(package.loaded.lpeg, require "lpeg", "lpeg preloaded")
  local re = require "re"               -- LPeg's re.lua, from the archive
  eq(re.match("(a(b)c)", "B <- '(' ([^()] / B)* ')'"), 8, "re grammar")
  local ok, e = pcall(require, "no.such.module")
  assert(not ok and e:find("no file 'no/such/module.lua'", 1, true), e)
end)

case("lpeg", function()
  local lpeg = require "lpeg"
  local digit = lpeg.R "09"
  local number = lpeg.C(lpeg.P "-" ^ -1 * digit ^ 1 * ("." * digit ^ 1) ^ -1) / tonumber
  local t = lpeg.Ct((number + 1) ^ 0):match("a 12 b -3.5 c 1000, x-y 7")
  eq(table.concat(t, " "), "12 -3.5 1000 7")
end)

case("memory", function()
  -- churn: the collector frees and malloc reuses what sbrk got
  collectgarbage()
  local base = collectgarbage("count")
  for round = 1, 10 do
    local t, kb = {}, string.rep(string.char(64 + round), 1000)
    for i = 1, 4000 do t[i] = kb .. i end
    eq(#t[4000], 1004)
    t = nil
    collectgarbage()
  end
  assert(collectgarbage("count") - base < 1024, "memory not reclaimed")
  local big = string.rep("x", 32 << 20)          -- one 32 MiB block
  eq(#big, 32 << 20)
  big = nil
  collectgarbage()
end)

-- Last: all of sigma0's RAM goes to the heap, and the request still fails
-- cleanly; Lua goes on in what it has.
case("out_of_memory", function()
  local ok, e = pcall(string.rep, "x", 1 << 30)  -- 1 GiB > the guest's RAM
  eq(ok, false)
  assert(tostring(e):find("not enough memory", 1, true), tostring(e))
  local t = {}
  for i = 1, 1000 do t[i] = ("y"):rep(100) .. i end
  eq(#t, 1000)
end)

return cases
