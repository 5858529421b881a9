-- A task that the debugger's tests (debugger.lua) attach to: a loop of
-- plain l4.receive (not the service framework), so the agent is reached
-- only through the bindings. Label 1: work(n) -> the sum 1..n and the
-- number of varargs; 2: a long loop of Lua until x is made negative;
-- 3: a caught error; 4: end.
local l4 = require "l4"

local counter = 0

local function work(n, ...)
  local info = {n = n, kind = "sum"}
  local total = 0
  for i = 1, info.n do total = total + i end
  counter = counter + 1
  return total, select("#", ...)
end

local function spin()
  local x = 0
  while x >= 0 do x = x + 1 end
  return x
end

while true do
  local from, label, n = l4.receive()
  if label == 1 then
    l4.reply(from, 0, work(n, "a", "b"))
  elseif label == 2 then
    l4.reply(from, 0, spin())
  elseif label == 3 then
    local ok, err = pcall(error, "caught here", 0)
    l4.reply(from, 0, ok and 1 or 0, err)
  elseif label == 4 then
    l4.reply(from, 0)
    return
  end
end
