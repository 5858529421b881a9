-- The file service (scripts/files.lua, run as is) with one request more,
-- for tests/lua/comeback.lua: LOOP (a send, no reply) makes it loop for
-- ever, as a bug in a handler would: it answers nobody again, its
-- supervisor's INFO included. Args as files.lua's: "serve", quota.
local LOOP = 0x2ff
local receive, reply_wait = l4.receive, l4.reply_wait
local function loop_on(from, label, ...)
  if from and label == LOOP then
    while true do end
  end
  return from, label, ...
end
l4.receive = function(...) return loop_on(receive(...)) end
l4.reply_wait = function(...) return loop_on(reply_wait(...)) end
return assert(loadfile("files.lua"))(...)
