-- Smoke test of newlib + Lua 5.4 + LPeg as built for L4ua, run on the host
-- by build/lua-host/lua:  lua smoke.lua <writable dir>
-- One "ok <name>" / "FAIL <name>: <msg>" line per case, then a summary
-- line; exit status 1 if any case failed. Each case exercises something
-- that depends on newlib or on our syscall stubs, not just on the Lua VM.

local tmpdir = assert(arg[1], "usage: smoke.lua <writable dir>")
local passed, failed = 0, 0

local function case(name, fn)
  local ok, err = pcall(fn)
  if ok then
    passed = passed + 1
    if err ~= "printed" then print("ok " .. name) end
  else
    failed = failed + 1
    print(("FAIL %s: %s"):format(name, tostring(err)))
  end
end

local function eq(got, want, what)
  if got ~= want or math.type(got) ~= math.type(want) then
    error(("%s: got %s (%s), want %s (%s)"):format(what or "value",
      tostring(got), math.type(got) or type(got),
      tostring(want), math.type(want) or type(want)), 2)
  end
end

case("arithmetic", function()
  eq(7 // 2, 3, "7//2")
  eq(7 / 2, 3.5, "7/2")
  eq(-7 // 2, -4, "floor division rounds down")
  eq(7 % -3, -2, "modulo takes divisor's sign")
  eq(7.0 // 2, 3.0, "float floor division stays float")
  eq(math.type(1), "integer")
  eq(math.type(1.0), "float")
  eq(2^53, 9007199254740992.0, "2^53")
  eq(2^53 + 1, 2^53, "2^53+1 rounds in a double")
  eq(math.tointeger(2^53) + 1, 9007199254740993, "integers are 64-bit")
  eq(math.maxinteger + 1, math.mininteger, "integer wrap-around")
  eq(1 == 1.0, true, "1 == 1.0")
  eq("10" + 1, 11, "string coercion")
  eq(tostring(3.0), "3.0")
  eq(tostring(1e15), "1e+15")
  eq(tostring(0.1), "0.1")
  eq(tonumber("0x10"), 16)
  eq(tonumber("  1.5e3  "), 1500.0, "strtod")
  eq(math.floor(-0.5), -1)
  eq(math.fmod(-7, 2), -1)
  eq(math.abs(math.sqrt(2) ^ 2 - 2) < 1e-15, true, "sqrt")
  eq(math.abs(math.sin(math.pi / 6) - 0.5) < 1e-15, true, "sin")
  eq(math.exp(math.log(10)) - 10 < 1e-13, true, "exp/log")
  eq(1e308 * 10, math.huge, "overflow to inf")
  local nan = 0 / 0
  eq(nan ~= nan, true, "nan")
end)

case("string.format", function()
  eq(string.format("%q", 0.1), "0x1.999999999999ap-4", "%q of 0.1 (C99 %a)")
  eq(string.format("%5.2f", math.pi), " 3.14", "%5.2f")
  eq(string.format("%d|%-4d|%04x", -42, 7, 255), "-42|7   |00ff")
  eq(string.format("%g %g", 1e20, 0.5), "1e+20 0.5")
  eq(string.format("%.3e", 12345.678), "1.235e+04")
  eq(string.format("%s=%q", "k", 'a"b\n'), 'k="a\\"b\\\n"')
  eq(string.format("%d", math.mininteger), "-9223372036854775808", "long long")
  eq(string.format("%.14g", 2^63), "9.2233720368548e+18")
end)

case("string patterns", function()
  eq(string.rep("ab", 3, ","), "ab,ab,ab")
  local s, n = string.gsub("hello world", "o", "0")
  eq(s, "hell0 w0rld"); eq(n, 2, "gsub count")
  eq((string.gsub("a=1, b=2", "(%w+)=(%w+)", "%2=%1")), "1=a, 2=b")
  eq((string.gsub("abc", "%w", function(c) return c:upper() .. "." end)),
     "A.B.C.")
  local i, j = string.find("abc123def", "%d+")
  eq(i, 4); eq(j, 6)
  eq(string.find("a.b", ".", 1, true), 2, "plain find")
  local k, v = string.match("  key = value ", "(%w+)%s*=%s*(%w+)")
  eq(k, "key"); eq(v, "value")
  eq(string.match("f(a(b)c) x", "%b()"), "(a(b)c)", "%b")
  eq(string.match("THE (quick) fox", "%f[%a]%a+", 5), "quick", "%f")
  eq(("x"):rep(3):upper():lower(), "xxx")
  local words = {}
  for w in string.gmatch("one two  three", "%a+") do words[#words + 1] = w end
  eq(table.concat(words, "+"), "one+two+three")
end)

case("table.sort", function()
  math.randomseed(42)
  local t = {}
  for i = 1, 1000 do t[i] = math.random() * 1000 - 500 end
  table.sort(t)
  for i = 2, #t do
    if t[i - 1] > t[i] then error("not sorted at " .. i) end
  end
  table.sort(t, function(a, b) return a > b end)
  for i = 2, #t do
    if t[i - 1] < t[i] then error("not sorted descending at " .. i) end
  end
  eq(#t, 1000)
  eq(table.concat({1, 2, 3}, ","), "1,2,3")
  eq(select("#", table.unpack({1, nil, 3}, 1, 3)), 3)
end)

case("coroutines", function()
  local gen = coroutine.wrap(function(n)
    for i = 1, n do coroutine.yield(i * i) end
    return "done"
  end)
  eq(gen(3), 1); eq(gen(), 4); eq(gen(), 9); eq(gen(), "done")
  local co = coroutine.create(function(a)
    local b = coroutine.yield(a + 1)
    -- yield across pcall is allowed in 5.4
    local ok, c = pcall(coroutine.yield, b * 2)
    assert(ok)
    error({code = c})
  end)
  local ok, v = coroutine.resume(co, 1)
  eq(ok, true); eq(v, 2)
  ok, v = coroutine.resume(co, 5)
  eq(v, 10); eq(coroutine.status(co), "suspended")
  ok, v = coroutine.resume(co, 7)
  eq(ok, false); eq(v.code, 7, "error value out of a coroutine")
  eq(coroutine.status(co), "dead")
  eq(coroutine.isyieldable(), false)
end)

case("pcall/error", function()
  local ok, e = pcall(error, {code = 42})
  eq(ok, false); eq(type(e), "table"); eq(e.code, 42)
  ok, e = pcall(function() local x = nil; return x.y end)
  eq(ok, false)
  assert(e:find("attempt to index a nil value"), e)
  ok, e = pcall(error, "msg", 0)
  eq(e, "msg", "level 0 adds no position")
  ok, e = pcall(function() error("here") end)
  assert(e:match("smoke%.lua:%d+: here$"), e)
  local tb
  ok = xpcall(function() error("deep") end,
              function(m) tb = debug.traceback(m, 2); return m end)
  eq(ok, false)
  assert(tb:find("stack traceback:", 1, true), tb)
  local obj = setmetatable({}, {__tostring = function() return "E!" end})
  ok, e = pcall(error, obj)
  eq(tostring(e), "E!")
  -- errors raised from C (luaL_argerror) carry the function name
  ok, e = pcall(string.rep)
  assert(not ok and e:find("bad argument #1 to 'string.rep'", 1, true), e)
end)

case("utf8", function()
  local s = utf8.char(72, 228, 8364, 128512)
  eq(s, "H\u{E4}\u{20AC}\u{1F600}")
  eq(#s, 1 + 2 + 3 + 4, "byte length")
  eq(utf8.len(s), 4)
  eq(utf8.codepoint(s, utf8.offset(s, 3)), 8364)
  local cps = {}
  for _, c in utf8.codes(s) do cps[#cps + 1] = c end
  eq(table.concat(cps, ","), "72,228,8364,128512")
  local n, bad = utf8.len("ab\xffcd")
  eq(n, nil); eq(bad, 3, "position of invalid byte")
  assert(("\u{7FF}"):match(utf8.charpattern))
end)

case("os.time/os.date", function()
  local t = os.time()
  eq(math.type(t), "integer")
  assert(t > 1.7e9 and t < 4.1e9, "implausible time " .. t)
  eq(os.date("!%Y-%m-%d %H:%M:%S", 0), "1970-01-01 00:00:00")
  eq(os.date("!%Y-%m-%d", 1.7e9 // 1), "2023-11-14")
  local d = os.date("!*t", t)
  assert(d.year >= 2023, "year " .. d.year)
  -- no TZ in the environment: local time is UTC
  eq(os.time({year = 2000, month = 1, day = 1, hour = 0}), 946684800, "mktime")
  eq(os.difftime(t + 60, t), 60.0)
end)

case("os.clock", function()
  local c0 = os.clock()
  eq(math.type(c0), "float")
  assert(c0 >= 0, "negative clock " .. c0)
  -- spin until the CPU clock visibly ticks (10 ms granularity on Linux);
  -- the wall clock bounds the wait if it never does
  local t0, c, x = os.time(), c0, 0
  repeat
    for i = 1, 1e5 do x = x + i end
    c = os.clock()
  until c > c0 or os.time() > t0 + 3
  assert(c > c0, "os.clock did not advance in 3 s")
  assert(c - c0 < 3.5, "os.clock advanced too far: " .. (c - c0))
end)

case("io.write", function()
  -- the ok line of this case is written by the function under test
  local f = io.write("ok ", "io.write", "\n")
  eq(f, io.stdout, "io.write returns io.stdout")
  eq(io.type(io.stdout), "file")
  return "printed"
end)

case("io files", function()
  local path = tmpdir .. "/smoke-" .. os.time() .. ".txt"
  local f = assert(io.open(path, "w"))
  assert(f:write("line1\n", 42, "\n", 3.5, "\n", string.rep("z", 10000)))
  assert(f:close())
  f = assert(io.open(path, "r"))
  eq(f:read("l"), "line1")
  eq(f:read("n"), 42)
  eq(f:read("n"), 3.5)
  f:read("l")
  eq(#f:read("a"), 10000, "rest of file")
  eq(f:read("l"), nil, "EOF")
  eq(f:seek("set", 2), 2); eq(f:read(3), "ne1", "seek")
  eq(f:seek("end"), 6 + 3 + 4 + 10000)
  f:close()
  -- "w" must truncate (O_TRUNC), "a" must append (O_APPEND)
  f = assert(io.open(path, "w")); f:write("short\n"); f:close()
  f = assert(io.open(path, "a")); f:write("more\n"); f:close()
  local lines = {}
  for l in io.lines(path) do lines[#lines + 1] = l end
  eq(table.concat(lines, "|"), "short|more")
  -- all byte values survive a binary round trip
  local bytes = {}
  for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
  bytes = table.concat(bytes):rep(4)
  f = assert(io.open(path, "wb")); f:write(bytes); f:close()
  f = assert(io.open(path, "rb")); eq(f:read("a"), bytes, "binary"); f:close()
  eq(os.remove(path), true)
  local nf, msg, code = io.open(path, "r")
  eq(nf, nil)
  assert(msg:find("No such file or directory", 1, true), msg)
  eq(code, 2, "errno ENOENT")
  -- O_CREAT in a missing directory fails cleanly too
  nf, msg = io.open(tmpdir .. "/no/such/dir/x", "w")
  eq(nf, nil); assert(msg:find("No such file", 1, true), msg)
end)

case("string.pack", function()
  eq(string.pack("<i4", 1), "\1\0\0\0")
  eq(string.pack(">I2", 258), "\1\2")
  eq(string.unpack("<d", string.pack("<d", math.pi)), math.pi)
  eq(string.packsize("i4i8"), 12, "no alignment by default")
  eq(string.packsize("!8i4i8"), 16)
  local a, b, c, nxt = string.unpack("z s1 j", string.pack("z s1 j", "hi", "there", -5))
  eq(a, "hi"); eq(b, "there"); eq(c, -5); eq(nxt, 3 + 6 + 8 + 1)
  eq(select(2, pcall(string.pack, "i1", 300)):find("overflow") ~= nil, true)
end)

case("memory", function()
  -- 30 rounds of 10 MB exceed the 256 MiB sbrk arena unless the collector
  -- really frees and malloc reuses the memory
  collectgarbage()
  local base = collectgarbage("count")
  for round = 1, 30 do
    local t, kb = {}, string.rep(string.char(64 + round), 1000)
    for i = 1, 10000 do t[i] = kb .. i end -- 10000 distinct ~1 KB strings
    if round == 1 then
      local grown = collectgarbage("count") - base
      assert(grown > 10000, "only grew by " .. grown .. " KB")
    end
    eq(#t[10000], 1005)
    t = nil
    collectgarbage()
  end
  local left = collectgarbage("count") - base
  assert(left < 1024, "still holding " .. left .. " KB")
  local big = string.rep(string.rep("x", 1024), 64 << 10) -- one 64 MB block
  eq(#big, 64 << 20)
  big = nil
  collectgarbage()
end)

case("lpeg numbers", function()
  local lpeg = require "lpeg"
  eq(package.loaded.lpeg, lpeg, "preloaded")
  local digit = lpeg.R "09"
  local number = lpeg.C(lpeg.P "-" ^ -1 * digit ^ 1 * ("." * digit ^ 1) ^ -1)
                 / tonumber
  local numbers = lpeg.Ct((number + 1) ^ 0)
  local t = numbers:match("a 12 b -3.5 c 1000, x-y 7")
  eq(table.concat(t, " "), "12 -3.5 1000 7")
  eq(math.type(t[1]), "integer")
  eq(lpeg.match(lpeg.P "abc", "abd"), nil)
  eq(lpeg.match(lpeg.S "xyz" ^ 1 * -1, "zyx"), 4)
end)

case("re grammar", function()
  local found = package.searchpath("re", package.path)
  assert(found and found:find("re%.lua$"), "re.lua not on package.path")
  local re = require "re"
  -- a recursive grammar that evaluates + - * / with parentheses
  local calc = re.compile([[
    exp    <- s sum !.
    sum    <- {| prod ({[+-]} s prod)* |} -> fold
    prod   <- {| atom ({[*/]} s atom)* |} -> fold
    atom   <- num / '(' s sum ')' s
    num    <- {'-'? [0-9]+} -> tonumber s
    s      <- %s*
  ]], {
    tonumber = tonumber,
    fold = function(t)
      local v = t[1]
      for i = 2, #t, 2 do
        local op, x = t[i], t[i + 1]
        if op == "+" then v = v + x elseif op == "-" then v = v - x
        elseif op == "*" then v = v * x else v = v / x end
      end
      return v
    end,
  })
  eq(calc:match("1 + 2 * (3 - -4) / 7"), 3.0)
  eq(calc:match("2 * (3 + 4)"), 14)
  eq(calc:match("2 * (3 + "), nil, "syntax error")
  eq(re.find("the number 42 is", "[0-9]+"), 12)
  eq(re.gsub("hello world", "[aeiou]", "<%0>"), "h<e>ll<o> w<o>rld")
  eq(re.match("(a(b)c)", "B <- '(' ([^()] / B)* ')'"), 8, "balanced")
end)

print(("lua-host: %d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
