-- A task that computes for `ms` milliseconds (tests/lua/services.lua: the
-- scheduling policy must lower its priority).
local ms = ...
local stop = l4.clock() + ms * 1000
local x = 0
while l4.clock() < stop do
  for i = 1, 1000 do x = x + i end
end
os.exit(0)
