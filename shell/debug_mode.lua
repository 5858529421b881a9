-- The REPL's debugging sub-mode (`debug <name>`, docs/debugger.md): short
-- commands over a session of scripts/debugger.lua. While it is on, the
-- REPL hands it every line and shows its prompt ("debug echo> "); `q`
-- detaches and gives the prompt back. The target runs on until a
-- breakpoint, a step, an error it stops at, or `pause`; c, s, n and o
-- wait for the next stop (Ctrl-C stops the waiting, not the target).
-- Captured now: a person at the prompt may change the globals.
local ipairs, load, pcall, tostring, tonumber, type =
  ipairs, load, pcall, tostring, tonumber, type
local math = { tointeger = math.tointeger, max = math.max, min = math.min }
local table = { concat = table.concat, pack = table.pack, unpack = table.unpack }

local mode = {}

mode.help = [[
debug <name> (a service, a task number, a thread id, repl.screen...) attaches the debugger
and takes these commands until q; the target runs on meanwhile:
  b                    list the breakpoints
  b <line> [if <cond>] a breakpoint in the current file (the stop's, else the service's)
  b <file>:<line> [if <cond>]   b <function name> [if <cond>]
  d <id>               delete a breakpoint
  c                    continue; wait for the next stop (Ctrl-C stops waiting)
  s, n, o              step in, over (the next line here), out (back in the caller)
  pause                stop it where it is       w [seconds]   wait for a stop
  bt                   the stack, with each frame's source line
  f <n>                choose frame n for p, v and l
  p <expr>             print an expression in the frame; p x = 5 assigns (locals too)
  v [locals|upvalues|varargs|globals]   the frame's variables;  x <n> expands table n
  l                    the source around the frame's line
  e none|uncaught|all  stop at errors: none, those a handler lets out, or all
  !<lua>               run a line of Lua at the REPL (a client's call, say)
  q                    detach: breakpoints go, the target runs on as before]]

local Mode = {}
Mode.__index = Mode

-- mode.new(session, out, env) -> the sub-mode for a session.
function mode.new(session, out, env, script)
  local self = setmetatable({ s = session, out = out, env = env, frame = 1,
                              file = script, prompt = "debug " .. session.name .. "> " }, Mode)
  return self
end

local function fail(what, err) error(what .. ": " .. tostring(err), 0) end

-- Prints the frame's line: "  22  state.count = ...".
function Mode:show_line(f)
  if f and f.source then self.out(("%5d  %s\n"):format(f.line, f.source)) end
end

-- Prints a stop and makes its frame the current one.
function Mode:stopped(ev)
  if ev.reason == "exit" then
    self.out(self.s.name .. ": the thread is gone; debugging ended\n")
    self.done = true
    return
  end
  self.frame = 1
  local why = ev.reason
  if ev.breakpoint then why = why .. " " .. ev.breakpoint end
  self.out(("stopped at %s:%s in %s (%s)%s\n"):format(tostring(ev.file), tostring(ev.line),
    tostring(ev.name), why, ev.message and ": " .. ev.message or ""))
  if ev.file and ev.file ~= "[C]" then self.file = ev.file end
  local st = self.s:stack()
  if st and st[1] then self:show_line(st[1]) end
end

-- Waits for the next stop, for ever (or ms); Ctrl-C interrupts the wait.
function Mode:wait(ms)
  while true do
    local ev, err = self.s:wait(ms or 1000)
    if ev then return self:stopped(ev) end
    if ms then self.out(("no stop within %g s\n"):format(ms / 1000)) return end
  end
end

function Mode:breaks()
  local list, err = self.s:breaks()
  if not list then fail("b", err) end
  if #list == 0 then self.out("no breakpoints\n") return end
  for _, b in ipairs(list) do
    self.out(("%3d  %s%s  (%d hit%s)\n"):format(b.id, b.line and (b.file .. ":" .. b.line) or b.func,
      b.cond and "  if " .. b.cond or "", b.hits, b.hits == 1 and "" or "s"))
  end
end

function Mode:set_break(spec)
  local what, cond = spec:match("^(%S+)%s+if%s+(.+)$")
  what = what or spec:match("^(%S+)%s*$")
  if not what then self.out("usage: b <line> | <file>:<line> | <function> [if <cond>]\n") return end
  local file, line = what:match("^(.+):(%d+)$")
  line = math.tointeger(tonumber(line or what))
  local id, err
  if line then
    file = file or self.file
    if not file then self.out("b: which file? (b <file>:<line>)\n") return end
    id, err = self.s:break_line(file, line, cond)
    if id then self.out(("breakpoint %d at %s:%d%s\n"):format(id, file, line, cond and " if " .. cond or "")) end
  else
    id, err = self.s:break_func(what, cond)
    if id then self.out(("breakpoint %d at function %s%s\n"):format(id, what, cond and " if " .. cond or "")) end
  end
  if not id then fail("b", err) end
end

function Mode:stack()
  local st, err = self.s:stack()
  if not st then fail("bt", err) end
  for _, f in ipairs(st) do
    self.out(("%s#%d %s:%s in %s\n"):format(f.level == self.frame and "*" or " ", f.level,
      f.file, tostring(f.line), f.name))
    self:show_line(f)
  end
end

function Mode:list()
  local st, err = self.s:stack()
  if not st then fail("l", err) end
  local f = st[self.frame]
  if not f or f.line < 1 then self.out("no source for this frame\n") return end
  local req = self.env.require or require
  local text = req("service").read_source(f.file)
  if not text then self.out("cannot read " .. f.file .. "\n") return end
  local n = 0
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if n >= f.line - 5 and n <= f.line + 5 then
      self.out(("%s%4d  %s\n"):format(n == f.line and "=>" or "  ", n, l))
    end
  end
end

function Mode:vars(kind)
  local list, err = self.s:vars(self.frame, kind ~= "" and kind or "locals")
  if not list then fail("v", err) end
  if #list == 0 then self.out("(none)\n") end
  for _, v in ipairs(list) do
    self.out(("  %s = %s%s\n"):format(v.name, v.value, v.ref and "  [x " .. v.ref .. "]" or ""))
  end
end

-- A stop not shown yet (it came while the person typed): shown now.
function Mode:news()
  local ev = self.s:wait(0)
  if ev then self:stopped(ev) end
  return ev
end

-- Commands that act on the target show a stop that came meanwhile
-- first; c, s, n and o then do nothing (the person sees where it is).
local MOVES = { c = true, s = true, n = true, o = true }

-- One line typed in the sub-mode.
function Mode:line(line)
  local cmd, rest = line:match("^%s*(%S*)%s*(.-)%s*$")
  local s = self.s
  if cmd ~= "" and cmd ~= "q" and cmd:sub(1, 1) ~= "!" and self:news() then
    if MOVES[cmd] or self.done then return end
  end
  if cmd == "" then return
  elseif cmd:sub(1, 1) == "!" then
    local src = line:match("^%s*!(.*)$")
    local f, err = load(src, "=stdin", "t", self.env)
    if not f then self.out(err .. "\n") return end
    local r = table.pack(pcall(f))
    if not r[1] then self.out(tostring(r[2]) .. "\n") end
  elseif cmd == "q" then
    local ok, err = s:detach()
    self.out(ok and ("detached from " .. s.name .. "; it runs on\n") or ("q: " .. tostring(err) .. " (detached here)\n"))
    self.done = true
  elseif cmd == "b" then
    if rest == "" then return self:breaks() end
    return self:set_break(rest)
  elseif cmd == "d" then
    local ok, err = s:break_clear(math.tointeger(tonumber(rest)))
    if not ok then fail("d", err) end
    self.out("deleted breakpoint " .. rest .. "\n")
  elseif cmd == "c" then
    self.out("running (Ctrl-C stops waiting)\n")     -- before: its output may come at once
    -- A stop that came after the look for news above (a client's call
    -- reached a breakpoint in between) is not run past unseen: the agent
    -- keeps it (continue with the last stop seen), the wait shows it.
    local ok, err = s:continue(true)
    if ok == nil and not err:find("running", 1, true) then fail("c", err) end
    return self:wait()
  elseif cmd == "s" or cmd == "n" or cmd == "o" then
    local ok, err = s:step(cmd == "s" and "in" or cmd == "n" and "over" or "out")
    if not ok then fail(cmd, err) end
    return self:wait()
  elseif cmd == "w" then
    return self:wait((tonumber(rest) or 5) * 1000)
  elseif cmd == "pause" then
    local ok, err = s:pause()
    if not ok then fail("pause", err) end
    return self:wait(5000)
  elseif cmd == "bt" then
    return self:stack()
  elseif cmd == "f" then
    local n = math.tointeger(tonumber(rest))
    if not n or n < 1 then self.out("usage: f <frame number>\n") return end
    self.frame = n
    local st = s:stack()
    local f = st and st[n]
    if not f then self.frame = 1; self.out("no frame " .. n .. "\n") return end
    self.out(("#%d %s:%s in %s\n"):format(n, f.file, tostring(f.line), f.name))
    self:show_line(f)
  elseif cmd == "p" then
    if rest == "" then self.out("usage: p <expression or statement>\n") return end
    local ok, v, ref = s:eval(self.frame, rest)
    if ok == nil then fail("p", v) end
    if not ok then self.out("error: " .. tostring(v) .. "\n") return end
    self.out((v ~= "" and v or "ok") .. (ref and "  [x " .. ref .. "]" or "") .. "\n")
  elseif cmd == "v" then
    return self:vars(rest)
  elseif cmd == "x" then
    local list, err = s:expand(math.tointeger(tonumber(rest)))
    if not list then fail("x", err) end
    for _, v in ipairs(list) do
      self.out(("  %s = %s%s\n"):format(v.name, v.value, v.ref and "  [x " .. v.ref .. "]" or ""))
    end
  elseif cmd == "l" then
    return self:list()
  elseif cmd == "e" then
    local ok, err = s:on_error(rest)
    if not ok then fail("e", err) end
    self.out("stop at errors: " .. rest .. "\n")
  elseif cmd == "help" or cmd == "h" then
    self.out(mode.help .. "\n")
  else
    self.out(("unknown debug command %q (help lists them; q leaves)\n"):format(cmd))
  end
end

return mode
