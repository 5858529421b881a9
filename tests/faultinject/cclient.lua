-- A console client of make faultinject (faultinject/init.lua starts two
-- writers and a reader), talking the console protocol (console.lua) to
-- COM1's and COM2's console servers, found by their names.
--
-- A writer writes numbered records, "[w<me> <console> <seq> <pad>]\n",
-- to each console in turn (a sequence per console), and keeps which of
-- them were acknowledged. A WRITE is acknowledged when its reply is label
-- 0 with the count of bytes the request carried: the server has put them
-- in its UART's queue, in order after every write acknowledged before
-- (docs/reliability.md "Fault injection" says what that promises). At
-- STOP it prints the acknowledged numbers as ranges
-- ("faultinject: acked w1 console 1-40,42-97"), and the host
-- (tests/faultinject/run.py) finds each such record, whole and in order,
-- in what came out of the line.
-- The reader READs COM1, where the host types records "t<seq>.<crc>\n"
-- (crc: the CRC-32 of "t<seq>", 8 hex digits) all the while. Typed keys
-- are not acknowledged to anyone (a UART has no answer to give), so keys
-- lost with a server that died, a dropped reply or the FIFO a new driver
-- clears are counted, not failed. What must hold: every whole record read
-- is one the host typed, each after the one before (nothing doubled,
-- nothing out of order).
-- Outcomes as client.lua sorts them: ok, gone, noname, handler (the name
-- service's error reply to a lookup: a fault raised in it), timeout (no
-- answer in time: a dropped reply, or for a READ no key yet), wrong (a
-- reply with other values: a WRITE's count, a READ's bytes that no key
-- made), stray (a message nobody asked for: a doubled reply), odd
-- (anything else: must stay 0). The reader adds: records read, mangled
-- lines (keys lost in the middle of a line), and keeps the last good
-- record's number.
-- Arguments: its number, "write" or "read", the name service's raw id,
-- the driver's raw id. Between two requests it waits PAUSE_MS for the
-- driver: STATS -> the counts; STOP the same, then (a writer) it prints
-- its acknowledged records and exits.
local l4 = require "l4"
local names = require "names"
local console = require "console"
local crc32 = require "crc32"
local service = require "service"

local me, mode, names_raw, driver_raw = ...
local STATS, STOP = 1, 2
local TIMEOUT_MS = 300
local PAUSE_MS = 2
local CONSOLES = {"console", "com2"}
local E = l4.E
local GONE = {[E.nopartner] = true, [E.snd_aborted] = true, [E.rcv_aborted] = true}
local TIMEOUT = {[E.snd_timeout] = true, [E.rcv_timeout] = true}

names.use(l4.id(names_raw))
local driver = l4.id(driver_raw)

local n = {requests = 0, ok = 0, gone = 0, noname = 0, handler = 0, timeout = 0, wrong = 0,
           stray = 0, odd = 0, records = 0, mangled = 0, nomem = 0}
-- A console server's own error reply: only its memory refused (a memcap
-- fault met the request; console_server.lua ends on any other error)
local NOMEM = "console server: not enough memory"
local last = ""
local ids = {}

local function failed(what, msg, code)
  if code == names.E_NONAME then n.noname = n.noname + 1
  elseif code == service.E_HANDLER then n.handler = n.handler + 1
  elseif GONE[code] then n.gone = n.gone + 1
  elseif TIMEOUT[code] then n.timeout = n.timeout + 1
  else n.odd = n.odd + 1; last = ("%s: %s (%s)"):format(what, tostring(msg), tostring(code)) end
end

-- The server of console `name` (nil: a lookup that failed, counted).
local function server(name)
  local id = ids[name]
  if id then return id end
  local got, msg, code = names.lookup(name)
  if not got then return failed("lookup " .. name, msg, code) end
  ids[name] = got
  return got
end

-- Writer ---------------------------------------------------------------

local seqs, acked = {}, {}
for _, c in ipairs(CONSOLES) do seqs[c], acked[c] = 0, {} end

local function record(c, seq)
  return ("[w%d %s %d %s]\n"):format(me, c, seq, string.char(97 + seq % 26):rep(1 + seq % 47))
end

local function ack(c, seq)
  local r = acked[c]
  local top = r[#r]
  if top and top[2] == seq - 1 then top[2] = seq else r[#r + 1] = {seq, seq} end
end

local function count(c)
  local k = 0
  for _, r in ipairs(acked[c]) do k = k + r[2] - r[1] + 1 end
  return k
end

local turn = 0
local function write_one()
  turn = turn + 1
  local c = CONSOLES[turn % #CONSOLES + 1]
  n.requests = n.requests + 1
  local id = server(c)
  if not id then return end
  seqs[c] = seqs[c] + 1
  local s = record(c, seqs[c])
  local from, label, taken = l4.call(id, {timeout = TIMEOUT_MS}, console.WRITE, s)
  if not from then
    ids[c] = nil
    return failed("write " .. c, label, taken)
  end
  if label == console.ERROR and taken == NOMEM then
    n.nomem = n.nomem + 1
    return
  end
  if label ~= console.OK or taken ~= #s then
    n.wrong = n.wrong + 1
    last = ("%s answered %s, %s to a write of %d bytes"):format(c, tostring(label), tostring(taken), #s)
    return
  end
  n.ok = n.ok + 1
  ack(c, seqs[c])
end

-- The acknowledged records, as ranges, 30 to a line: a line must go out
-- in one WRITE, else the other writer's records, still being written,
-- can land inside it (lines of 100 ranges, some 1,100 bytes, went out in
-- two, and did, in a run of 3,000 faults with 36,000 records a console)
local function print_acked()
  for _, c in ipairs(CONSOLES) do
    local parts = {}
    local function flush()
      if #parts > 0 then print(("faultinject: acked w%d %s %s"):format(me, c, table.concat(parts, ","))) end
      parts = {}
    end
    for _, r in ipairs(acked[c]) do
      parts[#parts + 1] = r[1] == r[2] and tostring(r[1]) or ("%d-%d"):format(r[1], r[2])
      if #parts == 30 then flush() end
    end
    flush()
  end
end

-- Reader ---------------------------------------------------------------

local line, last_seq = "", 0

-- One line the host typed, or what is left of it.
local function typed(l)
  local seq, crc = l:match("^t(%d+)%.(%x%x%x%x%x%x%x%x)$")
  seq = seq and math.tointeger(tonumber(seq))
  if not seq or ("%08x"):format(crc32("t" .. seq)) ~= crc then
    n.mangled = n.mangled + 1
    return
  end
  if seq <= last_seq then
    n.odd = n.odd + 1
    last = ("record %d read after record %d"):format(seq, last_seq)
  end
  last_seq = seq
  n.records = n.records + 1
end

local function read_one()
  n.requests = n.requests + 1
  local id = server("console")
  if not id then return end
  local from, label, data = l4.call(id, {timeout = 500}, console.READ, console.READ_MAX)
  if not from then
    ids.console = nil
    return failed("read", label, data)
  end
  if label == console.ERROR and data == NOMEM then
    n.nomem = n.nomem + 1     -- (keys it held, if any, show as a mangled line)
    return
  end
  if label ~= console.OK or type(data) ~= "string" or #data == 0 then
    n.odd = n.odd + 1
    last = ("read answered %s, %s"):format(tostring(label), tostring(data))
    return
  end
  if data:find("[^%w%.\n]") then
    -- no key the host types: a corrupted reply (fault.lua reverses it
    -- and adds "?"); what it held is lost, with the line it was part of
    n.wrong = n.wrong + 1
    line = ""
    n.mangled = n.mangled + 1
    return
  end
  n.ok = n.ok + 1
  line = line .. data
  for l in line:gmatch("([^\n]*)\n") do typed(l) end
  line = line:match("[^\n]*$")
end

local function report(from)
  local c1, c2 = count("console"), count("com2")
  l4.reply(from, 0, n.requests, n.ok, n.gone, n.noname, n.handler, n.timeout, n.wrong, n.stray,
           n.odd, n.records, n.mangled, last_seq, c1, c2, n.nomem, last)
end

local step = mode == "read" and read_one or write_one
while true do
  step()
  -- the reader takes nothing but the driver's messages: a doubled READ
  -- reply caught here would be keys read twice
  local from, what = l4.receive(mode == "read" and driver or nil, PAUSE_MS)
  if from == driver then
    report(from)
    if what == STOP then
      if mode == "write" then print_acked() end
      os.exit(0)
    end
  elseif from then
    n.stray = n.stray + 1
    last = ("a message nobody asked for, from %s, label %s"):format(tostring(from), tostring(what))
  end
end
