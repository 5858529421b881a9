-- The file service (scripts/files.lua, run as is) with two requests more,
-- for tests/lua/comeback.lua, each taken where files.lua receives (outside
-- its handlers' pcall, as a bug in its loop or in C would be):
--   LOOP (a send, no reply): loops for ever, as a bug in a handler would:
--     it answers nobody again, its supervisor's PING included;
--   CRASH s (a send): runs the Lua source s there (the crash matrix's
--     kinds: a Lua error, a fault, the memory cap, a bad port, ...).
-- Args as files.lua's: "serve", quota.
local LOOP, CRASH = 0x2ff, 0x2fe
local receive, reply_wait = l4.receive, l4.reply_wait
local function loop_on(from, label, ...)
  if from and label == LOOP then
    while true do end
  elseif from and label == CRASH then
    assert(load((...), "=crash"))()
  end
  return from, label, ...
end
l4.receive = function(...) return loop_on(receive(...)) end
l4.reply_wait = function(...) return loop_on(reply_wait(...)) end
return assert(loadfile("files.lua"))(...)
