-- A client task of make faultinject (faultinject/main.lua starts four):
-- calls echo, echo2 and the name service all the while, every request
-- numbered, and sorts each outcome (the driver compares the counts with
-- the faults it injected):
--   ok       the answer is the request's own
--   gone     the partner is gone (no partner, aborted): a service that
--            died of its fault, or is restarting
--   noname   the name is not registered (yet): between a death and the restart
--   handler  a handler's error reply (a fault raised inside the handler;
--            the name service's, for a lookup)
--   timeout  no answer within TIMEOUT_MS (a reply the server dropped)
--   wrong    an answer that is not this request's (a corrupted reply)
--   stray    a message nobody asked for (a doubled reply)
--   odd      anything else (must stay 0)
-- Arguments: its number, the name service's raw id, the driver's raw id.
-- Between two requests it waits PAUSE_MS for the driver: STATS -> the
-- counts; STOP the same, then it exits.
local l4 = require "l4"
local names = require "names"
local service = require "service"

local me, names_raw, driver_raw = ...
local STATS, STOP = 1, 2
local ECHO = 1
local TIMEOUT_MS = 300
local PAUSE_MS = 2
local E = l4.E
local GONE = {[E.nopartner] = true, [E.snd_aborted] = true, [E.rcv_aborted] = true}
local TIMEOUT = {[E.snd_timeout] = true, [E.rcv_timeout] = true}

names.use(l4.id(names_raw))
local driver = l4.id(driver_raw)

local n = {requests = 0, ok = 0, gone = 0, noname = 0, handler = 0, timeout = 0, wrong = 0,
           stray = 0, odd = 0}
local last = ""
local ids = {}

-- A failed call or lookup: which clear error it is.
local function failed(what, msg, code)
  if code == names.E_NONAME then n.noname = n.noname + 1
  elseif code == service.E_HANDLER then n.handler = n.handler + 1
  elseif GONE[code] then n.gone = n.gone + 1
  elseif TIMEOUT[code] then n.timeout = n.timeout + 1
  else n.odd = n.odd + 1; last = ("%s: %s (%s)"):format(what, tostring(msg), tostring(code)) end
end

local function call_echo(name)
  local id = ids[name]
  if not id then
    local got, msg, code = names.lookup(name)
    if not got then return failed("lookup " .. name, msg, code) end
    ids[name], id = got, got
  end
  local seq = n.requests
  local from, label, _, who, got = l4.call(id, {timeout = TIMEOUT_MS}, ECHO, me, seq)
  if not from then
    ids[name] = nil
    return failed(name, label, _)
  end
  if label ~= 0 then n.handler = n.handler + 1; return end
  if from ~= id or who ~= me or got ~= seq then
    n.wrong = n.wrong + 1
    last = ("%s answered %s/%s for %d/%d"):format(name, tostring(who), tostring(got), me, seq)
    return
  end
  n.ok = n.ok + 1
end

local function lookup()
  local id, msg, code = names.lookup("echo")
  if not id then return failed("lookup", msg, code) end
  if ids.echo and id ~= ids.echo then       -- restarted meanwhile, or a corrupted answer
    if not l4.nearest(id) then n.wrong = n.wrong + 1; last = "lookup answered " .. tostring(id); return end
  end
  n.ok = n.ok + 1
end

local function report(from)
  l4.reply(from, 0, n.requests, n.ok, n.gone, n.noname, n.handler, n.timeout, n.wrong, n.stray,
           n.odd, last)
end

local turn = 0
while true do
  turn = turn + 1
  n.requests = n.requests + 1
  if turn % 3 == 1 then call_echo("echo")
  elseif turn % 3 == 2 then call_echo("echo2")
  else lookup() end
  local from, what = l4.receive(nil, PAUSE_MS)
  if from == driver then
    report(from)
    if what == STOP then os.exit(0) end
  elseif from then
    n.stray = n.stray + 1
    last = ("a message nobody asked for, from %s, label %s"):format(tostring(from), tostring(what))
  end
end
