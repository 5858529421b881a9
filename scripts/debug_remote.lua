-- debug_remote.lua: the debugger for the host tool (tools/l4ua dap and
-- tools/l4ua profile; docs/debugging.md "From an editor"). The push agent
-- (push_agent.lua), a thread of the root task, hands it each
--
--   L4UA-DEBUG <length> <crc32>\n<length bytes>
--
-- frame it takes from COM2 or a TCP line; the bytes are "return" and a
-- Lua table literal {n = k, op, arg...}, and the answer is one line:
-- "OK <JSON>" or "ERR <why>". The JSON is {n = k, ["1"] = v1, ...}: the
-- op's k results, nil ones left out (a debugger method's `nil, message`
-- keeps its place), so the host sees them as Lua returned them.
--
-- One session per line (per push agent): `attach` detaches the one before
-- (a host tool that died while attached is replaced by the next), and a
-- TCP line that ends takes its agent thread with it, which the target's
-- agent notices (docs/debugger.md "Stopping"). The ops are the session
-- methods of debugger.lua, by name, and three that need none:
--   attach target       -> {name, service, script, thread}
--   profile target ms count stacks -> dbg.profile's table
--   trace_for target ms max -> dbg.trace's table (the IPC trace)
local dbg = require "debugger"
local json = require "json"
local service = require "service"

local M = {}

local session = nil

-- The session methods a host may call (debugger.lua's Session), by op.
local METHODS = {}
for _, m in ipairs{"break_line", "break_func", "break_clear", "breaks", "on_error", "pause",
                   "continue", "step", "poll", "stack", "vars", "expand", "eval", "detach",
                   "trace", "trace_read"} do
  METHODS[m] = true
end

local function results(...)
  local out = {n = select("#", ...)}
  for i = 1, out.n do
    local v = select(i, ...)
    if v ~= nil then out[tostring(i)] = v end
  end
  return out
end

local function run(req)
  local op = req[1]
  local n = math.tointeger(req.n) or #req
  if op == "attach" then
    if session then session:detach() end
    session = nil
    local s, err = dbg.attach(req[2])
    if not s then return results(nil, err) end
    session = s
    return results({name = s.name, service = s.service, script = s.script,
                    thread = tostring(s.id)})
  elseif op == "profile" then
    return results(dbg.profile(req[2], req[3], req[4], req[5]))
  elseif op == "trace_for" then
    return results(dbg.trace(req[2], req[3], req[4]))
  end
  if not METHODS[op] then error(("unknown debug op %q"):format(tostring(op)), 0) end
  if not session then return results(nil, "not attached (attach first)") end
  local s = session
  if op == "detach" then session = nil end
  return results(s[op](s, table.unpack(req, 2, n)))
end

-- The frame's bytes -> the answer line (without its newline).
function M.frame(body)
  local req, err = service.decode(body)
  if type(req) ~= "table" or type(req[1]) ~= "string" then
    return "ERR debug: not a request: " .. tostring(err or type(req))
  end
  local ok, r = pcall(run, req)
  if not ok then return "ERR debug: " .. tostring(r):gsub("\n", " | ") end
  local done, text = pcall(json.encode, r)
  if not done then return "ERR debug: " .. tostring(text) end
  return "OK " .. text
end

return M
