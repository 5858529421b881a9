-- A task of the network boot's case driver_wrong_register_values
-- (cases.lua): traffic both ways while wrong values are written into the
-- driver's registers. Over one connection to the runner's TCP server, in
-- turn, 64 KiB down (BLOB) and 64 KiB up (UPLOAD), each checked by its
-- sum; it tells its parent when the first turn is done (label 2), goes on
-- until the parent sends it a message, then tells the parent how many
-- of each went through, the longest turn in ms and the first error (""
-- if none), and ends.
local socket = require "socket"
local parent, port = ...
parent = l4.id(parent)

local function sum(s)
  local acc = 0
  for i = 1, #s, 8 do acc = acc + string.unpack("<i8", s, i) end
  return ("%016x"):format(acc)
end

local N = 65536
local t = {}
for i = 1, N // 16 do t[i] = string.pack("<i8i8", i * 40503, ~i) end
local up = table.concat(t)

local c, down, ups, longest = nil, 0, 0, 0

-- One turn: 64 KiB down, 64 KiB up -> nil, or what went wrong.
local function turn()
  local ok, e = c:send(("BLOB %d\n"):format(N))
  if not ok then return "BLOB: send: " .. tostring(e) end
  local want, data
  want, e = c:receive()
  if not want then return "BLOB: the sum's line: " .. tostring(e) end
  data, e = c:receive(N)
  if not data then return "BLOB: the data: " .. tostring(e) end
  if "SUM " .. sum(data) ~= want then return ("BLOB: the host says %q, we %s"):format(want, sum(data)) end
  down = down + 1
  ok, e = c:send(("UPLOAD %d\n"):format(N))
  if ok then ok, e = c:send(up) end
  if not ok then return "UPLOAD: send: " .. tostring(e) end
  local got
  got, e = c:receive()
  if not got then return "UPLOAD: the sum: " .. tostring(e) end
  if got ~= "SUM " .. sum(up) then return ("UPLOAD: the host says %q, we %s"):format(got, sum(up)) end
  ups = ups + 1
end

local err, told
c, err = socket.connect("10.0.2.2", port)
if c then
  c:settimeout(30)
  err = turn()
  l4.send(parent, 2)                 -- the first turn done: traffic flows
  told = true
  while not err and not l4.receive(parent, 0) do
    local t0 = l4.clock()
    err = turn()
    longest = math.max(longest, (l4.clock() - t0) // 1000)
  end
  c:close()
else
  err = "connect: " .. tostring(err)
end
if err then
  if not told then l4.send(parent, 2) end
  l4.receive(parent)                 -- (wait for the parent's word)
end
l4.send(parent, 1, down, ups, longest, err or "")
