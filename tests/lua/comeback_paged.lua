-- A Lua task of tests/lua/comeback.lua whose pager is the plan's Lua
-- pager (cb-pager): label 1 with n grows its heap by n KiB (new pages:
-- each a fault to that pager, forwarded to the root's) and answers the
-- bytes it holds; what it holds is checked at each call. Label 2 with
-- addr, pager (raw id): a C thread of this task, paged by that pager,
-- writes and reads the word at addr (l4.debug.fault); answered at once.
local l4 = require "l4"
local held, total = {}, 0
while true do
  local from, label, a, b = l4.receive()
  if from and label == 1 then
    for i, s in ipairs(held) do
      assert(s == ("%d"):format(i):rep(#s // #tostring(i)), "a block held changed")
    end
    local s = ("%d"):format(#held + 1)
    s = s:rep(a * 1024 // #s)
    held[#held + 1] = s
    total = total + #s
    l4.reply(from, 0, total)
  elseif from and label == 2 then
    l4.reply(from, l4.debug.fault(a, 0x5a, l4.id(b)) and 0 or 1)
  end
end
