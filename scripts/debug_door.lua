-- debug_door.lua: lets a debugger into a thread that waits in calls to one
-- partner and seldom in an open receive, where the bindings would hand a
-- debugger's message to the agent (docs/debugger.md "REPL sessions"). A
-- REPL session waits for its next line in a call to its console server:
-- a closed receive, which a debugger cannot reach, and which must stay
-- closed (a message someone sends the session meanwhile waits for the
-- user's own l4.receive, as it always did).
--
-- The debugger marks the thread held in the root's store before it
-- sends anything (service_proto.held_key, the mark the supervisor reads
-- too). The thread's wait is made in turns (READ with a receive
-- timeout); between two, knock() looks for the mark and, if there is one,
-- takes a message the holder is sending now (a closed receive from it,
-- not waiting) and hands it to the agent. -> whether the thread is held:
-- then its turns are short (HELD_TURN ms), so that each command is taken
-- well within the debugger's 500 ms.
local proto = require "service_proto"

local M = {}
M.TURN, M.HELD_TURN = 500, 50       -- ms of one turn of the wait, free and held

local DEBUG = l4.label.debug

function M.knock()
  local ok, holder = pcall(l4.sys.store_get, proto.held_key(l4.self()))
  local raw = ok and type(holder) == "string" and math.tointeger(tonumber(holder))
  if not raw then return false end
  local id = l4.id(raw)
  local from, label, cmd, arg = l4.receive(id, 0)
  if from == id then
    if label == DEBUG then
      require("debug_agent").message(from, label, cmd, arg)
    else
      l4.reply(from, 2)     -- not a debugger's: not ours to serve here
    end
  end
  return true
end

-- The receive timeout of the next turn.
function M.turn(held)
  return held and M.HELD_TURN or M.TURN
end

return M
