-- The client task of tests/lua/isolation.lua: calls service `name` (the
-- echo service) without pause, each request with a sequence number the
-- reply must echo, and counts the requests that got no right answer
-- within 1 s. Between two requests it waits 1 ms for the test (thread
-- `test`): label STATS -> 0, calls, misses, the slowest answer (guest
-- µs), the last miss ("" if none); STOP the same, then it ends.
local names_raw, name, test_raw = ...
local STATS, STOP = 1, 2
local names = require "names"
names.use(l4.id(names_raw))
l4.set_buffers(0, 0)
local test = l4.id(test_raw)
local id = assert(names.lookup(name))
local calls, misses, slowest, last_miss = 0, 0, 0, ""
while true do
  calls = calls + 1
  local t0 = l4.clock()
  local from, label, _, seq = l4.call(id, {timeout = 1000}, 1, calls)
  local dt = l4.clock() - t0
  if dt > slowest then slowest = dt end
  if not from or label ~= 0 or seq ~= calls then
    misses = misses + 1
    last_miss = ("request %d: %s %s"):format(calls, tostring(label), tostring(seq))
  end
  local who, what = l4.receive(test, 1)
  if who then
    l4.reply(who, 0, calls, misses, slowest, last_miss)
    if what == STOP then os.exit(0) end
  end
end
