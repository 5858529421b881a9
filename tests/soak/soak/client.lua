-- A client task of the soak (soak/main.lua starts four): it calls
-- services for the whole run, every request numbered, and checks that
-- each gets exactly one answer that is its own, or a clear error.
-- Arguments: its number, the name service's raw id, the driver's raw id.
--
-- Requests, in turn: echo (label 1 with the client's number and the
-- request's; the reply must carry both back), a name lookup of "echo",
-- and every fourth turn a file of its own written and read back through
-- the file service. Outcomes:
--   ok       the answer is the request's own
--   errors   a clear error: an IPC code that says the partner is gone
--            (no partner, aborted), the name not registered (yet), a
--            handler's error reply, io.open's nil, message
--   lost     no answer within LOST_MS (a request that vanished)
--   wrong    an answer that is not this request's: another number (a
--            reply doubled or late), a file that does not read back, a
--            (counted apart as `stray`) a message nobody asked for
-- Between two requests it waits PAUSE_MS for the driver: STATS -> 0,
-- the counts; STOP the same, then it exits.
local l4 = require "l4"
local names = require "names"

local me, names_raw, driver_raw = ...
local STATS, STOP = 1, 2
local ECHO = 1
local LOST_MS = 5000
local PAUSE_MS = 4
-- IPC codes of a partner that is gone (lua-api.md "IPC"): no partner,
-- aborted in either phase; of no answer in time.
local E = l4.E
local GONE = {[E.nopartner] = true, [E.snd_aborted] = true, [E.rcv_aborted] = true}
local TIMEOUT = {[E.snd_timeout] = true, [E.rcv_timeout] = true}

names.use(l4.id(names_raw))
local driver = l4.id(driver_raw)

local n = {requests = 0, ok = 0, errors = 0, lost = 0, wrong = 0, stray = 0, echo = 0, lookups = 0,
           files = 0,
           -- the clear errors by kind: the partner gone, the name not
           -- registered, a handler's error reply, a file operation's
           gone = 0, noname = 0, handler = 0, io = 0}
local last_problem = ""
local echo_id = nil

-- A request that failed the check: lost or wrong (kept for the report).
local function problem(kind, fmt, ...)
  n[kind] = n[kind] + 1
  last_problem = ("request %d: " .. fmt):format(n.requests, ...)
end

-- A request that got a clear error, of kind why.
local function clear(why)
  n.errors = n.errors + 1
  n[why] = n[why] + 1
end

local function call_echo()
  n.echo = n.echo + 1
  if not echo_id then
    local id, err = names.lookup("echo")
    if not id then return clear("noname") end
    echo_id = id
  end
  local seq = n.requests
  local from, label, count, who, got = l4.call(echo_id, {timeout = LOST_MS}, ECHO, me, seq)
  if not from then
    local code = count
    if GONE[code] then echo_id = nil; return clear("gone") end
    if TIMEOUT[code] then echo_id = nil; return problem("lost", "echo: %s (%d)", label, code) end
    return problem("wrong", "echo: unexpected failure %s (%s)", tostring(label), tostring(code))
  end
  if from ~= echo_id then return problem("wrong", "the answer came from %s, not echo", tostring(from)) end
  if label ~= 0 then return clear("handler") end
  if who ~= me or got ~= seq then
    return problem("wrong", "echo answered %s/%s for %d/%d", tostring(who), tostring(got), me, seq)
  end
  n.ok = n.ok + 1
end

local function lookup()
  n.lookups = n.lookups + 1
  local id, err, code = names.lookup("echo")
  if id then n.ok = n.ok + 1; return end
  if code == names.E_NONAME then return clear("noname") end
  if GONE[code] then return clear("gone") end
  if TIMEOUT[code] then return problem("lost", "lookup: %s", err) end
  problem("wrong", "lookup: %s (%s)", tostring(err), tostring(code))
end

local function file()
  n.files = n.files + 1
  local path = ("soak/client%d.txt"):format(me)
  local text = ("client %d request %d\n"):format(me, n.requests)
  local f, err = io.open(path, "w")
  if not f then return clear("io") end
  local ok, werr = f:write(text)
  local closed, cerr = f:close()
  if not ok or not closed then return clear("io") end
  f, err = io.open(path, "r")
  if not f then return clear("io") end
  local back = f:read("a")
  f:close()
  if back ~= text then return problem("wrong", "the file read back %q, not %q", tostring(back), text) end
  n.ok = n.ok + 1
end

local function report(from)
  l4.reply(from, 0, n.requests, n.ok, n.errors, n.lost, n.wrong, n.stray, n.echo, n.lookups,
           n.files, n.gone, n.noname, n.handler, n.io, last_problem)
end

local turn = 0
while true do
  turn = turn + 1
  n.requests = n.requests + 1
  if turn % 2 == 1 then call_echo()
  elseif turn % 8 == 4 then file()
  else lookup() end
  -- the pause, and the driver's questions; any other message is one no
  -- request asked for
  local from, what = l4.receive(nil, PAUSE_MS)
  if from == driver then
    report(from)
    if what == STOP then os.exit(0) end
  elseif from then
    n.stray = n.stray + 1
    last_problem = ("a message nobody asked for, from %s, label %s"):format(tostring(from), tostring(what))
  end
end
