-- The network client of make faultinject (faultinject/init.lua starts
-- it when the machine has a network card: make faultinject's FAULT_NET=1).
-- Through the network service's sockets (socket.lua, lwIP in net.lua,
-- over the virtio-net driver net0 that takes the register faults) it
-- talks TCP to ECHO_IP:ECHO_PORT, which QEMU's user network hands to a
-- program on the host that sends back what it gets (run.py --net:
-- `cat`, one per connection). Each request is a numbered line,
-- "n<me>.<seq> <pad>", sent and read back; TCP gives the bytes in order
-- or an error, so the only right answer is the line sent. Outcomes:
--   ok       the line came back as sent
--   closed   a clear error: the connection or the service gone, the
--            connection refused (LuaSocket's words; socket.lua)
--   down     "no route to host": the interface has no address (yet:
--            before the service's DHCP is done)
--   timeout  no whole line back within TIMEOUT_S (a clear error too)
--   wrong    a line back that is not the one sent: bytes lost, doubled
--            or changed without an error (must stay 0)
--   odd      anything else (must stay 0)
-- After a closed or a timeout the connection is closed and a new one
-- made (what was in flight is not counted again). Arguments: its number,
-- the name service's raw id, the driver's raw id. Between two requests it
-- waits PAUSE_MS for the driver: STATS -> the counts; STOP the same, then
-- it exits.
local l4 = require "l4"
local names = require "names"
local socket = require "socket"

local me, names_raw, driver_raw = ...
local STATS, STOP = 1, 2
local ECHO_IP, ECHO_PORT = "10.0.2.100", 7
local TIMEOUT_S = 10
local PAUSE_MS = 2

names.use(l4.id(names_raw))
local driver = l4.id(driver_raw)

local n = {requests = 0, ok = 0, closed = 0, down = 0, timeout = 0, wrong = 0, odd = 0, connects = 0}
local last = ""
local conn

local function failed(what, err)
  if conn then conn:close() conn = nil end
  if err == "timeout" then n.timeout = n.timeout + 1
  elseif err == "closed" or err == "connection refused" then n.closed = n.closed + 1
  elseif err == "no route to host" then n.down = n.down + 1; l4.sleep(20)
  else n.odd = n.odd + 1; last = ("%s: %s"):format(what, tostring(err)) end
end

local function request()
  n.requests = n.requests + 1
  if not conn then
    local c, err = socket.tcp()
    if not c then return failed("socket", err) end
    c:settimeout(TIMEOUT_S)
    local ok
    ok, err = c:connect(ECHO_IP, ECHO_PORT)
    if not ok then c:close() return failed("connect", err) end
    conn = c
    n.connects = n.connects + 1
  end
  local seq = n.requests
  local line = ("n%d.%d %s"):format(me, seq, ("abcdefghij"):rep(1 + seq % 20))
  local ok, err = conn:send(line .. "\n")
  if not ok then return failed("send", err) end
  local got
  got, err = conn:receive("*l")
  if not got then return failed("receive", err) end
  if got ~= line then
    n.wrong = n.wrong + 1
    last = ("sent %q, read back %q"):format(line:sub(1, 40), got:sub(1, 40))
    conn:close() conn = nil
    return
  end
  n.ok = n.ok + 1
end

local function report(from)
  l4.reply(from, 0, n.requests, n.ok, n.closed, n.down, n.timeout, n.wrong, n.odd, n.connects, last)
end

while true do
  request()
  local from, what = l4.receive(nil, PAUSE_MS)
  if from == driver then
    report(from)
    if what == STOP then
      if conn then conn:close() end
      os.exit(0)
    end
  elseif from then
    n.odd = n.odd + 1
    last = ("a message nobody asked for, from %s, label %s"):format(tostring(from), tostring(what))
  end
end
