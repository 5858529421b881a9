-- service_proto.lua: the service framework's control protocol
-- (docs/services.md "The protocol"), defined once: for the framework
-- (service.lua) and for the servers that run a loop of their own yet
-- answer the framework's requests (drivers-lua/console_server.lua,
-- scripts/pager_zero.lua). A label number appears here and nowhere else.
local M = {}

-- Reply labels (what a client's l4.call sees as its label).
M.OK, M.ERROR, M.UNKNOWN, M.REJECTED = 0, 1, 2, 3
-- A message of label OK at a server's open receive is no request: a reply
-- that came after its caller stopped waiting (a call of a service to
-- another timed out, and the service serves again). Every request loop
-- drops it unanswered: answered with an error, the error would reach the
-- late replier's own open receive as a request (docs/services.md "Hot
-- reload"). service.lua's loop and the plain ones (files.lua,
-- pager_zero.lua, watch.lua, net.lua) ask this.
function M.late_reply(label) return label == M.OK end
-- Control labels, answered whatever the version ("SV": 0x5356xxxx is the
-- framework's). A message carries its integers first, then its strings,
-- whatever the order of the values given to l4.send (lua-api.md).
M.CTL = 0x53560000
M.PING = M.CTL + 0          -- -> OK, s name, s version
M.INFO = M.CTL + 1          -- -> OK, requests, errors, generation, good generation,
                            --    reloads, rollbacks, memory bytes, s name, s version,
                            --    s last error ("" if none)
M.RELOAD = M.CTL + 2        -- s source, [s chunkname] -> OK, generation, good gen, s version
                            --    | REJECTED, s message (only from threads of the root task)
M.FAULT = M.CTL + 3         -- s kind, n -> OK | REJECTED: arms one injected fault for the
                            --    next request (make faultinject; only from the root task;
                            --    docs/reliability.md "Fault injection")

-- The corrupt fault's reply: the n values given, every one changed. Here
-- and not in fault.lua, which the framework's services do not load: a
-- module read at the fault goes through the file service, which may be
-- in a call to this very server then (the request would land as that
-- call's reply).
function M.corrupted(n, v, ...)
  if n == 0 then return end
  if math.type(v) == "integer" then v = v ~ 0x5a5a
  elseif type(v) == "string" then v = v:reverse() .. "?"
  else v = 1234567 end
  return v, M.corrupted(n - 1, ...)
end

-- The root's store key that says a debugger holds thread `id` (it may be
-- stopped at a breakpoint): scripts/debugger.lua writes it, the
-- supervisor reads it before it takes a silent service for hung. Here, as
-- the supervisor has this module loaded already: a module it read when
-- it needs it goes through the file service, which may be the hung one.
function M.held_key(id)
  return "debug/held/" .. tostring(id.raw)
end

-- The root's store key that says whether the boot plan is up: init.lua
-- writes "starting" before it starts the REPL sessions, the supervisor
-- "up <guest TSC>" once it has started every service of the plan; a
-- session runs its first line then (scripts/session.lua), so that a
-- command at the prompt finds the plan's services answering.
M.PLAN_UP = "supervisor/plan"

-- The reply to PING: its label and values.
function M.ping(name, version)
  return M.OK, name, version
end

-- The reply to INFO from the server's counts: i.requests, errors,
-- generation, good (the last good generation; default generation),
-- reloads, rollbacks (default 0), name, version, last_error (default "");
-- the memory is this Lua state's.
function M.info(i)
  return M.OK, i.requests, i.errors, i.generation, i.good or i.generation, i.reloads,
    i.rollbacks or 0, collectgarbage("count") * 1024 // 1, i.name, i.version, i.last_error or ""
end

return M
