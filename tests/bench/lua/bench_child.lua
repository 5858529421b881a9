-- The Lua tasks of tests/bench/lua/init.lua.
--   serve:            answers label 1 (two integers: back as they came),
--                     label 2 (a string: back), label 3 (drop the receive
--                     buffers, then answer), for ever
--   client, id, n:    measures n round trips of each kind, prints them
local l4 = require "l4"
local mode = ...

if mode == "serve" then
  local reply_wait = l4.reply_wait
  local from, label, a, b = l4.receive()
  while true do
    if from == nil then
      from, label, a, b = l4.receive()
    elseif label == 1 then
      from, label, a, b = reply_wait(from, 0, a, b)
    elseif label == 2 then
      from, label, a = reply_wait(from, 0, a)
    elseif label == 3 then
      l4.set_buffers(0, 0)
      from, label, a, b = reply_wait(from, 0)
    else
      from, label, a, b = l4.receive()
    end
  end
elseif mode == "client" then
  local _, raw, n = ...
  local server = l4.id(raw)
  local call, rdtsc = l4.call, l4.debug.rdtsc
  local function ints()
    for i = 1, 200 do call(server, 1, i, i) end       -- warm up
    local t0 = rdtsc()
    for i = 1, n do
      local _, _, a, b = call(server, 1, i, 7)
      if b ~= 7 then error("bad reply") end
    end
    return (rdtsc() - t0) // n
  end
  print(("bench ipc_rtt_lua_cross_task %d"):format(ints()))
  local s = ("0123456789abcdef"):rep(4)
  assert(#s == 64)
  for i = 1, 200 do call(server, 2, s) end
  local t0 = rdtsc()
  for i = 1, n do
    local _, _, r = call(server, 2, s)
    if #r ~= 64 then error("bad reply") end
  end
  print(("  (the same with a 64-byte string each way: %d)"):format((rdtsc() - t0) // n))
  -- without receive buffers on both sides (integers only: the fast path)
  call(server, 3)
  l4.set_buffers(0, 0)
  print(("  (the same, no receive buffers on either side: %d)"):format(ints()))
  os.exit(0)
end
