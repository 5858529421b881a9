-- The client tasks of tests/bench/svc/init.lua: mode, the root thread's raw
-- id, rounds. Calls the root READY (label 0x51) and waits for its answer,
-- then makes `rounds` requests to echo through service.call, then calls
-- the root DONE (0x52) with (mode "latency") the 99th percentile and the
-- median of the requests' latencies in instructions, and exits.
local l4 = require "l4"
local service = require "service"
local mode, root_raw, rounds = ...
local root, call, rdtsc = l4.id(root_raw), service.call, l4.debug.rdtsc
local READY, DONE, ECHO = 0x51, 0x52, 1
for i = 1, 20 do assert(call("echo", ECHO, i)) end       -- warm up
assert(l4.call(root, READY))
if mode == "calls" then
  for i = 1, rounds do
    local _, x = call("echo", ECHO, i)
    if x ~= i then error("bad reply") end
  end
  assert(l4.call(root, DONE))
elseif mode == "latency" then
  local lat = {}
  for i = 1, rounds do
    local t0 = rdtsc()
    local _, x = call("echo", ECHO, i)
    lat[i] = rdtsc() - t0
    if x ~= i then error("bad reply") end
  end
  table.sort(lat)
  assert(l4.call(root, DONE, lat[math.ceil(rounds * 0.99)], lat[rounds // 2]))
else
  error("client.lua: unknown mode " .. tostring(mode))
end
os.exit(0)
