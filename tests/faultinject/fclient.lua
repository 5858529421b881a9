-- A file client of make faultinject (faultinject/init.lua starts two):
-- writes, reads back and removes files of its own in the file service
-- all the while, and keeps what the service acknowledged, so that the
-- driver can check at the end that no acknowledged write is lost. Each
-- outcome is sorted as client.lua sorts them:
--   ok       the request did what it should (a read gave the content
--            last acknowledged)
--   gone     the service is gone or restarting (no partner, aborted)
--   handler  an error reply from the service (a fault raised inside the
--            request, or its memory refused)
--   timeout  no answer in time (a reply the service dropped)
--   wrong    a read's content that is not what was acknowledged (a
--            corrupted reply), or a success with wrong values
--   odd      anything else (must stay 0)
-- A write that fails may still have been done (the service died after
-- it, or its reply was dropped): the file then holds the old or the new
-- content, and both are kept as right until the next acknowledged write.
-- Arguments: its number, the name service's raw id, the driver's raw id.
-- Between two requests it waits PAUSE_MS for the driver: STATS -> the
-- counts; STOP -> the counts and the acknowledged files ("path=size:sum"
-- lines; a removed one "path=-"), then it exits.
local l4 = require "l4"
local names = require "names"
local files = require "files"

local me, names_raw, driver_raw = ...
local STATS, STOP = 1, 2
local PAUSE_MS = 2
local FILES = 12                -- files of this client, written over and over
local E = l4.E
local GONE = {[E.nopartner] = true, [E.snd_aborted] = true, [E.rcv_aborted] = true}
local TIMEOUT = {[E.snd_timeout] = true, [E.rcv_timeout] = true}

names.use(l4.id(names_raw))
local driver = l4.id(driver_raw)

local n = {requests = 0, ok = 0, gone = 0, noname = 0, handler = 0, timeout = 0, wrong = 0,
           stray = 0, odd = 0}
local last = ""

-- path -> what it holds by the acknowledged requests (a string, or
-- false: no file), and the contents that requests which failed since
-- may have left instead (a list; false for a remove)
local acked, maybe = {}, {}

local function content(path, k)
  return (("%s#%d;"):format(path, k)):rep(1 + k % 40)
end

-- The files module gives an IPC error as nil, "file service: ...", and
-- the IPC error's code, which may be the number of a file error (no
-- partner is 1, as ENOENT is): the message tells them apart.
local function ipc_failed(msg)
  return type(msg) == "string" and msg:find("^file service: ") ~= nil
end

local function failed(what, msg, code)
  if ipc_failed(msg) and GONE[code] then n.gone = n.gone + 1
  elseif ipc_failed(msg) and TIMEOUT[code] then n.timeout = n.timeout + 1
  elseif not ipc_failed(msg) and math.type(code) == "integer" and code >= files.ENOENT
         and code <= files.EIO then
    n.handler = n.handler + 1
  else n.odd = n.odd + 1; last = ("%s: %s (%s)"):format(what, tostring(msg), tostring(code)) end
end

-- Whether `data` (nil: no file) is what path may hold.
local function may_hold(path, data)
  local function same(x) return (x or nil) == data end
  if same(acked[path]) then return true end
  for _, alt in ipairs(maybe[path] or {}) do
    if same(alt) then return true end
  end
  return false
end

local function done(path, data) acked[path], maybe[path] = data, nil end
local function perhaps(path, data)
  maybe[path] = maybe[path] or {}
  table.insert(maybe[path], data)
end

local turn = 0
local function step()
  turn = turn + 1
  n.requests = n.requests + 1
  local path = ("fi/%d/f%d"):format(me, math.random(FILES))
  local r = math.random(10)
  if r <= 5 then
    local data = content(path, turn)
    local ok, msg, code = files.write(path, data)
    if ok then done(path, data); n.ok = n.ok + 1
    else perhaps(path, data); failed("write " .. path, msg, code) end
  elseif r <= 9 then
    local data, msg, code = files.read(path)
    if data or code == files.ENOENT and not ipc_failed(msg) then
      if may_hold(path, data) then n.ok = n.ok + 1
      else
        n.wrong = n.wrong + 1
        last = ("read %s: %s, not what was acknowledged"):format(path,
          data and #data .. " bytes" or "no such file")
      end
    else failed("read " .. path, msg, code) end
  else
    local ok, msg, code = files.remove(path)
    if ok or code == files.ENOENT and not ipc_failed(msg) and not acked[path] then
      done(path, false); n.ok = n.ok + 1
    else perhaps(path, false); failed("remove " .. path, msg, code) end
  end
end

-- "path=what|what..." a line per file: what it may hold, the acknowledged
-- first; each a CRC-32 and a length ("crc:len"), or "-" for no file.
local function holdings()
  local crc32 = require "crc32"
  local function sum(x) return x and ("%d:%d"):format(crc32(x), #x) or "-" end
  local list = {}
  for path, data in pairs(acked) do
    local t = {sum(data)}
    for _, alt in ipairs(maybe[path] or {}) do t[#t + 1] = sum(alt) end
    list[#list + 1] = path .. "=" .. table.concat(t, "|")
  end
  return table.concat(list, "\n")
end

local function report(from, all)
  l4.reply(from, 0, n.requests, n.ok, n.gone, n.noname, n.handler, n.timeout, n.wrong, n.stray,
           n.odd, last, all and holdings() or "")
end

math.randomseed(me * 7919)
while true do
  step()
  local from, what = l4.receive(nil, PAUSE_MS)
  if from == driver then
    report(from, what == STOP)
    if what == STOP then os.exit(0) end
  elseif from then
    n.stray = n.stray + 1
    last = ("a message nobody asked for, from %s, label %s"):format(tostring(from), tostring(what))
  end
end
