-- Host tests of the REPL (shell/): a fake console (scripted input bytes,
-- captured output and edit lines) and a fake `l4` table. Run from the top
-- of the tree with the host Lua that has LPeg linked in:
--     build/lua-host/lua tests/shell/run.lua
-- Prints "ok <name>" or "FAIL <name>: why" per case, then
-- "shell: N passed, M failed"; exit status 0 when none failed.
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "tests/shell"
package.path = here .. "/../../?.lua;" .. package.path

local repl = require "shell.repl"
local edit = require "shell.edit"
local pretty = require "shell.pretty"
local help = require "shell.help"
local fake = dofile(here .. "/fake.lua")

local passed, failed = 0, 0
local function case(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    passed = passed + 1
    print("ok " .. name)
  else
    failed = failed + 1
    print("FAIL " .. name .. ": " .. tostring(err))
  end
end

local function check(cond, ...)
  if not cond then error(string.format(...), 2) end
end

local function has(s, sub, what)
  if not s:find(sub, 1, true) then
    error(("%s: %q not in:\n%s"):format(what or "output", sub, s), 2)
  end
end

local function hasnt(s, sub, what)
  if s:find(sub, 1, true) then
    error(("%s: %q should not be in:\n%s"):format(what or "output", sub, s), 2)
  end
end

-- A REPL on a fake console with the fake l4; feeds each argument as one read.
local function session(...)
  local con = fake.con()
  local env = fake.env()
  local r = repl.new(con, env)
  for i = 1, select("#", ...) do r:feed((select(i, ...))) end
  return con, env, r
end

-- The line an editor returns after these reads (the last one ends it).
local function edited(...)
  local con = fake.con()
  local ed = edit.new(con)
  local line
  for i = 1, select("#", ...) do
    ed:push((select(i, ...)))
    local ev, l = ed:next()
    if ev == "line" then line = l end
    ed:show()
  end
  return line, con, ed
end

------------------------------------------------------------------------
-- Lua at the prompt

case("first prompt", function()
  local con = session()
  check(con.line == "> " and con.col == 2, "edit line %q col %s", con.line, con.col)
end)

case("arithmetic 1+2", function()
  local con = session("1+2\r")
  has(con:screen(), "> 1+2\r\n3\r\n")
  check(con.line == "> ", "prompt after: %q", con.line)
end)

case("=expr and several results", function()
  local con = session("=10//3\r", "1, 'a', nil\r", "math.pi\r", "2^53\r")
  local s = con:screen()
  has(s, "> =10//3\r\n3\r\n")
  has(s, '1\t"a"\tnil\r\n')
  has(s, "3.1415926535898\r\n")
  has(s, "9.007199254741e+15\r\n")
end)

case("statements print nothing, globals persist", function()
  local con, env = session("x = 41\r", "x + 1\r")
  check(env.x == 41, "x = %s", tostring(env.x))
  has(con:screen(), "> x = 41\r\n> x + 1\r\n42\r\n")
end)

case("multi-line function with continuation prompts", function()
  local con, env, r = session("function f(n)\r")
  check(con.line == ">> ", "after line 1: %q", con.line)
  r:feed("  if n < 2 then return n end\r")
  check(con.line == ">> ", "after line 2: %q", con.line)
  r:feed("  return f(n-1) + f(n-2)\r")
  r:feed("end\r")
  check(con.line == "> ", "after end: %q", con.line)
  r:feed("f(20)\r")
  local s = con:screen()
  has(s, ">> end\r\n> f(20)\r\n6765\r\n")
end)

case("multi-line table constructor and string", function()
  local con = session("t = {\r1,\r2}\r#t\r", "s = [[a\rb]]\r", "s\r")
  local s = con:screen()
  has(s, "> #t\r\n2\r\n")
  has(s, '"a\\nb"\r\n')
end)

case("syntax error then recovery", function()
  local con = session("x = = 1\r", "1+1\r")
  local s = con:screen()
  has(s, "stdin:1: unexpected symbol near '='\r\n")
  has(s, "> 1+1\r\n2\r\n")
end)

case("runtime error: message, trimmed traceback, recovery", function()
  local con = session("local function g() error('boom') end g()\r", "2*3\r")
  local s = con:screen()
  has(s, "stdin:1: boom\r\nstack traceback:\r\n")
  has(s, "in main chunk")
  hasnt(s, "repl.lua")
  hasnt(s, "xpcall")
  has(s, "> 2*3\r\n6\r\n")
end)

case("load's own errors are values, as in Lua 5.4 (not the REPL's)", function()
  local con = session("load(function() error('hhi') end)\r",
                      "local f, e = load(string.rep('(', 500)); return f, type(e), e:match('C stack overflow')\r",
                      "select(2, load(function() error({}) end)) == nil\r",
                      "pcall(error, 'x')\r")
  local s = con:screen()
  has(s, 'nil\t"stdin:1: hhi"\r\n')
  has(s, 'nil\t"string"\t"C stack overflow"\r\n')
  has(s, "false\r\n")
  has(s, 'false\t"x"\r\n')
  hasnt(s, "table:")
end)

case("odd error values never end the loop", function()
  local con = session(
    "error()\r",
    "error(nil)\r",
    "error({})\r",
    "error(setmetatable({}, {__tostring = function() return 'custom error' end}))\r",
    "error(setmetatable({}, {__tostring = function() error('bad') end}))\r",
    "error(42)\r",
    "setmetatable({}, {__tostring = function() error('no') end})\r",
    "1\r")
  local s = con:screen()
  has(s, "(error object is a nil value)")
  has(s, "(error object is a table value)")
  has(s, "custom error")
  has(s, "42\r\nstack traceback")
  has(s, "__tostring failed")
  has(s, "> 1\r\n1\r\n")
end)

case("deep recursion and huge strings", function()
  local con = session("local function f() return 1 + f() end f()\r",
                      "string.rep('x', 1e12)\r", "'alive'\r")
  local s = con:screen()
  has(s, "stack overflow")
  check(s:find("stdin:1: not enough memory", 1, true) or s:find("stdin:1: resulting string too large", 1, true),
        "no memory error:\n%s", s)
  has(s, '"alive"')
  check(#s < 20000, "traceback too long: %d bytes", #s)
end)

case("interrupt of a running chunk prints 'interrupted'", function()
  -- what the console's hook does on Ctrl-C: an error saying "interrupted"
  local con = session("interrupt_after(10000) while true do end\r", "1+1\r")
  local s = con:screen()
  has(s, "\r\ninterrupted\r\n> 1+1\r\n2\r\n")
  hasnt(s, "stack traceback")
end)

case("Ctrl-C while editing drops the line and the chunk", function()
  local con, env, r = session("abc\3")
  has(con:screen(), "> abc^C\r\n")
  check(con.line == "> ", "prompt %q", con.line)
  r:feed("function g()\r")
  r:feed("  return 1\r")
  r:feed("\3")
  check(con.line == "> ", "prompt after ^C in a chunk: %q", con.line)
  r:feed("g\r")
  has(con:screen(), "> g\r\nnil\r\n")
end)

case("Ctrl-C at an empty prompt calls on_interrupt; with a line or a chunk it does not", function()
  local con, n = fake.con(), 0
  local r = repl.new(con, fake.env(), {on_interrupt = function() n = n + 1 end})
  r:feed("abc\3")
  check(n == 0, "called with text on the line")
  r:feed("function g()\r")
  r:feed("\3")
  check(n == 0, "called inside a chunk")
  r:feed("\3")
  check(n == 1, "not called at an empty prompt (%d)", n)
  check(con.line == "> ", "prompt %q", con.line)
  local r2 = repl.new(fake.con(), fake.env(), {on_interrupt = function() error("boom") end})
  r2:feed("\3")                -- an error in it does not reach the REPL
  r2:feed("1+1\r")
end)

case("Ctrl-D, Ctrl-L and junk keys do not end the loop", function()
  local con = session("\4\4\12\27[Z\27[99~\0\30", "7\r")
  has(con:screen(), "\27[H\27[2J")
  has(con:screen(), "> 7\r\n7\r\n")
end)

case("the REPL survives a person clobbering the globals", function()
  local saved = {}
  for k, v in pairs(_G) do saved[k] = v end
  local con = fake.con()
  local r = repl.new(con, _G)
  _G.l4 = fake.l4()
  local ok, err = pcall(function()
    r:feed("pcall, xpcall, type, tostring, table, math, debug, load, error, next = nil\r")
    r:feed("setmetatable, getmetatable, pairs, ipairs, select, rawget, require = nil\r")
    r:feed("1+1\r")
    r:feed("{1, {2}}\r")
    r:feed("ps\r")
    r:feed("nil + 1\r")
    r:feed("l4.ta")
    r:feed("\t")
    r:feed("\r")
  end)
  local G = saved._G
  for k in saved.pairs(G) do G[k] = nil end
  for k, v in saved.pairs(saved) do G[k] = v end
  check(ok, "feed raised: %s", tostring(err))
  local s = con:screen()
  has(s, "> 1+1\r\n2\r\n")
  has(s, "{1, {2}}\r\n")
  has(s, "  16 uart ")
  has(s, "attempt to perform arithmetic on a nil value\r\nstack traceback:\r\n\tstdin:1: in main chunk\r\n> ")
  has(s, "> l4.task\r\n{")
end)

case("repl.run survives a failing read", function()
  local con = fake.con()
  local reads = 0
  function con:read()
    reads = reads + 1
    if reads == 2 then error("console gone", 0) end
    return coroutine.yield()
  end
  local co = coroutine.create(repl.run)
  assert(coroutine.resume(co, con, fake.env()))
  assert(coroutine.resume(co, "1+1\r"))
  assert(coroutine.resume(co, "2+2\r"))
  check(coroutine.status(co) == "suspended", "run ended: %s", coroutine.status(co))
  local s = con:screen()
  has(s, "2\r\n")
  has(s, "repl: console gone")
  has(s, "4\r\n")
end)

------------------------------------------------------------------------
-- Line editing

case("editing: left, right, home, end", function()
  check(edited("abc\27[D\27[DX\r") == "aXbc", "left")
  check(edited("abc\27[D\27[D\27[CX\r") == "abXc", "right")
  check(edited("abc\27[HX\27[FY\r") == "XabcY", "ESC[H / ESC[F")
  check(edited("abc\27[1~X\27[4~Y\r") == "XabcY", "ESC[1~ / ESC[4~")
  check(edited("abc\27OHX\27OFY\r") == "XabcY", "ESC OH / ESC OF")
  check(edited("abc\1X\5Y\r") == "XabcY", "Ctrl-A / Ctrl-E")
end)

case("editing: delete, backspace, Ctrl-K/U/W", function()
  check(edited("abc\27[H\27[3~\r") == "bc", "delete")
  check(edited("abc\127\r") == "ab", "backspace 127")
  check(edited("abc\8\8\r") == "a", "backspace 8")
  check(edited("hello world\1\27[C\27[C\11\r") == "he", "Ctrl-K")
  check(edited("hello world\27[D\27[D\27[D\27[D\27[D\21\r") == "world", "Ctrl-U")
  check(edited("foo bar baz\23\r") == "foo bar ", "Ctrl-W")
  check(edited("foo bar  \23\r") == "foo ", "Ctrl-W over spaces")
  check(edited("\127\27[3~\27[D\r") == "", "at the edges")
  check(edited("a\195\169\127\r") == "a", "backspace over UTF-8")
  check(edited("abc\11\25\25\r") == "abc", "Ctrl-K of nothing")
end)

case("editing: cursor column and one edit per read", function()
  local con = session("abcdef\27[D\27[D")
  check(con.line == "> abcdef" and con.col == 6, "line %q col %d", con.line, con.col)
  check(con.edits == 2, "edits %d (one at start, one per read)", con.edits)
end)

case("split escape sequences and CR LF", function()
  check(edited("ab", "\27", "[", "D", "X\r") == "aXb", "ESC [ D split")
  check(edited("ab\27[D\27[", "3", "~\r") == "a", "ESC [ 3 ~ split")
  local con = session("1\r", "\n2\r\n", "3\n")
  local s = con:screen()
  has(s, "> 1\r\n1\r\n> 2\r\n2\r\n> 3\r\n3\r\n")
  check(not s:find("> \r\n", 1, true), "empty line from CR LF:\n%s", s)
end)

case("history: recall, skip duplicates, down back to the line", function()
  local con, env, r = session("1+1\r", "5\r", "5\r", "6\r")
  r:feed("\27[A\27[A")
  check(con.line == "> 5", "two ups: %q", con.line)
  r:feed("\27[A")
  check(con.line == "> 1+1", "three ups: %q", con.line)
  r:feed("\27[A")
  check(con.line == "> 1+1", "at the oldest: %q", con.line)
  r:feed("\27[B\27[B\27[B")
  check(con.line == "> ", "down to the new line: %q", con.line)
  r:feed("wip\27[A\27[B")
  check(con.line == "> wip", "the line being typed comes back: %q", con.line)
  r:feed("\21\27[A\27[A\27[A\r")
  local s = con:screen()
  local _, n = s:gsub("> 1%+1\r\n2\r\n", "")
  check(n == 2, "1+1 ran %d times", n)
  local ed = edit.new(fake.con(), { history_max = 3 })
  for i = 1, 10 do ed:push(i .. "\r"); ed:next() end
  check(#ed.hist == 3 and ed.hist[1] == "8", "kept %d, oldest %s", #ed.hist, ed.hist[1])
end)

case("history kept by the console: a new REPL starts with it", function()
  -- a console that keeps the history (the console server does: a REPL
  -- started again on it has the lines of the last one)
  local kept = {"1+1", "x = 6"}
  local con = fake.con()
  function con:history() return {table.unpack(kept)} end
  function con:remember(line) kept[#kept + 1] = line end
  local env = fake.env()
  local r = repl.new(con, env)
  r:feed("\27[A")
  check(con.line == "> x = 6", "one up: %q", con.line)
  r:feed("\27[A\r")
  has(con:screen(), "\r\n2\r\n")
  check(#kept == 3 and kept[3] == "1+1", "the line run again was kept: %s", table.concat(kept, "|"))
  r:feed("  \r")
  check(#kept == 3, "a blank line was kept")
  -- a console whose history fails: the REPL starts with none and runs on
  local bad = fake.con()
  function bad:history() error("console: gone") end
  function bad:remember() error("console: gone") end
  local r2 = repl.new(bad, fake.env())
  r2:feed("3*3\r\27[A")
  has(bad:screen(), "\r\n9\r\n")
  check(bad.line == "> 3*3", "its own history: %q", bad.line)
end)

case("tab completion: one candidate", function()
  local con, env, r = session("l4.ta\t")
  check(con.line == "> l4.task", "l4.ta: %q", con.line)
  r:feed("\21string.fo\t")
  check(con.line == "> string.format", "string.fo: %q", con.line)
  r:feed("\21pri\t")
  check(con.line == "> print", "pri: %q", con.line)
  r:feed("\21x = l4.task.sp")
  r:feed("\t")
  r:feed("(")
  check(con.line == "> x = l4.task.spawn(", "in an expression: %q", con.line)
  r:feed("\21s = 'x'\r")
  r:feed("s:up\t")
  check(con.line == "> s:upper", "method: %q", con.line)
  r:feed("\21fun\t")
  check(con.line == "> function", "keyword: %q", con.line)
  r:feed("\21abc(1.5\t")
  check(con.line == "> abc(1.5", "number: %q", con.line)
end)

case("tab completion: common prefix, then a list", function()
  local con, env, r = session("tbl = {alpha1 = 1, alpha2 = 2, beta = 3}\r", "tbl.al\t")
  check(con.line == "> tbl.alpha", "common prefix: %q", con.line)
  local before = con:screen()
  r:feed("\t")
  local s = con:screen():sub(#before + 1)
  has(s, "> tbl.alpha\r\nalpha1  alpha2\r\n")
  check(con.line == "> tbl.alpha", "line kept: %q", con.line)
  r:feed("2\r")
  has(con:screen(), "> tbl.alpha2\r\n2\r\n")
  -- ambiguous from the start: the first Tab does nothing, the second lists
  r:feed("string.f\t")
  check(not con:screen():find("find  format", 1, true), "listed at the first Tab")
  r:feed("\t")
  has(con:screen(), "find    format")
end)

case("tabs in a paste are text, not completion", function()
  local con, env, r = session("t = {\r\tal = 1,\r}\r")
  check(type(env.t) == "table" and env.t.al == 1, "t.al: %s", tostring(env.t and env.t.al))
  r:feed("\27[200~x = '\t")
  r:feed("\t'\27[201~\r")
  check(env.x == "\t\t", "bracketed: %q", tostring(env.x))
  r:feed("tbl\t")
  check(con.line == "> tbl", "a typed Tab still completes: %q", con.line)
end)

------------------------------------------------------------------------
-- A paste of 64 KiB in 4 KiB reads

case("64 KiB multi-line paste in 4 KiB reads", function()
  local lines, expect = { "t = {}" }, {}
  local i = 0
  local size = #lines[1] + 1
  while size < 65536 - 300 do
    i = i + 1
    local payload = ("%05d:"):format(i) .. ("abcdefghijklmnopqrstuvwxyz0123456789"):sub(1, 20 + i % 17)
    expect[#expect + 1] = payload
    local l = ("t[#t+1] = %q"):format(payload)
    if i == 500 then   -- a function in the middle: continuation lines
      l = l .. "\rfunction cks(s)\r  local h = 0\r  for k = 1, #s do h = (h * 31 + s:byte(k)) % 4294967296 end\r  return h\rend"
    end
    lines[#lines + 1] = l
    size = size + #l + 1
  end
  lines[#lines + 1] = "s = table.concat(t, '\\n')"
  lines[#lines + 1] = "#s"
  lines[#lines + 1] = "cks(s)"
  local paste = table.concat(lines, "\r") .. "\r\n"
  check(#paste > 60000 and #paste <= 65536, "paste is %d bytes", #paste)
  local s = table.concat(expect, "\n")
  local h = 0
  for k = 1, #s do h = (h * 31 + s:byte(k)) % 4294967296 end

  local con = fake.con()
  local r = repl.new(con, fake.env())
  local t0 = os.clock()
  local reads = 0
  for k = 1, #paste, 4096 do
    r:feed(paste:sub(k, k + 4095))
    reads = reads + 1
  end
  local dt = os.clock() - t0
  local out = con:screen()
  has(out, ("> #s\r\n%d\r\n> cks(s)\r\n%d\r\n"):format(#s, h))
  hasnt(out, "stdin:")
  check(con.line == "> ", "prompt at the end: %q", con.line)
  -- one edit per line (to show it when it is entered) and per read, no more
  check(con.edits <= #lines + 8 + reads + 1, "%d edits for %d lines", con.edits, #lines)
  check(dt < 5, "took %.2f s", dt)
end)

case("one long pasted line", function()
  local long = "x = '" .. ("y"):rep(60000) .. "'\r#x\r"
  local con = fake.con()
  local r = repl.new(con, fake.env())
  for k = 1, #long, 4096 do r:feed(long:sub(k, k + 4095)) end
  has(con:screen(), "> #x\r\n60000\r\n")
end)

------------------------------------------------------------------------
-- Commands

case("command vs Lua", function()
  local con, env, r = session("ps\r")
  has(con:screen(), "THREAD")
  local n0 = #con:screen()
  r:feed("ps()\r")
  has(con:screen():sub(n0), "THREAD")
  r:feed("x = ps\r")
  check(env.x == env.ps, "x = ps assigns the function")
  r:feed("=ps\r")
  has(con:screen(), "function: ")
  r:feed("mem = 3\r")
  check(env.mem == 3, "mem = 3 is Lua")
  r:feed("notacommand 5\r")
  has(con:screen(), "stdin:1: syntax error near '5'")
  r:feed("  kill   16  \r")
  has(con:screen(), "killed task 16 (uart)")
  r:feed("help(\"kill\")\r")
  has(con:screen(), "kill <task number | id | name>")
end)

case("ps", function()
  local con = session("ps\r")
  local s = con:screen()
  has(s, "TASK NAME         THREAD       STATE     PRIO    CPU ms")
  has(s, "   2 root         2.0.0001     ready      100       120")
  has(s, "  16 uart         10.0.0001    receive    200         3")
  has(s, "  16 uart         10.2.0001    send       200         0")
  has(s, "  17 pager        11.0.0001    ready      100         0")
end)

case("mem", function()
  local con = session("mem\r")
  local s = con:screen()
  has(s, "TASK NAME         STATE     PAGES  HEAP KiB  MEMCAP KiB")
  has(s, "  16 uart         running      21        64       32768")
  has(s, "  18 -            failed        0         0        4096")
  has(s, "pool: 4096 pages (16384 KiB), 3000 free, 512 reserved for heaps; 2 tasks running")
  has(s, "image: 120 text pages shared by all tasks, 5 data pages per task")
  has(s, "kernel heap: 200 KiB used of 4096 KiB (4%)")
end)

case("mem: columns stay aligned with a long task name", function()
  local con, env, r = session()
  local list = env.l4.task.list()
  list[#list + 1] = { id = fake.id(19, 0, 1), name = "services/a_long_one.lua", state = "running",
                      pages = 7, heap = 4096, memcap = 1 << 20 }
  env.l4.task.list = function() return list end
  r:feed("mem\r")
  local s = con:screen()
  local col
  for line in s:gmatch("[^\n]+") do
    local at = line:find("%d+%s+%d+%s+%d+%s*$") and line:find("%s%S+%s+%d+%s+%d+%s+%d+%s*$")
    if line:find("^%s*%d+ ") then
      check(col == nil or at == col, "the STATE column moves: %q", line)
      col = at
    end
  end
  check(col, "no task lines:\n%s", s)
  has(s, "services/a_long_one.lua running")
end)

case("irq", function()
  local con, env, r = session("irq\r")
  local s = con:screen()
  has(s, "LINE OWNER        TASK              COUNT")
  has(s, "   4 10.2.0001    uart                 17")
  has(s, "   8 2.0.0001     root                  3")
  env.l4.sys.irqs = function() return {} end
  r:feed("irq\r")
  has(con:screen(), "no interrupt line is attached")
  env.l4.sys.irqs = function() return nil, "not permitted", 22 end
  r:feed("irq\r")
  has(con:screen(), "irq: l4.sys.irqs: not permitted")
end)

case("lspci", function()
  local con, env, r = session("lspci\r")
  local s = con:screen()
  has(s, "00:00.0 8086:1237 class 06.00.00 host bridge\r\n")
  has(s, "00:01.0 8086:7000 class 06.01.00 ISA bridge\r\n")
  has(s, "00:02.0 1234:1111 class 03.00.00 VGA compatible controller\r\n")
  env.require = function(name) error("module '" .. name .. "' not found", 0) end
  r:feed("lspci\r")
  has(con:screen(), "lspci: the PCI driver did not load: module 'pci' not found")
end)

case("services", function()
  local con, env, r = session("services\r")
  local s = con:screen()
  has(s, "NAME         VERSION  REQUESTS ERRORS  RST ID           STATE")
  has(s, "echo         2              41      1    1 10.0.0001    running")
  has(s, "names        1               7      0    - 11.0.0001    running")
  has(s, "crash        -               -      -    5 -            given up: failed: broken")
  env.require = function(name) error("module '" .. name .. "' not found", 0) end
  r:feed("services\r")
  has(con:screen(), "services: no service framework here: module 'service' not found")
end)

case("reload", function()
  local con, env, r = session("reload echo\r")
  has(con:screen(), "reloaded echo: version 3")
  r:feed("reload(\"nope\")\r")
  has(con:screen(), "reload nope: services/nope.lua: no such file")
  r:feed("reload\r")
  has(con:screen(), "usage: reload <service> [script]")
end)

case("kill", function()
  local con, env, r = session("kill 16\r")
  has(con:screen(), "killed task 16 (uart): 21 pages back")
  check(env.l4.deleted[1] == "10.0.0001", "deleted %s", tostring(env.l4.deleted[1]))
  r:feed("kill pager\r")
  has(con:screen(), "killed task 17 (pager): 30 pages back")
  r:feed("kill(18)\r")
  has(con:screen(), "kill: task 18: not permitted (22)")
  env.l4.console_id = env.l4.sys.threads()[1].id         -- task 16 serves this console
  env.l4.deleted = {}
  -- the console typed at may be killed: the console guardian starts it again
  r:feed("kill uart\r")
  has(con:screen(), "killed task 16 (uart): 21 pages back; it served this console, which is started again")
  check(env.l4.deleted[1] == "10.0.0001", "the console's task was not deleted")
  env.l4.console_id = nil
  r:feed("kill nobody\r")
  r:feed("kill\r")
  has(con:screen(), "kill: no task nobody")
  has(con:screen(), "usage: kill")
end)

case("help", function()
  local con, env, r = session("help\r")
  local s = con:screen()
  has(s, "Commands")
  for _, c in ipairs({ "ps", "mem", "irq", "lspci", "services", "reload", "kill", "help" }) do
    has(s, "\n  " .. c)
  end
  has(s, "l4.task.spawn{")
  has(s, "l4.sys.threads()")
  has(s, "l4.frobnicate                      (undocumented)")
  hasnt(s, "l4.io.outl")          -- not in the fake l4: not listed
  local n0 = #s
  r:feed("help l4.task\r")
  s = con:screen():sub(n0 + 1)
  has(s, "l4.task.delete(id)")
  hasnt(s, "l4.sys")
  hasnt(s, "Commands")
  r:feed("help nothing.here\r")
  has(con:screen(), "help: nothing on nothing.here")
end)

case("help <function> gives the reference's text; help <module> its comment", function()
  local con, env, r = session("help l4.pager_loop\r")
  local s = con:screen()
  has(s, "l4.pager_loop(handler, [opts])")
  has(s, "a pager's receive loop in C: page faults to handler")
  hasnt(s, "undocumented")
  local path = package.path
  package.path = "scripts/?.lua;" .. path
  local n0 = #con:screen()
  r:feed("help service\r")
  package.path = path
  s = con:screen():sub(n0 + 1)
  has(s, "module service (scripts/service.lua):")
  has(s, "service.lua: the service framework")
  hasnt(s, "nothing on service")
  -- the reference is parsed from its tables: an entry per row naming a function
  local secs = help.parse("## A\n| | |\n|---|---|\n| `l4.x.a/b(n)` | does \\| that |\n"
                          .. "| `timeout` | an option |\n## B\ntext\n")
  check(#secs == 1 and secs[1][1] == "A" and #secs[1][2] == 1, "sections: %d", #secs)
  check(secs[1][2][1][1] == "l4.x.a/b(n)" and secs[1][2][1][2] == "does | that", "row: %s | %s",
        secs[1][2][1][1], secs[1][2][1][2])
end)

case("help describes every function of the documented l4 table", function()
  -- the functions the bindings register (bindings/*.c), as the guest has them
  local l4 = fake.l4()
  for _, sub in ipairs({ "thread", "irq", "io", "mem", "debug" }) do l4[sub] = {} end
  for _, n in ipairs({ "self", "id", "irq_id", "nearest", "send", "reply", "call", "reply_wait",
                       "receive", "sleep", "set_buffers", "set_window", "fpage", "iofpage",
                       "unmap", "clock" }) do l4[n] = print end
  local subs = { thread = "schedule switch create kill status", irq = "attach wait detach",
                 io = "request holds inb inw inl outb outw outl", mem = "map_phys alloc reserve",
                 debug = "raise_irq rtc_irq kmem mdb_check echo fault rdtsc",
                 task = "spawn wait delete info list stats _probe _fault",
                 sys = "threads irqs kmem klog release_serial set_console console" }
  for sub, names in pairs(subs) do
    for n in names:gmatch("%S+") do l4[sub][n] = print end
  end
  l4.frobnicate = nil
  local u = help.undocumented(l4)
  check(#u == 0, "undocumented: %s", table.concat(u, " "))
end)

------------------------------------------------------------------------
-- Pretty-printing

case("pretty: scalars and strings", function()
  local f = pretty.format
  check(f(3) == "3" and f(3.0) == "3.0" and f(-0.5) == "-0.5" and f(1e100) == "1e+100", "numbers")
  check(f(1/0) == "inf" or f(1/0) == "Inf", "inf: %s", f(1/0))
  check(f(true) == "true" and f(nil) == "nil", "booleans, nil")
  check(f('say "hi"\n\tok\\') == [["say \"hi\"\n\tok\\"]], "escapes: %s", f('say "hi"\n\tok\\'))
  check(f("\0\1\127") == [["\000\001\127"]], "control bytes: %s", f("\0\1\127"))
  check(f("héllo") == '"héllo"', "UTF-8 kept: %s", f("héllo"))
  check(f(print) == "function: builtin", "builtin: %s", f(print))
  check(f(function() end):find("^function: 0x") or f(function() end):find("^function: "), "lua function")
  local long = f(("x"):rep(5000))
  check(long:find('%.%.%.%(5000 bytes%)$'), "long string cut: %s", long:sub(-30))
  check(pretty.results(3, 1, "a", nil) == '1\t"a"\tnil', "results: %s", pretty.results(3, 1, "a", nil))
end)

case("pretty: nested tables, sorted keys, limits", function()
  local f = pretty.format
  check(f({}) == "{}", "empty")
  check(f({ 1, 2, 3 }) == "{1, 2, 3}", "sequence: %s", f({ 1, 2, 3 }))
  check(f({ b = 1, a = 2, [10] = 3, 1 }) == "{1, [10] = 3, a = 2, b = 1}", "sorted: %s",
        f({ b = 1, a = 2, [10] = 3, 1 }))
  check(f({ ["not a name"] = 1, ["end"] = 2 }) == '{["end"] = 2, ["not a name"] = 1}', "keys: %s",
        f({ ["not a name"] = 1, ["end"] = 2 }))
  local deep = { a = { b = { c = { d = { e = 1 } } } } }
  check(f(deep) == "{a = {b = {c = {...}}}}", "depth: %s", f(deep))
  local big = {}
  for i = 1, 100 do big[i] = i end
  local s = f(big)
  check(s:find("...(60 more)", 1, true), "item limit: %s", s)
  local wide = {}
  for i = 1, 10 do wide["key" .. i] = ("v"):rep(10) end
  s = f(wide)
  check(s:find("^{\n  key1 = \"vvvvvvvvvv\",\n  key10 = "), "multi-line: %s", s)
  check(s:find("\n}$"), "closing brace: %s", s)
end)

case("pretty: cycles and __tostring userdata", function()
  local f = pretty.format
  local t = { name = "loop" }
  t.self = t
  local s = f(t)
  check(s:find('^{name = "loop", self = <cycle: 0x') or s:find('^{name = "loop", self = <cycle: '), "cycle: %s", s)
  local shared = { 1 }
  check(f({ shared, shared }) == "{{1}, {1}}", "shared is not a cycle: %s", f({ shared, shared }))
  local id = fake.id(16, 2, 1)
  check(f(id) == "10.2.0001", "id: %s", f(id))
  check(f({ owner = id }) == "{owner = 10.2.0001}", "id in a table: %s", f({ owner = id }))
  local bad = setmetatable({}, { __tostring = function() return {} end })
  check(f(bad):find("__tostring failed"), "non-string __tostring: %s", f(bad))
  local con = session("{l4.self(), {1, {2}}}\r")
  has(con:screen(), "{2.0.0001, {1, {2}}}\r\n")
end)

print(("shell: %d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
