-- fault.lua: one armed fault for a server that runs a receive loop of its
-- own (the file service), as the service framework arms one for its
-- services (service.lua "Fault injection"; docs/reliability.md "Fault
-- injection"). The root task arms it with FAULT (service_proto.lua: n,
-- kind); the next request the server runs meets it. A server with no
-- fault armed pays one field test per request.
--
--   local fault = require("fault").new{raise = true, exit = true}
--   FAULT:      reply(fault:arm(from, n, kind))
--   a request:  r = fault.armed and fault:meet(run, from, go, ...) or run(from, go, ...)
--
-- run(from, go, ...) is the server's own way to run a request (go, a
-- function of no arguments, under its pcall) -> the reply's values
-- packed, or nil (no reply now). meet runs it the way the fault says:
--   raise    go fails after n VM instructions (if it runs that long):
--            the server's pcall turns that into an error reply
--   memcap   the server's Lua state refuses the request's allocation
--            after n (the limit is lifted when the request ends): the
--            server's pcall turns that into an error reply
--   exit     the task ends: before the request ran (n even) or after it
--            ran and before its reply (n odd)
--   drop     no reply
--   corrupt  the reply with every value after its label changed
--   double   the reply sent twice (enter/leave only: a server whose
--            replies carry no request number must not allow it)
--
-- A loop that runs each request inline rather than as a function (the
-- console server, drivers-lua/console_server.lua) uses enter and leave
-- instead of meet:
--   local met = fault.armed and fault:enter()    -- the request begins
--   ... the request runs, its reply is rto, label, value ...
--   if met then rto, label, value = fault:leave(met, rto, label, value) end
-- enter does what the kind does at the start (exit with n even, the
-- raise hook, the memcap limit); leave lifts the limit and does what the
-- kind does to the reply. The loop sets its own hook again at its next
-- turn, which ends a raise that did not fire.
--
-- A driver takes one more kind, "register": a wrong value written into
-- one of its device's registers, not armed for a request but written by
-- the driver at once (docs/reliability.md "Wrong values in device
-- registers"). FAULT n, "register" from the root task; the driver asks
--   local what = fault.register(from, n, kind[, names])
-- -> the name of wrong value n (names: the driver's own list, from 0;
-- default REGISTER, a virtio device's), or nil, a message for its error
-- reply. What each name writes is the driver's (virtio.lua's
-- Dev:wrong_register, Queue:kick_wrong).
local proto = require "service_proto"

local M = {}
M.__index = M

M.KINDS = {"raise", "memcap", "exit", "drop", "corrupt", "double"}
local ROOT = l4.kip.root.task

-- A virtio device's wrong values: status 0 (a spurious reset), the FAILED
-- bit, the next notify naming a queue that does not exist, the driver's
-- feature bits 0-31 written as 0 after FEATURES_OK.
M.REGISTER = {[0] = "reset", [1] = "failed", [2] = "notify", [3] = "features"}

function M.register(from, n, kind, names)
  names = names or M.REGISTER
  if from.task ~= ROOT then return nil, "fault: only the root task injects faults" end
  if kind ~= "register" or math.type(n) ~= "integer" or not names[n] then
    return nil, ("fault: register, and n 0-%d"):format(#names)
  end
  return names[n]
end

-- A fault point that allows the kinds in the set `kinds` (default: all).
function M.new(kinds)
  local allowed = {}
  for _, k in ipairs(M.KINDS) do
    if not kinds or kinds[k] then allowed[k] = true end
  end
  return setmetatable({allowed = allowed, armed = nil, n = 0}, M)
end

-- FAULT's answer: the reply's label and values.
function M:arm(from, n, kind)
  if from.task ~= ROOT then return proto.REJECTED, "fault: only the root task injects faults" end
  if not self.allowed[kind] or math.type(n) ~= "integer" or n < 0 then
    local k = {}
    for _, name in ipairs(M.KINDS) do if self.allowed[name] then k[#k + 1] = name end end
    return proto.REJECTED, ("fault: a kind (%s) and a count"):format(table.concat(k, ", "))
  end
  self.armed, self.n = kind, n
  return proto.OK
end

-- The n values given, every one changed (service_proto.lua's, the
-- framework's corrupt kind too).
local corrupted = proto.corrupted

local function raiser()
  debug.sethook()
  error("injected fault: raised at a random point", 0)
end

-- The request meets the armed fault (and disarms it).
function M:meet(run, from, go, ...)
  local kind, n = self.armed, self.n
  self.armed = nil
  if kind == "exit" and n % 2 == 0 then
    error("injected fault: the task exits before a request", 0)
  end
  if kind == "raise" then
    local inner = go
    go = function()
      debug.sethook(raiser, "", n + 1)
      local r = table.pack(pcall(inner))
      debug.sethook()
      if not r[1] then error(r[2], 0) end
      return table.unpack(r, 2, r.n)
    end
  elseif kind == "memcap" then
    -- confined to the request: lifted when it ends, however it ends (a
    -- limit left over would fail some later request or the loop itself)
    local inner = go
    local function lift(ok, ...)
      l4.debug.alloc_limit()
      if not ok then error((...), 0) end
      return ...
    end
    go = function()
      l4.debug.alloc_limit(n)
      return lift(pcall(inner))
    end
  end
  local r = run(from, go, ...)
  if kind == "exit" then
    error("injected fault: the task exits after a request, before its reply", 0)
  elseif kind == "drop" then
    return nil
  elseif kind == "corrupt" and r then
    return table.pack(r[1], corrupted(r.n - 1, table.unpack(r, 2, r.n)))
  end
  return r
end

-- The request of an inline loop meets the armed fault (and disarms it):
-- -> the kind, for leave.
function M:enter()
  local kind, n = self.armed, self.n
  self.armed = nil
  if kind == "exit" and n % 2 == 0 then
    error("injected fault: the task exits before a request", 0)
  elseif kind == "raise" then
    debug.sethook(raiser, "", n + 1)
  elseif kind == "memcap" then
    l4.debug.alloc_limit(n)
  end
  return kind
end

-- The end of that request: its reply (to, label, value; to nil: none)
-- as the fault leaves it.
function M:leave(kind, to, label, value)
  if kind == "memcap" then l4.debug.alloc_limit() end
  if kind == "exit" then
    error("injected fault: the task exits after a request, before its reply", 0)
  elseif kind == "drop" then
    return nil
  elseif kind == "double" and to then
    if value ~= nil then l4.reply(to, label, value) else l4.reply(to, label) end
  elseif kind == "corrupt" and value ~= nil then
    value = corrupted(1, value)
  end
  return to, label, value
end

return M
