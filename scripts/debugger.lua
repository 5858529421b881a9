-- debugger.lua: the debugger's side, in a thread of the root task (the
-- REPL's `debug` and `profile`, the host tool's agent). docs/debugger.md.
--
--   local dbg = require "debugger"
--   local s, err = dbg.attach("echo")     -- a service name, task number or thread id
--   s:break_line("services/echo.lua", 22, "state.count > 3")  -> id
--   local ev = s:wait(5000)                -- {reason, file, line, message, thread}
--   s:stack(); s:vars(1, "locals"); s:eval(1, "state.count = 100")
--   s:continue(); s:detach()
--
-- Every method sends one message with label l4.label.debug to the target
-- thread, where the agent (debug_agent.lua, loaded by the bindings in the
-- target's own Lua state) answers it; failures are nil, message. A
-- target that runs a long stretch of Lua answers at its next look (every
-- 20000 Lua instructions while attached); one that waits in IPC for
-- another partner (a call of its own, a sleep) does not answer until
-- that returns: then a method fails with "did not answer".
local l4 = require "l4"
local service = require "service"

local M = {}

local DEBUG = l4.label.debug
M.TIMEOUT = 500             -- ms a command may wait for the target
local POLL_MS = 20          -- between two looks of wait()

-- The root's store key that tells the supervisor a thread is held by a
-- debugger (supervisor.lua: it is not taken for hung).
M.held_key = require("service_proto").held_key

-- The thread to debug: an id (or its text, as ps shows it: 2.8.0101), a
-- task number (its first thread), a service name (the name service), or
-- a task's name (l4.task.list).
local function resolve(target)
  if type(target) == "userdata" and target.raw then return target, tostring(target) end
  local n = math.tointeger(tonumber(target))
  local ok, tasks = pcall(l4.task.list)
  if n then
    for _, t in ipairs(ok and tasks or {}) do
      if t.id.task == n then return t.id, t.name or ("task " .. n) end
    end
    return nil, ("no task %d"):format(n)
  end
  if type(target) ~= "string" then
    return nil, "attach: a service name, a task number or a thread id"
  end
  -- a thread id as ps and tostring show it: task.lthread.version, in hex
  local t, lt, v = target:match("^(%x+)%.(%x+)%.(%x+)$")
  if t then
    t, lt, v = tonumber(t, 16), tonumber(lt, 16), tonumber(v, 16)
    if t > 4095 or lt > 255 or v > 0xffff then return nil, ("no thread %s"):format(target) end
    return l4.id(t, lt, v), target
  end
  local id = require("names").lookup(target)
  if id then return id, target end
  for _, t in ipairs(ok and tasks or {}) do
    if t.name == target then return t.id, target end
  end
  -- a component with no name in the name service: a REPL session
  -- (repl.serial, repl.screen) or the push agent (scripts/consoles.lua),
  -- an entry of the supervisor's plan (telnet)
  id = require("consoles").find(target)
  if id then return id, target end
  for _, e in ipairs(require("supervisor").status() or {}) do
    if e.name == target and e.id then return e.id, target end
  end
  return nil, ("no service, task or component named %q"):format(target)
end

local Session = {}
Session.__index = Session

-- One command: -> the decoded result, or nil, message.
function Session:cmd(cmd, arg, ms)
  if not self.id then return nil, "detached" end
  local from, label, value, code = l4.call(self.id, {timeout = ms or M.TIMEOUT}, DEBUG, cmd,
                                           arg and service.encode(arg) or "")
  if not from then
    if value == l4.E.nopartner or value == l4.E.snd_aborted or value == l4.E.rcv_aborted then
      self.gone = true
      return nil, ("%s is gone (%s)"):format(self.name, label)
    end
    return nil, ("%s did not answer in %d ms (%s: it runs C code or waits in IPC for another "
                 .. "partner)"):format(self.name, ms or M.TIMEOUT, label)
  end
  if label ~= 0 then return nil, tostring(value) end
  local r, err = service.decode(value)
  if r == nil then
    -- an interrupt (Ctrl-C at the REPL) that came inside decode's pcall
    -- goes on to the REPL: it ends a wait
    if tostring(err):find("interrupted", 1, true) then error(err, 0) end
    return nil, "bad answer: " .. tostring(err)
  end
  return r
end

-- dbg.attach(target) -> a session; nil, message
function M.attach(target)
  local id, name = resolve(target)
  if not id then return nil, name end
  if id == l4.self() then return nil, "a thread cannot debug itself" end
  local s = setmetatable({id = id, name = name, seen = 0}, Session)
  -- the mark first: a thread that waits in calls (a REPL session) looks
  -- for it between two turns and only then takes the attach (debug_door.lua)
  pcall(l4.sys.store_put, M.held_key(id), tostring(l4.self().raw))
  local r, err = s:cmd("attach", nil, 2000)
  if not r then
    pcall(l4.sys.store_remove, M.held_key(id))
    return nil, err
  end
  s.seen = r.seq or 0
  s.service, s.script = r.name, r.script
  return s
end

local function id_of(r) return r and r.id end

function Session:break_line(file, line, cond)
  local r, err = self:cmd("break_line", {file = file, line = line, cond = cond})
  if not r then return nil, err end
  return r.id
end

function Session:break_func(name, cond)
  local r, err = self:cmd("break_func", {name = name, cond = cond})
  if not r then return nil, err end
  return r.id
end

function Session:break_clear(id)
  local r, err = self:cmd("break_clear", {id = id})
  if not r then return nil, err end
  return true
end

function Session:breaks() return self:cmd("breaks") end

function Session:on_error(mode)
  local r, err = self:cmd("on_error", {mode = mode})
  if not r then return nil, err end
  return true
end

function Session:pause()
  local r, err = self:cmd("pause")
  if not r then return nil, err end
  return true
end

-- s:continue([seen]) -> true; seen is the seq of the last stop the
-- debugger has shown (true: the last one s:wait returned; the host's DAP
-- adapter, which looks with s:poll, gives its own): if the target stopped
-- again since, it stays stopped: -> false (s:wait and s:poll give that stop).
function Session:continue(seen)
  if seen == true then seen = self.seen elseif seen == false then seen = nil end
  if seen ~= nil and math.type(seen) ~= "integer" then
    return nil, "continue: seen is a stop's seq or true"
  end
  local r, err = self:cmd("continue", seen and {seen = seen} or nil)
  if not r then return nil, err end
  return not r.unseen
end

function Session:step(mode)
  local r, err = self:cmd("step", {mode = mode or "in"})
  if not r then return nil, err end
  return true
end

-- The state: {state = "running"} or the stop's event with state = "stopped".
function Session:poll() return self:cmd("poll", nil, 100) end

-- s:wait(ms) -> the next stop's event {reason, file, line, name, message,
-- thread, breakpoint}, {reason = "exit"} if the thread is gone; nil,
-- "timeout". A stop already returned is not returned again.
function Session:wait(ms)
  local deadline = l4.clock() + (ms or 5000) * 1000
  while true do
    local r = self:poll()
    if r and r.state == "stopped" and r.seq ~= self.seen then
      self.seen = r.seq
      r.state = nil
      return r
    end
    if not r and self.gone then return {reason = "exit"} end
    if l4.clock() >= deadline then return nil, "timeout" end
    l4.sleep(POLL_MS)
  end
end

function Session:stack() return self:cmd("stack") end

function Session:vars(level, kind) return self:cmd("vars", {level = level or 1, kind = kind}) end

function Session:expand(ref) return self:cmd("expand", {ref = ref}) end

-- s:eval(level, text) -> true, value (a short printed form), ref; false,
-- message; nil, message if the target did not answer.
function Session:eval(level, text)
  local r, err = self:cmd("eval", {level = level or 1, expr = text}, 2000)
  if not r then return nil, err end
  return r.ok, r.value, r.ref
end

function Session:detach()
  if not self.id then return true end
  local r, err = self:cmd("detach")
  pcall(l4.sys.store_remove, M.held_key(self.id))
  self.id = nil
  if not r and not self.gone then return nil, err end
  return true
end

-- The profiler: s:profile(ms, [count], [stacks]) samples the target every
-- count/2 to count Lua instructions (1000) for ms milliseconds, and more
-- often where CPU time goes by (docs/debugging.md "The profiler") ->
-- {samples, instructions, cpu_us, count, funcs = {{where, instructions,
-- cpu_us}...}, lines = {...}} (the 30 with the most CPU time, then Lua
-- instructions); stacks true: also stacks, the 100 largest whole stacks,
-- `where` their frames root first joined by ";" (folded stacks, as
-- flame-graph tools read them).
function Session:profile(ms, count, stacks)
  local r, err = self:cmd("profile", {count = count or 1000, stacks = stacks or nil})
  if not r then return nil, err end
  local ok, e = pcall(l4.sleep, ms)       -- Ctrl-C ends it early
  r, err = self:cmd("profile_stop", nil, 2000)
  if not ok then error(e, 0) end
  return r, err
end

-- The IPC trace: s:trace(true, [max]) keeps each message the target
-- sends or receives through the l4 table (a ring of max, 200, at most
-- 500); s:trace(false) stops it. s:trace_read() -> {entries = {{t (µs,
-- l4.clock), dir "in" | "out", label, partner, size (bytes)}, ...},
-- dropped}: those since the last read, oldest first.
function Session:trace(on, max)
  local r, err = self:cmd("trace", {on = on and true or false, max = max})
  if not r then return nil, err end
  return true
end

function Session:trace_read() return self:cmd("trace_read") end

-- dbg.trace(target, ms, [max]): attach, trace for ms, detach -> as trace_read.
function M.trace(target, ms, max)
  local s, err = M.attach(target)
  if not s then return nil, err end
  local ok, terr = s:trace(true, max)
  if not ok then s:detach() return nil, terr end
  local slept, e = pcall(l4.sleep, ms)       -- Ctrl-C ends it early
  local r, rerr = s:trace_read()
  s:detach()
  if not slept then error(e, 0) end
  if not r then return nil, rerr end
  r.name = s.name
  return r
end

-- dbg.profile(target, ms, [count], [stacks]): attach, profile, detach.
function M.profile(target, ms, count, stacks)
  local s, err = M.attach(target)
  if not s then return nil, err end
  local r, perr = s:profile(ms, count, stacks)
  s:detach()
  if not r then return nil, perr end
  r.name = s.name
  return r
end

return M
