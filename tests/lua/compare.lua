-- Lua behaviour that must match the host's Lua 5.4 for the same inputs.
-- tests/run.py runs this file twice: on the host with `lua5.4` (TZ=UTC)
-- and in the guest (tests/lua/init.lua, case "compare_with_host"); it
-- compares the lines starting with "cmp| " one by one and names the first
-- that differs. Only deterministic things: no clocks, no addresses, and
-- os.date only in its UTC ("!") forms (the guest has no time zone).
-- One line: the values joined by tabs, bytes outside printable ASCII as
-- \xNN (the serial log is text). A NaN prints as "nan": its sign bit is
-- not specified (0/0 is -nan on x86) and printf libraries show it or not.
local function out(...)
  local t = table.pack(...)
  for i = 1, t.n do
    local v = t[i]
    t[i] = (v ~= v) and "nan" or tostring(v)
  end
  local line = table.concat(t, "\t"):gsub("[^\t\32-\126]", function(c)
    return ("\\x%02x"):format(c:byte())
  end)
  print("cmp| " .. line)
end
local function try(f, ...)
  local r = table.pack(pcall(f, ...))
  if not r[1] then return "error: " .. tostring(r[2]):gsub("^[^:]*:%d+: ", "") end
  return table.unpack(r, 2, r.n)
end

out("version", _VERSION, math.maxinteger, math.mininteger, math.pi, math.huge)

-- Floats: tostring, %g, %.17g, %a and friends.
local values = {
  0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1/3, 2/3, 100.0, 1e15, 1e16, 1e17, 1e100,
  1e300, 1e-300, 5e-324, -1e-310, 2.2250738585072014e-308, 1.7976931348623157e308,
  123456789.125, -987654.321, 3.14159265358979, 2^53, 2^53 + 1, 2^63, -2^63,
  1e21, 1e-5, 1e-4, 123.456e-10, 0.30000000000000004, 255 / 256,
  math.huge, -math.huge,
}
-- %a (and %q, which uses it) of a subnormal: glibc writes 0x0.0000000000001p-1022,
-- newlib 0x1p-1074. C99 leaves the leading digit of a subnormal unspecified,
-- so both are right; compare that the text reads back as the same value.
local function hex(fmt, v)
  if v ~= 0 and math.abs(v) < 2.2250738585072014e-308 then
    return ("subnormal, reads back: %s"):format(load("return " .. fmt:format(v))() == v)
  end
  return fmt:format(v)
end
for i, v in ipairs(values) do
  out("float", i, v, ("%g"):format(v), ("%.17g"):format(v), hex("%a", v),
      ("%.3f"):format(v), ("%e"):format(v), ("%.0f"):format(v ~= v and 0 or v),
      ("%10.4g|%-12.3e|%+g"):format(v, v, v), math.type(v), hex("%q", v))
end
out("nan", tostring(0/0):gsub("-", ""), ("%g"):format(0/0):gsub("-", ""), 0/0 ~= 0/0)
for _, f in ipairs{"%5.2s|", "%-8d|", "%08.3f", "%x", "%X", "%o", "%c", "%i", "%u"} do
  out("fmt", f, try(string.format, f, f:find("s") and "abc" or 77))
end
out("fmtq", ("%q"):format("a\0b\n\"\\\200"), ("%q"):format(math.mininteger), ("%q"):format(1/3))
for _, s in ipairs{"10", "0x10", "1e2", " 12 ", "0x1p4", "1.", ".5", "5e", "inf", "0x", "1e500", "9223372036854775808"} do
  out("tonumber", s, tonumber(s), math.type(tonumber(s)))
end
out("tonumber-base", tonumber("ff", 16), tonumber("zz", 36), tonumber("777", 8), tonumber("8", 8))
out("tostring-int", 2^31, 2^31 | 0, 1e15 // 1, 7 // 2, 3 | 0, math.tointeger(3.0), math.tointeger(3.5))

-- Integer and float division and modulo, the edge cases.
local nums = {7, -7, 3, -3, 0, 1, math.maxinteger, math.mininteger, 7.5, -7.5, 0.0, -0.0, 2.0}
for _, a in ipairs(nums) do
  for _, b in ipairs(nums) do
    out("div", a, b, try(function() return a // b end), try(function() return a % b end),
        a / b, try(function() return math.fmod(a, b) end))
  end
end
out("shift", 1 << 63, 1 << 64, -1 >> 1, -1 >> 63, 1 << -1, 5 & 3, 5 | 3, 5 ~ 3, ~0)
out("overflow", math.maxinteger + 1 == math.mininteger, math.mininteger // -1, math.mininteger % -1)
out("compare", 1 == 1.0, math.maxinteger + 0.0 == math.maxinteger, 2^53 == 2^53 + 1,
    math.ult(1, -1), -0.0 == 0.0, 1 < 1.5, math.maxinteger < math.huge)

-- math functions.
for _, x in ipairs{0, 0.5, 1, 2, 10, -1.5, 1e-10, 100} do
  out("math", x, math.floor(x), math.ceil(x), math.abs(x), math.sqrt(x), math.exp(x),
      math.log(x), math.log(x, 10), math.log(x, 2), math.sin(x), math.cos(x), math.tan(x),
      math.asin(x > 1 and 1 or x < -1 and -1 or x), math.atan(x), math.atan(x, -2),
      math.modf(x), math.type(math.floor(x)))
end
out("math2", math.max(3, 7.5, -1), math.min(3, 7.5, -1), math.fmod(-7, 3), math.fmod(7, -3),
    math.floor(-0.0), math.ceil(-0.5), math.abs(math.mininteger), 2^0.5, 10^-2, (-8)^(1/3))
math.randomseed(42)
local r = {}
for i = 1, 5 do r[i] = math.random(1, 1000) end
out("random", table.concat(r, ","), math.random(0) ~= nil)
math.randomseed(7, 9)
out("random2", math.random(), math.random(10), math.random(-5, 5))

-- string.pack / string.unpack.
local packs = {
  {"<i4", -2}, {">i4", 258}, {"<I2", 65535}, {"<i8", math.mininteger}, {"<d", 1/3},
  {"<f", 0.1}, {">d", -0.0}, {"<s1", "hello"}, {"<z", "zero"}, {"<j", 123456789012},
  {"<!4 i1 i4", 1, 2}, {"<i3", -1}, {">I5", 2^39 | 0}, {"<c5", "abc\0\0"}, {"=b B h H", -1, 255, -2, 65534},
}
for _, p in ipairs(packs) do
  local ok, s = pcall(string.pack, table.unpack(p))
  if ok then
    out("pack", p[1], (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)),
        string.packsize(p[1]:find("[sz]") and "<i4" or p[1]), string.unpack(p[1], s))
  else
    out("pack", p[1], "error", s)
  end
end
out("pack-err", try(string.pack, "<i2", 40000), try(string.unpack, "<i4", "ab"), try(string.pack, "<i17", 1))

-- os.date in UTC for fixed times, os.time for fixed dates (as UTC here).
for _, t in ipairs{0, 1, 86399, 951782400, 1000000000, 1234567890, 1700000000, 2147483647,
                   2147483648, 4102444800, -1, -86400} do
  out("date", t, os.date("!%Y-%m-%d %H:%M:%S", t), os.date("!%a %b %d %j %w %y %p %I", t),
      os.date("!%c|%x|%X|%D|%F|%T|%R|%e|%%", t))
  local d = os.date("!*t", t)
  out("date-t", t, d.year, d.month, d.day, d.hour, d.min, d.sec, d.wday, d.yday, d.isdst)
end
for _, d in ipairs{
  {year = 2000, month = 1, day = 1, hour = 0},
  {year = 2024, month = 2, day = 29, hour = 12, min = 30, sec = 15},
  {year = 1970, month = 1, day = 1, hour = 0},
  {year = 2038, month = 1, day = 19, hour = 3, min = 14, sec = 8},
  {year = 2025, month = 13, day = 1, hour = 0},             -- normalised
  {year = 2025, month = 3, day = 0, hour = 12},             -- the day before the 1st
  {year = 2025, month = 1, day = 1, hour = 0, sec = -1},
  {year = 2100, month = 12, day = 31, hour = 23, min = 59, sec = 59},
} do
  local t = os.time(d)
  out("time", d.year, d.month, d.day, t, os.date("!%Y-%m-%d %H:%M:%S", t))
end
out("time-err", try(os.time, {year = 2000}), try(os.date, "!%Ez", 0), try(os.date, "%Q", 0))
out("difftime", os.difftime(1000, 1), try(os.difftime, 5))

-- utf8.
local u = "héllo, wörld: ☃ 𝄞"
out("utf8", utf8.len(u), #u, utf8.char(72, 233, 0x2603, 0x1D11E, 0x7FFFFFFF):byte(1, -1))
local cps = {}
for p, c in utf8.codes(u) do cps[#cps + 1] = p .. ":" .. c end
out("utf8.codes", table.concat(cps, " "))
out("utf8.offset", utf8.offset(u, 3), utf8.offset(u, -1), utf8.offset(u, 0, 3), utf8.codepoint(u, 1, -1))
out("utf8.bad", utf8.len("ab\xffcd"), utf8.len("\xed\xa0\x80"), utf8.len("\xed\xa0\x80", 1, -1, true),
    try(utf8.codepoint, "\xff"), utf8.charpattern)

-- table.sort with comparators, table functions.
local words = {}
for w in ("the quick brown fox jumps over the lazy dog again and Again"):gmatch("%a+") do
  words[#words + 1] = w
end
table.sort(words)
out("sort", table.concat(words, " "))
table.sort(words, function(a, b) return a:lower() > b:lower() or (a:lower() == b:lower() and a < b) end)
out("sort-cmp", table.concat(words, " "))
local recs = {}
for i = 1, 40 do recs[i] = {k = (i * 37) % 11, i = i} end
table.sort(recs, function(a, b) if a.k ~= b.k then return a.k < b.k end return a.i > b.i end)
local ks = {}
for i, r in ipairs(recs) do ks[i] = r.k .. "/" .. r.i end
out("sort-records", table.concat(ks, " "))
local ns = {3, 1.5, -2, 10, 0, 2^40, -0.5, 7}
table.sort(ns, function(a, b) return a > b end)
out("sort-num", table.concat(ns, " "))
out("sort-err", try(table.sort, {3, "a", 1}), try(table.sort, {1, 2, 3}, function() return true end) ~= nil)
out("table", table.concat({1, 2.5, "x"}, "-", 1, 3), table.unpack({1, 2, 3}, 2), select("#", table.unpack({}, 1, 3)),
    table.concat(table.move({1, 2, 3, 4, 5}, 2, 4, 1), ","), #table.pack(nil, nil))
local tr = {1, 2, 3}
table.insert(tr, 1, 0); table.insert(tr, 9); table.remove(tr, 2)
out("table2", table.concat(tr, ","), try(table.insert, tr, 10, 1))

-- String patterns, gsub, find, match, rep, byte.
local s = "The year 2024 had 366 days; 2025 has 365. key=value, a=1, b = 2"
out("find", s:find("%d+"), s:find("(%d+) days"), s:find(".", 1, true), s:find("xyz"), s:find("", 100))
out("match", s:match("(%d+)%D+(%d+)"), s:match("^(%w+)"), s:match("(%a+)=(%w+)"), s:match("()year()"))
local pairs_ = {}
for k, v in s:gmatch("(%w+)%s*=%s*(%w+)") do pairs_[#pairs_ + 1] = k .. "->" .. v end
out("gmatch", table.concat(pairs_, ";"))
out("gsub", s:gsub("%d+", function(d) return "<" .. (tonumber(d) + 1) .. ">" end))
out("gsub2", ("hello world"):gsub("o", "0", 1), ("hello world"):gsub("(%w+)", "%1%1"),
    ("abc"):gsub("", "-"), ("hello"):gsub("l+", {ll = "LL"}), ("x = $y"):gsub("%$(%w+)", {y = 42}))
out("gsub3", ("  trim me  "):gsub("^%s*(.-)%s*$", "%1"), ("a,b,,c"):gsub(",", ";"),
    ("THE (quick) fox"):gsub("%f[%a]%a+", string.lower), ("[x]"):gsub("%[(.-)%]", "<%0|%1>"))
out("balance", ("f(a(b)c) g(d)"):match("%b()"), ("x[[y]]z"):find("%[%[(.-)%]%]"), ("aaa"):match("a-b"))
out("classes", ("a1 B2_c3\t!"):gsub("[%w_]", "."), ("ABCdef"):gsub("%u", "*"), ("x\0y"):gsub("%z", "0"))
out("pat-err", try(string.find, "x", "(%"), try(string.gsub, "x", "(", ""), try(string.rep, "x", -1))
out("rep", ("ab"):rep(3, ","), ("x"):rep(0), ("abc"):byte(1, -1), ("abc"):sub(-2), ("abc"):sub(0, 10),
    ("Hello"):upper(), ("Hello"):lower(), ("abc"):reverse(), ("%d"):format(3.0), try(string.format, "%d", 3.5))
out("concat", 1 .. 2, 1.5 .. "", -0.0 .. "", 2^63 .. "", 10 // 3 .. "", 1e100 .. "")
out("string-num", "10" + 5, "3.5" * 2, "0x10" + 0, try(function() return "abc" + 1 end), 10 == "10")
-- load reports its own errors as values: the reader's error value, the
-- parser's "C stack overflow". Run in a coroutine, where no message
-- handler applies (the host's lua5.4 and our root each run this file
-- under one of their own, which Lua would call for these errors too).
coroutine.wrap(function()
  local f, e = load(function() error("hhi") end)
  out("load-reader-error", f, type(e), (tostring(e):gsub("^[^:]*:%d+: ", "")))
  local t = {}
  f, e = load(function() error(t) end)
  out("load-reader-table", f, rawequal(e, t))
  f, e = load(string.rep("(", 500))
  out("load-deep", f, type(e), e)
  f, e = load("x = = 1", "=chunk")
  out("load-syntax", f, e)
end)()
out("done")
