-- A plain task or root thread of tests/lua/comeback.lua (not a framework
-- service: it answers no PING): it answers label 1 with the arguments it
-- was started with, label 2 by failing with a Lua error, label 3 by
-- waiting for ever (hung).
local args = table.pack(...)
while true do
  local from, label = l4.receive()
  if from and label == 1 then
    l4.reply(from, 0, args.n, tostring(args[1]), tostring(args[2]), tostring(args[3]))
  elseif from and label == 2 then
    error("comeback_plain: failed on purpose", 0)
  elseif from and label == 3 then
    l4.sleep()
  end
end
